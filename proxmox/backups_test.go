package proxmox_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/thehomelab/homelab/proxmox"
	"github.com/thehomelab/homelab/proxmox/proxmoxtest"
)

var labNow = time.Date(2026, 11, 26, 2, 0, 3, 0, time.UTC)

func TestVzdumpListNotesProtectDelete(t *testing.T) {
	t.Parallel()
	srv, c := newLab(t, proxmoxtest.WithClock(func() time.Time { return labNow }))
	srv.AddNode("proxmox2")
	srv.AddGuest(proxmoxtest.Guest{VMID: 200, Node: "proxmox2", Type: "qemu", Name: "remote", Running: true})
	ctx := t.Context()
	dump, err := c.Backups.StartVzdump(ctx, []proxmox.VMID{100, 101, 200}, proxmox.VzdumpOptions{Storage: "backups", Mode: "snapshot",
		Compress: "zstd", NotesTemplate: `{{guestname}} ({{vmid}}) on {{node}}\nsecond line`, Protected: true, NoPrune: true})
	require.NoError(t, err)
	require.Len(t, dump.Tasks, 2, "one task per hosting node")
	assert.Equal(t, "proxmox1", dump.Tasks[0].UPID.Node)
	assert.Equal(t, "", dump.Tasks[0].UPID.ID, "two guests: empty id")
	assert.Equal(t, "200", dump.Tasks[1].UPID.ID)
	var logged []string
	for line, err := range dump.Log(ctx) {
		require.NoError(t, err)
		logged = append(logged, line)
	}
	require.NoError(t, dump.Wait(ctx))
	require.NotEmpty(t, logged)
	assert.True(t, strings.HasPrefix(logged[0], "proxmox1: "), "two nodes: lines say which")
	for _, r := range srv.Requests() {
		if r.Path == "/nodes/proxmox1/vzdump" {
			assert.Equal(t, "100,101", r.Params.Get("vmid"))
			assert.Equal(t, "1", r.Params.Get("protected"))
			assert.Equal(t, "0", r.Params.Get("remove"))
		}
	}
	vols, err := c.Backups.List(ctx, proxmoxtest.Node, "backups", proxmox.ListOptions{VMID: 100})
	require.NoError(t, err)
	require.Len(t, vols, 1)
	v := vols[0]
	assert.Equal(t, "backups:backup/vzdump-qemu-100-2026_11_26-02_00_03.vma.zst", v.VolID)
	assert.Equal(t, "nas (100) on proxmox1", v.Notes, "first line only")
	assert.True(t, v.Protected)
	assert.Equal(t, proxmox.TypeVM, v.Type)
	assert.Equal(t, labNow.Unix(), v.Created.Unix())

	err = c.Backups.Delete(ctx, proxmoxtest.Node, v.VolID)
	require.ErrorIs(t, err, proxmox.ErrTaskFailed)
	assert.Contains(t, err.Error(), "cannot remove protected volume 'backup/vzdump-qemu-100-2026_11_26-02_00_03.vma.zst' on 'backups'")

	require.NoError(t, c.Backups.SetProtected(ctx, proxmoxtest.Node, v.VolID, false))
	require.NoError(t, c.Backups.SetNotes(ctx, proxmoxtest.Node, v.VolID, "kept by hand"))
	vols, err = c.Backups.List(ctx, proxmoxtest.Node, "backups", proxmox.ListOptions{VMID: 100})
	require.NoError(t, err)
	assert.False(t, vols[0].Protected)
	assert.Equal(t, "kept by hand", vols[0].Notes)
	require.NoError(t, c.Backups.Delete(ctx, proxmoxtest.Node, v.VolID))
	assert.NotContains(t, srv.Backups("backups"), v.VolID)

	// the guest migrated between lookup and call: vzdump answers "OK", no task
	srv.Inject(proxmoxtest.Fault{Status: 200, Body: `{"data":"OK"}`, Times: 1}.On("POST", "/vzdump$"))
	dump, err = c.Backups.StartVzdump(ctx, []proxmox.VMID{200}, proxmox.VzdumpOptions{Storage: "backups"})
	require.NoError(t, err)
	assert.Empty(t, dump.Tasks)
	_, err = c.Backups.StartVzdump(ctx, []proxmox.VMID{999}, proxmox.VzdumpOptions{})
	assert.ErrorIs(t, err, proxmox.ErrNotFound)
	_, err = c.Backups.StartVzdump(ctx, []proxmox.VMID{100}, proxmox.VzdumpOptions{NotesTemplate: "x"})
	assert.ErrorIs(t, err, proxmox.ErrInvalid)
	assert.ErrorIs(t, c.Backups.Delete(ctx, proxmoxtest.Node, "no-storage"), proxmox.ErrInvalid)
}

func TestVzdumpPrunesPerStoragePolicy(t *testing.T) {
	t.Parallel()
	now := labNow
	srv, c := newLab(t, proxmoxtest.WithClock(func() time.Time { return now }))
	for d := 1; d <= 3; d++ {
		srv.AddBackup(proxmoxtest.Backup{Storage: "local", VMID: 102, Type: "qemu", Time: labNow.AddDate(0, 0, -d)})
	}
	spec := proxmox.PruneSpec{Last: 2}
	require.NoError(t, c.Backups.Vzdump(t.Context(), []proxmox.VMID{102}, proxmox.VzdumpOptions{Storage: "local", PruneBackups: &spec}))
	vols, err := c.Backups.List(t.Context(), proxmoxtest.Node, "local", proxmox.ListOptions{VMID: 102})
	require.NoError(t, err)
	require.Len(t, vols, 2)
	assert.Equal(t, labNow.Unix(), vols[0].Created.Unix())
	assert.Equal(t, "vma", vols[0].Format, "no compression asked")
}

func TestPrunePreviewExactRules(t *testing.T) {
	t.Parallel()
	srv, c := newLab(t)
	day := func(d, h int) time.Time { return time.Date(2026, 11, d, h, 0, 0, 0, time.UTC) }
	vol := map[string]string{}
	for d := 20; d <= 26; d++ {
		vol[fmt.Sprintf("%d", d)] = srv.AddBackup(proxmoxtest.Backup{Storage: "local", VMID: 100, Type: "qemu", Time: day(d, 2)})
	}
	vol["26b"] = srv.AddBackup(proxmoxtest.Backup{Storage: "local", VMID: 100, Type: "qemu", Time: day(26, 14)})
	vol["19p"] = srv.AddBackup(proxmoxtest.Backup{Storage: "local", VMID: 100, Type: "qemu", Time: day(19, 2), Protected: true})
	vol["ren"] = srv.AddBackup(proxmoxtest.Backup{Storage: "local", VMID: 100, Type: "qemu", Time: day(18, 2), Name: "my-nas-copy.vma.zst"})
	vol["other"] = srv.AddBackup(proxmoxtest.Backup{Storage: "local", VMID: 101, Type: "lxc", Time: day(26, 2)})

	spec := proxmox.PruneSpec{Last: 2, Daily: 3}
	marks, err := c.Backups.PrunePreview(t.Context(), proxmoxtest.Node, "local", proxmox.PruneOptions{Spec: &spec, Type: proxmox.TypeVM, VMID: 100})
	require.NoError(t, err)
	got := map[string]string{}
	for _, m := range marks {
		got[m.VolID] = m.Mark
	}
	want := map[string]string{
		vol["26b"]: "keep", vol["26"]: "keep", vol["25"]: "keep", vol["24"]: "keep", vol["23"]: "keep",
		vol["22"]: "remove", vol["21"]: "remove", vol["20"]: "remove", vol["19p"]: "protected",
	}
	for k, v := range want {
		assert.Equal(t, v, got[k], k)
	}
	assert.NotContains(t, got, vol["other"])

	// the storage has no policy: PVE refuses without an explicit spec
	_, err = c.Backups.PrunePreview(t.Context(), proxmoxtest.Node, "local", proxmox.PruneOptions{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "no prune-backups options configured for storage 'local'")

	// weekly buckets are ISO weeks: Sunday 22nd and Monday 23rd differ
	spec = proxmox.PruneSpec{Weekly: 2}
	marks, err = c.Backups.PrunePreview(t.Context(), proxmoxtest.Node, "local", proxmox.PruneOptions{Spec: &spec, Type: proxmox.TypeVM, VMID: 100})
	require.NoError(t, err)
	var kept []string
	for _, m := range marks {
		if m.Mark == "keep" {
			kept = append(kept, strings.TrimPrefix(m.VolID, "local:backup/"))
		}
	}
	assert.Equal(t, []string{"vzdump-qemu-100-2026_11_26-14_00_00.vma.zst", "vzdump-qemu-100-2026_11_22-02_00_00.vma.zst"}, kept)
	for _, m := range marks {
		if m.VolID == vol["ren"] {
			assert.Equal(t, "renamed", m.Mark)
		}
	}
}

func TestPruneRemovesWhatPreviewMarks(t *testing.T) {
	t.Parallel()
	srv, c := newLab(t)
	for d := 1; d <= 5; d++ {
		srv.AddBackup(proxmoxtest.Backup{Storage: "backups", VMID: 100, Type: "qemu", Time: labNow.AddDate(0, 0, -d)})
	}
	srv.AddBackup(proxmoxtest.Backup{Storage: "backups", VMID: 100, Type: "qemu", Time: labNow.AddDate(0, 0, -9), Protected: true})
	spec := proxmox.PruneSpec{Last: 2}
	marks, err := c.Backups.PrunePreview(t.Context(), proxmoxtest.Node, "backups", proxmox.PruneOptions{Spec: &spec, VMID: 100})
	require.NoError(t, err)
	var keep []string
	for _, m := range marks {
		if m.Mark != "remove" {
			keep = append(keep, m.VolID)
		}
	}
	require.NoError(t, c.Backups.Prune(t.Context(), proxmoxtest.Node, "backups", proxmox.PruneOptions{Spec: &spec, Type: proxmox.TypeVM, VMID: 100}))
	assert.ElementsMatch(t, keep, srv.Backups("backups"))
	assert.Len(t, keep, 3)
	// with the storage's own policy (keep-daily=7…): nothing left to remove
	require.NoError(t, c.Backups.Prune(t.Context(), proxmoxtest.Node, "backups", proxmox.PruneOptions{}))
	assert.Len(t, srv.Backups("backups"), 3)
}

func TestVzdumpJobErrors(t *testing.T) {
	t.Parallel()
	srv, c := newLab(t)
	srv.FailBackup(101, "unable to freeze filesystem")
	dumpErr := c.Backups.Vzdump(t.Context(), []proxmox.VMID{100, 101}, proxmox.VzdumpOptions{Storage: "backups", NoPrune: true})
	require.ErrorIs(t, dumpErr, proxmox.ErrTaskFailed)
	assert.Contains(t, dumpErr.Error(), "job errors")
	vols, err := c.Backups.List(t.Context(), proxmoxtest.Node, "backups", proxmox.ListOptions{})
	require.NoError(t, err)
	require.Len(t, vols, 1, "the other guest was backed up")
	assert.Equal(t, proxmox.VMID(100), vols[0].VMID)
	var pe *proxmox.Error
	require.ErrorAs(t, dumpErr, &pe)
	lines, _, err := c.Tasks.Task(*pe.Task).ReadLog(t.Context(), 0, 50)
	require.NoError(t, err)
	var texts []string
	for _, l := range lines {
		texts = append(texts, l.Text)
	}
	assert.Contains(t, texts, "ERROR: Backup of VM 101 failed - unable to freeze filesystem")
}

func TestEnsureBackupJob(t *testing.T) {
	t.Parallel()
	srv, c := newLab(t)
	ctx := t.Context()
	job := proxmox.BackupJob{ID: "nightly", Schedule: "02:00", VMIDs: []proxmox.VMID{100, 101}, Storage: "backups",
		Mode: "snapshot", Compress: "zstd", NotesTemplate: "{{guestname}}",
		PruneBackups: &proxmox.PruneSpec{Daily: 7, Weekly: 4}}
	res, err := c.Backups.EnsureJob(ctx, job)
	changed := fieldsOf(res.Changes)
	require.NoError(t, err)
	assert.Contains(t, changed, "schedule")

	got, err := c.Backups.Job(ctx, "nightly")
	require.NoError(t, err)
	assert.Equal(t, []proxmox.VMID{100, 101}, got.VMIDs)
	require.NotNil(t, got.PruneBackups, "decoded from the GET object shape")
	assert.Equal(t, proxmox.PruneSpec{Daily: 7, Weekly: 4}, *got.PruneBackups)
	assert.False(t, got.Disabled)
	assert.False(t, got.NextRun.IsZero())

	srv.ResetRequests()
	res, err = c.Backups.EnsureJob(ctx, job)
	changed = fieldsOf(res.Changes)
	require.NoError(t, err)
	assert.Empty(t, changed, "second run changes nothing")
	assert.Len(t, srv.Requests(), 1)

	job.Disabled = true
	job.NotesTemplate = ""
	res, err = c.Backups.EnsureJob(ctx, job)
	changed = fieldsOf(res.Changes)
	require.NoError(t, err)
	assert.Equal(t, []string{"enabled", "notes-template"}, changed)
	put := srv.Requests()[len(srv.Requests())-1]
	assert.Equal(t, "0", put.Params.Get("enabled"))
	assert.Equal(t, "notes-template", put.Params.Get("delete"))
	got, err = c.Backups.Job(ctx, "nightly")
	require.NoError(t, err)
	assert.True(t, got.Disabled)
	assert.Empty(t, got.NotesTemplate)

	jobs, err := c.Backups.Jobs(ctx)
	require.NoError(t, err)
	require.Len(t, jobs, 1)
	require.NoError(t, c.Backups.DeleteJob(ctx, "nightly"))
	_, err = c.Backups.Job(ctx, "nightly")
	assert.ErrorIs(t, err, proxmox.ErrNotFound)
	_, err = c.Backups.EnsureJob(ctx, proxmox.BackupJob{ID: "x"})
	assert.ErrorIs(t, err, proxmox.ErrInvalid)
}

func TestVzdumpCarriesOnPastAnUnreachableNode(t *testing.T) {
	t.Parallel()
	srv, c := newLab(t)
	srv.AddNode("proxmox2")
	srv.AddGuest(proxmoxtest.Guest{VMID: 200, Node: "proxmox2", Type: "qemu", Name: "remote", Running: true})
	srv.Inject(proxmoxtest.Unreachable595.On("POST", "^/nodes/proxmox1/vzdump$"))
	err := c.Backups.Vzdump(t.Context(), []proxmox.VMID{100, 200}, proxmox.VzdumpOptions{Storage: "backups", NoPrune: true})
	require.ErrorIs(t, err, proxmox.ErrNodeUnreachable, "proxmox1's failure is reported")
	assert.Contains(t, err.Error(), "on proxmox1")
	vols, lerr := c.Backups.List(t.Context(), "proxmox2", "backups", proxmox.ListOptions{VMID: 200})
	require.NoError(t, lerr)
	assert.Len(t, vols, 1, "proxmox2's guest was still backed up")
}

// PVE answers a read of a missing job with 400 and errors.id "No such
// job" (pve-manager PVE/API2/Backup.pm read_job); EnsureJob must take that
// as "create", not as an invalid request.
func TestEnsureJobCreatesOnPVEsNoSuchJob(t *testing.T) {
	t.Parallel()
	srv, c := newLab(t)
	_, err := c.Backups.Job(t.Context(), "weekly")
	require.ErrorIs(t, err, proxmox.ErrNotFound)
	assert.NotErrorIs(t, err, proxmox.ErrInvalid)
	var pe *proxmox.Error
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, 400, pe.StatusCode)
	assert.Equal(t, "No such job 'weekly'", pe.Errors["id"])

	res, err := c.Backups.EnsureJob(t.Context(), proxmox.BackupJob{ID: "weekly", Schedule: "sun 03:00", All: true, Storage: "backups"})
	require.NoError(t, err)
	assert.Equal(t, proxmox.Created, res.Action)
	var posted bool
	for _, r := range srv.Requests() {
		posted = posted || (r.Method == "POST" && r.Path == "/cluster/backup")
	}
	assert.True(t, posted)
	require.NoError(t, c.Backups.DeleteJob(t.Context(), "weekly"))
	assert.ErrorIs(t, c.Backups.DeleteJob(t.Context(), "weekly"), proxmox.ErrNotFound)
}

// BackupJob.ID was documented optional ("PVE generates one") while
// EnsureJob required it; the doc and the error now say why it is required.
func TestEnsureJobNeedsAnID(t *testing.T) {
	t.Parallel()
	srv, c := newLab(t)
	srv.ResetRequests()
	_, err := c.Backups.EnsureJob(t.Context(), proxmox.BackupJob{Schedule: "02:00", All: true})
	require.ErrorIs(t, err, proxmox.ErrInvalid)
	assert.Contains(t, err.Error(), "an ID is required")
	assert.Empty(t, srv.Requests(), "nothing sent")
}
