package omv

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// OMV's RaidMgmt/MdMgmt state text completes what mdadm --detail says
// (storagedevicemdadm.inc getState).
func TestMergeStateProgress(t *testing.T) {
	t.Parallel()
	clean := "     Raid Level : raid1\n   Raid Devices : 2\n          State : clean \n Active Devices : 2\n"
	tests := []struct {
		name   string
		detail string
		state  string
		want   RAIDState
		pct    float64
		speed  int64
	}{
		{"recovery progress added", "     Raid Level : raid1\n   Raid Devices : 2\n          State : clean, degraded, recovering \n Active Devices : 1\n",
			"clean, degraded, recovering (12.6% (126/1000) finish=1.2min speed=100K/sec)", RAIDRecovering, 12.6, 100 << 10},
		// mdadm's State names no sync, but /proc/mdstat shows one: OMV
		// appends ", resyncing (<progress>)".
		{"resync only in mdstat", clean, "clean, resyncing (45.0% (450/1000) finish=0.1min speed=47488K/sec)", RAIDResyncing, 45, 47488 << 10},
		{"delayed", clean, "clean, resyncing (DELAYED) (DELAYED)", RAIDDelayed, 0, 0},
		{"pending", clean, "clean, resyncing (PENDING)", RAIDDelayed, 0, 0},
		{"nothing appended", clean, "clean", RAIDClean, 0, 0},
		{"inactive stays inactive", "     Raid Level : raid1\n          State : inactive \n", "inactive, resyncing (PENDING)", RAIDInactive, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h, err := ParseDetail([]byte(tt.detail))
			require.NoError(t, err)
			mergeStateProgress(&h, tt.state)
			assert.Equal(t, tt.want, h.State)
			if tt.pct > 0 {
				require.NotNil(t, h.Sync)
				assert.InDelta(t, tt.pct, h.Sync.Percent, 0.01)
				assert.Equal(t, tt.speed, h.Sync.Speed)
			}
		})
	}
}
