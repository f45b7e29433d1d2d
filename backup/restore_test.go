package backup

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fakeRestorer adds guests that can be restored, configured, started and
// destroyed to fakeCluster.
type fakeRestorer struct {
	*fakeCluster
	mu          sync.Mutex
	configs     map[int]map[string]string
	types       map[int]string
	restoreErr  error
	dropDisk    string // the restore loses this disk
	agentAnswer bool
	destroyErr  error
	started     []int
	sets        []map[string]string
	disks       map[string]string // the last restore's rootfs= and mpN=
	// archived holds configs stored in archives by volid; an archive not
	// in it holds its guest's current config.
	archived map[string]map[string]string
	// noExtract refuses extractconfig as unsupported (an old PVE).
	noExtract bool
}

func newFakeRestorer() *fakeRestorer {
	f := newFakeCluster()
	r := &fakeRestorer{fakeCluster: f, configs: map[int]map[string]string{}, types: map[int]string{}, agentAnswer: true}
	for _, g := range f.inv.Guests {
		r.configs[g.VMID] = maps.Clone(g.Config)
		r.types[g.VMID] = g.Type
	}
	r.configs[102]["agent"] = "1,fstrim_cloned_disks=1"
	r.configs[102]["net0"] = "virtio=BC:24:11:00:00:01,bridge=vmbr0,firewall=1"
	r.configs[102]["onboot"] = "1"
	f.inv.Archives["backups"] = append(f.inv.Archives["backups"],
		Archive{Volid: "backups:backup/vzdump-qemu-102-2026_11_24-03_00_00.vma.zst"},
		Archive{Volid: "backups:backup/vzdump-qemu-102-2026_11_23-03_00_00.vma.zst"})
	return r
}

func (r *fakeRestorer) guestNode(_ context.Context, vmid int) (string, string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.configs[vmid]; !ok {
		return "", "", &Error{Op: fmt.Sprintf("find guest %d", vmid), Err: ErrNotFound}
	}
	return "pve1", r.types[vmid], nil
}

func (r *fakeRestorer) guestConfig(_ context.Context, node, typ string, vmid int) (map[string]string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return maps.Clone(r.configs[vmid]), nil
}

func (r *fakeRestorer) archivedConfig(_ context.Context, node, volid string) (map[string]string, bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.record("extractconfig %s", volid)
	if r.noExtract {
		return nil, false, nil
	}
	if c, ok := r.archived[volid]; ok {
		return maps.Clone(c), true, nil
	}
	n, _ := ParseArchiveName(volid, time.UTC)
	return maps.Clone(r.configs[n.VMID]), true, nil
}

func (r *fakeRestorer) restore(_ context.Context, node, typ string, vmid int, archive, storage string, disks map[string]string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.record("restore %s %d from %s to %s", typ, vmid, archive, storage)
	r.disks = disks
	n, _ := ParseArchiveName(archive, time.UTC)
	conf := map[string]string{}
	disk := 0
	for k, v := range r.configs[n.VMID] {
		if k == r.dropDisk {
			continue
		}
		if strings.Contains(v, ":vm-") {
			_, opts, _ := strings.Cut(v, ",")
			v = fmt.Sprintf("%s:vm-%d-disk-%d,%s", storage, vmid, disk, opts)
			disk++
		}
		conf[k] = v
	}
	r.configs[vmid], r.types[vmid] = conf, typ
	return r.restoreErr
}

func (r *fakeRestorer) setConfig(_ context.Context, node, typ string, vmid int, set map[string]string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sets = append(r.sets, maps.Clone(set))
	maps.Copy(r.configs[vmid], set)
	return nil
}

func (r *fakeRestorer) start(_ context.Context, node, typ string, vmid int) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.started = append(r.started, vmid)
	return nil
}

func (r *fakeRestorer) stop(context.Context, string, string, int) error { return nil }

func (r *fakeRestorer) agentPing(context.Context, string, int) error {
	if r.agentAnswer {
		return nil
	}
	return errors.New("QEMU guest agent is not running")
}

func (r *fakeRestorer) destroy(_ context.Context, node, typ string, vmid int) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.record("destroy %d", vmid)
	if r.destroyErr != nil {
		return r.destroyErr
	}
	delete(r.configs, vmid)
	return nil
}

func drillConfig(events *eventLog) Config {
	return Config{Storage: "backups", Location: time.UTC, PollInterval: time.Millisecond, OnEvent: events.add}
}

func TestVerifyRestoreBoots(t *testing.T) {
	t.Parallel()
	r := newFakeRestorer()
	var events eventLog
	rr, err := verifyRestore(t.Context(), r, drillConfig(&events), RestoreOptions{VMID: 102, ScratchVMID: 9102, Storage: "scratch", Boot: true})
	require.NoError(t, err)
	assert.Equal(t, StatusOK, rr.Status)
	assert.Equal(t, "backups:backup/vzdump-qemu-102-2026_11_24-03_00_00.vma.zst", rr.Archive, "the newest")
	assert.Equal(t, []string{"scsi0: scratch:vm-9102-disk-0,size=32G"}, rr.Disks)
	assert.True(t, rr.Booted)
	assert.True(t, rr.Agent)
	assert.True(t, rr.Destroyed)
	assert.Contains(t, r.calls, "restore qemu 9102 from backups:backup/vzdump-qemu-102-2026_11_24-03_00_00.vma.zst to scratch")
	require.Len(t, r.sets, 1)
	assert.Equal(t, map[string]string{"onboot": "0", "net0": "virtio=BC:24:11:00:00:01,bridge=vmbr0,firewall=1,link_down=1"}, r.sets[0],
		"links down and no autostart before the first start")
	assert.Equal(t, []int{9102}, r.started)
	assert.NotContains(t, r.configs, 9102)
	assert.Equal(t, []string{"restore started", "restore done"}, events.kinds(102))
}

func TestVerifyRestoreFailures(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		setup     func(*fakeRestorer)
		opts      RestoreOptions
		is        error
		msg       string
		destroyed bool
	}{
		{name: "missing disk", setup: func(r *fakeRestorer) {
			r.configs[102]["scsi1"] = "local-lvm:vm-102-disk-1,size=4G"
			r.dropDisk = "scsi1"
		},
			opts: RestoreOptions{VMID: 102, ScratchVMID: 9102, Storage: "scratch"}, is: ErrVerify, msg: "restored guest lacks scsi1", destroyed: true},
		{name: "agent silent", setup: func(r *fakeRestorer) { r.agentAnswer = false },
			opts: RestoreOptions{VMID: 102, ScratchVMID: 9102, Storage: "scratch", Boot: true, AgentTimeout: 20 * time.Millisecond},
			is:   ErrUnavailable, msg: "no answer after 20ms: QEMU guest agent is not running", destroyed: true},
		{name: "restore task fails", setup: func(r *fakeRestorer) {
			r.restoreErr = &Error{Op: "restore", Message: "unable to restore", Err: ErrUnavailable}
		},
			opts: RestoreOptions{VMID: 102, ScratchVMID: 9102, Storage: "scratch"}, is: ErrUnavailable, msg: "unable to restore", destroyed: true},
		{name: "scratch exists", opts: RestoreOptions{VMID: 102, ScratchVMID: 101, Storage: "scratch"}, is: ErrConflict, msg: "scratch VMID 101 exists"},
		{name: "no archive", opts: RestoreOptions{VMID: 101, ScratchVMID: 9101, Storage: "scratch", ArchiveStorage: "local"}, is: ErrNotFound, msg: "no archive of 101 on local"},
		{name: "boot a container", opts: RestoreOptions{VMID: 101, ScratchVMID: 9101, Storage: "scratch", Boot: true}, is: ErrInvalid, msg: "boot checks need a VM"},
		{name: "missing options", opts: RestoreOptions{VMID: 101}, is: ErrInvalid, msg: "required"},
		{name: "destroy fails", setup: func(r *fakeRestorer) { r.destroyErr = errors.New("volume is busy") },
			opts: RestoreOptions{VMID: 102, ScratchVMID: 9102, Storage: "scratch"}, is: ErrConflict, msg: "scratch guest 9102 could not be destroyed: volume is busy"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := newFakeRestorer()
			if tt.setup != nil {
				tt.setup(r)
			}
			rr, err := verifyRestore(t.Context(), r, drillConfig(&eventLog{}), tt.opts)
			require.ErrorIs(t, err, tt.is)
			assert.Contains(t, err.Error(), tt.msg)
			assert.Equal(t, StatusFailed, rr.Status)
			assert.Equal(t, err, rr.Err)
			assert.Equal(t, tt.destroyed, rr.Destroyed)
			if tt.destroyed {
				assert.NotContains(t, r.configs, tt.opts.ScratchVMID, "the scratch guest is gone")
			}
		})
	}
}

func TestVerifyRestoreCancelledStillCleansUp(t *testing.T) {
	t.Parallel()
	r := newFakeRestorer()
	r.agentAnswer = false
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Millisecond)
	defer cancel()
	rr, err := verifyRestore(ctx, r, drillConfig(&eventLog{}), RestoreOptions{VMID: 102, ScratchVMID: 9102, Storage: "scratch", Boot: true})
	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.True(t, rr.Destroyed)
	assert.NotContains(t, r.configs, 9102)
}

func TestDiskKeys(t *testing.T) {
	t.Parallel()
	assert.Equal(t, []string{"efidisk0", "scsi0", "virtio1"}, diskKeys("qemu", map[string]string{
		"scsi0": "local-lvm:vm-100-disk-0,size=16G", "scsi1": "/dev/disk/by-id/ata-X,backup=0", "scsi2": "local-lvm:vm-100-disk-2,backup=0",
		"ide2": "local:iso/debian.iso,media=cdrom", "efidisk0": "local-lvm:vm-100-disk-1,size=4M", "virtio1": "file=fast:vm-100-disk-3",
		"net0": "virtio=BC:24:11:00:00:01,bridge=vmbr0", "ide0": "none,media=cdrom",
	}))
	assert.Equal(t, []string{"mp1", "rootfs"}, diskKeys("lxc", map[string]string{
		"rootfs": "local-lvm:vm-101-disk-0,size=8G", "mp0": "/mnt/nas/media,mp=/media", "mp1": "local-lvm:vm-101-disk-1,mp=/data,backup=1",
		"mp2": "local-lvm:vm-101-disk-2,mp=/cache",
	}))
}

func TestCTRestoreDisks(t *testing.T) {
	t.Parallel()
	conf := map[string]string{
		"rootfs": "volume=local-lvm:vm-101-disk-0,size=512M,quota=1", "mp0": "/mnt/nas/media,mp=/media", "mp1": "/dev/sdb1,mp=/raw,backup=1",
		"mp2": "local-lvm:vm-101-disk-1,mp=/data,backup=1,size=2T", "mp3": "local-lvm:vm-101-disk-2,mp=/cache,size=1G",
		"mp4":  "mp=/srv,volume=local-lvm:vm-101-disk-3,backup=yes,ro=1,size=1536M",
		"mp5":  "local-lvm:vm-101-disk-4,mp=/odd,backup=1,size=1000000000",
		"net0": "name=eth0,bridge=vmbr0", "memory": "512",
	}
	assert.True(t, ctPathMount(conf))
	assert.False(t, ctPathMount(map[string]string{"rootfs": conf["rootfs"], "mp2": conf["mp2"]}))
	got, err := ctRestoreDisks(conf, "scratch")
	require.NoError(t, err)
	assert.Equal(t, map[string]string{
		"rootfs": "scratch:0.5,quota=1",
		"mp2":    "scratch:2048,mp=/data,backup=1",
		"mp4":    "scratch:1.5,mp=/srv,backup=yes,ro=1",
		"mp5":    "scratch:0.931640625,mp=/odd,backup=1", // 954 MiB: rounded up, create_disks keeps whole MiB
	}, got, "bind, device and backup=0 mount points are left out")

	for name, c := range map[string]map[string]string{
		"rootfs a host path": {"rootfs": "/srv/ct101", "mp0": "/mnt/nas,mp=/nas"},
		"no size":            {"rootfs": "local-lvm:vm-101-disk-0", "mp0": "/mnt/nas,mp=/nas"},
		"bad size":           {"rootfs": "local-lvm:vm-101-disk-0,size=8G", "mp0": "/mnt/nas,mp=/nas", "mp1": "local-lvm:vm-101-disk-1,mp=/d,backup=1,size=8X"},
	} {
		_, err := ctRestoreDisks(c, "scratch")
		assert.Error(t, err, name)
	}
}

func TestVerifyRestoreContainerDisks(t *testing.T) {
	t.Parallel()
	r := newFakeRestorer()
	require.Equal(t, "/mnt/nas/media,mp=/media", r.configs[101]["mp0"], "the docker container has NAS data bind-mounted")
	r.configs[101]["mp1"] = "local-lvm:vm-101-disk-1,mp=/data,backup=1,size=4G"
	rr, err := verifyRestore(t.Context(), r, drillConfig(&eventLog{}), RestoreOptions{VMID: 101, ScratchVMID: 9101, Storage: "scratch"})
	require.NoError(t, err)
	assert.Equal(t, StatusOK, rr.Status)
	assert.Equal(t, map[string]string{"rootfs": "scratch:8", "mp1": "scratch:4,mp=/data,backup=1"}, r.disks)

	r = newFakeRestorer()
	delete(r.configs[101], "mp0")
	_, err = verifyRestore(t.Context(), r, drillConfig(&eventLog{}), RestoreOptions{VMID: 101, ScratchVMID: 9101, Storage: "scratch"})
	require.NoError(t, err)
	assert.Nil(t, r.disks, "without a bind mount: storage-only mode")

	r = newFakeRestorer()
	r.configs[101]["mp1"] = "local-lvm:vm-101-disk-1,mp=/data,backup=1"
	rr, err = verifyRestore(t.Context(), r, drillConfig(&eventLog{}), RestoreOptions{VMID: 101, ScratchVMID: 9101, Storage: "scratch"})
	require.ErrorIs(t, err, ErrInvalid)
	assert.Contains(t, err.Error(), "mp1 has no size=")
	assert.Equal(t, StatusFailed, rr.Status)
	for _, call := range r.calls {
		assert.NotContains(t, call, "restore lxc", "refused before anything is restored")
	}
}
