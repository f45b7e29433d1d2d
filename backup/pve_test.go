package backup

import (
	"context"
	"errors"
	"path"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/thehomelab/homelab/proxmox"
	"github.com/thehomelab/homelab/proxmox/proxmoxtest"
	"github.com/thehomelab/homelab/secret"
)

var night = time.Date(2026, 11, 25, 3, 0, 0, 0, time.UTC)

// labFake is proxmoxtest's lab with the NAS VM serving the backups share
// (its cloud-init address is the share's server) from two passed-through
// disks flagged backup=0, and a week of archives on the share.
func labFake(t *testing.T) (*proxmoxtest.Server, *proxmox.Client) {
	t.Helper()
	clock := night
	srv := proxmoxtest.Start(t, proxmoxtest.WithClock(func() time.Time { return clock }))
	srv.AddGuest(proxmoxtest.Guest{VMID: 100, Node: proxmoxtest.Node, Type: "qemu", Name: "nas", Running: true,
		Config: map[string]string{"cores": "2", "memory": "4096", "agent": "1",
			"scsi0":     "local-lvm:vm-100-disk-0,iothread=1,size=32G",
			"scsi1":     "/dev/disk/by-id/ata-Samsung_SSD_870_EVO_2TB_S6PNNS0T100001,backup=0",
			"scsi2":     "/dev/disk/by-id/ata-Samsung_SSD_870_EVO_2TB_S6PNNS0T100002,backup=0",
			"net0":      "virtio=BC:24:11:00:01:00,bridge=vmbr0",
			"ipconfig0": "ip=192.168.88.10/24,gw=192.168.88.1"}})
	for d := 1; d <= 9; d++ {
		for _, g := range []struct {
			vmid int
			typ  string
		}{{100, "qemu"}, {101, "lxc"}, {102, "qemu"}} {
			srv.AddBackup(proxmoxtest.Backup{Storage: "backups", VMID: g.vmid, Type: g.typ, Time: night.AddDate(0, 0, -d), Size: 3 << 30})
		}
	}
	c, err := proxmox.NewClient(srv.URL, proxmox.WithFingerprint(srv.Fingerprint()),
		proxmox.WithAPIToken("root@pam!sdk", secret.New(proxmoxtest.TokenSecret)), proxmox.WithPollInterval(time.Millisecond, 5*time.Millisecond))
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	return srv, c
}

func TestPlanOnFake(t *testing.T) {
	t.Parallel()
	_, c := labFake(t)
	p, err := Plan(t.Context(), Config{Client: c, Storage: "backups", Location: time.UTC, Now: func() time.Time { return night }})
	require.NoError(t, err)
	require.Len(t, p.Guests, 3)
	assert.True(t, p.OK(), p.String())
	nas := p.Guests[0]
	assert.Equal(t, TwoStep, nas.Method)
	assert.Equal(t, "it serves storage backups: its address 192.168.88.10 is the share's server", nas.Why)
	assert.Equal(t, Keep{Daily: 7, Weekly: 4, Monthly: 6}, nas.Keep, "the share's own prune-backups")
	assert.Equal(t, int64(3<<30), nas.NewestSize)
	assert.Len(t, nas.Removes(), 3, "9 old + tonight: 7 dailies; the 16th to 18th lie in a week the dailies cover")
	assert.Equal(t, Direct, p.Guests[1].Method)
}

func TestPlanNeedsClient(t *testing.T) {
	t.Parallel()
	_, err := Plan(t.Context(), Config{Storage: "backups"})
	assert.ErrorIs(t, err, ErrInvalid)
	_, err = VerifyRestore(t.Context(), Config{Storage: "backups"}, RestoreOptions{VMID: 100, ScratchVMID: 9100, Storage: "local-lvm"})
	assert.ErrorIs(t, err, ErrInvalid)
}

// fakeShareCopy stands in for the node side's copy: it puts the archive on
// the fake's share, as the real copy makes it appear in the storage
// listing.
func fakeShareCopy(srv *proxmoxtest.Server) func(context.Context, Runner, string, string, CopyOptions) (CopyResult, error) {
	return func(ctx context.Context, r Runner, src, dstDir string, o CopyOptions) (CopyResult, error) {
		n, ok := ParseArchiveName(src, time.UTC)
		if !ok {
			return CopyResult{}, &Error{Op: "copy", Message: "not an archive: " + src, Err: ErrInvalid}
		}
		srv.AddBackup(proxmoxtest.Backup{Storage: "backups", VMID: n.VMID, Type: n.Type, Time: n.Time, Size: 2 << 30})
		return CopyResult{Path: path.Join(dstDir, path.Base(src)), Size: 2 << 30, SHA256: strings.Repeat("ab", 32)}, nil
	}
}

func TestApplyOnFake(t *testing.T) {
	t.Parallel()
	srv, c := labFake(t)
	srv.FailBackup(102, "job failed with err -5 - Input/output error")
	var events eventLog
	cfg := Config{Client: c, Storage: "backups", Location: time.UTC, Now: func() time.Time { return night },
		Runners: map[string]Runner{proxmoxtest.Node: nopRunner{}}, OnEvent: events.add, PollInterval: time.Millisecond}
	p, err := Plan(t.Context(), cfg)
	require.NoError(t, err)
	r, err := apply(t.Context(), p.c, p, nodeSide{copy: fakeShareCopy(srv)})
	require.Error(t, err)
	require.Len(t, r.Guests, 3, r.String())

	nas := r.Guests[0]
	assert.Equal(t, StatusOK, nas.Status, "%v", nas.Err)
	assert.True(t, nas.Verified)
	assert.Equal(t, "backups:backup/vzdump-qemu-100-2026_11_25-03_00_00.vma.zst", nas.Archive)
	assert.Len(t, nas.Pruned, 3)
	for _, v := range srv.Backups("local") {
		assert.NotContains(t, v, "vzdump-qemu-100-", "the local copy is deleted after the verified copy")
	}
	assert.Contains(t, srv.Backups("backups"), "backups:backup/vzdump-qemu-100-2026_11_25-03_00_00.vma.zst")

	ct := r.Guests[1]
	assert.Equal(t, StatusOK, ct.Status, "%v", ct.Err)
	assert.Equal(t, "backups:backup/vzdump-lxc-101-2026_11_25-03_00_00.tar.zst", ct.Archive)
	assert.Len(t, ct.Pruned, 3)
	assert.Equal(t, int64(1<<30), ct.Size, "from the task log's archive file size")
	assert.Equal(t, time.Second, ct.Duration)

	ha := r.Guests[2]
	assert.Equal(t, StatusFailed, ha.Status)
	assert.ErrorIs(t, ha.Err, ErrUnavailable)
	assert.Contains(t, ha.Err.Error(), "job failed with err -5 - Input/output error")

	var dumps []string
	for _, rq := range srv.Requests() {
		if rq.Method == "POST" && strings.HasSuffix(rq.Path, "/vzdump") {
			dumps = append(dumps, rq.Params.Get("vmid")+" "+rq.Params.Get("storage")+" remove="+rq.Params.Get("remove"))
		}
	}
	assert.Equal(t, []string{"101,102 backups remove=0", "100 local remove=0"}, dumps, "one task for the direct guests, vzdump never prunes itself")
	assert.Equal(t, "backup FAILED: 1 of 3 guests failed", r.Subject())
}

func TestVerifyRestoreOnFake(t *testing.T) {
	t.Parallel()
	srv, c := labFake(t)
	var events eventLog
	cfg := Config{Client: c, Storage: "backups", Location: time.UTC, PollInterval: time.Millisecond, OnEvent: events.add}
	rr, err := VerifyRestore(t.Context(), cfg, RestoreOptions{VMID: 100, ScratchVMID: 9100, Storage: "local-lvm", Boot: true})
	require.NoError(t, err, rr.Err)
	assert.Equal(t, "backups:backup/vzdump-qemu-100-2026_11_24-03_00_00.vma.zst", rr.Archive)
	assert.Equal(t, []string{"scsi0: local-lvm:vm-9100-disk-0,iothread=1,size=32G"}, rr.Disks, "the passthrough disks are not in the archive")
	assert.True(t, rr.Booted)
	assert.True(t, rr.Agent)
	assert.True(t, rr.Destroyed)
	assert.Empty(t, srv.GuestStatus(9100), "the scratch VM is gone")

	var sets []string
	for _, rq := range srv.Requests() {
		switch {
		case rq.Method == "POST" && rq.Path == "/nodes/proxmox1/qemu":
			assert.Equal(t, "1", rq.Params.Get("unique"))
			assert.Equal(t, "0", rq.Params.Get("start"))
		case rq.Method == "PUT" && rq.Path == "/nodes/proxmox1/qemu/9100/config":
			sets = append(sets, rq.Params.Get("net0")+" onboot="+rq.Params.Get("onboot"))
		}
	}
	require.Len(t, sets, 1)
	assert.Contains(t, sets[0], ",link_down=1 onboot=0")

	srv.SetAgentRunning(9101, false)
	rr, err = VerifyRestore(t.Context(), cfg, RestoreOptions{VMID: 100, ScratchVMID: 9101, Storage: "local-lvm", Boot: true, AgentTimeout: 50 * time.Millisecond})
	require.ErrorIs(t, err, ErrUnavailable)
	assert.Contains(t, err.Error(), "QEMU guest agent is not running")
	assert.True(t, rr.Booted)
	assert.False(t, rr.Agent)
	assert.True(t, rr.Destroyed, "stopped and destroyed after the failed drill")
	assert.Empty(t, srv.GuestStatus(9101))

	rr, err = VerifyRestore(t.Context(), cfg, RestoreOptions{VMID: 101, ScratchVMID: 9111, Storage: "local-lvm"})
	require.NoError(t, err, "a container drill")
	assert.Equal(t, []string{"rootfs: local-lvm:vm-9111-disk-0,size=32G"}, rr.Disks)
	assert.True(t, rr.Destroyed)
	assert.Empty(t, srv.GuestStatus(9111))

	_, err = VerifyRestore(t.Context(), cfg, RestoreOptions{VMID: 101, ScratchVMID: 102, Storage: "local-lvm"})
	assert.ErrorIs(t, err, ErrConflict, "an existing scratch VMID is never touched")
	assert.Equal(t, "running", srv.GuestStatus(102))
}

func TestWrapKeepsBothClasses(t *testing.T) {
	t.Parallel()
	_, c := labFake(t)
	p := &pve{c: c}
	_, _, err := p.guestNode(t.Context(), 4242)
	require.Error(t, err)
	assert.ErrorIs(t, err, ErrNotFound)
	assert.ErrorIs(t, err, proxmox.ErrNotFound)
	var be *Error
	require.ErrorAs(t, err, &be)
	assert.True(t, strings.HasPrefix(err.Error(), "backup: find guest 4242: proxmox: "), err.Error())

	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err = p.storageActive(ctx, proxmoxtest.Node, "backups")
	assert.ErrorIs(t, err, context.Canceled)
	assert.Equal(t, ErrClosed, unwrapClass(wrap(t.Context(), "x", proxmox.ErrClosed)))
}

func unwrapClass(err error) error {
	for _, c := range []error{ErrNotFound, ErrAuth, ErrPermission, ErrConflict, ErrInvalid, ErrUnavailable, ErrClosed} {
		if errors.Is(err, c) {
			return c
		}
	}
	return nil
}

// keepScratch is the real Proxmox seam that reads the scratch guest's
// config from the fake just before the drill destroys it.
type keepScratch struct {
	*pve
	srv  *proxmoxtest.Server
	seen map[string]string
}

func (k *keepScratch) destroy(ctx context.Context, node, typ string, vmid int) error {
	k.seen = k.srv.GuestConfig(vmid)
	return k.pve.destroy(ctx, node, typ, vmid)
}

// The docker container with NAS data bind-mounted: PVE lets only root@pam
// restore a bind mount in storage-only mode, so the drill names the disks
// the backup carries instead and passes with an API token.
func TestVerifyRestoreContainerWithBindMountOnFake(t *testing.T) {
	t.Parallel()
	srv, c := labFake(t)
	srv.AddGuest(proxmoxtest.Guest{VMID: 110, Node: proxmoxtest.Node, Type: "lxc", Name: "media", Config: map[string]string{
		"hostname": "media", "memory": "2048", "unprivileged": "1", "net0": "name=eth0,bridge=vmbr0,hwaddr=BC:24:11:00:01:10,ip=dhcp",
		"rootfs": "local-lvm:vm-110-disk-0,size=8G",
		"mp0":    "/mnt/nas/media,mp=/media",
		"mp1":    "local-lvm:vm-110-disk-1,mp=/data,backup=1,acl=1,size=4608M",
		"mp2":    "local-lvm:vm-110-disk-2,mp=/cache,size=2G",
	}})
	srv.AddBackup(proxmoxtest.Backup{Storage: "backups", VMID: 110, Type: "lxc", Time: night.AddDate(0, 0, -1), Size: 1 << 30})
	cfg := Config{Client: c, Storage: "backups", Location: time.UTC, PollInterval: time.Millisecond}
	k := &keepScratch{pve: &pve{c: c}, srv: srv}
	rr, err := verifyRestore(t.Context(), k, cfg, RestoreOptions{VMID: 110, ScratchVMID: 9110, Storage: "local-lvm"})
	require.NoError(t, err, "an API token restores the container")
	assert.Equal(t, StatusOK, rr.Status)
	assert.Equal(t, []string{"mp1: local-lvm:vm-9110-disk-1,mp=/data,acl=1,backup=1,size=4608M", "rootfs: local-lvm:vm-9110-disk-0,size=8G"}, rr.Disks)
	assert.True(t, rr.Destroyed)
	assert.Empty(t, srv.GuestStatus(9110))

	require.NotNil(t, k.seen, "the scratch guest existed")
	assert.Equal(t, "local-lvm:vm-9110-disk-0,size=8G", k.seen["rootfs"])
	assert.Equal(t, "local-lvm:vm-9110-disk-1,mp=/data,acl=1,backup=1,size=4608M", k.seen["mp1"])
	assert.NotContains(t, k.seen, "mp0", "the bind mount is not restored: no host path of the original on the scratch guest")
	assert.NotContains(t, k.seen, "mp2", "a mount point without backup=1 is not in the archive")
	assert.Equal(t, "2048", k.seen["memory"], "the rest of the archived config comes back")
	assert.Contains(t, k.seen["net0"], "link_down=1")

	var restores []proxmoxtest.Request
	for _, rq := range srv.Requests() {
		if rq.Method == "POST" && rq.Path == "/nodes/proxmox1/lxc" {
			restores = append(restores, rq)
		}
	}
	require.Len(t, restores, 1)
	p := restores[0].Params
	assert.Equal(t, "local-lvm:8", p.Get("rootfs"))
	assert.Equal(t, "local-lvm:4.5,mp=/data,acl=1,backup=1", p.Get("mp1"))
	assert.False(t, p.Has("mp0") || p.Has("mp2"))
	assert.Equal(t, "1", p.Get("restore"))
	assert.Equal(t, "root@pam!sdk", restores[0].Identity, "an API token, not root@pam")

	// A container without one stays in storage-only mode.
	rr, err = VerifyRestore(t.Context(), cfg, RestoreOptions{VMID: 101, ScratchVMID: 9111, Storage: "local-lvm"})
	require.NoError(t, err)
	assert.Equal(t, []string{"rootfs: local-lvm:vm-9111-disk-0,size=32G"}, rr.Disks)
	last := srv.Requests()
	for _, rq := range last {
		if rq.Method == "POST" && rq.Path == "/nodes/proxmox1/lxc" && rq.Params.Get("vmid") == "9111" {
			assert.False(t, rq.Params.Has("rootfs"), "storage-only mode")
		}
	}
}

// The drill expects the disks of the config stored in the archive: a disk
// added to the guest after its newest backup is not in that backup, so the
// scratch guest need not have it (judged by the current config, the drill
// failed with "restored guest lacks scsi3").
func TestVerifyRestoreExpectsTheArchivedDisks(t *testing.T) {
	t.Parallel()
	srv, c := labFake(t)
	ctx := t.Context()
	require.NoError(t, c.Do(ctx, "PUT", "/nodes/"+proxmoxtest.Node+"/qemu/100/config", map[string][]string{"scsi3": {"local-lvm:4"}}, nil))
	require.Contains(t, srv.GuestConfig(100), "scsi3", "a disk added after the backup")
	cfg := Config{Client: c, Storage: "backups", Location: time.UTC, PollInterval: time.Millisecond}
	rr, err := VerifyRestore(ctx, cfg, RestoreOptions{VMID: 100, ScratchVMID: 9100, Storage: "local-lvm"})
	require.NoError(t, err, rr.Err)
	assert.False(t, rr.CurrentConfig)
	assert.Equal(t, []string{"scsi0: local-lvm:vm-9100-disk-0,iothread=1,size=32G"}, rr.Disks)
	assert.True(t, rr.Destroyed)
	var asked bool
	for _, rq := range srv.Requests() {
		if rq.Path == "/nodes/proxmox1/vzdump/extractconfig" {
			asked = true
			assert.Equal(t, "backups:backup/vzdump-qemu-100-2026_11_24-03_00_00.vma.zst", rq.Params.Get("volume"))
		}
	}
	assert.True(t, asked)

	// A PVE without extractconfig (501): the current config is all there
	// is, the report says so, and the added disk is then expected.
	srv.Inject(proxmoxtest.Fault{Path: "/vzdump/extractconfig", Status: 501, Reason: "Method 'GET /nodes/proxmox1/vzdump/extractconfig' not implemented"})
	rr, err = VerifyRestore(ctx, cfg, RestoreOptions{VMID: 100, ScratchVMID: 9101, Storage: "local-lvm"})
	require.ErrorIs(t, err, ErrVerify)
	assert.Contains(t, err.Error(), "restored guest lacks scsi3")
	assert.True(t, rr.CurrentConfig)
	assert.True(t, rr.Destroyed)

	// Any other refusal fails the drill before anything is restored.
	srv.ClearFaults()
	srv.SetPrivileges("root@pam!sdk", "/vms/100", "VM.Audit")
	rr, err = VerifyRestore(ctx, cfg, RestoreOptions{VMID: 100, ScratchVMID: 9102, Storage: "local-lvm"})
	require.ErrorIs(t, err, ErrPermission)
	assert.Contains(t, err.Error(), "VM.Backup")
	assert.Empty(t, srv.GuestStatus(9102))
}

// A container with a bind mount is restored with the disks named one by
// one, taken from the archive's config: a mount point added since the
// backup is neither asked for nor expected.
func TestVerifyRestoreContainerArchivedMountPoints(t *testing.T) {
	t.Parallel()
	srv, c := labFake(t)
	ctx := t.Context()
	srv.AddGuest(proxmoxtest.Guest{VMID: 110, Node: proxmoxtest.Node, Type: "lxc", Name: "media", Config: map[string]string{
		"hostname": "media", "rootfs": "local-lvm:vm-110-disk-0,size=8G", "mp0": "/mnt/nas/media,mp=/media",
		"mp1": "local-lvm:vm-110-disk-1,mp=/data,backup=1,size=4G"}})
	srv.AddBackup(proxmoxtest.Backup{Storage: "backups", VMID: 110, Type: "lxc", Time: night.AddDate(0, 0, -1), Size: 1 << 30})
	srv.AddGuest(proxmoxtest.Guest{VMID: 110, Node: proxmoxtest.Node, Type: "lxc", Name: "media", Config: map[string]string{
		"hostname": "media", "rootfs": "local-lvm:vm-110-disk-0,size=8G", "mp0": "/mnt/nas/media,mp=/media",
		"mp1": "local-lvm:vm-110-disk-1,mp=/data,backup=1,size=4G", "mp3": "local-lvm:vm-110-disk-3,mp=/new,backup=1,size=1G"}})
	cfg := Config{Client: c, Storage: "backups", Location: time.UTC, PollInterval: time.Millisecond}
	rr, err := VerifyRestore(ctx, cfg, RestoreOptions{VMID: 110, ScratchVMID: 9110, Storage: "local-lvm"})
	require.NoError(t, err, rr.Err)
	assert.Equal(t, []string{"mp1: local-lvm:vm-9110-disk-1,mp=/data,backup=1,size=4G", "rootfs: local-lvm:vm-9110-disk-0,size=8G"}, rr.Disks)
	for _, rq := range srv.Requests() {
		if rq.Method == "POST" && rq.Path == "/nodes/proxmox1/lxc" {
			assert.False(t, rq.Params.Has("mp3"), "not in the backup")
			assert.Equal(t, "local-lvm:4,mp=/data,backup=1", rq.Params.Get("mp1"))
		}
	}
}
