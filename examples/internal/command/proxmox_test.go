package command

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/thehomelab/homelab/proxmox"
	"github.com/thehomelab/homelab/proxmox/proxmoxtest"
)

// pve starts a fake Proxmox VE and returns it with the flags pointing at it.
func pve(t *testing.T) (*proxmoxtest.Server, []string) {
	t.Helper()
	srv := proxmoxtest.NewServer()
	t.Cleanup(srv.Close)
	return srv, []string{"-proxmox", srv.URL, "-proxmox-fingerprint", srv.Fingerprint()}
}

var pveEnv = env(map[string]string{
	"PROXMOX_TOKEN_ID": proxmoxtest.TokenID, "PROXMOX_TOKEN_SECRET": proxmoxtest.TokenSecret,
	"PROXMOX_ROOT_PASSWORD": proxmoxtest.RootPassword,
})

func TestInventoryCommand(t *testing.T) {
	t.Parallel()
	_, flags := pve(t)
	var out bytes.Buffer
	require.NoError(t, runInventory(t.Context(), &out, &out, flags, pveEnv), out.String())
	for _, want := range []string{"node  proxmox1", "vm  100 nas", "ct  101 docker", "vm  102 homeassistant", "store backups        cifs"} {
		assert.Contains(t, out.String(), want)
	}
	assert.NotContains(t, out.String(), proxmoxtest.TokenSecret)
}

func TestPassthroughCommand(t *testing.T) {
	t.Parallel()
	srv, flags := pve(t)
	args := append(flags, "-vm", "nas", "-disks", "S6PNNS0T100001,S6PNNS0T100002")
	var out bytes.Buffer
	require.NoError(t, runPassthrough(t.Context(), &out, &out, args, pveEnv), out.String())
	assert.Contains(t, out.String(), "S6PNNS0T100001 (Samsung_SSD_870_EVO_2TB /dev/sda) attached to vm 100 on proxmox1 as scsi1")
	assert.Contains(t, srv.GuestConfig(100)["scsi2"], "/dev/disk/by-id/ata-Samsung_SSD_870_EVO_2TB_S6PNNS0T100002")

	out.Reset()
	require.NoError(t, runPassthrough(t.Context(), &out, &out, args, pveEnv), out.String())
	assert.Equal(t, 2, strings.Count(out.String(), "already on vm 100"))

	// The node's own disk is refused.
	err := runPassthrough(t.Context(), &out, &out, append(flags, "-disks", "/dev/nvme0n1"), pveEnv)
	assert.ErrorIs(t, err, proxmox.ErrConflict)
}

func TestShutdownCommand(t *testing.T) {
	t.Parallel()
	srv, flags := pve(t)
	var out bytes.Buffer
	require.NoError(t, runShutdown(t.Context(), &out, &out, append(flags, "-node"), pveEnv), out.String())
	assert.Contains(t, out.String(), "3. last: vm 100 on proxmox1 (nas)")
	assert.Contains(t, out.String(), "dry run: nothing was stopped")
	for _, id := range []int{100, 101, 102} {
		assert.Equal(t, "running", srv.GuestStatus(id), "dry run stopped %d", id)
	}
	assert.True(t, srv.NodeOnline(proxmoxtest.Node))

	out.Reset()
	require.NoError(t, runShutdown(t.Context(), &out, &out, append(flags, "-node", "-dry-run=false"), pveEnv), out.String())
	story := out.String()
	for _, id := range []int{100, 101, 102} {
		assert.Equal(t, "stopped", srv.GuestStatus(id), "guest %d", id)
	}
	assert.False(t, srv.NodeOnline(proxmoxtest.Node))
	// The NAS goes down after the others, the node after the NAS.
	ha, docker, nas := strings.Index(story, "(homeassistant): shut down"), strings.Index(story, "(docker): shut down"), strings.Index(story, "(nas): shut down")
	node := strings.Index(story, "node proxmox1: shutting down")
	require.True(t, ha >= 0 && docker >= 0 && nas >= 0 && node >= 0, story)
	assert.Less(t, ha, nas)
	assert.Less(t, docker, nas)
	assert.Less(t, nas, node)
}

func TestProxmoxCommandErrors(t *testing.T) {
	t.Parallel()
	_, flags := pve(t)
	tests := []struct {
		name  string
		run   func(ctx context.Context, out, errOut io.Writer, args []string, env Env) error
		args  []string
		env   Env
		usage bool
		want  string
		is    error
	}{
		{name: "no token", run: runInventory, args: flags, env: env(nil), usage: true, want: "set PROXMOX_TOKEN_ID"},
		{name: "passthrough without root", run: runPassthrough, args: append(flags, "-disks", "x"),
			env: env(map[string]string{"PROXMOX_TOKEN_ID": proxmoxtest.TokenID, "PROXMOX_TOKEN_SECRET": proxmoxtest.TokenSecret}), usage: true, want: "set PROXMOX_ROOT_PASSWORD"},
		{name: "passthrough without disks", run: runPassthrough, args: flags, env: pveEnv, usage: true, want: "-disks"},
		{name: "wrong secret", run: runInventory, args: flags,
			env: env(map[string]string{"PROXMOX_TOKEN_ID": proxmoxtest.TokenID, "PROXMOX_TOKEN_SECRET": "wrong-secret"}), want: "inventory", is: proxmox.ErrAuth},
		{name: "wrong fingerprint", run: runInventory, args: []string{"-proxmox", flags[1], "-proxmox-fingerprint", strings.Repeat("AB:", 31) + "AB"},
			env: pveEnv, want: "fingerprint"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var out bytes.Buffer
			err := tt.run(t.Context(), &out, &out, tt.args, tt.env)
			require.Error(t, err)
			assert.Equal(t, tt.usage, errors.Is(err, ErrUsage), "%v", err)
			assert.ErrorContains(t, err, tt.want)
			if tt.is != nil {
				assert.ErrorIs(t, err, tt.is)
			}
			assert.NotContains(t, err.Error()+out.String(), "wrong-secret")
		})
	}
}
