package omv_test

import (
	"bufio"
	"maps"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/thehomelab/homelab/omv"
	"github.com/thehomelab/homelab/omv/omvtest"
)

// loadSamples splits testdata/mdstat-samples.txt (a verbatim copy of the
// shared fixture file) on its BEGIN/END markers.
func loadSamples(t testing.TB) map[string]string {
	t.Helper()
	f, err := os.Open("testdata/mdstat-samples.txt")
	require.NoError(t, err)
	t.Cleanup(func() { _ = f.Close() })
	out := map[string]string{}
	var id string
	var b strings.Builder
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "--- BEGIN "):
			id = strings.TrimSuffix(strings.TrimPrefix(line, "--- BEGIN "), " ---")
			b.Reset()
		case strings.HasPrefix(line, "--- END "):
			out[id] = b.String()
			id = ""
		case id != "":
			b.WriteString(line + "\n")
		}
	}
	require.NoError(t, sc.Err())
	require.NotEmpty(t, out)
	return out
}

type wantArray struct {
	dev      string
	level    string
	state    omv.RAIDState
	degraded bool
	missing  []int
	faulty   []string
	spares   []string
	pct      float64
	speed    int64
	eta      time.Duration
	slots    int
	working  int
}

func checkArray(t *testing.T, w wantArray, h omv.ArrayHealth) {
	t.Helper()
	if w.dev != "" {
		assert.Equal(t, w.dev, h.Device)
	}
	assert.Equal(t, w.level, h.Level, "level of %s", h.Device)
	assert.Equal(t, w.state, h.State, "state of %s", h.Device)
	assert.Equal(t, w.degraded, h.Degraded, "degraded of %s", h.Device)
	assert.Equal(t, w.missing, h.Missing, "missing of %s", h.Device)
	assert.Equal(t, w.faulty, h.Faulty, "faulty of %s", h.Device)
	assert.Equal(t, w.spares, h.Spares, "spares of %s", h.Device)
	assert.Equal(t, w.slots, h.Slots, "slots of %s", h.Device)
	assert.Equal(t, w.working, h.Working, "working of %s", h.Device)
	if w.pct > 0 || w.speed > 0 {
		require.NotNil(t, h.Sync, "sync of %s", h.Device)
		assert.InDelta(t, w.pct, h.Sync.Percent, 0.001)
		assert.Equal(t, w.speed, h.Sync.Speed)
		assert.Equal(t, w.eta, h.Sync.ETA)
	}
}

func TestParseMDStatSamples(t *testing.T) {
	t.Parallel()
	samples := loadSamples(t)
	tests := map[string][]wantArray{
		"mdstat-01": {
			{dev: "md2", level: "raid0", state: omv.RAIDClean},
			{dev: "md1", level: "raid1", state: omv.RAIDClean, slots: 2, working: 2},
			{dev: "md0", level: "raid1", state: omv.RAIDClean, slots: 2, working: 2},
		},
		"mdstat-02": {
			{dev: "md5", level: "raid5", state: omv.RAIDDegraded, degraded: true, missing: []int{3}, faulty: []string{"sdb1"}, slots: 4, working: 3},
			{dev: "md1", level: "raid1", state: omv.RAIDClean, slots: 2, working: 2},
		},
		"mdstat-03": {
			{dev: "md1", level: "raid1", state: omv.RAIDClean, slots: 2, working: 2},
			{dev: "md0", level: "raid1", state: omv.RAIDRecovering, degraded: true, missing: []int{0}, slots: 2, working: 1,
				pct: 0.4, speed: 12 * 1024, eta: 276*time.Minute + 54*time.Second},
		},
		"mdstat-04": {
			// removed, not failed: no (F) anywhere, only the [U_] map tells
			{dev: "md1", level: "raid1", state: omv.RAIDDegraded, degraded: true, missing: []int{0}, slots: 2, working: 1},
			{dev: "md0", level: "raid1", state: omv.RAIDRecovering, degraded: true, missing: []int{0}, slots: 2, working: 1,
				pct: 3.6, speed: 12 * 1024, eta: 259*time.Minute + 36*time.Second},
		},
		"mdstat-05": {
			{dev: "md127", level: "raid1", state: omv.RAIDResyncing, slots: 2, working: 2, pct: 50.4, speed: 67648 * 1024, eta: 6*time.Minute + 24*time.Second},
		},
		"mdstat-06": {
			{dev: "md127", state: omv.RAIDInactive, spares: []string{"sdc1"}},
		},
	}
	for id, want := range tests {
		t.Run(id, func(t *testing.T) {
			t.Parallel()
			text, ok := samples[id]
			require.True(t, ok, "sample %s missing", id)
			got, err := omv.ParseMDStat([]byte(text))
			require.NoError(t, err)
			require.Len(t, got, len(want))
			for i := range want {
				checkArray(t, want[i], got[i])
			}
		})
	}
}

func TestParseDetailSamples(t *testing.T) {
	t.Parallel()
	samples := loadSamples(t)
	tests := map[string]wantArray{
		"detail-01": {dev: "md127", level: "raid1", state: omv.RAIDRecovering, degraded: true, missing: []int{0}, slots: 2, working: 1, pct: 10},
		"detail-02": {dev: "md1", level: "raid1", state: omv.RAIDDegraded, degraded: true, missing: []int{0}, faulty: []string{"/dev/sda3"}, slots: 2, working: 1},
		"detail-03": {dev: "md2", level: "raid1", state: omv.RAIDDegraded, degraded: true, missing: []int{0}, slots: 2, working: 1},
	}
	for id, want := range tests {
		t.Run(id, func(t *testing.T) {
			t.Parallel()
			got, err := omv.ParseDetail([]byte(samples[id]))
			require.NoError(t, err)
			checkArray(t, want, got)
		})
	}
}

// Every sample in the fixture file is classified: none is left untested.
func TestEverySampleCovered(t *testing.T) {
	t.Parallel()
	for id, text := range loadSamples(t) {
		if strings.HasPrefix(id, "mdstat-") {
			arrays, err := omv.ParseMDStat([]byte(text))
			require.NoError(t, err, id)
			assert.NotEmpty(t, arrays, id)
			for _, a := range arrays {
				assert.NotEqual(t, omv.RAIDUnknown, a.State, id)
			}
			continue
		}
		h, err := omv.ParseDetail([]byte(text))
		require.NoError(t, err, id)
		assert.NotEqual(t, omv.RAIDUnknown, h.State, id)
	}
}

func TestParseMDStatEdgeCases(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		text   string
		state  omv.RAIDState
		dev    string
		reason string
		err    bool
	}{
		{name: "delayed resync is not a 0% resync", dev: "md1", state: omv.RAIDDelayed,
			text: "Personalities : [raid1]\nmd1 : active raid1 sdb2[1] sda2[0]\n      1000 blocks super 1.2 [2/2] [UU]\n      \tresync=DELAYED\n\nunused devices: <none>\n"},
		{name: "pending", dev: "md1", state: omv.RAIDDelayed,
			text: "md1 : active (auto-read-only) raid1 sdb2[1] sda2[0]\n      1000 blocks super 1.2 [2/2] [UU]\n      \tresync=PENDING\nunused devices: <none>\n"},
		{name: "no personalities, degraded and delayed (procfs: resyncing 0%, type unknown)", dev: "md1", state: omv.RAIDDelayed,
			text: "md1 : active raid1 sdb2[1]\n      1000 blocks super 1.2 [2/1] [_U]\n      \tresync=DELAYED\n\nunused devices: <none>\n"},
		{name: "check is not a fault", dev: "md2", state: omv.RAIDChecking,
			text: "Personalities : [raid1]\nmd2 : active raid1 sdb3[1] sda3[0]\n      1000 blocks super 1.2 [2/2] [UU]\n      [========>............]  check = 42.0% (420/1000) finish=1.0min speed=100K/sec\nunused devices: <none>\n"},
		{name: "lost indentation", dev: "md0", state: omv.RAIDDegraded,
			text: "cat /proc/mdstat\nPersonalities : [raid1]\nmd0 : active raid1 sda1[0]\n1000 blocks super 1.2 [2/1] [U_]\nunused devices: <none>\n"},
		{name: "no personalities line", dev: "md0", state: omv.RAIDClean,
			text: "md0 : active raid1 sda1[0] sdb1[1]\n  1000 blocks [2/2] [UU]\nunused devices: <none>\n"},
		{name: "truncated after the device line is not clean", dev: "md0", state: omv.RAIDUnknown,
			text: "Personalities : [raid1]\nmd0 : active raid1 sda1[0] sdb1[1]\n"},
		{name: "status line cut before [n/m] is not clean", dev: "md0", state: omv.RAIDUnknown,
			text: "md0 : active raid1 sda1[0] sdb1[1]\n      1000 blocks super 1.2 [2/"},
		{name: "raid0 has no [n/m]", dev: "md2", state: omv.RAIDClean,
			text: "md2 : active raid0 md0[0] md1[1]\n      3906764288 blocks super 1.2 64k chunks\nunused devices: <none>\n"},
		{name: "raid5 missing two members is failed", dev: "md0", state: omv.RAIDFailed,
			text: "md0 : active raid5 sda1[0] sdb1[1] sdc1[2](F) sdd1[3](F)\n      300 blocks super 1.2 level 5, 512k chunk, algorithm 2 [4/2] [UU__]\nunused devices: <none>\n"},
		{name: "raid6 missing two members is only degraded", dev: "md0", state: omv.RAIDDegraded,
			text: "md0 : active raid6 sda1[0] sdb1[1] sdc1[2] sdd1[3]\n      300 blocks super 1.2 level 6, 512k chunk, algorithm 2 [4/2] [UU__]\nunused devices: <none>\n"},
		{name: "raid10 near-2 that lost a mirrored pair is failed", dev: "md0", state: omv.RAIDFailed,
			text: "md0 : active raid10 sdc1[2] sdd1[3]\n      1000 blocks super 1.2 512K chunks 2 near-copies [4/2] [__UU]\nunused devices: <none>\n"},
		{name: "raid10 near-2 that lost one of each pair is degraded", dev: "md0", state: omv.RAIDDegraded,
			text: "md0 : active raid10 sda1[0] sdd1[3]\n      1000 blocks super 1.2 512K chunks 2 near-copies [4/2] [U__U]\nunused devices: <none>\n"},
		{name: "raid10 near-2 on three disks: two adjacent gone is failed", dev: "md0", state: omv.RAIDFailed,
			text: "md0 : active raid10 sda1[0]\n      1000 blocks super 1.2 512K chunks 2 near-copies [3/1] [U__]\nunused devices: <none>\n"},
		{name: "replacement with a spare and bitmap is recovering, not degraded", dev: "md0", state: omv.RAIDRecovering,
			text: "Personalities : [raid6] [raid5] [raid4]\nmd0 : active raid5 sdk1[5](R) sdf1[4](S) sde1[3] sdd1[2] sdc1[1] sdb1[0]\n      5860147200 blocks super 1.2 level 5, 512k chunk, algorithm 2 [4/4] [UUUU]\n      [==>..................]  recovery = 12.9% (252631104/1953382400) finish=179.5min speed=157902K/sec\n      bitmap: 0/15 pages [0KB], 65536KB chunk\n\nunused devices: <none>\n"},
		{name: "two-space indentation", dev: "md2", state: omv.RAIDResyncing,
			text: "Personalities : [raid1]\nmd2 : active raid1 sdb3[1] sda3[0]\n  1000 blocks super 1.2 [2/2] [UU]\n  [==========>..........]  resync = 51.4% (514/1000) finish=0.1min speed=100K/sec\nunused devices: <none>\n"},
		{name: "mdstat quoted in a monitor mail", dev: "md1", state: omv.RAIDDegraded,
			text: "This is an automatically generated mail message from mdadm\nrunning on nas\n\nA DegradedArray event had been detected on md device /dev/md1.\n\nFaithfully yours, etc.\n\nP.S. The /proc/mdstat file currently contains the following:\n\nPersonalities : [raid1]\nmd1 : active raid1 sdb2[1]\n      972574976 blocks [2/1] [_U]\n\nunused devices: <none>\n"},
		{name: "CRLF line ends", dev: "md0", state: omv.RAIDClean,
			text: "Personalities : [raid1]\r\nmd0 : active raid1 sda1[0] sdb1[1]\r\n      1000 blocks [2/2] [UU]\r\n\r\nunused devices: <none>\r\n"},
		{name: "issue 15: cut inside a resync progress line", dev: "md127", state: omv.RAIDUnknown,
			text: "md127 : active raid1 sdc1[0] sdc2[1]\n      52395008 blocks super 1.2 [2/2] [UU]\n      [==========>..........]  resync = 50"},
		{name: "issue 15: cut inside resync=DELAYED", dev: "md1", state: omv.RAIDUnknown,
			text: "md1 : active raid1 sdb2[1] sda2[0]\n      524224 blocks super 1.2 [2/2] [UU]\n        resync=DEL"},
		{name: "issue 15: cut before the [UU] map", dev: "md127", state: omv.RAIDUnknown,
			text: "md127 : active raid1 sdc1[0] sdc2[1]\n      52395008 blocks super 1.2 [2/2]"},
		{name: "a map shorter than the slots is not a status", dev: "md0", state: omv.RAIDUnknown,
			text: "md0 : active raid1 sda1[0] sdb1[1]\n      1000 blocks [2/2] [U]\nunused devices: <none>\n"},
		{name: "complete text without the unused devices line is not clean", dev: "md0", state: omv.RAIDUnknown,
			text: "md0 : active raid1 sda1[0] sdb1[1]\n  1000 blocks [2/2] [UU]\n"},
		{name: "issue 15: a 2.4 kernel's Event line and a wrapped progress line are unknown", dev: "md0", state: omv.RAIDUnknown,
			reason: `unrecognised line "[>....................]  recovery =  0.4% (1024/208704)"`,
			text:   "Personalities : [raid1]\nread_ahead 1024 sectors\nmd0 : active raid1 sdb1[1] sda1[0]\n      208704 blocks [2/2] [UU]\n      [>....................]  recovery =  0.4% (1024/208704)\nfinish=276.9min speed=12K/sec\nEvent: 7\nunused devices: <none>\n"},
		{name: "an Event line in a clean array is unknown", dev: "md0", state: omv.RAIDUnknown,
			reason: `unrecognised line "Event: 7"`,
			text:   "md0 : active raid1 sdb1[1] sda1[0]\n      208704 blocks [2/2] [UU]\nEvent: 7\nunused devices: <none>\n"},
		{name: "bitmap with a file is known", dev: "md0", state: omv.RAIDClean,
			text: "md0 : active raid1 sdb1[1] sda1[0]\n      208704 blocks [2/2] [UU]\n      bitmap: 1/2 pages [4KB], 65536KB chunk, file: /var/md0-bitmap\n\nunused devices: <none>\n"},
		{name: "garbage", text: "hello world\nfoo : bar\n", err: true},
		{name: "empty", text: "", err: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := omv.ParseMDStat([]byte(tt.text))
			if tt.err {
				assert.ErrorIs(t, err, omv.ErrParse)
				return
			}
			require.NoError(t, err)
			require.Len(t, got, 1)
			assert.Equal(t, tt.dev, got[0].Device)
			assert.Equal(t, tt.state, got[0].State, got[0].String())
			if tt.reason != "" {
				assert.Equal(t, tt.reason, got[0].Reason)
				assert.Contains(t, got[0].String(), tt.reason)
			}
		})
	}
}

// The next array's line closes a block: the first array stands, the cut
// one is unknown.
func TestParseMDStatClosedByNextArray(t *testing.T) {
	t.Parallel()
	got, err := omv.ParseMDStat([]byte("md1 : active raid1 sda1[0] sdb1[1]\n  1000 blocks [2/2] [UU]\nmd0 : active raid1 sdc1[0] sdd1[1]\n"))
	require.NoError(t, err)
	require.Len(t, got, 2)
	assert.Equal(t, omv.RAIDClean, got[0].State)
	assert.Equal(t, omv.RAIDUnknown, got[1].State)
	assert.Contains(t, got[1].String(), "text ends inside the block")
}

// mdstatFixtures are every /proc/mdstat text the tests know: the samples
// file, plus the texts the issue reproduced cut short in full, each also
// with CRLF line ends and re-indented.
func mdstatFixtures(t testing.TB) map[string]string {
	out := map[string]string{}
	for id, text := range loadSamples(t) {
		if strings.HasPrefix(id, "mdstat-") {
			out[id] = text
		}
	}
	out["delayed"] = "Personalities : [raid1]\nmd1 : active raid1 sdb2[1] sda2[0]\n      524224 blocks super 1.2 [2/2] [UU]\n        resync=DELAYED\n\nunused devices: <none>\n"
	out["check"] = "Personalities : [raid1]\nmd2 : active raid1 sdb3[1] sda3[0]\n      1000 blocks super 1.2 [2/2] [UU]\n      [========>............]  check = 42.0% (420/1000) finish=1.0min speed=100K/sec\n\nunused devices: <none>\n"
	out["replacement"] = "Personalities : [raid6] [raid5] [raid4]\nmd0 : active raid5 sdk1[5](R) sdf1[4](S) sde1[3] sdd1[2] sdc1[1] sdb1[0]\n      5860147200 blocks super 1.2 level 5, 512k chunk, algorithm 2 [4/4] [UUUU]\n      [==>..................]  recovery = 12.9% (252631104/1953382400) finish=179.5min speed=157902K/sec\n      bitmap: 0/15 pages [0KB], 65536KB chunk\n\nunused devices: <none>\n"
	for id, text := range maps.Clone(out) {
		out[id+"/crlf"] = strings.ReplaceAll(text, "\n", "\r\n")
		lines := strings.Split(text, "\n")
		for i, l := range lines {
			if strings.HasPrefix(l, " ") || strings.HasPrefix(l, "\t") {
				lines[i] = "  " + strings.TrimSpace(l)
			}
		}
		out[id+"/reindented"] = strings.Join(lines, "\n")
	}
	return out
}

// Cut at every byte, no fixture gives a clean verdict for an array that
// is not clean in the whole text (issue 15): the verdict turns unknown,
// stays what it was, or the parser errs.
func TestTruncatedTextNeverClean(t *testing.T) {
	t.Parallel()
	for id, text := range mdstatFixtures(t) {
		full, err := omv.ParseMDStat([]byte(text))
		require.NoError(t, err, id)
		whole := map[string]omv.RAIDState{}
		for _, a := range full {
			require.NotEqual(t, omv.RAIDUnknown, a.State, "%s: %s", id, a)
			whole[a.Device] = a.State
		}
		for n := range len(text) {
			got, err := omv.ParseMDStat([]byte(text[:n]))
			if err != nil {
				continue
			}
			for _, a := range got {
				if a.State == omv.RAIDClean {
					assert.Equal(t, omv.RAIDClean, whole[a.Device], "%s cut at %d: %s", id, n, a)
				}
			}
		}
	}
	for id, text := range loadSamples(t) {
		if strings.HasPrefix(id, "mdstat-") {
			continue
		}
		full, err := omv.ParseDetail([]byte(text))
		require.NoError(t, err, id)
		require.True(t, full.Degraded, id)
		for n := range len(text) {
			got, err := omv.ParseDetail([]byte(text[:n]))
			if err == nil {
				assert.NotEqual(t, omv.RAIDClean, got.State, "%s cut at %d: %s", id, n, got)
			}
		}
	}
}

func FuzzParseMDStat(f *testing.F) {
	for _, text := range loadSamples(f) {
		f.Add([]byte(text))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		arrays, err := omv.ParseMDStat(data)
		if err != nil {
			return
		}
		for i, a := range arrays {
			if a.State == "" {
				t.Fatalf("empty verdict for %q", a.Device)
			}
			if a.State == omv.RAIDClean && i == len(arrays)-1 && !strings.Contains(string(data), "unused devices") {
				t.Fatalf("clean without a closed block: %+v", a)
			}
			if a.State == omv.RAIDUnknown && a.Reason == "" {
				t.Fatalf("unknown without a reason: %+v", a)
			}
			if a.State != omv.RAIDUnknown && a.Reason != "" {
				t.Fatalf("a reason without unknown: %+v", a)
			}
			if a.Sync != nil && (a.Sync.Speed < 0 || a.Sync.ETA < 0) {
				t.Fatalf("negative progress %+v", a.Sync)
			}
			if a.Working > a.Slots || a.Working < 0 {
				t.Fatalf("working %d of %d slots", a.Working, a.Slots)
			}
			if a.State == omv.RAIDClean && (a.Degraded || len(a.Faulty) > 0) {
				t.Fatalf("clean but degraded: %+v", a)
			}
			_ = a.String()
		}
	})
}

func FuzzParseDetail(f *testing.F) {
	for _, text := range loadSamples(f) {
		f.Add([]byte(text))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		h, err := omv.ParseDetail(data)
		if err != nil {
			return
		}
		if h.State == "" {
			t.Fatal("empty verdict")
		}
		if h.State == omv.RAIDClean && h.Degraded {
			t.Fatalf("clean but degraded: %+v", h)
		}
		if (h.State == omv.RAIDUnknown) != (h.Reason != "") {
			t.Fatalf("reason and unknown disagree: %+v", h)
		}
		_ = h.String()
	})
}

func TestParseDetailEdgeCases(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, text string
		state      omv.RAIDState
		degraded   bool
	}{
		{"not started", "     Raid Level : raid1\n   Raid Devices : 2\n          State : active, degraded, Not Started \n Active Devices : 1\n", omv.RAIDInactive, false},
		{"failed", "     Raid Level : raid5\n   Raid Devices : 3\n          State : clean, FAILED \n Active Devices : 1\n", omv.RAIDFailed, true},
		{"delayed", "     Raid Level : raid1\n   Raid Devices : 2\n          State : clean, resyncing (DELAYED) \n Active Devices : 2\n", omv.RAIDDelayed, false},
		{"checking", "     Raid Level : raid1\n   Raid Devices : 2\n          State : clean, checking \n Active Devices : 2\n   Check Status : 42% complete\n", omv.RAIDChecking, false},
		{"truncated before State: not clean", "     Raid Level : raid1\n", omv.RAIDUnknown, false},
		{"empty State: not clean", "     Raid Level : raid1\n   Raid Devices : 2\n          State : \n Active Devices : 2\n", omv.RAIDUnknown, false},
		{"truncated before Active Devices: not clean", "     Raid Level : raid1\n   Raid Devices : 2\n          State : active, degr", omv.RAIDUnknown, false},
		{"raid5 missing two members is failed", "     Raid Level : raid5\n   Raid Devices : 4\n          State : clean, degraded \n Active Devices : 2\n", omv.RAIDFailed, true},
		{"raid6 missing two members is degraded", "     Raid Level : raid6\n   Raid Devices : 4\n          State : clean, degraded \n Active Devices : 2\n", omv.RAIDDegraded, true},
		{"raid0 broken is failed", "     Raid Level : raid0\n   Raid Devices : 2\n          State : clean, broken \n Active Devices : 1\n", omv.RAIDFailed, true},
		{"raid10 near=2 without a pair is failed", "     Raid Level : raid10\n   Raid Devices : 4\n          State : clean, degraded \n Active Devices : 2\n         Layout : near=2\n\n    Number   Major   Minor   RaidDevice State\n       -       0        0        0      removed\n       -       0        0        1      removed\n       2       8       33        2      active sync set-A   /dev/sdc1\n       3       8       49        3      active sync set-B   /dev/sdd1\n", omv.RAIDFailed, true},
		{"raid10 near=2 with a copy of each is degraded", "     Raid Level : raid10\n   Raid Devices : 4\n          State : clean, degraded \n Active Devices : 2\n         Layout : near=2\n\n    Number   Major   Minor   RaidDevice State\n       0       8        1        0      active sync set-A   /dev/sda1\n       -       0        0        1      removed\n       -       0        0        2      removed\n       3       8       49        3      active sync set-B   /dev/sdd1\n", omv.RAIDDegraded, true},
		{"inactive needs no counts", "     Raid Level : raid1\n          State : inactive \n", omv.RAIDInactive, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h, err := omv.ParseDetail([]byte(tt.text))
			require.NoError(t, err)
			assert.Equal(t, tt.state, h.State)
			assert.Equal(t, tt.degraded, h.Degraded)
		})
	}
	_, err := omv.ParseDetail([]byte("mdadm: cannot open /dev/md9: No such file or directory\n"))
	assert.ErrorIs(t, err, omv.ErrParse)
}

// The fake's /proc/mdstat parses to a verdict in every state it can be
// put in: the parser knows every line the fake (which copies md.c) prints.
func TestParseMDStatOfTheFake(t *testing.T) {
	t.Parallel()
	srv := omvtest.Start(t)
	verdict := func() omv.ArrayHealth {
		t.Helper()
		got, err := omv.ParseMDStat([]byte(srv.MDStat()))
		require.NoError(t, err)
		require.Len(t, got, 1)
		assert.Empty(t, got[0].Reason, srv.MDStat())
		return got[0]
	}
	assert.Equal(t, omv.RAIDClean, verdict().State)
	require.NoError(t, srv.StartSync("md0", "check", false))
	assert.Equal(t, omv.RAIDChecking, verdict().State)
	require.NoError(t, srv.StartSync("md0", "resync", true))
	assert.Equal(t, omv.RAIDDelayed, verdict().State)
	require.NoError(t, srv.FailMember("md0", "sdb"))
	assert.True(t, verdict().Degraded)
	require.NoError(t, srv.RemoveMember("md0", "sdb"))
	require.NoError(t, srv.AddMember("md0", "sdb"))
	assert.Equal(t, omv.RAIDRecovering, verdict().State)
}

// mdstat's [n] is a descriptor index, not a slot (issue 15): slots stay
// unknown, a replacement (R) is the member rebuilding, spares are spares.
func TestParseMDStatMembers(t *testing.T) {
	t.Parallel()
	type mem struct {
		dev                                string
		slot, index                        int
		rebuilding, spare, faulty, replace bool
	}
	tests := []struct {
		name string
		text string
		want []mem
	}{
		{"replacement with an in-sync member at index 2",
			"md0 : active raid1 sdc1[3](R) sdb1[2] sda1[0]\n      1000 blocks super 1.2 [2/2] [UU]\n      [=>...................]  recovery =  5.0% (50/1000) finish=1.0min speed=100K/sec\n\nunused devices: <none>\n",
			[]mem{{dev: "sdc1", slot: -1, index: 3, rebuilding: true, replace: true}, {dev: "sdb1", slot: -1, index: 2}, {dev: "sda1", slot: -1, index: 0}}},
		{"index 1 alone in a mirror missing slot 1",
			"md0 : active raid1 sda1[1]\n      1000 blocks super 1.2 [2/1] [U_]\n\nunused devices: <none>\n",
			[]mem{{dev: "sda1", slot: -1, index: 1}}},
		{"plain recovery: which member rebuilds is not said",
			"md0 : active raid1 sda1[2] sdb1[1]\n      208704 blocks [2/1] [_U]\n      [>....................]  recovery =  0.4% (1024/208704) finish=276.9min speed=12K/sec\n\nunused devices: <none>\n",
			[]mem{{dev: "sda1", slot: -1, index: 2}, {dev: "sdb1", slot: -1, index: 1}}},
		{"spare and faulty",
			"md0 : active raid1 sdc1[2](S) sdb1[1](F) sda1[0]\n      1000 blocks [2/1] [U_]\n\nunused devices: <none>\n",
			[]mem{{dev: "sdc1", slot: -1, index: 2, spare: true}, {dev: "sdb1", slot: -1, index: 1, faulty: true}, {dev: "sda1", slot: -1, index: 0}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := omv.ParseMDStat([]byte(tt.text))
			require.NoError(t, err)
			require.Len(t, got, 1)
			var have []mem
			for _, m := range got[0].Members {
				have = append(have, mem{dev: m.Device, slot: m.Slot, index: m.Index, rebuilding: m.Rebuilding,
					spare: m.Spare, faulty: m.Faulty, replace: m.Replacement})
			}
			assert.Equal(t, tt.want, have)
		})
	}
}

// OK() is what a cron check alarms on: quiet for planned work on a whole
// array, loud for anything missing, failed or not known (issue 15).
func TestOKForACronCheck(t *testing.T) {
	t.Parallel()
	const head, tail = "Personalities : [raid1] [raid5]\n", "\nunused devices: <none>\n"
	tests := []struct {
		name string
		text string
		ok   bool
	}{
		{"clean", "md0 : active raid1 sdb1[1] sda1[0]\n      1000 blocks [2/2] [UU]\n", true},
		{"scheduled check", "md0 : active raid1 sdb1[1] sda1[0]\n      1000 blocks [2/2] [UU]\n      [====>................]  check = 20.0% (200/1000) finish=1.0min speed=100K/sec\n", true},
		{"delayed resync", "md0 : active raid1 sdb1[1] sda1[0]\n      1000 blocks [2/2] [UU]\n      \tresync=DELAYED\n", true},
		{"resync of a whole mirror", "md0 : active raid1 sdb1[1] sda1[0]\n      1000 blocks [2/2] [UU]\n      [====>................]  resync = 20.0% (200/1000) finish=1.0min speed=100K/sec\n", true},
		{"rebuild onto a replacement, every member in sync", "md0 : active raid5 sde1[4](R) sdd1[3] sdc1[2] sdb1[1] sda1[0]\n      3000 blocks super 1.2 level 5, 512k chunk, algorithm 2 [4/4] [UUUU]\n      [==>..................]  recovery = 12.9% (129/1000) finish=1.0min speed=100K/sec\n", true},
		{"degraded", "md0 : active raid1 sda1[0]\n      1000 blocks [2/1] [U_]\n", false},
		{"degraded and delayed", "md0 : active raid1 sda1[0]\n      1000 blocks [2/1] [U_]\n      \tresync=DELAYED\n", false},
		{"recovering onto a missing slot", "md0 : active raid1 sdb1[2] sda1[0]\n      1000 blocks [2/1] [U_]\n      [==>..................]  recovery = 12.9% (129/1000) finish=1.0min speed=100K/sec\n", false},
		{"faulty member", "md0 : active raid1 sdb1[1](F) sda1[0]\n      1000 blocks [2/1] [U_]\n", false},
		{"inactive", "md0 : inactive sda1[0](S)\n      1000 blocks super 1.2\n", false},
		{"failed", "md0 : active raid5 sda1[0] sdb1[1]\n      3000 blocks super 1.2 level 5, 512k chunk, algorithm 2 [4/2] [UU__]\n", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := omv.ParseMDStat([]byte(head + tt.text + tail))
			require.NoError(t, err)
			require.Len(t, got, 1)
			assert.Equal(t, tt.ok, got[0].OK(), got[0].String())
		})
	}
	unknown, err := omv.ParseMDStat([]byte(head + "md0 : active raid1 sdb1[1] sda1[0]\n      1000 blocks [2/2] [UU]\n"))
	require.NoError(t, err)
	assert.False(t, unknown[0].OK(), "a check that cannot tell must not pass")
}
