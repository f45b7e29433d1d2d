package proxmox_test

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/thehomelab/homelab/proxmox"
	"github.com/thehomelab/homelab/proxmox/proxmoxtest"
	"github.com/thehomelab/homelab/secret"
)

func TestPermissionsHasFollowsPropagation(t *testing.T) {
	t.Parallel()
	// The shape GET /access/permissions answers: path → priv → propagate.
	p := proxmox.Permissions{
		"/":         {"Sys.Audit": true},
		"/vms":      {"VM.Audit": true, "VM.PowerMgmt": true, "VM.Console": false},
		"/vms/101":  {"VM.Audit": true},
		"/nodes":    {},
		"/storage":  {"Datastore.Audit": true},
		"/pool/lab": {"VM.PowerMgmt": false},
	}
	assert.True(t, p.Has("/vms/100", "VM.PowerMgmt"), "propagates from /vms")
	assert.True(t, p.Has("/vms", "VM.Console"), "a non-propagating privilege holds on its own path")
	assert.False(t, p.Has("/vms/100", "VM.Console"), "but not below")
	assert.False(t, p.Has("/vms/101", "VM.PowerMgmt"), "a deeper entry replaces what comes from above")
	assert.True(t, p.Has("/vms/101/", "VM.Audit"))
	assert.False(t, p.Has("/nodes/pve", "Sys.PowerMgmt"))
	assert.True(t, p.Has("/sdn/zones/x", "Sys.Audit"), "from / when nothing nearer is listed")
	assert.False(t, proxmox.Permissions{}.Has("/", "Sys.Audit"))
	assert.False(t, proxmox.Permissions{"/vms": {"VM.PowerMgmt": true}}.Has("/nodes/pve", "VM.PowerMgmt"))
}

func TestAccessPermissions(t *testing.T) {
	t.Parallel()
	srv, c := newLab(t)
	srv.SetPrivileges(proxmoxtest.TokenID, "/vms", "VM.Audit", "VM.PowerMgmt")
	srv.SetPrivileges(proxmoxtest.TokenID, "/vms/102", "VM.Audit")
	p, err := c.Access.Permissions(t.Context(), "")
	require.NoError(t, err)
	assert.True(t, p.Has("/vms/100", "VM.PowerMgmt"))
	assert.False(t, p.Has("/vms/102", "VM.PowerMgmt"))
	assert.True(t, p.Has("/nodes/"+proxmoxtest.Node, "Sys.PowerMgmt"), "everything elsewhere, as by default")

	one, err := c.Access.Permissions(t.Context(), "/vms/102")
	require.NoError(t, err)
	assert.Len(t, one, 1)
	assert.True(t, one.Has("/vms/102", "VM.Audit"))
	assert.False(t, one.Has("/vms/102", "VM.PowerMgmt"))
	assert.Equal(t, proxmoxtest.TokenID, c.Access.Identity())
	last := srv.Requests()[len(srv.Requests())-1]
	assert.Equal(t, "/access/permissions", last.Path)
	assert.Equal(t, "/vms/102", last.Params.Get("path"))
}

func TestPreflight(t *testing.T) {
	t.Parallel()
	srv, c := newLab(t)
	plan, err := c.Power.PlanShutdown(t.Context(), proxmox.PlanOptions{Last: []string{"nas"}, ShutdownNodes: true})
	require.NoError(t, err)
	require.NoError(t, c.Power.Preflight(t.Context(), plan), "the default token may do everything")

	srv.SetPrivileges(proxmoxtest.TokenID, "/vms/100", "VM.Audit")
	srv.Deny(proxmoxtest.TokenID, "Sys.PowerMgmt")
	err = c.Power.Preflight(t.Context(), plan)
	require.ErrorIs(t, err, proxmox.ErrPermission)
	var pe *proxmox.PrivilegesError
	require.True(t, errors.As(err, &pe), "%v", err)
	require.Len(t, pe.Missing, 2, "%v", err)
	assert.Equal(t, "/vms/100", pe.Missing[0].Path)
	assert.Equal(t, "VM.PowerMgmt", pe.Missing[0].Privilege)
	assert.Equal(t, "nas", pe.Missing[0].Guest.Name)
	assert.Equal(t, "/nodes/"+proxmoxtest.Node, pe.Missing[1].Path)
	assert.Equal(t, proxmoxtest.Node, pe.Missing[1].Node)
	assert.Equal(t, proxmoxtest.TokenID, pe.Identity)
	msg := err.Error()
	assert.Contains(t, msg, "vm 100 on proxmox1 (nas): VM.PowerMgmt on /vms/100")
	assert.Contains(t, msg, "node proxmox1: Sys.PowerMgmt on /nodes/proxmox1")
	assert.Equal(t, 1, countPrefix(msg), msg)

	// and what Check said is what Apply would have met
	_, err = c.Power.Apply(t.Context(), plan, proxmox.ApplyOptions{})
	require.ErrorIs(t, err, proxmox.ErrPermission)
}

func TestPreflightWrongToken(t *testing.T) {
	t.Parallel()
	srv, _ := newLab(t)
	bad, err := proxmox.NewClient(srv.URL, proxmox.WithFingerprint(srv.Fingerprint()),
		proxmox.WithAPIToken(proxmoxtest.TokenID, secret.New("00000000-0000-0000-0000-000000000000")), proxmox.WithRetries(0))
	require.NoError(t, err)
	defer bad.Close()
	err = bad.Power.Preflight(t.Context(), proxmox.PowerPlan{Nodes: []string{proxmoxtest.Node}})
	require.ErrorIs(t, err, proxmox.ErrAuth)
	assert.NotErrorIs(t, err, proxmox.ErrPermission)
}

func countPrefix(s string) int {
	n := 0
	for i := 0; i+len("proxmox:") <= len(s); i++ {
		if s[i:i+len("proxmox:")] == "proxmox:" {
			n++
		}
	}
	return n
}

func TestPreflightHAGuestNeedsSysConsole(t *testing.T) {
	t.Parallel()
	srv := proxmoxtest.Start(t, proxmoxtest.WithoutLab())
	srv.AddNode(proxmoxtest.Node)
	c := newClient(t, srv)
	srv.AddGuest(proxmoxtest.Guest{VMID: 170, Node: proxmoxtest.Node, Type: "qemu", Name: "dns", Running: true, HA: "started"})
	srv.AddGuest(proxmoxtest.Guest{VMID: 171, Node: proxmoxtest.Node, Type: "qemu", Name: "dns2", Running: true, HA: "started"})
	plan, err := c.Power.PlanShutdown(t.Context(), proxmox.PlanOptions{})
	require.NoError(t, err)
	require.NoError(t, c.Power.Preflight(t.Context(), plan))

	srv.SetPrivileges(proxmoxtest.TokenID, "/", "VM.Audit", "VM.PowerMgmt", "Sys.Audit")
	err = c.Power.Preflight(t.Context(), plan)
	var pe *proxmox.PrivilegesError
	require.ErrorAs(t, err, &pe)
	require.Len(t, pe.Missing, 1, "Sys.Console on / is named once for all HA guests: %v", err)
	assert.Equal(t, "Sys.Console", pe.Missing[0].Privilege)
	assert.Contains(t, err.Error(), "Sys.Console on / (for HA-managed guests)")
}
