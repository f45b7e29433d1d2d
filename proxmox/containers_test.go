package proxmox_test

import (
	"net/netip"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/thehomelab/homelab/proxmox"
	"github.com/thehomelab/homelab/proxmox/proxmoxtest"
	"github.com/thehomelab/homelab/secret"
)

func dockerSpec() proxmox.ContainerSpec {
	return proxmox.ContainerSpec{VMID: 130, Hostname: "docker2", Template: "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst",
		Cores: 4, MemoryMiB: 8192, SwapMiB: 512, RootFS: "local-lvm:16", Docker: true, OnBoot: true,
		IP: netip.MustParsePrefix("192.168.88.30/24"), Gateway: netip.MustParseAddr("192.168.88.1"),
		MountPoints: []proxmox.MountPoint{{Volume: "local-lvm:100", Path: "/var/lib/docker", Backup: true},
			{Volume: "/mnt/pve/backups", Path: "/backups", ReadOnly: true}},
		Startup: &proxmox.Startup{Order: 2, HasOrder: true}, Password: secret.New("ct-pass"), Start: true}
}

func TestCreateDockerContainer(t *testing.T) {
	t.Parallel()
	for _, mode := range []string{"pve8", "pve9"} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			srv := proxmoxtest.NewServer(proxmoxtest.WithMode(mode))
			t.Cleanup(srv.Close)
			c := newRootClient(t, srv)
			ref, err := c.Containers.Create(t.Context(), proxmoxtest.Node, dockerSpec())
			require.NoError(t, err)
			assert.Equal(t, proxmox.GuestRef{Node: proxmoxtest.Node, Type: proxmox.TypeCT, VMID: 130}, ref)
			cfg := srv.GuestConfig(130)
			assert.Equal(t, "1", cfg["unprivileged"], "sent explicitly, whatever the version default")
			assert.Equal(t, "nesting=1,keyctl=1", cfg["features"])
			assert.Equal(t, "name=eth0,bridge=vmbr0,ip=192.168.88.30/24,gw=192.168.88.1", cfg["net0"])
			// pve-container create_disks allocates STORAGE:GiB volumes in
			// order rootfs, mp0, … and records their size.
			assert.Equal(t, "local-lvm:vm-130-disk-0,size=16G", cfg["rootfs"])
			assert.Equal(t, "local-lvm:vm-130-disk-1,mp=/var/lib/docker,backup=1,size=100G", cfg["mp0"])
			assert.Equal(t, "/mnt/pve/backups,mp=/backups,ro=1", cfg["mp1"])
			assert.Equal(t, "order=2", cfg["startup"])
			assert.NotContains(t, cfg, "password")
			assert.Equal(t, "running", srv.GuestStatus(130))

			_, err = c.Containers.Create(t.Context(), proxmoxtest.Node, dockerSpec())
			assert.ErrorContains(t, err, "already exists")
		})
	}
}

func TestCreateContainerRootRules(t *testing.T) {
	t.Parallel()
	srv, c := newLab(t)
	srv.ResetRequests()
	_, err := c.Containers.Create(t.Context(), proxmoxtest.Node, dockerSpec())
	require.ErrorIs(t, err, proxmox.ErrRootRequired)
	assert.Empty(t, srv.Requests())

	spec := dockerSpec()
	spec.Docker = false
	spec.MountPoints = spec.MountPoints[:1]
	_, err = c.Containers.Create(t.Context(), proxmoxtest.Node, spec)
	require.NoError(t, err, "no root-only feature: token is fine")

	err = c.Do(t.Context(), "POST", "/nodes/proxmox1/lxc", url.Values{"vmid": {"131"},
		"ostemplate": {"local:vztmpl/x.tar.zst"}, "features": {"nesting=1,keyctl=1"}}, nil)
	require.ErrorIs(t, err, proxmox.ErrPermission)
	assert.Contains(t, err.Error(), "changing feature flags (except nesting) is only allowed for root@pam")
}

func TestContainerUpdateIsIdempotent(t *testing.T) {
	t.Parallel()
	srv := proxmoxtest.NewServer()
	t.Cleanup(srv.Close)
	c := newRootClient(t, srv)
	ch := proxmox.ConfigChange{Set: map[string]string{"cores": "6", "memory": "8192", "features": "nesting=1,keyctl=1"},
		Delete: []string{"swap", "nonexistent"}}
	res, err := c.Containers.Update(t.Context(), docker, ch)
	changed := fieldsOf(res.Changes)
	require.NoError(t, err)
	assert.Equal(t, []string{"cores", "swap"}, changed)
	assert.Equal(t, "6", srv.GuestConfig(101)["cores"])
	assert.NotContains(t, srv.GuestConfig(101), "swap")
	srv.ResetRequests()
	res, err = c.Containers.Update(t.Context(), docker, ch)
	changed = fieldsOf(res.Changes)
	require.NoError(t, err)
	assert.Empty(t, changed)
	for _, r := range srv.Requests() {
		assert.Equal(t, "GET", r.Method)
	}

	_, tok := newLab(t)
	_, err = tok.Containers.Update(t.Context(), docker, proxmox.ConfigChange{Set: map[string]string{"features": "nesting=1,fuse=1"}})
	assert.ErrorIs(t, err, proxmox.ErrRootRequired)
	// PVE compares flag by flag: "nesting=1" alone would drop keyctl=1,
	// which is root@pam's; changing only nesting is anyone's with VM.Allocate
	_, err = tok.Containers.Update(t.Context(), docker, proxmox.ConfigChange{Set: map[string]string{"features": "nesting=1"}})
	assert.ErrorIs(t, err, proxmox.ErrRootRequired)
	_, err = tok.Containers.Update(t.Context(), docker, proxmox.ConfigChange{Set: map[string]string{"features": "nesting=0,keyctl=1"}})
	assert.NoError(t, err)
	// mount= is no boolean but a feature all the same; and any feature
	// change on a privileged CT is root@pam's: refused before sending
	tsrv, tok2 := newLab(t)
	tsrv.AddGuest(proxmoxtest.Guest{VMID: 150, Node: proxmoxtest.Node, Type: "lxc", Name: "priv", Config: map[string]string{"unprivileged": "0"}})
	priv := proxmox.GuestRef{Node: proxmoxtest.Node, Type: proxmox.TypeCT, VMID: 150}
	for ref, features := range map[proxmox.GuestRef]string{docker: "nesting=1,mount=nfs;cifs", priv: "nesting=1"} {
		tsrv.ResetRequests()
		_, err = tok2.Containers.Update(t.Context(), ref, proxmox.ConfigChange{Set: map[string]string{"features": features}})
		assert.ErrorIs(t, err, proxmox.ErrRootRequired, features)
		for _, r := range tsrv.Requests() {
			assert.Equal(t, "GET", r.Method, "nothing written")
		}
	}
}

func TestRootTasksArePolledAsRoot(t *testing.T) {
	t.Parallel()
	srv := proxmoxtest.NewServer()
	t.Cleanup(srv.Close)
	// A least-privilege token may not read other users' tasks (PVE wants
	// Sys.Audit on the node for that); the root@pam task of a keyctl
	// container must still be waited for.
	srv.Deny(proxmoxtest.TokenID, "Sys.Audit")
	c := newRootClient(t, srv)
	_, err := c.Containers.Create(t.Context(), proxmoxtest.Node, dockerSpec())
	require.NoError(t, err)
	assert.Equal(t, "running", srv.GuestStatus(130))
	for _, r := range srv.Requests() {
		if strings.Contains(r.Path, "/tasks/") {
			assert.Equal(t, proxmoxtest.RootUser, r.Identity, r.Path)
		}
	}

	// and the fake enforces the rule PVE has
	upid, err := proxmox.ParseUPID(srv.Tasks()[0])
	require.NoError(t, err)
	tc := newClient(t, srv)
	_, err = tc.Tasks.Task(upid).Status(t.Context())
	require.ErrorIs(t, err, proxmox.ErrPermission)
}

func TestTaskPollingErrorsNameTheOperation(t *testing.T) {
	t.Parallel()
	srv, c := newLab(t)
	srv.Inject(proxmoxtest.Fault{Status: 403, Reason: "Permission check failed (/nodes/proxmox1, Sys.Audit)"}.On("GET", "/tasks/.*/status$"))
	_, err := c.Guests.Stop(t.Context(), docker)
	require.ErrorIs(t, err, proxmox.ErrPermission)
	assert.True(t, strings.HasPrefix(err.Error(), "proxmox: stop ct 101 on proxmox1: GET /nodes/proxmox1/tasks/UPID:"), err.Error())
}

// pve-container's LXC/Config.pm takes IPv4 in ip=/gw= and IPv6 in
// ip6=/gw6= (with auto and dhcp forms); the fake refuses an IPv6 address
// in ip= as PVE does.
func TestContainerIPv6(t *testing.T) {
	t.Parallel()
	srv, c := newLab(t)
	ctx := t.Context()
	err := c.Do(ctx, "POST", "/nodes/proxmox1/lxc", url.Values{"vmid": {"140"}, "ostemplate": {"local:vztmpl/x.tar.zst"},
		"net0": {"name=eth0,bridge=vmbr0,ip=fd00::40/64,gw=fd00::1"}}, nil)
	require.ErrorIs(t, err, proxmox.ErrInvalid, "what PVE answers to IPv6 in ip=")
	var pe *proxmox.Error
	require.ErrorAs(t, err, &pe)
	assert.Contains(t, pe.Errors["net0"], "ipv4 network configuration")

	base := proxmox.ContainerSpec{VMID: 141, Template: "local:vztmpl/x.tar.zst"}
	tests := []struct {
		name string
		edit func(*proxmox.ContainerSpec)
		net0 string
	}{
		{"static both", func(s *proxmox.ContainerSpec) {
			s.IP, s.Gateway = netip.MustParsePrefix("192.168.88.41/24"), netip.MustParseAddr("192.168.88.1")
			s.IP6, s.Gateway6 = netip.MustParsePrefix("fd00::41/64"), netip.MustParseAddr("fd00::1")
		}, "name=eth0,bridge=vmbr0,ip=192.168.88.41/24,gw=192.168.88.1,ip6=fd00::41/64,gw6=fd00::1"},
		{"slaac", func(s *proxmox.ContainerSpec) { s.IP6Mode = "auto" }, "name=eth0,bridge=vmbr0,ip=dhcp,ip6=auto"},
		{"dhcp6", func(s *proxmox.ContainerSpec) { s.IP6Mode = "dhcp" }, "name=eth0,bridge=vmbr0,ip=dhcp,ip6=dhcp"},
	}
	for i, tt := range tests {
		spec := base
		spec.VMID = proxmox.VMID(141 + i)
		tt.edit(&spec)
		_, err := c.Containers.Create(ctx, proxmoxtest.Node, spec)
		require.NoError(t, err, tt.name)
		assert.Equal(t, tt.net0, srv.GuestConfig(141 + i)["net0"], tt.name)
	}
	for name, edit := range map[string]func(*proxmox.ContainerSpec){
		"v6 in IP":      func(s *proxmox.ContainerSpec) { s.IP = netip.MustParsePrefix("fd00::41/64") },
		"v4 in IP6":     func(s *proxmox.ContainerSpec) { s.IP6 = netip.MustParsePrefix("10.0.0.1/24") },
		"v6 gateway":    func(s *proxmox.ContainerSpec) { s.Gateway = netip.MustParseAddr("fd00::1") },
		"unknown mode":  func(s *proxmox.ContainerSpec) { s.IP6Mode = "slaac" },
		"mode and addr": func(s *proxmox.ContainerSpec) { s.IP6Mode, s.IP6 = "auto", netip.MustParsePrefix("fd00::41/64") },
	} {
		spec := base
		spec.VMID = 150
		edit(&spec)
		_, err := c.Containers.Create(ctx, proxmoxtest.Node, spec)
		assert.ErrorIs(t, err, proxmox.ErrInvalid, name)
	}
}

// The root@pam decision follows pve-container's PVE/LXC.pm
// check_ct_modify_config_perm on the whole change, old value and deletions
// included, and the fake enforces the same rules (issue 14).
func TestRootDecisionFromTheDiff(t *testing.T) {
	t.Parallel()
	srv, tok := newLab(t) // API token only: not root@pam to PVE
	ctx := t.Context()
	srv.AddGuest(proxmoxtest.Guest{VMID: 160, Node: proxmoxtest.Node, Type: "lxc", Name: "plain", Config: map[string]string{"unprivileged": "1"}})
	plain := proxmox.GuestRef{Node: proxmoxtest.Node, Type: proxmox.TypeCT, VMID: 160}
	tests := []struct {
		name string
		ref  proxmox.GuestRef
		ch   proxmox.ConfigChange
		root bool
	}{
		{"delete features holding keyctl", docker, proxmox.ConfigChange{Delete: []string{"features"}}, true},
		{"keyctl=0 where keyctl was unset", plain, proxmox.ConfigChange{Set: map[string]string{"features": "keyctl=0"}}, true},
		{"only nesting on a fresh CT", plain, proxmox.ConfigChange{Set: map[string]string{"features": "nesting=1"}}, false},
		{"only nesting changes", docker, proxmox.ConfigChange{Set: map[string]string{"features": "nesting=off,keyctl=1"}}, false},
		{"keyctl dropped", docker, proxmox.ConfigChange{Set: map[string]string{"features": "nesting=1"}}, true},
		{"bind mount", plain, proxmox.ConfigChange{Set: map[string]string{"mp3": "/srv/data,mp=/data"}}, true},
		{"device passthrough", plain, proxmox.ConfigChange{Set: map[string]string{"dev0": "/dev/ttyUSB0"}}, true},
	}
	for _, tt := range tests {
		srv.ResetRequests()
		_, err := tok.Containers.Update(ctx, tt.ref, tt.ch)
		if !tt.root {
			assert.NoError(t, err, tt.name)
			continue
		}
		assert.ErrorIs(t, err, proxmox.ErrRootRequired, tt.name)
		for _, r := range srv.Requests() {
			assert.Equal(t, "GET", r.Method, "%s: nothing written", tt.name)
		}
		// and PVE (the fake) refuses the same write from the token
		p := url.Values{}
		for k, v := range tt.ch.Set {
			p.Set(k, v)
		}
		if len(tt.ch.Delete) > 0 {
			p.Set("delete", strings.Join(tt.ch.Delete, ","))
		}
		err = tok.Do(ctx, "PUT", "/nodes/proxmox1/lxc/"+tt.ref.VMID.String()+"/config", p, nil)
		assert.ErrorIs(t, err, proxmox.ErrPermission, "%s: the fake refuses it too", tt.name)
	}
	// the root@pam login does what the token may not
	root := newRootClient(t, srv)
	res, err := root.Containers.Update(ctx, docker, proxmox.ConfigChange{Delete: []string{"features"}})
	require.NoError(t, err)
	assert.True(t, res.Changed())
}
