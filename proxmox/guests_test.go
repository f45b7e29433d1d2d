package proxmox_test

import (
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/thehomelab/homelab/proxmox"
	"github.com/thehomelab/homelab/proxmox/proxmoxtest"
)

func TestInventoryOneCallForGuestsAndStorage(t *testing.T) {
	t.Parallel()
	for _, noise := range []bool{false, true} {
		srv, c := newLab(t)
		srv.SetTypeNoise(noise)
		srv.ResetRequests()
		inv, err := c.Inventory(t.Context())
		require.NoError(t, err)
		assert.Len(t, srv.Requests(), 2, "one /cluster/resources plus /nodes")
		require.Len(t, inv.Nodes, 1)
		assert.Equal(t, srv.Fingerprint(), inv.Nodes[0].SSLFingerprint)
		assert.True(t, inv.Nodes[0].Online())
		require.Len(t, inv.Guests, 3)
		assert.Equal(t, nas, inv.Guests[0].GuestRef)
		assert.Equal(t, "nas", inv.Guests[0].Name)
		assert.True(t, inv.Guests[0].Running())
		assert.Equal(t, uint64(4096<<20), inv.Guests[0].MaxMem)
		assert.Equal(t, docker, inv.Guests[1].GuestRef)
		var ids []string
		for _, s := range inv.Storage {
			ids = append(ids, s.ID)
		}
		assert.Equal(t, []string{"backups", "local", "local-lvm"}, ids)
		assert.True(t, inv.Storage[0].Shared)
		assert.Equal(t, "cifs", inv.Storage[0].PluginType)
	}
}

func TestGuestLookupAndConfig(t *testing.T) {
	t.Parallel()
	_, c := newLab(t)
	g, err := c.Guests.Get(t.Context(), 101)
	require.NoError(t, err)
	assert.Equal(t, docker, g.GuestRef)
	g, err = c.Guests.Find(t.Context(), "nas")
	require.NoError(t, err)
	assert.Equal(t, nas, g.GuestRef)
	_, err = c.Guests.Get(t.Context(), 999)
	assert.ErrorIs(t, err, proxmox.ErrNotFound)

	cfg, err := c.Guests.Config(t.Context(), nas)
	require.NoError(t, err)
	assert.Equal(t, "nas", cfg.Name)
	assert.Equal(t, 2, cfg.Cores)
	assert.Equal(t, 4096, cfg.MemoryMiB)
	assert.True(t, cfg.OnBoot)
	assert.Equal(t, proxmox.Startup{Order: 1, HasOrder: true, Up: time.Minute, Down: 5 * time.Minute}, cfg.Startup)
	assert.Equal(t, "local-lvm:vm-100-disk-0", cfg.Disks["scsi0"].File)
	assert.Equal(t, "1", cfg.Disks["scsi0"].Options["iothread"])
	assert.Len(t, cfg.Digest, 40)
	assert.Equal(t, "virtio-scsi-single", cfg.Raw["scsihw"])

	ct, err := c.Containers.Config(t.Context(), docker)
	require.NoError(t, err)
	assert.Equal(t, "docker", ct.Name)
	assert.True(t, ct.Unprivileged)
	assert.Equal(t, map[string]string{"nesting": "1", "keyctl": "1"}, ct.Features)
	assert.Equal(t, "local-lvm:vm-101-disk-0", ct.Disks["rootfs"].File)

	_, err = c.Guests.Config(t.Context(), proxmox.GuestRef{Node: proxmoxtest.Node, Type: proxmox.TypeVM, VMID: 999})
	assert.ErrorIs(t, err, proxmox.ErrNotFound)
	_, err = c.Guests.Config(t.Context(), proxmox.GuestRef{Node: "bad node", Type: proxmox.TypeVM, VMID: 100})
	assert.ErrorIs(t, err, proxmox.ErrInvalid)
}

func TestLifecycleAsymmetriesAreOutcomes(t *testing.T) {
	t.Parallel()
	srv, c := newLab(t)
	ctx := t.Context()
	for _, ref := range []proxmox.GuestRef{ha, docker} {
		out, err := c.Guests.Start(ctx, ref)
		require.NoError(t, err)
		assert.Equal(t, proxmox.AlreadyRunning, out, ref.String())

		out, err = c.Guests.Reboot(ctx, ref)
		require.NoError(t, err)
		assert.Equal(t, proxmox.Rebooted, out)

		out, err = c.Guests.Shutdown(ctx, ref, proxmox.ShutdownOptions{Timeout: 30 * time.Second})
		require.NoError(t, err)
		assert.Equal(t, proxmox.ShutDown, out)
		assert.Equal(t, "stopped", srv.GuestStatus(int(ref.VMID)))

		for _, f := range []func() (proxmox.Outcome, error){
			func() (proxmox.Outcome, error) { return c.Guests.Shutdown(ctx, ref, proxmox.ShutdownOptions{}) },
			func() (proxmox.Outcome, error) { return c.Guests.Stop(ctx, ref) },
		} {
			out, err = f()
			require.NoError(t, err)
			assert.Equal(t, proxmox.AlreadyStopped, out)
			assert.False(t, out.Changed())
		}
		out, err = c.Guests.Reboot(ctx, ref)
		require.NoError(t, err)
		assert.Equal(t, proxmox.NotRunning, out)

		out, err = c.Guests.Start(ctx, ref)
		require.NoError(t, err)
		assert.Equal(t, proxmox.Started, out)
		out, err = c.Guests.Stop(ctx, ref)
		require.NoError(t, err)
		assert.Equal(t, proxmox.Stopped, out)
	}
}

// TestLifecycleRacesMapToOutcomes covers the server-side shapes when the
// guest changes state between the status read and the command: a failed
// task for VMs, a synchronous 500 for containers.
func TestLifecycleRacesMapToOutcomes(t *testing.T) {
	t.Parallel()
	srv, c := newLab(t)
	ctx := t.Context()
	// Report "stopped" to the status read while the guest runs.
	srv.Inject(proxmoxtest.Fault{Status: 200, Times: 2,
		Body: `{"data":{"status":"stopped","vmid":102}}`}.On("GET", "/status/current$"))
	out, err := c.Guests.Start(ctx, ha) // qemu: UPID then failed task "already running"
	require.NoError(t, err)
	assert.Equal(t, proxmox.AlreadyRunning, out)
	out, err = c.Guests.Start(ctx, docker) // lxc: synchronous 500
	require.NoError(t, err)
	assert.Equal(t, proxmox.AlreadyRunning, out)

	srv.SetGuestStatus(101, "stopped")
	srv.Inject(proxmoxtest.Fault{Status: 200, Times: 1,
		Body: `{"data":{"status":"running","vmid":101}}`}.On("GET", "/status/current$"))
	out, err = c.Guests.Stop(ctx, docker)
	require.NoError(t, err)
	assert.Equal(t, proxmox.AlreadyStopped, out)
}

func TestShutdownTimeout(t *testing.T) {
	t.Parallel()
	srv, c := newLab(t)
	srv.AddGuest(proxmoxtest.Guest{VMID: 150, Node: proxmoxtest.Node, Type: "qemu", Name: "stubborn", Running: true, ShutdownTime: -1})
	ref := proxmox.GuestRef{Node: proxmoxtest.Node, Type: proxmox.TypeVM, VMID: 150}
	// the fake's clock is real; a 1 s timeout keeps the test short
	_, err := c.Guests.Shutdown(t.Context(), ref, proxmox.ShutdownOptions{Timeout: time.Second})
	require.ErrorIs(t, err, proxmox.ErrTimeout)
	require.ErrorIs(t, err, proxmox.ErrTaskFailed)
	assert.Contains(t, err.Error(), "VM quit/powerdown failed - got timeout")
	assert.Contains(t, err.Error(), "shut down vm 150 on proxmox1")
	assert.Equal(t, "running", srv.GuestStatus(150))

	out, err := c.Guests.Shutdown(t.Context(), ref, proxmox.ShutdownOptions{Timeout: time.Second, ForceStop: true})
	require.NoError(t, err)
	assert.Equal(t, proxmox.ShutDown, out)
	assert.Equal(t, "stopped", srv.GuestStatus(150))
}

func TestLifecyclePermissionAndBooleans(t *testing.T) {
	t.Parallel()
	srv, c := newLab(t)
	srv.Deny(proxmoxtest.TokenID, "VM.PowerMgmt")
	_, err := c.Guests.Stop(t.Context(), ha)
	require.ErrorIs(t, err, proxmox.ErrPermission)
	assert.Contains(t, err.Error(), "Permission check failed (/vms/102, VM.PowerMgmt)")

	srv2, c2 := newLab(t)
	_, err = c2.Guests.Shutdown(t.Context(), ha, proxmox.ShutdownOptions{Timeout: 10 * time.Second})
	require.NoError(t, err)
	var found bool
	for _, r := range srv2.Requests() {
		if r.Path == "/nodes/proxmox1/qemu/102/status/shutdown" {
			found = true
			assert.Equal(t, "0", r.Params.Get("forceStop"))
			assert.Equal(t, "10", r.Params.Get("timeout"))
		}
	}
	assert.True(t, found)
}

func TestFakeRejectsWhatPVERejects(t *testing.T) {
	t.Parallel()
	_, c := newLab(t)
	ctx := t.Context()
	tests := []struct {
		name  string
		call  func() error
		param string
	}{
		{"boolean true", func() error {
			return c.Do(ctx, "POST", "/nodes/proxmox1/qemu/102/status/shutdown", url.Values{"forceStop": {"true"}}, nil)
		}, "forceStop"},
		{"exponent integer", func() error {
			return c.Do(ctx, "GET", "/nodes/proxmox1/tasks/x/log", url.Values{"start": {"1.7e+09"}}, nil)
		}, "start"},
		{"unknown param", func() error {
			return c.Do(ctx, "POST", "/nodes/proxmox1/qemu/102/status/start", url.Values{"bogus": {"1"}}, nil)
		}, "bogus"},
		{"json string bool", func() error {
			return c.Do(ctx, "POST", "/nodes/proxmox1/qemu/102/status/stop", url.Values{"skiplock": {"true"}}, nil)
		}, "skiplock"},
	}
	for _, tt := range tests {
		err := tt.call()
		require.ErrorIs(t, err, proxmox.ErrInvalid, tt.name)
		var pe *proxmox.Error
		require.ErrorAs(t, err, &pe)
		assert.Contains(t, pe.Errors, tt.param, tt.name)
	}
	err := c.Do(ctx, "GET", "/nodes/proxmox1/nothing", nil, nil)
	var pe *proxmox.Error
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, 501, pe.StatusCode)
}

func TestNodeStatusAndClose(t *testing.T) {
	t.Parallel()
	_, c := newLab(t)
	st, err := c.Nodes.Status(t.Context(), proxmoxtest.Node)
	require.NoError(t, err)
	assert.Equal(t, 8, st.CPUs)
	assert.Equal(t, []float64{0.1, 0.2, 0.3}, st.LoadAvg)
	assert.Contains(t, st.PVEVersion, "pve-manager/9")
	assert.Positive(t, st.Uptime)
	_, err = c.Nodes.Status(t.Context(), "nope")
	assert.Error(t, err)

	require.NoError(t, c.Close())
	require.NoError(t, c.Close())
	_, err = c.Inventory(t.Context())
	assert.ErrorIs(t, err, proxmox.ErrClosed)
	_, err = c.Version(t.Context())
	assert.ErrorIs(t, err, proxmox.ErrClosed)
}

func TestGuestUpdateAndStartup(t *testing.T) {
	t.Parallel()
	srv, c := newLab(t)
	ctx := t.Context()
	res, err := c.Guests.SetStartup(ctx, ha, proxmox.Startup{Order: 3, HasOrder: true, Down: 90 * time.Second})
	changed := res.Changed()
	require.NoError(t, err)
	assert.True(t, changed)
	assert.Equal(t, "order=3,down=90", srv.GuestConfig(102)["startup"])
	res, err = c.Guests.SetStartup(ctx, ha, proxmox.Startup{Order: 3, HasOrder: true, Down: 90 * time.Second})
	changed = res.Changed()
	require.NoError(t, err)
	assert.False(t, changed)

	srv.ResetRequests()
	res, err = c.Guests.Update(ctx, ha, proxmox.ConfigChange{Set: map[string]string{"cores": "4", "memory": "2048"}, Delete: []string{"onboot"}})
	keys := fieldsOf(res.Changes)
	require.NoError(t, err)
	assert.Equal(t, []string{"cores", "onboot"}, keys)
	assert.NotContains(t, srv.GuestConfig(102), "onboot")
	var methods []string
	for _, r := range srv.Requests() {
		if strings.HasSuffix(r.Path, "/config") {
			methods = append(methods, r.Method)
		}
	}
	// VM config goes by the async POST and its qmconfig task is waited
	// for: a sync PUT answers 596 when a hotplug outlasts the 30 s proxy
	assert.Equal(t, []string{"GET", "POST"}, methods)
	for _, u := range srv.Tasks() {
		if strings.Contains(u, ":qmconfig:102:") {
			assert.Equal(t, "OK", srv.TaskExit(u))
		}
	}

	srv.ResetRequests()
	_, err = c.Guests.Update(ctx, ha, proxmox.ConfigChange{Set: map[string]string{"scsi3": "/dev/sdb,backup=0"}})
	require.ErrorIs(t, err, proxmox.ErrRootRequired)
	for _, r := range srv.Requests() {
		assert.Equal(t, "GET", r.Method, "nothing written")
	}
	_, err = c.Guests.Update(ctx, ha, proxmox.ConfigChange{Set: map[string]string{"x": "1"}, Delete: []string{"x"}})
	assert.ErrorIs(t, err, proxmox.ErrInvalid)
	_, err = c.Guests.Update(ctx, ha, proxmox.ConfigChange{Set: map[string]string{"bogus": "1"}})
	assert.ErrorIs(t, err, proxmox.ErrInvalid, "the fake rejects keys PVE does not know")
}

// Empty means delete: PVE cannot parse "startup=" (pve-common
// PVE/JSONSchema.pm pve_verify_startup_order: an empty value is not a
// startup order), and an empty description is meant as "no description";
// the SDK deletes the key instead, and sends no empty value anywhere.
func TestEmptyMeansDelete(t *testing.T) {
	t.Parallel()
	srv, c := newLab(t)
	ctx := t.Context()
	err := c.Do(ctx, "PUT", "/nodes/proxmox1/qemu/102/config", url.Values{"startup": {""}}, nil)
	require.ErrorIs(t, err, proxmox.ErrInvalid, "the fake refuses what PVE refuses")

	_, err = c.Guests.Update(ctx, ha, proxmox.ConfigChange{Set: map[string]string{"description": "kitchen", "startup": "order=5"}})
	require.NoError(t, err)
	srv.ResetRequests()
	res, err := c.Guests.Update(ctx, ha, proxmox.ConfigChange{Set: map[string]string{"description": ""}})
	require.NoError(t, err)
	assert.Equal(t, []proxmox.Change{{Field: "description", Old: "kitchen"}}, res.Changes)
	res, err = c.Guests.SetStartup(ctx, ha, proxmox.Startup{})
	require.NoError(t, err)
	assert.True(t, res.Changed())
	cfg := srv.GuestConfig(102)
	assert.NotContains(t, cfg, "description")
	assert.NotContains(t, cfg, "startup")
	var deleted []string
	for _, r := range srv.Requests() {
		for k, v := range r.Params {
			if k != "delete" && len(v) == 1 && v[0] == "" {
				t.Errorf("%s %s sent an empty %s", r.Method, r.Path, k)
			}
		}
		if d := r.Params.Get("delete"); d != "" {
			deleted = append(deleted, d)
		}
	}
	assert.Equal(t, []string{"description", "startup"}, deleted)

	spec := dockerSpec()
	spec.Docker, spec.MountPoints, spec.Startup = false, nil, &proxmox.Startup{}
	_, err = c.Containers.Create(ctx, proxmoxtest.Node, spec)
	require.NoError(t, err)
	assert.NotContains(t, srv.GuestConfig(130), "startup")
}

// qemu-server's vm_stop falls back to the guest's startup down= when no
// timeout is given; pve-container's vm_shutdown takes "timeout // 60" and
// ignores it. The SDK sends down= for containers so both behave as
// documented, and the fake follows each source.
func TestContainerShutdownDefaultFollowsDown(t *testing.T) {
	t.Parallel()
	// a clock that moves 2 s on every look, so 90 s pass in a few polls
	var mu sync.Mutex
	now := time.Date(2026, 11, 26, 3, 0, 0, 0, time.UTC)
	srv, c := newLab(t, proxmoxtest.WithClock(func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		now = now.Add(2 * time.Second)
		return now
	}))
	srv.AddGuest(proxmoxtest.Guest{VMID: 180, Node: proxmoxtest.Node, Type: "lxc", Name: "slow", Running: true,
		ShutdownTime: 90 * time.Second, Config: map[string]string{"startup": "order=3,down=120", "unprivileged": "1"}})
	ct := proxmox.GuestRef{Node: proxmoxtest.Node, Type: proxmox.TypeCT, VMID: 180}
	// PVE without the SDK: 60 s, so a 90 s shutdown fails
	var upid string
	require.NoError(t, c.Do(t.Context(), "POST", "/nodes/proxmox1/lxc/180/status/shutdown", nil, &upid))
	u, err := proxmox.ParseUPID(upid)
	require.NoError(t, err)
	_, err = c.Tasks.Task(u).Wait(t.Context())
	require.ErrorIs(t, err, proxmox.ErrTaskFailed, "60 s are not enough for a 90 s shutdown")
	assert.Equal(t, "running", srv.GuestStatus(180))

	srv.ResetRequests()
	out, err := c.Guests.Shutdown(t.Context(), ct, proxmox.ShutdownOptions{})
	require.NoError(t, err)
	assert.Equal(t, proxmox.ShutDown, out)
	for _, r := range srv.Requests() {
		if r.Method == "POST" {
			assert.Equal(t, "120", r.Params.Get("timeout"), "down= sent for the container")
		}
	}
}

// Asking Update for a new disk twice allocates one: the second run finds
// the volume PVE made of "STORAGE:GiB", on a block or a file storage.
func TestUpdateNewDiskIdempotent(t *testing.T) {
	t.Parallel()
	srv, c := newLab(t)
	srv.AddStorage(proxmoxtest.Storage{ID: "vmdir", Type: "dir", Content: "images,rootdir", Path: "/srv/vmdir"})
	ctx := t.Context()
	ref := proxmox.GuestRef{Node: proxmoxtest.Node, Type: proxmox.TypeVM, VMID: 100}
	set := map[string]string{"scsi1": "local-lvm:32,iothread=1", "scsi2": "vmdir:8,format=qcow2", "ide2": "vmdir:cloudinit"}
	res, err := c.Guests.Update(ctx, ref, proxmox.ConfigChange{Set: set})
	require.NoError(t, err)
	assert.True(t, res.Changed())
	cfg := srv.GuestConfig(100)
	assert.Equal(t, "local-lvm:vm-100-disk-1,iothread=1,size=32G", cfg["scsi1"])
	assert.Equal(t, "vmdir:100/vm-100-disk-0.qcow2,size=8G", cfg["scsi2"])
	assert.Equal(t, "vmdir:100/vm-100-cloudinit.qcow2,media=cdrom", cfg["ide2"])

	res, err = c.Guests.Update(ctx, ref, proxmox.ConfigChange{Set: set})
	require.NoError(t, err)
	assert.False(t, res.Changed(), "%v", res.Changes)
	assert.Equal(t, cfg, srv.GuestConfig(100))

	set["scsi2"] = "vmdir:16,format=qcow2"
	res, err = c.Guests.Update(ctx, ref, proxmox.ConfigChange{Set: set})
	require.NoError(t, err)
	assert.Equal(t, []string{"scsi2"}, fieldsOf(res.Changes), "another size is another disk")
}

// The same for a container mount point on a zfspool storage (subvol) and
// on a dir storage (raw image).
func TestUpdateNewMountPointIdempotent(t *testing.T) {
	t.Parallel()
	srv, c := newLab(t)
	srv.AddStorage(proxmoxtest.Storage{ID: "tank", Type: "zfspool", Content: "images,rootdir"})
	srv.AddStorage(proxmoxtest.Storage{ID: "vmdir", Type: "dir", Content: "images,rootdir", Path: "/srv/vmdir"})
	ctx := t.Context()
	ref := proxmox.GuestRef{Node: proxmoxtest.Node, Type: proxmox.TypeCT, VMID: 101}
	ch := proxmox.ConfigChange{Set: map[string]string{"mp0": "tank:8,mp=/data,backup=1", "mp1": "vmdir:0.5,mp=/cache"}}
	res, err := c.Containers.Update(ctx, ref, ch)
	require.NoError(t, err)
	assert.True(t, res.Changed())
	cfg := srv.GuestConfig(101)
	assert.Equal(t, "tank:subvol-101-disk-0,mp=/data,backup=1,size=8G", cfg["mp0"])
	assert.Equal(t, "vmdir:101/vm-101-disk-0.raw,mp=/cache,size=512M", cfg["mp1"])

	res, err = c.Containers.Update(ctx, ref, ch)
	require.NoError(t, err)
	assert.False(t, res.Changed(), "%v", res.Changes)
}
