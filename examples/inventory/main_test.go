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

var pveEnv = env(map[string]string{"PROXMOX_TOKEN_ID": proxmoxtest.TokenID, "PROXMOX_TOKEN_SECRET": proxmoxtest.TokenSecret})

func TestInventory(t *testing.T) {
	t.Parallel()
	srv := proxmoxtest.Start(t)
	var out, errOut bytes.Buffer
	require.Equal(t, 0, run(t.Context(), []string{"-proxmox", srv.URL, "-proxmox-fingerprint", srv.Fingerprint()}, &out, &errOut, pveEnv), errOut.String())
	for _, want := range []string{"Node proxmox1 is online", "VM 100 (nas) is running", "Container 101 (docker) is running", "Storage backups (cifs"} {
		assert.Contains(t, out.String(), want)
	}
	assert.NotContains(t, out.String(), proxmoxtest.TokenSecret)
}

func TestInventoryFailures(t *testing.T) {
	t.Parallel()
	srv := proxmoxtest.Start(t)
	tests := []struct {
		name string
		args []string
		env  func(string) string
		code int
		want string
	}{
		{"token refused", []string{"-proxmox", srv.URL, "-proxmox-fingerprint", srv.Fingerprint()},
			env(map[string]string{"PROXMOX_TOKEN_ID": proxmoxtest.TokenID, "PROXMOX_TOKEN_SECRET": "wrong-secret"}), 3, "inventory: proxmox:"},
		{"certificate not pinned", []string{"-proxmox", srv.URL}, pveEnv, 3, "(the examples: -proxmox-fingerprint sha256:" + strings.TrimPrefix(srv.Fingerprint(), "sha256:") + ")"},
		{"no token", []string{"-proxmox", srv.URL}, env(nil), 2, "set PROXMOX_TOKEN_ID"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var out, errOut bytes.Buffer
			assert.Equal(t, tt.code, run(t.Context(), tt.args, &out, &errOut, tt.env))
			assert.Contains(t, errOut.String(), tt.want)
			assert.Equal(t, 1, strings.Count(errOut.String(), tt.want), "the advice is given once")
			assert.NotContains(t, errOut.String(), "wrong-secret")
		})
	}
}
