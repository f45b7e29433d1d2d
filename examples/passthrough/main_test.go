package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/thehomelab/homelab/proxmox/proxmoxtest"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

var pveEnv = env(map[string]string{
	"PROXMOX_TOKEN_ID": proxmoxtest.TokenID, "PROXMOX_TOKEN_SECRET": proxmoxtest.TokenSecret,
	"PROXMOX_ROOT_PASSWORD": proxmoxtest.RootPassword,
})

func TestPassthrough(t *testing.T) {
	t.Parallel()
	srv := proxmoxtest.Start(t)
	args := []string{"-proxmox", srv.URL, "-proxmox-fingerprint", srv.Fingerprint(), "-vm", "nas", "-disks", "S6PNNS0T100001,S6PNNS0T100002"}
	var out, errOut bytes.Buffer
	require.Equal(t, 0, run(t.Context(), args, &out, &errOut, pveEnv), errOut.String())
	assert.Contains(t, out.String(), "Disk S6PNNS0T100001 (Samsung_SSD_870_EVO_2TB, /dev/sda) is now on vm 100 on proxmox1 as scsi1.")
	assert.Contains(t, srv.GuestConfig(100)["scsi2"], "/dev/disk/by-id/ata-Samsung_SSD_870_EVO_2TB_S6PNNS0T100002")

	out.Reset()
	require.Equal(t, 0, run(t.Context(), args, &out, &errOut, pveEnv), errOut.String())
	assert.Equal(t, 2, strings.Count(out.String(), "is already on vm 100"))
}

func TestPassthroughFailures(t *testing.T) {
	t.Parallel()
	srv := proxmoxtest.Start(t)
	flags := []string{"-proxmox", srv.URL, "-proxmox-fingerprint", srv.Fingerprint()}
	tests := []struct {
		name string
		args []string
		env  func(string) string
		code int
		want string
	}{
		{"node's own disk", append(flags, "-disks", "/dev/nvme0n1"), pveEnv, 1, "passthrough: proxmox:"},
		{"root password wrong", append(flags, "-disks", "S6PNNS0T100001"), env(map[string]string{
			"PROXMOX_TOKEN_ID": proxmoxtest.TokenID, "PROXMOX_TOKEN_SECRET": proxmoxtest.TokenSecret, "PROXMOX_ROOT_PASSWORD": "wrong-password",
		}), 3, "passthrough: proxmox:"},
		{"no root password", append(flags, "-disks", "S6PNNS0T100001"), env(map[string]string{
			"PROXMOX_TOKEN_ID": proxmoxtest.TokenID, "PROXMOX_TOKEN_SECRET": proxmoxtest.TokenSecret,
		}), 2, "PROXMOX_ROOT_PASSWORD"},
		{"no disks", flags, pveEnv, 2, "-disks is required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var out, errOut bytes.Buffer
			assert.Equal(t, tt.code, run(t.Context(), tt.args, &out, &errOut, tt.env))
			assert.Contains(t, errOut.String(), tt.want)
			assert.NotContains(t, errOut.String(), "wrong-password")
			assert.Equal(t, 1, strings.Count(errOut.String(), "passthrough:"), errOut.String())
		})
	}
}
