package omv_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/thehomelab/homelab/omv"
	"github.com/thehomelab/homelab/omv/omvtest"
	"github.com/thehomelab/homelab/secret"
)

func TestApplyRevertAndJobs(t *testing.T) {
	t.Parallel()
	srv, c := newPair(t, nil)
	ctx := t.Context()
	dirty, err := c.Config.IsDirty(ctx)
	require.NoError(t, err)
	assert.False(t, dirty)

	_, changed, err := smbShareOf(c.SMB.EnsureShare(ctx, "1a2b3c4d-0003-4000-8000-00000000000c", omv.SMBShareOptions{ReadOnly: true}))
	require.NoError(t, err)
	require.True(t, changed)
	info, err := c.Info(ctx)
	require.NoError(t, err)
	assert.True(t, info.ConfigDirty)
	assert.Equal(t, []string{"avahi", "samba"}, info.DirtyModules, "the zeroconf alias is stored as avahi")
	dirty, err = c.Config.IsDirty(ctx, "quota", "samba")
	require.NoError(t, err)
	assert.True(t, dirty)
	dirty, err = c.Config.IsDirty(ctx, "quota")
	require.NoError(t, err)
	assert.False(t, dirty)

	// SMB.getStats refuses while samba is dirty.
	err = c.Call(ctx, "SMB", "getStats", nil, nil)
	require.ErrorIs(t, err, omv.ErrDirty)

	// Revert drops the change.
	require.NoError(t, c.Config.Revert(ctx))
	shares, err := c.SMB.Shares(ctx)
	require.NoError(t, err)
	for _, sh := range shares {
		assert.False(t, sh.ReadOnly, sh.Name)
	}
	assert.Empty(t, srv.DirtyModules())

	// Apply a subset: the other module stays dirty.
	_, _, err = smbShareOf(c.SMB.EnsureShare(ctx, "1a2b3c4d-0003-4000-8000-00000000000c", omv.SMBShareOptions{RecycleBin: true}))
	require.NoError(t, err)
	job, err := c.Config.StartApply(ctx, "samba")
	require.NoError(t, err)
	var out strings.Builder
	for line, err := range job.Log(ctx) {
		require.NoError(t, err)
		out.WriteString(line + "\n")
	}
	require.NoError(t, job.Wait(ctx))
	assert.Empty(t, out.String(), "OMV's applyChangesBg writes no output (the JSON of a null result)")
	assert.Equal(t, out.String(), job.Output())
	require.NoError(t, job.Wait(ctx), "Wait after completion does not re-read a deleted job")
	assert.Equal(t, []string{"avahi"}, srv.DirtyModules())
	require.NoError(t, c.Config.Apply(ctx))
	assert.Empty(t, srv.DirtyModules())

	// An unknown module is only looked up when it would be deployed: not
	// dirty (it cannot be) and no force means nothing happens.
	require.NoError(t, c.Config.Apply(ctx, "nosuchmodule"))
	var file string
	require.NoError(t, c.Call(ctx, "Config", "applyChangesBg", map[string]any{"modules": []string{"nosuchmodule"}, "force": true}, &file))
	err = c.Job(file).Wait(ctx)
	require.ErrorIs(t, err, omv.ErrJobFailed, "the apply runs in the job")
	assert.Contains(t, err.Error(), "Module 'nosuchmodule' not found.")

	// A failing job surfaces as ErrJobFailed with OMV's message, state stays dirty.
	_, _, err = smbShareOf(c.SMB.EnsureShare(ctx, "1a2b3c4d-0003-4000-8000-00000000000c", omv.SMBShareOptions{}))
	require.NoError(t, err)
	srv.FailJobs("Failed to execute command 'omv-salt deploy run samba': exit code '1'")
	err = c.Config.Apply(ctx)
	require.ErrorIs(t, err, omv.ErrJobFailed)
	assert.Contains(t, err.Error(), "exit code '1'")
	assert.Equal(t, []string{"avahi", "samba"}, srv.DirtyModules())
}

func TestDisksAndSMART(t *testing.T) {
	t.Parallel()
	srv, c := newPair(t, nil)
	ctx := t.Context()
	disks, err := c.Disks.List(ctx)
	require.NoError(t, err)
	require.Len(t, disks, 3)
	assert.Equal(t, "/dev/sda", disks[0].DeviceFile)
	assert.Equal(t, int64(1000204886016), disks[0].Size)
	assert.True(t, disks[2].IsRoot)

	st, err := c.Disks.SMART(ctx)
	require.NoError(t, err)
	require.Len(t, st, 2, "the virtio root disk has no SMART")
	for _, s := range st {
		assert.True(t, s.Good(), s.DeviceFile)
	}
	require.NoError(t, srv.FailSMART("/dev/sdb", 5, "BAD_ATTRIBUTE_NOW"))
	st, err = c.Disks.SMART(ctx)
	require.NoError(t, err)
	assert.True(t, st[0].Good())
	assert.False(t, st[1].Good())
	var failing []string
	for _, a := range st[1].Attributes {
		if a.Failing {
			failing = append(failing, a.Name)
		}
	}
	assert.Equal(t, []string{"Reallocated_Sector_Ct"}, failing)
	_, err = c.Disks.SMARTAttributes(ctx, "/dev/vda")
	require.Error(t, err)
	_, err = c.Disks.SMARTAttributes(ctx, "sda")
	require.ErrorIs(t, err, omv.ErrInvalid, "device files are validated")
}

// healthBoth checks the RPC verdict and that the fake's mdstat and
// mdadm --detail texts agree on it.
func healthBoth(t *testing.T, srv *omvtest.Server, c *omv.Client) (omv.ArrayHealth, omv.ArrayHealth, omv.ArrayHealth) {
	t.Helper()
	hs, err := c.RAID.Health(t.Context())
	require.NoError(t, err)
	require.Len(t, hs, 1)
	ms, err := omv.ParseMDStat([]byte(srv.MDStat()))
	require.NoError(t, err)
	require.Len(t, ms, 1)
	text, err := srv.Detail("md0")
	require.NoError(t, err)
	d, err := omv.ParseDetail([]byte(text))
	require.NoError(t, err)
	assert.Equal(t, hs[0].State, ms[0].State, "rpc vs mdstat")
	assert.Equal(t, d.State, ms[0].State, "detail vs mdstat")
	assert.Equal(t, d.Degraded, ms[0].Degraded)
	assert.Equal(t, d.Missing, ms[0].Missing)
	return hs[0], ms[0], d
}

func TestRAIDHealthUnderFaults(t *testing.T) {
	t.Parallel()
	srv, c := newPair(t, nil)
	srv.AddDisk("/dev/sdc", "Samsung SSD 870 EVO 1TB", 1000204886016)

	h, _, _ := healthBoth(t, srv, c)
	assert.Equal(t, omv.RAIDClean, h.State)
	assert.True(t, h.OK())
	assert.Equal(t, "md0", h.Device)
	assert.Equal(t, "raid1", h.Level)

	require.NoError(t, srv.FailMember("md0", "sdb"))
	h, m, d := healthBoth(t, srv, c)
	assert.Equal(t, omv.RAIDDegraded, h.State)
	assert.Equal(t, []int{1}, h.Missing)
	assert.Equal(t, []string{"/dev/sdb"}, d.Faulty)
	assert.Equal(t, []string{"sdb"}, m.Faulty)

	// Removed, not failed: only the slot map shows it.
	require.NoError(t, srv.RemoveMember("md0", "sdb"))
	h, m, _ = healthBoth(t, srv, c)
	assert.Equal(t, omv.RAIDDegraded, h.State)
	assert.Empty(t, m.Faulty)
	assert.Equal(t, []int{1}, m.Missing)

	// Recovery progresses on the fake clock.
	require.NoError(t, srv.AddMember("md0", "sdc"))
	require.NoError(t, srv.SetSyncSpeed("md0", 1<<20))
	srv.Advance(5 * time.Minute)
	h, m, _ = healthBoth(t, srv, c)
	assert.Equal(t, omv.RAIDRecovering, h.State)
	assert.True(t, h.Degraded)
	require.NotNil(t, h.Sync)
	assert.InDelta(t, m.Sync.Percent, h.Sync.Percent, 0.1)
	assert.Greater(t, h.Sync.Percent, 30.0)
	assert.Equal(t, int64(1<<30), h.Sync.Speed)
	assert.Greater(t, h.Sync.ETA, time.Duration(0))
	srv.Advance(time.Hour)
	h, _, _ = healthBoth(t, srv, c)
	assert.Equal(t, omv.RAIDClean, h.State)
	assert.True(t, h.OK())

	// A delayed resync is "delayed", not a 0 % resync.
	require.NoError(t, srv.StartSync("md0", "resync", true))
	h, _, _ = healthBoth(t, srv, c)
	assert.Equal(t, omv.RAIDDelayed, h.State)
	require.NoError(t, srv.ResumeSync("md0"))
	srv.Advance(time.Minute)
	h, _, _ = healthBoth(t, srv, c)
	assert.Equal(t, omv.RAIDResyncing, h.State)
	srv.Advance(time.Hour)

	require.NoError(t, srv.StartSync("md0", "check", false))
	srv.Advance(time.Minute)
	h, _, _ = healthBoth(t, srv, c)
	assert.Equal(t, omv.RAIDChecking, h.State)
	assert.True(t, h.OK(), "a scrub is not a fault")
	srv.Advance(time.Hour)

	require.NoError(t, srv.SetInactive("md0", true))
	h, _, _ = healthBoth(t, srv, c)
	assert.Equal(t, omv.RAIDInactive, h.State)
	assert.False(t, h.OK())

	// The health check never writes.
	_, writes := srv.Calls()
	assert.Equal(t, 0, writes)
}

func TestRAIDCreateMirror(t *testing.T) {
	t.Parallel()
	for _, v := range []omvtest.Version{omvtest.V6, omvtest.V7} {
		t.Run(v.String(), func(t *testing.T) {
			t.Parallel()
			srv, c := newPair(t, []omvtest.Option{omvtest.WithVersion(v)})
			srv.AddDisk("/dev/sdc", "X", 500107862016)
			srv.AddDisk("/dev/sdd", "X", 500107862016)
			a, err := c.RAID.CreateMirror(t.Context(), "fast", "/dev/sdc", "/dev/sdd")
			require.NoError(t, err)
			assert.Equal(t, "/dev/md1", a.DeviceFile)
			assert.Equal(t, "raid1", a.Level, "mirror in, raid1 out")
			assert.Equal(t, []string{"/dev/sdc", "/dev/sdd"}, a.Devices)
			assert.Contains(t, a.State, "resyncing")
			assert.Equal(t, []string{"initramfs", "mdadm"}, srv.DirtyModules())
			_, err = c.RAID.CreateMirror(t.Context(), "again", "/dev/sda", "/dev/sdc")
			require.Error(t, err)
			_, err = c.RAID.CreateMirror(t.Context(), "one", "/dev/sdc")
			require.Error(t, err)
			text, err := c.RAID.Detail(t.Context(), "/dev/md1")
			require.NoError(t, err)
			assert.Contains(t, text, "Raid Level : raid1")
			assert.False(t, strings.HasPrefix(text, "/dev/md1:"), "OMV drops the first line")
			hs, err := c.RAID.Health(t.Context())
			require.NoError(t, err)
			require.Len(t, hs, 2)
			assert.Equal(t, omv.RAIDClean, hs[0].State)
			assert.Equal(t, "md1", hs[1].Device)
			assert.Equal(t, omv.RAIDResyncing, hs[1].State, "initial resync after create")
			assert.False(t, hs[1].Degraded)
			srv.Advance(2 * time.Hour)
			hs, err = c.RAID.Health(t.Context())
			require.NoError(t, err)
			assert.Equal(t, omv.RAIDClean, hs[1].State)
		})
	}
}

func TestFilesystemsFoldersUsersQuotas(t *testing.T) {
	t.Parallel()
	srv, c := newPair(t, nil)
	ctx := t.Context()
	fss, err := c.Filesystems.List(ctx)
	require.NoError(t, err)
	require.Len(t, fss, 1)
	fs := fss[0]
	assert.Equal(t, omvtest.FilesystemUUID, fs.UUID)
	assert.Equal(t, "ext4", fs.Type)
	assert.Equal(t, omv.FSOnline, fs.Status)
	assert.Equal(t, fs.Size-fs.Available, fs.Used)
	assert.Equal(t, "/dev/md0", fs.Parent)
	mnt, err := c.Filesystems.MountPoint(ctx, fs.UUID)
	require.NoError(t, err)
	assert.Equal(t, omvtest.MountPointUUID, mnt)

	folders, err := c.SharedFolders.List(ctx)
	require.NoError(t, err)
	var names []string
	for _, f := range folders {
		names = append(names, f.Name)
	}
	assert.Equal(t, []string{"backups", "documents", "media"}, names)

	f, changed, err := folderOf(c.SharedFolders.Ensure(ctx, omv.SharedFolderSpec{Name: "photos", MountPoint: mnt, Mode: "770"}))
	require.NoError(t, err)
	assert.True(t, changed)
	assert.Equal(t, "photos/", f.RelDirPath)
	_, changed, err = folderOf(c.SharedFolders.Ensure(ctx, omv.SharedFolderSpec{Name: "photos", MountPoint: mnt, Mode: "770"}))
	require.NoError(t, err)
	assert.False(t, changed)
	_, _, err = folderOf(c.SharedFolders.Ensure(ctx, omv.SharedFolderSpec{Name: "bad", MountPoint: mnt, RelDirPath: "../etc"}))
	assert.Error(t, err)

	// A folder referenced by an SMB share cannot be deleted.
	_, err = c.SharedFolders.Delete(ctx, "media", false)
	require.ErrorIs(t, err, omv.ErrConflict)
	ok, err := c.SharedFolders.Delete(ctx, "photos", false)
	require.NoError(t, err)
	assert.True(t, ok)
	ok, err = c.SharedFolders.Delete(ctx, "photos", false)
	require.NoError(t, err)
	assert.False(t, ok)

	// Users.
	u, changed, err := userOf(c.Users.Ensure(ctx, omv.UserSpec{Name: "alice", Password: secret.New("pw1"), Email: "a@example.org", Groups: []string{"users"}}))
	require.NoError(t, err)
	assert.True(t, changed)
	assert.Equal(t, "a@example.org", u.Email)
	_, changed, err = userOf(c.Users.Ensure(ctx, omv.UserSpec{Name: "alice", Email: "a@example.org", Groups: []string{"users", "users"}}))
	require.NoError(t, err)
	assert.False(t, changed, "groups compared as sets")
	g, changed, err := groupOf(c.Users.EnsureGroup(ctx, "family", "alice", "docker"))
	require.NoError(t, err)
	assert.True(t, changed)
	assert.Equal(t, []string{"alice", "docker"}, g.Members)
	_, changed, err = groupOf(c.Users.EnsureGroup(ctx, "family", "docker", "alice"))
	require.NoError(t, err)
	assert.False(t, changed)
	_, _, err = userOf(c.Users.Ensure(ctx, omv.UserSpec{Name: "bad name!", Password: secret.New("x")}))
	require.ErrorIs(t, err, omv.ErrInvalid)
	_, _, err = userOf(c.Users.Ensure(ctx, omv.UserSpec{Name: "nopw"}))
	require.Error(t, err)

	// Quotas: units converted, read back.
	changed, err = c.Quotas.SetUser(ctx, fs.UUID, "alice", 1500<<20)
	require.NoError(t, err)
	assert.True(t, changed)
	assert.Equal(t, int64(1500<<10), srv.Quota(fs.UUID, "alice"), "stored as KiB")
	qs, err := c.Quotas.Get(ctx, fs.UUID)
	require.NoError(t, err)
	byName := map[string]int64{}
	for _, q := range qs {
		if q.Type == "user" {
			byName[q.Name] = q.HardLimit
		}
	}
	// OMV reports 1536000 KiB as 1.46 GiB (binary_format cuts to two
	// decimals); whole units read back exactly.
	assert.Equal(t, map[string]int64{"alice": 1567663063, "docker": 200 << 30, "proxmox": 500 << 30}, byName)
	changed, err = c.Quotas.SetUser(ctx, fs.UUID, "alice", 1500<<20)
	require.NoError(t, err)
	assert.False(t, changed, "1.46 GiB as OMV shows it is the 1500 MiB asked for")
	assert.Equal(t, int64(1500<<10), srv.Quota(fs.UUID, "alice"))

	// Quota.set replaces the list: changing docker must not cut alice's
	// 1.46 GiB to 1 GiB (OMV truncates a fractional bhardlimit) nor touch
	// proxmox's 500 GiB.
	changed, err = c.Quotas.SetUser(ctx, fs.UUID, "docker", 300<<30)
	require.NoError(t, err)
	assert.True(t, changed)
	assert.Equal(t, int64(300<<20), srv.Quota(fs.UUID, "docker"))
	assert.Equal(t, int64(500<<20), srv.Quota(fs.UUID, "proxmox"))
	assert.InDelta(t, 1500<<10, srv.Quota(fs.UUID, "alice"), 1500<<10/100, "within OMV's display precision")
	changed, err = c.Quotas.SetUser(ctx, fs.UUID, "alice", 1000) // rounds up to 1 KiB
	require.NoError(t, err)
	assert.True(t, changed)
	assert.Equal(t, int64(1), srv.Quota(fs.UUID, "alice"))

	ok, err = c.Users.Delete(ctx, "alice")
	require.NoError(t, err)
	assert.True(t, ok)
	ok, err = c.Users.Delete(ctx, "alice")
	require.NoError(t, err)
	assert.False(t, ok)
	_, err = c.Users.Get(ctx, "alice")
	require.ErrorIs(t, err, omv.ErrNotFound)
	ok, err = c.Users.DeleteGroup(ctx, "family")
	require.Error(t, err, "docker is still a member")
	assert.False(t, ok)

	st, err := c.SMB.Settings(ctx)
	require.NoError(t, err)
	assert.True(t, st.Enable)
	st.Workgroup = "HOME"
	require.NoError(t, c.SMB.SetSettings(ctx, st))
	st, err = c.SMB.Settings(ctx)
	require.NoError(t, err)
	assert.Equal(t, "HOME", st.Workgroup)
}

func TestEnsureShareIdempotent(t *testing.T) {
	t.Parallel()
	for _, v := range []omvtest.Version{omvtest.V6, omvtest.V7, omvtest.V85} {
		t.Run(v.String(), func(t *testing.T) {
			t.Parallel()
			srv, c := newPair(t, []omvtest.Option{omvtest.WithVersion(v)})
			ctx := t.Context()
			spec := omv.ShareSpec{Name: "photos", Filesystem: omvtest.FilesystemUUID,
				Owner: omv.UserSpec{Name: "carol", Password: secret.New("pw"), Email: "c@example.org"},
				Quota: 100 << 30, SMB: omv.SMBShareOptions{RecycleBin: true}}
			res, err := c.ProvisionShare(ctx, spec)
			require.NoError(t, err)
			assert.Equal(t, []string{"user carol", "shared folder photos", "privileges of carol on photos",
				"smb share photos", "quota of carol = 100 GiB"}, lines(res.Changes))
			assert.Empty(t, srv.DirtyModules(), "applied")
			assert.Contains(t, srv.ExportedShares(), "photos")
			assert.Equal(t, "photos", res.Share.Name)
			assert.True(t, res.Share.RecycleBin)

			srv.ResetCalls()
			res, err = c.ProvisionShare(ctx, spec)
			require.NoError(t, err)
			assert.False(t, res.Changed())
			total, writes := srv.Calls()
			assert.LessOrEqual(t, total, 6)
			assert.Equal(t, 0, writes)
			dirty, err := c.Config.IsDirty(ctx)
			require.NoError(t, err)
			assert.False(t, dirty)

			// Drift is corrected, only what differs.
			spec.SMB.ReadOnly = true
			res, err = c.ProvisionShare(ctx, spec)
			require.NoError(t, err)
			assert.Equal(t, []string{"smb share photos"}, lines(res.Changes))
			assert.Equal(t, []string{"avahi", "samba"}, res.Applied)
		})
	}
}

func TestEnsureShareApplyFailure(t *testing.T) {
	t.Parallel()
	srv, c := newPair(t, nil)
	ctx := t.Context()
	spec := omv.ShareSpec{Name: "photos", Filesystem: omvtest.FilesystemUUID,
		Owner: omv.UserSpec{Name: "carol", Password: secret.New("pw")}}

	srv.Inject(omvtest.Fault{RPC: "Config.applyChangesBg", Status: 504, Times: 1})
	res, err := c.ProvisionShare(ctx, spec)
	require.ErrorIs(t, err, omv.ErrTimeout)
	assert.Contains(t, err.Error(), "written, not applied")
	assert.True(t, res.Changed())
	assert.Empty(t, res.Applied)

	srv.FailJobs("salt failed")
	_, err = c.ProvisionShare(ctx, spec)
	require.Error(t, err)
	srv.FailJobs("")
	// The 504'd apply may have run anyway; the next run converges.
	res, err = c.ProvisionShare(ctx, spec)
	require.NoError(t, err)
	assert.Empty(t, srv.DirtyModules())

	// Expired session mid-sequence: re-login and continue.
	srv.Advance(time.Hour)
	spec.Quota = 1 << 30
	res, err = c.ProvisionShare(ctx, spec)
	require.NoError(t, err)
	assert.Equal(t, []string{"quota of carol = 1 GiB"}, lines(res.Changes))
}

func TestEnsureShareOnSeededShareIsNoop(t *testing.T) {
	t.Parallel()
	srv, c := newPair(t, nil)
	ctx := t.Context()
	// Give docker an email: an EnsureShare without one must not clear it.
	_, changed, err := userOf(c.Users.Ensure(ctx, omv.UserSpec{Name: "docker", Email: "d@example.org"}))
	require.NoError(t, err)
	require.True(t, changed)
	require.NoError(t, c.Config.Apply(ctx))
	srv.ResetCalls()
	res, err := c.ProvisionShare(ctx, omv.ShareSpec{Name: "media", Filesystem: omvtest.FilesystemUUID,
		Owner: omv.UserSpec{Name: "docker"}, Quota: 200 << 30})
	require.NoError(t, err)
	assert.Empty(t, res.Changes, "seeded mode 770 and email are left alone")
	total, writes := srv.Calls()
	assert.Equal(t, 6, total)
	assert.Equal(t, 0, writes)
	u, err := c.Users.Get(ctx, "docker")
	require.NoError(t, err)
	assert.Equal(t, "d@example.org", u.Email)
}

func TestCreateFilesystemOnNewMirror(t *testing.T) {
	t.Parallel()
	srv, c := newPair(t, nil)
	ctx := t.Context()
	srv.AddDisk("/dev/sdc", "X", 500107862016)
	srv.AddDisk("/dev/sdd", "X", 500107862016)
	a, err := c.RAID.CreateMirror(ctx, "fast", "/dev/sdc", "/dev/sdd")
	require.NoError(t, err)
	job, err := c.Filesystems.StartCreate(ctx, a.DeviceFile, "ext4")
	require.NoError(t, err)
	fss, err := c.Filesystems.List(ctx)
	require.NoError(t, err)
	require.Len(t, fss, 2)
	assert.Equal(t, omv.FSInitializing, fss[1].Status)
	var out strings.Builder
	for line, err := range job.Log(ctx) {
		require.NoError(t, err)
		out.WriteString(line + "\n")
	}
	require.NoError(t, job.Wait(ctx))
	// Read by byte offset: each line exactly once, though every poll
	// could return the whole file from 0.
	assert.Equal(t, "Creating new partition table ...\nmke2fs 1.47.0 (5-Feb-2023)\n"+
		"Writing superblocks and filesystem accounting information: done\n", out.String())
	assert.Equal(t, out.String(), job.Output())
	fss, err = c.Filesystems.List(ctx)
	require.NoError(t, err)
	require.Len(t, fss, 1, "no mount point yet: not listed")
	mnt, err := c.Filesystems.SetMountPoint(ctx, a.DeviceFile)
	require.NoError(t, err)
	require.NoError(t, c.Config.Apply(ctx))
	fss, err = c.Filesystems.List(ctx)
	require.NoError(t, err)
	require.Len(t, fss, 2)
	assert.Equal(t, omv.FSOnline, fss[1].Status)
	assert.True(t, fss[1].Mounted)
	got, err := c.Filesystems.MountPoint(ctx, fss[1].UUID)
	require.NoError(t, err)
	assert.Equal(t, mnt, got)
	_, err = c.Filesystems.StartCreate(ctx, a.DeviceFile, "ext4")
	require.Error(t, err, "already has a filesystem")
	_, err = c.Filesystems.StartCreate(ctx, a.DeviceFile, "fat")
	require.ErrorIs(t, err, omv.ErrInvalid)
}

func TestPrivilegesAndShareRemoval(t *testing.T) {
	t.Parallel()
	srv, c := newPair(t, nil)
	ctx := t.Context()
	folders, err := c.SharedFolders.List(ctx)
	require.NoError(t, err)
	docs := folders[1]
	require.Equal(t, "documents", docs.Name)
	privs, err := c.SharedFolders.Privileges(ctx, docs.UUID)
	require.NoError(t, err)
	assert.Equal(t, []omv.Privilege{{Type: "user", Name: "docker", Perms: omv.PermsRead},
		{Type: "user", Name: "proxmox", Perms: omv.PermsReadWrite}}, privs, "unset (null) entries are dropped")
	err = c.SharedFolders.SetPrivileges(ctx, docs.UUID, []omv.Privilege{{Type: "user", Name: "ghost", Perms: omv.PermsRead}})
	require.ErrorIs(t, err, omv.ErrNotFound)
	err = c.SharedFolders.SetPrivileges(ctx, docs.UUID, []omv.Privilege{{Type: "user", Name: "docker", Perms: 6}})
	require.ErrorIs(t, err, omv.ErrInvalid)

	shares, err := c.SMB.Shares(ctx)
	require.NoError(t, err)
	require.Len(t, shares, 3)
	assert.Equal(t, "documents", shares[1].Name)
	assert.True(t, shares[1].Browseable)
	assert.Equal(t, omv.GuestNo, shares[1].Guest)
	require.NoError(t, c.SMB.DeleteShare(ctx, shares[1].UUID))
	ok, err := c.SharedFolders.Delete(ctx, "documents", true)
	require.NoError(t, err)
	assert.True(t, ok)
	require.NoError(t, c.Config.Apply(ctx))
	assert.Equal(t, []string{"backups", "media"}, srv.ExportedShares())
	err = c.SMB.DeleteShare(ctx, shares[1].UUID)
	require.ErrorIs(t, err, omv.ErrNotFound)
}

// A quota OMV can only show rounded (1500 MiB reads back as 1.46 GiB) must
// not make EnsureShare rewrite it on every run.
func TestEnsureShareNonRoundQuotaIdempotent(t *testing.T) {
	t.Parallel()
	srv, c := newPair(t, nil)
	ctx := t.Context()
	spec := omv.ShareSpec{Name: "photos", Filesystem: omvtest.FilesystemUUID,
		Owner: omv.UserSpec{Name: "carol", Password: secret.New("pw")}, Quota: 1500 << 20}
	_, err := c.ProvisionShare(ctx, spec)
	require.NoError(t, err)
	assert.Equal(t, int64(1500<<10), srv.Quota(omvtest.FilesystemUUID, "carol"))
	srv.ResetCalls()
	res, err := c.ProvisionShare(ctx, spec)
	require.NoError(t, err)
	assert.Empty(t, res.Changes)
	_, writes := srv.Calls()
	assert.Equal(t, 0, writes)
}

// Passwords are set on creation and, on an existing user, only with
// ResetPassword; the account works at once (no apply needed).
func TestUserPasswordsTakeEffect(t *testing.T) {
	t.Parallel()
	srv, c := newPair(t, nil)
	ctx := t.Context()
	login := func(pw string) error {
		uc, err := omv.NewClient(srv.URL, omv.WithHTTPClient(srv.Client()), omv.WithCredentials("frank", secret.New(pw)))
		require.NoError(t, err)
		defer uc.Close()
		return uc.Login(ctx)
	}
	_, changed, err := userOf(c.Users.Ensure(ctx, omv.UserSpec{Name: "frank", Password: secret.New("first-pw")}))
	require.NoError(t, err)
	assert.True(t, changed)
	require.NoError(t, login("first-pw"))

	_, changed, err = userOf(c.Users.Ensure(ctx, omv.UserSpec{Name: "frank", Password: secret.New("second-pw")}))
	require.NoError(t, err)
	assert.False(t, changed, "a password alone is not compared")
	require.ErrorIs(t, login("second-pw"), omv.ErrAuth)

	_, changed, err = userOf(c.Users.Ensure(ctx, omv.UserSpec{Name: "frank", Password: secret.New("second-pw"), ResetPassword: true}))
	require.NoError(t, err)
	assert.True(t, changed)
	require.NoError(t, login("second-pw"))
	require.ErrorIs(t, login("first-pw"), omv.ErrAuth)
}

// Every SMB share option reaches the wire with OMV's field and value.
func TestSMBShareOptions(t *testing.T) {
	t.Parallel()
	_, c := newPair(t, nil)
	ctx := t.Context()
	const media = "1a2b3c4d-0003-4000-8000-00000000000c"
	o := omv.SMBShareOptions{ReadOnly: true, Unlisted: true, Guest: omv.GuestAllow, RecycleBin: true, Comment: "films"}
	_, changed, err := smbShareOf(c.SMB.EnsureShare(ctx, media, o))
	require.NoError(t, err)
	assert.True(t, changed)
	var raw struct {
		Data []map[string]any `json:"data"`
	}
	require.NoError(t, c.Call(ctx, "SMB", "getShareList", map[string]any{"start": 0, "limit": nil}, &raw))
	var got map[string]any
	for _, sh := range raw.Data {
		if sh["sharedfolderref"] == media {
			got = sh
		}
	}
	require.NotNil(t, got)
	assert.Equal(t, true, got["readonly"])
	assert.Equal(t, false, got["browseable"])
	assert.Equal(t, "allow", got["guest"])
	assert.Equal(t, true, got["recyclebin"])
	assert.Equal(t, "films", got["comment"])
	assert.Equal(t, true, got["enable"])
	_, changed, err = smbShareOf(c.SMB.EnsureShare(ctx, media, o))
	require.NoError(t, err)
	assert.False(t, changed)
	o.Guest = omv.GuestOnly
	sh, changed, err := smbShareOf(c.SMB.EnsureShare(ctx, media, o))
	require.NoError(t, err)
	assert.True(t, changed)
	assert.Equal(t, omv.GuestOnly, sh.Guest)
	assert.False(t, sh.Browseable)
}

// A session that ends in the middle of EnsureShare (or of an apply's
// polling) costs one login; every write is sent once and the result is
// applied, not half done.
func TestEnsureShareSessionExpiresMidSequence(t *testing.T) {
	t.Parallel()
	for _, method := range []string{"ShareMgmt.setPrivileges", "SMB.setShare", "Quota.set", "Config.applyChangesBg", "Exec.getOutput"} {
		t.Run(method, func(t *testing.T) {
			t.Parallel()
			srv, c := newPair(t, nil)
			ctx := t.Context()
			require.NoError(t, c.Login(ctx))
			srv.ExpireBefore(method)
			spec := omv.ShareSpec{Name: "photos", Filesystem: omvtest.FilesystemUUID,
				Owner: omv.UserSpec{Name: "carol", Password: secret.New("pw")}, Quota: 1 << 30}
			res, err := c.ProvisionShare(ctx, spec)
			require.NoError(t, err)
			assert.Len(t, res.Changes, 5)
			calls := srv.MethodCalls()
			assert.Equal(t, 2, calls["Session.login"], "one re-login")
			// Executed writes (a call refused with 401 ran nothing): user,
			// folder, privileges, share, quota, apply — each once.
			_, writes := srv.Calls()
			assert.Equal(t, 6, writes)
			assert.Empty(t, srv.DirtyModules())
			assert.Contains(t, srv.ExportedShares(), "photos")
			assert.Equal(t, int64(1<<20), srv.Quota(omvtest.FilesystemUUID, "carol"))
		})
	}
}

// Changing a user who has SSH keys also marks OMV's ssh module dirty
// (ssh.inc onUser); EnsureShare must deploy it to leave OMV clean.
func TestEnsureShareUserWithSSHKeys(t *testing.T) {
	t.Parallel()
	srv, c := newPair(t, nil)
	ctx := t.Context()
	require.NoError(t, c.Call(ctx, "UserMgmt", "setUser", map[string]any{"name": "dave", "password": "pw", "email": "",
		"groups": []string{}, "disallowusermod": false, "sshpubkeys": []string{"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIG dave@laptop"}}, nil))
	require.NoError(t, c.Config.Apply(ctx))
	res, err := c.ProvisionShare(ctx, omv.ShareSpec{Name: "dave", Filesystem: omvtest.FilesystemUUID,
		Owner: omv.UserSpec{Name: "dave", Email: "dave@example.org"}})
	require.NoError(t, err)
	assert.Contains(t, res.Applied, "ssh")
	assert.Empty(t, srv.DirtyModules())
	u, err := c.Users.Get(ctx, "dave")
	require.NoError(t, err)
	assert.Equal(t, "dave@example.org", u.Email)
}

// OMV keeps no mode for shared folders (it chmods only a directory it
// creates), so a different Mode on an existing folder is not a change.
func TestSharedFolderModeOnlyOnCreate(t *testing.T) {
	t.Parallel()
	srv, c := newPair(t, nil)
	ctx := t.Context()
	folders, err := c.SharedFolders.List(ctx)
	require.NoError(t, err)
	for _, f := range folders {
		assert.Empty(t, f.Mode, "getList reports no mode")
	}
	srv.ResetCalls()
	_, changed, err := folderOf(c.SharedFolders.Ensure(ctx, omv.SharedFolderSpec{Name: "media", MountPoint: omvtest.MountPointUUID, Mode: "750"}))
	require.NoError(t, err)
	assert.False(t, changed)
	_, writes := srv.Calls()
	assert.Equal(t, 0, writes)
	f, changed, err := folderOf(c.SharedFolders.Ensure(ctx, omv.SharedFolderSpec{Name: "private", MountPoint: omvtest.MountPointUUID, Mode: "700"}))
	require.NoError(t, err)
	assert.True(t, changed)
	assert.Equal(t, "700", f.Mode, "the create reply echoes it")
}

// The helpers below unpack an Ensure result into what these tests check:
// the resource and whether anything was written.

func folderOf(r omv.SharedFolderResult, err error) (omv.SharedFolder, bool, error) {
	return r.Folder, r.Changed(), err
}

func userOf(r omv.UserResult, err error) (omv.User, bool, error) { return r.User, r.Changed(), err }

func groupOf(r omv.GroupResult, err error) (omv.Group, bool, error) { return r.Group, r.Changed(), err }

func smbShareOf(r omv.SMBShareResult, err error) (omv.SMBShare, bool, error) {
	return r.Share, r.Changed(), err
}

func lines(cs []omv.Change) []string {
	out := make([]string, 0, len(cs))
	for _, c := range cs {
		out = append(out, c.String())
	}
	return out
}

// Every Ensure reports the resource, the Action and one line per change.
func TestEnsureResults(t *testing.T) {
	t.Parallel()
	_, c := newPair(t, nil)
	ctx := t.Context()

	u, err := c.Users.Ensure(ctx, omv.UserSpec{Name: "gina", Password: secret.New("pw"), Email: "g@example.org"})
	require.NoError(t, err)
	assert.Equal(t, omv.Created, u.Action)
	assert.Equal(t, "gina", u.User.Name)
	assert.Equal(t, []string{"added user gina"}, lines(u.Changes))
	u, err = c.Users.Ensure(ctx, omv.UserSpec{Name: "gina", Email: "gina@example.org", Groups: []string{"users", "openmediavault-admin"}, ResetPassword: true, Password: secret.New("pw2")})
	require.NoError(t, err)
	assert.Equal(t, omv.Updated, u.Action)
	assert.Equal(t, []string{"email: g@example.org → gina@example.org", "added group openmediavault-admin", "added group users", "password reset"}, lines(u.Changes))
	assert.NotContains(t, fmt.Sprint(u), "pw2")
	u, err = c.Users.Ensure(ctx, omv.UserSpec{Name: "gina"})
	require.NoError(t, err)
	assert.Equal(t, omv.Unchanged, u.Action)
	assert.False(t, u.Changed())
	assert.Empty(t, u.Changes)

	g, err := c.Users.EnsureGroup(ctx, "family", "gina")
	require.NoError(t, err)
	assert.Equal(t, omv.Created, g.Action)
	g, err = c.Users.EnsureGroup(ctx, "family", "docker")
	require.NoError(t, err)
	assert.Equal(t, omv.Updated, g.Action)
	assert.Equal(t, []string{"added member docker", "removed member gina"}, lines(g.Changes))

	f, err := c.SharedFolders.Ensure(ctx, omv.SharedFolderSpec{Name: "music", MountPoint: omvtest.MountPointUUID})
	require.NoError(t, err)
	assert.Equal(t, omv.Created, f.Action)
	assert.Equal(t, []string{"added shared folder music"}, lines(f.Changes))
	f, err = c.SharedFolders.Ensure(ctx, omv.SharedFolderSpec{Name: "music", MountPoint: omvtest.MountPointUUID, Comment: "songs"})
	require.NoError(t, err)
	assert.Equal(t, omv.Updated, f.Action)
	assert.Equal(t, []string{`comment: "" → songs`}, lines(f.Changes))

	s, err := c.SMB.EnsureShare(ctx, f.Folder.UUID, omv.SMBShareOptions{})
	require.NoError(t, err)
	assert.Equal(t, omv.Created, s.Action)
	s, err = c.SMB.EnsureShare(ctx, f.Folder.UUID, omv.SMBShareOptions{ReadOnly: true})
	require.NoError(t, err)
	assert.Equal(t, omv.Updated, s.Action)
	assert.Equal(t, []string{"read only: false → true"}, lines(s.Changes))

	assert.Equal(t, "unchanged", omv.Unchanged.String())
	assert.Equal(t, "deleted", omv.Deleted.String())
}
