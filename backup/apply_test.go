package backup

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"path"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fakeCluster is a test double of the cluster seam: it answers from plain
// values and records what Apply asked for.
type fakeCluster struct {
	mu       sync.Mutex
	inv      inventory
	now      time.Time
	failVMID map[int]string // vzdump fails these guests with that reason
	taskErr  error          // the vzdump task's exit (nil = derived from the log)
	upAfter  int            // guestRunning answers false this many times
	inactive bool           // the share never comes back
	preview  func(storage string, keep Keep, vmid int) map[string]Mark
	paths    map[string]string
	calls    []string
	deleted  []string
	pruned   []string
}

func newFakeCluster() *fakeCluster {
	return &fakeCluster{inv: labInventory(), now: time.Date(2026, 11, 25, 3, 0, 0, 0, time.UTC), failVMID: map[int]string{},
		paths: map[string]string{"backups": "/mnt/pve/backups", "local": "/var/lib/vz"}}
}

func (f *fakeCluster) record(format string, args ...any) {
	f.calls = append(f.calls, fmt.Sprintf(format, args...))
}

func (f *fakeCluster) inventory(context.Context, Config) (inventory, error) { return f.inv, nil }

func (f *fakeCluster) guestType(vmid int) string {
	for _, g := range f.inv.Guests {
		if g.VMID == vmid {
			return g.Type
		}
	}
	return "qemu"
}

type fakeTask struct {
	lines []string
	err   error
}

func (t fakeTask) Log(ctx context.Context) iter.Seq2[string, error] {
	return func(yield func(string, error) bool) {
		for _, l := range t.lines {
			if ctx.Err() != nil {
				yield("", ctx.Err())
				return
			}
			if !yield(l, nil) {
				return
			}
		}
	}
}

func (t fakeTask) Wait(ctx context.Context) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return t.err
}

// vzdump writes a task log in the shape pve-manager's PVE/VZDump.pm writes
// it, and adds the archives to the storage.
func (f *fakeCluster) vzdump(_ context.Context, node string, vmids []int, o dumpOptions) (dumpTask, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record("vzdump %s %v storage=%s mode=%s compress=%s", node, vmids, o.Storage, o.Mode, o.Compress)
	var lines []string
	errs := 0
	for _, id := range vmids {
		typ := f.guestType(id)
		ext := map[string]string{"qemu": "vma.zst", "lxc": "tar.zst"}[typ]
		stamp := f.now.Format("2006_01_02-15_04_05")
		file := path.Join(f.paths[o.Storage], "dump", fmt.Sprintf("vzdump-%s-%d-%s.%s", typ, id, stamp, ext))
		lines = append(lines,
			fmt.Sprintf("INFO: Starting Backup of VM %d (%s)", id, typ),
			"INFO: Backup started at "+f.now.Format("2006-01-02 15:04:05"),
			"INFO: creating vzdump archive '"+file+"'",
			"INFO:  40% (1.6 GiB of 4.0 GiB) in 3s, read: 546.1 MiB/s, write: 512.0 MiB/s")
		if reason, ok := f.failVMID[id]; ok {
			errs++
			lines = append(lines, fmt.Sprintf("ERROR: Backup of VM %d failed - %s", id, reason), "INFO: Failed at "+f.now.Format("2006-01-02 15:04:05"))
			continue
		}
		lines = append(lines,
			"INFO: 100% (4.0 GiB of 4.0 GiB) in 8s, read: 512.0 MiB/s, write: 480.0 MiB/s",
			"INFO: archive file size: 812MB",
			fmt.Sprintf("INFO: Finished Backup of VM %d (00:00:09)", id),
			"INFO: Backup finished at "+f.now.Add(9*time.Second).Format("2006-01-02 15:04:05"))
		f.inv.Archives[o.Storage] = append(f.inv.Archives[o.Storage], Archive{Volid: o.Storage + ":backup/" + path.Base(file), Size: 812 << 20})
		f.now = f.now.Add(10 * time.Second)
	}
	t := fakeTask{lines: lines, err: f.taskErr}
	if errs > 0 {
		t.lines = append(t.lines, "INFO: Backup job finished with errors", "TASK ERROR: job errors")
		if t.err == nil {
			t.err = errors.New("job errors")
		}
	} else {
		t.lines = append(t.lines, "INFO: Backup job finished successfully", "TASK OK")
	}
	return t, nil
}

func (f *fakeCluster) guestRunning(_ context.Context, node string, vmid int) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record("running? %d", vmid)
	if f.upAfter > 0 {
		f.upAfter--
		return false, nil
	}
	return true, nil
}

func (f *fakeCluster) storageActive(_ context.Context, node, storage string) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return !f.inactive, nil
}

func (f *fakeCluster) storagePath(_ context.Context, storage string) (string, error) {
	return f.paths[storage], nil
}

func (f *fakeCluster) archives(_ context.Context, node, storage string, vmid int) ([]Archive, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []Archive
	for _, a := range f.inv.Archives[storage] {
		if strings.Contains(a.Volid, fmt.Sprintf("-%d-", vmid)) {
			out = append(out, a)
		}
	}
	return out, nil
}

func (f *fakeCluster) marks(storage string, keep Keep, vmid int) map[string]Mark {
	as, _ := f.archives(context.Background(), "", storage, vmid)
	out := map[string]Mark{}
	for _, d := range Retention(as, keep, time.UTC) {
		out[d.Volid] = d.Mark
	}
	return out
}

func (f *fakeCluster) prunePreview(_ context.Context, node, storage string, keep Keep, typ string, vmid int) (map[string]Mark, error) {
	f.record("prune preview %s %d %s", storage, vmid, keep)
	if f.preview != nil {
		return f.preview(storage, keep, vmid), nil
	}
	return f.marks(storage, keep, vmid), nil
}

func (f *fakeCluster) prune(_ context.Context, node, storage string, keep Keep, typ string, vmid int) error {
	marks := f.marks(storage, keep, vmid)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record("prune %s %d %s", storage, vmid, keep)
	kept := f.inv.Archives[storage][:0]
	for _, a := range f.inv.Archives[storage] {
		if m, ok := marks[a.Volid]; ok && m == MarkRemove {
			f.pruned = append(f.pruned, a.Volid)
			continue
		}
		kept = append(kept, a)
	}
	f.inv.Archives[storage] = kept
	return nil
}

func (f *fakeCluster) deleteVolume(_ context.Context, node, volid string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record("delete %s", volid)
	f.deleted = append(f.deleted, volid)
	storage, _, _ := strings.Cut(volid, ":")
	f.inv.Archives[storage] = slices.DeleteFunc(f.inv.Archives[storage], func(a Archive) bool { return a.Volid == volid })
	return nil
}

// fakeCopy stands in for the node side's CopyVerified: it records the copy
// and puts the archive on the share, or fails as told.
type fakeCopy struct {
	f      *fakeCluster
	err    error
	srcs   []string
	before func(ctx context.Context) error
}

func (c *fakeCopy) copy(ctx context.Context, r Runner, src, dstDir string, o CopyOptions) (CopyResult, error) {
	c.srcs = append(c.srcs, src)
	if o.Progress != nil {
		o.Progress(400<<20, 812<<20)
		o.Progress(812<<20, 812<<20)
	}
	if c.before != nil {
		if err := c.before(ctx); err != nil {
			return CopyResult{}, err
		}
	}
	if c.err != nil {
		return CopyResult{}, c.err
	}
	dst := path.Join(dstDir, path.Base(src))
	c.f.mu.Lock()
	c.f.inv.Archives["backups"] = append(c.f.inv.Archives["backups"], Archive{Volid: "backups:backup/" + path.Base(src), Size: 812 << 20})
	c.f.mu.Unlock()
	return CopyResult{Path: dst, Size: 812 << 20, SHA256: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
		Sidecars: []string{dst + ".notes", strings.TrimSuffix(dst, ".vma.zst") + ".log"}}, nil
}

type nopRunner struct{}

func (nopRunner) Run(context.Context, ...string) ([]byte, error) { return nil, nil }

type eventLog struct {
	mu     sync.Mutex
	events []Event
}

func (l *eventLog) add(e Event) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.events = append(l.events, e)
}

func (l *eventLog) kinds(guest int) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, e := range l.events {
		if e.Guest == guest && e.Kind != EventGuestProgress && e.Kind != EventCopyProgress {
			out = append(out, e.Kind.String())
		}
	}
	return out
}

func testConfig(events *eventLog) Config {
	return Config{Storage: "backups", Location: time.UTC, Keep: &Keep{Last: 2},
		Runners: map[string]Runner{"pve1": nopRunner{}}, OnEvent: events.add,
		PollInterval: time.Millisecond, ShareTimeout: 200 * time.Millisecond}
}

func runNight(t *testing.T, f *fakeCluster, cp *fakeCopy, cfg Config, offsite func(context.Context, *Rclone, OffsiteSpec, func(OffsiteProgress)) (OffsiteResult, error)) (Report, error) {
	t.Helper()
	return runNightCtx(t.Context(), f, cp, cfg, offsite)
}

func runNightCtx(ctx context.Context, f *fakeCluster, cp *fakeCopy, cfg Config, offsite func(context.Context, *Rclone, OffsiteSpec, func(OffsiteProgress)) (OffsiteResult, error)) (Report, error) {
	p := buildPlan(f.inv, cfg, f.now)
	p.c = f
	if offsite == nil {
		offsite = func(context.Context, *Rclone, OffsiteSpec, func(OffsiteProgress)) (OffsiteResult, error) {
			return OffsiteResult{}, errors.New("offsite not expected")
		}
	}
	return apply(ctx, f, p, nodeSide{copy: cp.copy, offsite: offsite})
}

func TestApplyNight(t *testing.T) {
	t.Parallel()
	f := newFakeCluster()
	f.failVMID[102] = "job failed with err -5 - Input/output error"
	f.upAfter = 2
	cp := &fakeCopy{f: f}
	var events eventLog
	r, err := runNight(t, f, cp, testConfig(&events), nil)

	require.Error(t, err)
	assert.Equal(t, "backup FAILED: 1 of 3 guests failed", r.Subject())
	assert.ErrorIs(t, err, ErrUnavailable)
	require.Len(t, r.Guests, 3)

	nas := r.Guests[0]
	assert.Equal(t, 100, nas.VMID)
	assert.Equal(t, TwoStep, nas.Method)
	assert.Equal(t, StatusOK, nas.Status, "%v", nas.Err)
	assert.True(t, nas.Verified)
	assert.Equal(t, "backups:backup/vzdump-qemu-100-2026_11_25-03_00_10.vma.zst", nas.Archive)
	assert.Equal(t, []string{"/var/lib/vz/dump/vzdump-qemu-100-2026_11_25-03_00_10.vma.zst"}, cp.srcs)
	assert.Equal(t, []string{"local:backup/vzdump-qemu-100-2026_11_25-03_00_10.vma.zst"}, f.deleted, "the local copy goes once the share copy verified")
	assert.Equal(t, []string{"backups:backup/vzdump-qemu-100-2026_11_23-03_00_02.vma.zst", "backups:backup/vzdump-qemu-100-2026_11_22-03_00_02.vma.zst"}, nas.Pruned)
	assert.Equal(t, 2, nas.Kept)
	assert.Equal(t, []string{"guest started", "archive written", "verified", "copied", "pruned", "guest done"}, events.kinds(100))

	ct := r.Guests[1]
	assert.Equal(t, StatusOK, ct.Status)
	assert.Equal(t, "backups:backup/vzdump-lxc-101-2026_11_25-03_00_00.tar.zst", ct.Archive)
	assert.Equal(t, int64(812<<20), ct.Size)
	assert.Equal(t, 9*time.Second, ct.Duration)
	assert.Equal(t, []string{"backups:backup/vzdump-lxc-101-2026_11_20-03_05_00.tar.zst"}, ct.Pruned)

	ha := r.Guests[2]
	assert.Equal(t, StatusFailed, ha.Status)
	assert.EqualError(t, ha.Err, "backup: vzdump 102 on pve1: job failed with err -5 - Input/output error: unavailable")
	assert.Empty(t, ha.Archive)
	assert.Equal(t, []string{"guest started", "archive written", "pruned", "guest done"}, events.kinds(101))
	assert.Equal(t, []string{"guest started", "guest failed", "guest done"}, events.kinds(102))

	assert.Equal(t, "vzdump pve1 [101 102] storage=backups mode=snapshot compress=zstd", f.calls[0], "one task for the node's direct guests")
	assert.Contains(t, f.calls, "vzdump pve1 [100] storage=local mode=snapshot compress=zstd")
	assert.Contains(t, r.String(), "  102: backup: vzdump 102 on pve1: job failed with err -5 - Input/output error: unavailable\n")
}

func TestApplyCorruptedCopyKeepsLocal(t *testing.T) {
	t.Parallel()
	f := newFakeCluster()
	cp := &fakeCopy{f: f, err: &Error{Op: "copy vzdump-qemu-100-2026_11_25-03_00_00.vma.zst to /mnt/pve/backups/dump", Message: "sha-256 differs", Err: ErrVerify}}
	var events eventLog
	cfg := testConfig(&events)
	cfg.Guests = []int{100}
	r, err := runNight(t, f, cp, cfg, nil)

	require.ErrorIs(t, err, ErrVerify)
	require.Len(t, r.Guests, 1)
	g := r.Guests[0]
	assert.Equal(t, StatusFailed, g.Status)
	assert.False(t, g.Verified)
	assert.Equal(t, "local:backup/vzdump-qemu-100-2026_11_25-03_00_00.vma.zst", g.Archive, "the report points at the copy that survives")
	assert.Equal(t, "local", g.Storage)
	assert.Empty(t, f.deleted, "nothing deleted")
	assert.Empty(t, f.pruned, "no retention after a failed copy")
	assert.Len(t, f.inv.Archives["local"], 1)
	assert.Equal(t, []string{"guest started", "archive written", "guest failed", "guest done"}, events.kinds(100))
}

func TestApplyPruneDisagreementDeletesNothing(t *testing.T) {
	t.Parallel()
	f := newFakeCluster()
	f.preview = func(storage string, keep Keep, vmid int) map[string]Mark {
		m := f.marks(storage, keep, vmid)
		for v, mark := range m {
			if mark == MarkRemove {
				m[v] = MarkKeep // the node would keep what we would remove
			}
		}
		return m
	}
	var events eventLog
	cfg := testConfig(&events)
	cfg.Guests = []int{101}
	r, err := runNight(t, f, &fakeCopy{f: f}, cfg, nil)

	require.ErrorIs(t, err, ErrConflict)
	g := r.Guests[0]
	assert.Equal(t, StatusFailed, g.Status)
	assert.Contains(t, g.Err.Error(), "refused: retention and the node's prune preview disagree (vzdump-lxc-101-2026_11_20-03_05_00.tar.zst: ours remove, node keep)")
	assert.Empty(t, f.pruned)
	for _, c := range f.calls {
		assert.False(t, strings.HasPrefix(c, "prune backups"), c)
	}
}

func TestApplyShareNotBack(t *testing.T) {
	t.Parallel()
	f := newFakeCluster()
	f.inactive = true
	f.inv.Storages[0].Active = true // it was active when planned
	cp := &fakeCopy{f: f}
	cfg := testConfig(&eventLog{})
	cfg.Guests = []int{100}
	r, err := runNight(t, f, cp, cfg, nil)

	require.ErrorIs(t, err, ErrUnavailable)
	assert.Contains(t, r.Guests[0].Err.Error(), "not back after 200ms: storage backups is not active")
	assert.Empty(t, cp.srcs, "no copy onto a share that is not there")
	assert.Empty(t, f.deleted)
}

func TestApplyCancelledMidCopy(t *testing.T) {
	t.Parallel()
	f := newFakeCluster()
	ctx, cancel := context.WithCancel(t.Context())
	cp := &fakeCopy{f: f, before: func(ctx context.Context) error { cancel(); return ctx.Err() }}
	cfg := testConfig(&eventLog{})
	cfg.Guests = []int{100}
	r, err := runNightCtx(ctx, f, cp, cfg, nil)

	require.ErrorIs(t, err, context.Canceled)
	require.Len(t, r.Guests, 1)
	assert.Equal(t, StatusFailed, r.Guests[0].Status)
	assert.Empty(t, f.deleted, "the local copy survives a cancelled copy")
}

func TestApplySkipsRefusedGuests(t *testing.T) {
	t.Parallel()
	f := newFakeCluster()
	f.inv.Guests[0].Config["scsi1"] = "/dev/disk/by-id/ata-Samsung_SSD_870_EVO_1TB_A"
	cfg := testConfig(&eventLog{})
	cfg.Guests = []int{100, 101}
	r, err := runNight(t, f, &fakeCopy{f: f}, cfg, nil)

	require.Error(t, err)
	require.Len(t, r.Guests, 2)
	assert.Equal(t, StatusSkipped, r.Guests[0].Status)
	assert.Contains(t, r.Guests[0].Err.Error(), "refused: passthrough disks: scsi1 (/dev/disk/by-id/ata-Samsung_SSD_870_EVO_1TB_A) passed through")
	assert.Equal(t, StatusOK, r.Guests[1].Status)
	for _, c := range f.calls {
		assert.NotContains(t, c, "[100]", "a refused guest is not dumped")
	}
}

func TestApplyWholeTaskFails(t *testing.T) {
	t.Parallel()
	f := newFakeCluster()
	f.taskErr = errors.New("could not activate storage 'backups'")
	cfg := testConfig(&eventLog{})
	cfg.Guests = []int{101}
	// The task dies before its log names the guest.
	p := buildPlan(f.inv, cfg, f.now)
	p.c = f
	r, err := apply(t.Context(), &emptyLogCluster{f}, p, nodeSide{copy: (&fakeCopy{f: f}).copy})
	require.Error(t, err)
	assert.Equal(t, StatusFailed, r.Guests[0].Status)
	assert.EqualError(t, r.Guests[0].Err, "backup: vzdump 101 on pve1: could not activate storage 'backups': unavailable")
}

type emptyLogCluster struct{ *fakeCluster }

func (e *emptyLogCluster) vzdump(ctx context.Context, node string, vmids []int, o dumpOptions) (dumpTask, error) {
	return fakeTask{lines: []string{"ERROR: could not activate storage 'backups': storage is not online", "TASK ERROR: could not activate storage 'backups'"}, err: e.taskErr}, nil
}

func TestApplyOffsite(t *testing.T) {
	t.Parallel()
	f := newFakeCluster()
	var events eventLog
	cfg := testConfig(&events)
	cfg.Guests = []int{101}
	cfg.Rclone = &Rclone{}
	cfg.Offsite = []OffsiteSpec{{Source: "/mnt/pve/backups/dump", Remote: "mega:lab", Immutable: true}, {Source: "/srv/photos/2026-11", Remote: "mega:photos/2026-11"}}
	r, err := runNight(t, f, &fakeCopy{f: f}, cfg, func(_ context.Context, _ *Rclone, spec OffsiteSpec, progress func(OffsiteProgress)) (OffsiteResult, error) {
		progress(OffsiteProgress{Bytes: 10, TotalBytes: 20, Files: 1, TotalFiles: 2})
		if spec.Remote == "mega:photos/2026-11" {
			return OffsiteResult{Bytes: 20, Files: 2, Checked: true, CheckDifferences: 1}, nil
		}
		return OffsiteResult{Bytes: 20, Files: 2, Checked: true}, nil
	})
	require.ErrorIs(t, err, ErrVerify)
	require.Len(t, r.Offsite, 2)
	assert.Equal(t, StatusOK, r.Offsite[0].Status)
	assert.Equal(t, int64(20), r.Offsite[0].Bytes)
	assert.True(t, r.Offsite[0].Checked)
	assert.Equal(t, StatusFailed, r.Offsite[1].Status)
	assert.Equal(t, 1, r.Offsite[1].Differences)
	assert.Equal(t, "backup FAILED: 1 off-site copy failed", r.Subject())
	var kinds []string
	for _, e := range events.events {
		if e.Remote != "" {
			kinds = append(kinds, e.String())
		}
	}
	assert.Equal(t, []string{
		"offsite mega:lab: offsite progress 10 B of 20 B, 1 of 2 files", "offsite mega:lab: offsite done",
		"offsite mega:photos/2026-11: offsite progress 10 B of 20 B, 1 of 2 files",
		"offsite mega:photos/2026-11: offsite done: backup: check mega:photos/2026-11: 1 differences after the copy: verification failed",
	}, kinds)
}

func TestApplyRefusesForeignPlan(t *testing.T) {
	t.Parallel()
	_, err := Apply(t.Context(), NightPlan{})
	assert.ErrorIs(t, err, ErrInvalid)
}

// scriptRunner answers zstd -t per file: an error for the corrupt ones.
type scriptRunner struct {
	mu      sync.Mutex
	corrupt string
	argv    [][]string
}

func (r *scriptRunner) Run(_ context.Context, argv ...string) ([]byte, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.argv = append(r.argv, argv)
	if r.corrupt != "" && strings.HasSuffix(argv[len(argv)-1], r.corrupt) {
		return nil, &Error{Op: "run zstd", Message: "Restored data doesn't match checksum", Code: "exit 1"}
	}
	return nil, nil
}

func TestApplyVerifyDirect(t *testing.T) {
	t.Parallel()
	f := newFakeCluster()
	run := &scriptRunner{corrupt: "vzdump-qemu-102-2026_11_25-03_00_10.vma.zst"}
	var events eventLog
	cfg := testConfig(&events)
	cfg.Guests = []int{101, 102}
	cfg.VerifyDirect = true
	cfg.Runners = map[string]Runner{"pve1": run}
	f.inv.Archives["backups"] = append(f.inv.Archives["backups"], Archive{Volid: "backups:backup/vzdump-qemu-102-2026_11_20-03_00_00.vma.zst"},
		Archive{Volid: "backups:backup/vzdump-qemu-102-2026_11_19-03_00_00.vma.zst"})
	r, err := runNight(t, f, &fakeCopy{f: f}, cfg, nil)

	require.ErrorIs(t, err, ErrVerify)
	require.Len(t, r.Guests, 2)
	assert.True(t, r.Guests[0].Verified)
	assert.Equal(t, StatusOK, r.Guests[0].Status)
	assert.Equal(t, StatusFailed, r.Guests[1].Status)
	assert.False(t, r.Guests[1].Verified)
	assert.EqualError(t, r.Guests[1].Err, "backup: verify vzdump-qemu-102-2026_11_25-03_00_10.vma.zst: zstd -t: backup: run zstd: Restored data doesn't match checksum (exit 1): verification failed")
	assert.Empty(t, r.Guests[1].Pruned, "a corrupt new archive spares the old ones")
	assert.Equal(t, []string{"zstd", "-q", "-t", "--", "/mnt/pve/backups/dump/vzdump-lxc-101-2026_11_25-03_00_00.tar.zst"}, run.argv[0])
	assert.Contains(t, events.kinds(101), "verified")
}

func TestApplySkipsRefusedOffsite(t *testing.T) {
	t.Parallel()
	f := newFakeCluster()
	cfg := testConfig(&eventLog{})
	cfg.Guests = []int{101}
	cfg.Rclone = &Rclone{}
	cfg.Offsite = []OffsiteSpec{{Source: "/srv/photos/2026-11", Remote: "mega:photos/2026-11", Sync: true}}
	ran := 0
	r, err := runNight(t, f, &fakeCopy{f: f}, cfg, func(context.Context, *Rclone, OffsiteSpec, func(OffsiteProgress)) (OffsiteResult, error) {
		ran++
		return OffsiteResult{}, nil
	})
	require.ErrorIs(t, err, ErrInvalid)
	assert.Zero(t, ran, "a sync without a delete guard never runs")
	assert.Empty(t, r.Offsite)
	require.Len(t, r.Problems, 1)
	assert.Contains(t, r.Problems[0], "without a max-delete guard")
}
