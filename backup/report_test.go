package backup

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func sampleReport() Report {
	start := time.Date(2026, 11, 25, 3, 0, 0, 0, time.UTC)
	return Report{
		Started:  start,
		Finished: start.Add(9*time.Minute + 30*time.Second),
		Guests: []GuestReport{
			{VMID: 100, Name: "nas", Type: "qemu", Node: "pve1", Method: TwoStep, Storage: "backups",
				Archive: "backups:backup/vzdump-qemu-100-2026_11_25-03_00_02.vma.zst", Size: 2 << 30,
				Duration: 3*time.Minute + 7*time.Second, Status: StatusOK, Verified: true, SHA256: "2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae",
				Kept: 8, Pruned: []string{"backups:backup/vzdump-qemu-100-2026_10_30-03_00_01.vma.zst"}},
			{VMID: 101, Name: "docker", Type: "lxc", Node: "pve1", Method: Direct, Storage: "backups",
				Archive: "backups:backup/vzdump-lxc-101-2026_11_25-03_03_10.tar.zst", Size: 1202590842,
				Duration: 65 * time.Second, Status: StatusWarnings, Warnings: []string{"unable to add notes - permission denied"}, Kept: 7},
		},
		Offsite:  []OffsiteReport{{Source: "/mnt/pve/backups/dump", Remote: "mega:homelab", Bytes: 3 << 30, Files: 6, Checked: true, Duration: 4 * time.Minute, Status: StatusOK}},
		Restores: []RestoreReport{{VMID: 101, ScratchVMID: 9101, Storage: "local-lvm", Archive: "backups:backup/vzdump-lxc-101-2026_11_25-03_03_10.tar.zst", Disks: []string{"rootfs: local-lvm:vm-9101-disk-0,size=8G"}, Destroyed: true, Duration: 40 * time.Second, Status: StatusOK}},
	}
}

func TestReportOK(t *testing.T) {
	t.Parallel()
	r := sampleReport()
	assert.True(t, r.OK())
	assert.Equal(t, "backup OK: 2 guests, 3.1 GiB, 1 off-site copy, 1 restore drill", r.Subject())
	assert.Equal(t, `backup OK: 2 guests, 3.1 GiB, 1 off-site copy, 1 restore drill
2026-11-25 03:00:00 to 03:09:30 (9m30s)

GUEST  NAME    METHOD    STATUS    SIZE     TIME  VERIFIED  KEPT  PRUNED  ARCHIVE
100    nas     two-step  ok        2.0 GiB  3m7s  yes       8     1       backups:backup/vzdump-qemu-100-2026_11_25-03_00_02.vma.zst
101    docker  direct    warnings  1.1 GiB  1m5s  -         7     0       backups:backup/vzdump-lxc-101-2026_11_25-03_03_10.tar.zst
  100: sha256 2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae
  100: pruned backups:backup/vzdump-qemu-100-2026_10_30-03_00_01.vma.zst
  101: warning: unable to add notes - permission denied

OFFSITE       STATUS  BYTES    FILES  CHECKED  TIME  SOURCE
mega:homelab  ok      3.0 GiB  6      yes      4m0s  /mnt/pve/backups/dump

RESTORE  SCRATCH  STATUS  DISKS  BOOTED  AGENT  DESTROYED  TIME  ARCHIVE
101      9101     ok      1      no      no     yes        40s   backups:backup/vzdump-lxc-101-2026_11_25-03_03_10.tar.zst
  101: disk rootfs: local-lvm:vm-9101-disk-0,size=8G
`, r.String())
}

func TestReportFailed(t *testing.T) {
	t.Parallel()
	r := sampleReport()
	r.Guests = append(r.Guests, GuestReport{VMID: 103, Name: "pihole", Status: StatusFailed,
		Err: &Error{Op: "vzdump 103 on pve1", Message: "job failed with err -5 - Input/output error", Err: ErrUnavailable}})
	r.Offsite[0].Status = StatusFailed
	r.Offsite[0].Err = errors.New("rclone: exit 7")
	assert.False(t, r.OK())
	assert.Equal(t, "backup FAILED: 1 of 3 guests failed, 1 off-site copy failed", r.Subject())
	assert.Contains(t, r.String(), "  103: backup: vzdump 103 on pve1: job failed with err -5 - Input/output error: unavailable\n")

	r = Report{Problems: []string{"prune of backups refused: preview disagrees"}}
	assert.Equal(t, "backup FAILED: 1 problem", r.Subject())
	r = Report{Guests: []GuestReport{{VMID: 100, Status: StatusSkipped}}}
	assert.Equal(t, "backup FAILED: 1 of 1 guest failed", r.Subject())
}

func TestReportJSON(t *testing.T) {
	t.Parallel()
	r := sampleReport()
	r.Guests[1].Status = StatusFailed
	r.Guests[1].Err = &Error{Op: "vzdump 101", Message: "boom"}
	b, err := json.Marshal(r)
	require.NoError(t, err)
	var got map[string]any
	require.NoError(t, json.Unmarshal(b, &got))
	assert.Equal(t, false, got["ok"])
	assert.Equal(t, "backup FAILED: 1 of 2 guests failed", got["subject"])
	guests := got["guests"].([]any)
	g0 := guests[0].(map[string]any)
	assert.Equal(t, "two-step", g0["method"])
	assert.Equal(t, "ok", g0["status"])
	assert.Equal(t, 187.0, g0["duration_seconds"])
	assert.Equal(t, true, g0["verified"])
	g1 := guests[1].(map[string]any)
	assert.Equal(t, "backup: vzdump 101: boom", g1["error"])
	assert.Equal(t, "failed", g1["status"])
	assert.Len(t, got["offsite"], 1)
	assert.Len(t, got["restores"], 1)

	b, err = json.Marshal(Report{})
	require.NoError(t, err)
	assert.JSONEq(t, `{"ok":true,"subject":"backup OK: 0 guests, 0 B","size":0,"guests":[],"offsite":[],"restores":[]}`, string(b))
}

// A drill judged by the guest's current config (PVE could not read the
// archive's) says so in the text and in JSON; one judged by the archive
// says nothing.
func TestReportRestoreCurrentConfig(t *testing.T) {
	t.Parallel()
	r := sampleReport()
	assert.NotContains(t, r.String(), "current config")
	b, err := json.Marshal(r)
	require.NoError(t, err)
	assert.NotContains(t, string(b), "current_config")

	r.Restores[0].CurrentConfig = true
	assert.Contains(t, r.String(), "  101: disks judged by the guest's current config (PVE could not read the archive's)\n")
	b, err = json.Marshal(r)
	require.NoError(t, err)
	assert.Contains(t, string(b), `"current_config":true`)
}

func TestEventString(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		e    Event
		want string
	}{
		{Event{Kind: EventGuestStarted, Guest: 100}, "guest 100: guest started"},
		{Event{Kind: EventGuestProgress, Guest: 100, Percent: 42}, "guest 100: guest progress 42%"},
		{Event{Kind: EventArchiveWritten, Guest: 100, Bytes: 2 << 30}, "guest 100: archive written (2.0 GiB)"},
		{Event{Kind: EventGuestFailed, Guest: 103, Err: errors.New("boom")}, "guest 103: guest failed: boom"},
		{Event{Kind: EventCopyProgress, Guest: 100, Bytes: 1 << 20, TotalBytes: 4 << 20}, "guest 100: copy progress 1.0 MiB of 4.0 MiB"},
		{Event{Kind: EventPruned, Guest: 100, Files: 2}, "guest 100: pruned 2"},
		{Event{Kind: EventOffsiteProgress, Remote: "mega:lab", Bytes: 512, TotalBytes: 2048, Files: 1, TotalFiles: 3}, "offsite mega:lab: offsite progress 512 B of 2.0 KiB, 1 of 3 files"},
		{Event{Kind: EventRestoreStarted, Guest: 101, ScratchVMID: 9101}, "guest 101: restore started into 9101"},
		{Event{Kind: 99}, "event(99)"},
	} {
		assert.Equal(t, tt.want, tt.e.String())
	}
	for k := EventGuestStarted; k <= EventRestoreDone; k++ {
		assert.NotContains(t, k.String(), "event(")
	}
	assert.Equal(t, "two-step", TwoStep.String())
	assert.Equal(t, "method(7)", Method(7).String())
}
