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

func TestShutdown(t *testing.T) {
	t.Parallel()
	srv := proxmoxtest.Start(t)
	flags := []string{"-proxmox", srv.URL, "-proxmox-fingerprint", srv.Fingerprint(), "-node"}

	// The default is a dry run.
	var out, errOut bytes.Buffer
	require.Equal(t, 0, run(t.Context(), flags, &out, &errOut, pveEnv), errOut.String())
	assert.Contains(t, out.String(), "3. last: vm 100 on proxmox1 (nas)")
	assert.Contains(t, out.String(), "Dry run: nothing was stopped.")
	assert.Equal(t, "running", srv.GuestStatus(100))

	out.Reset()
	require.Equal(t, 0, run(t.Context(), append(flags, "-dry-run=false"), &out, &errOut, pveEnv), errOut.String())
	story := out.String()
	for _, id := range []int{100, 101, 102} {
		assert.Equal(t, "stopped", srv.GuestStatus(id), "guest %d", id)
	}
	assert.False(t, srv.NodeOnline(proxmoxtest.Node))
	docker, nas, node := strings.Index(story, "(docker): shut down"), strings.Index(story, "(nas): shut down"), strings.Index(story, "Node proxmox1 is shutting down.")
	require.True(t, docker >= 0 && nas >= 0 && node >= 0, story)
	assert.Less(t, docker, nas)
	assert.Less(t, nas, node)
}

func TestShutdownFailures(t *testing.T) {
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
		{"token refused", flags, env(map[string]string{"PROXMOX_TOKEN_ID": proxmoxtest.TokenID, "PROXMOX_TOKEN_SECRET": "wrong-secret"}), 3, "shutdown: proxmox:"},
		{"no token", flags, env(nil), 2, "set PROXMOX_TOKEN_ID"},
		{"the old spelling", append(flags, "-yes"), pveEnv, 2, "flag provided but not defined: -yes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var out, errOut bytes.Buffer
			assert.Equal(t, tt.code, run(t.Context(), tt.args, &out, &errOut, tt.env))
			assert.Contains(t, errOut.String(), tt.want)
			assert.NotContains(t, errOut.String(), "wrong-secret")
		})
	}
	assert.Equal(t, "running", srv.GuestStatus(100))
}

func TestShutdownGuestFails(t *testing.T) {
	t.Parallel()
	srv := proxmoxtest.Start(t)
	srv.Inject(proxmoxtest.Fault{Method: "POST", Path: "/qemu/102/status/", Status: 500, Reason: "guest agent hung"})
	var out, errOut bytes.Buffer
	args := []string{"-proxmox", srv.URL, "-proxmox-fingerprint", srv.Fingerprint(), "-dry-run=false"}
	assert.Equal(t, 1, run(t.Context(), args, &out, &errOut, pveEnv))
	assert.Contains(t, out.String(), "vm 102 on proxmox1 (homeassistant) FAILED")
	assert.Contains(t, errOut.String(), "shutdown: 1 guest(s) failed: ")
	assert.Equal(t, "stopped", srv.GuestStatus(100), "the others go down anyway: a power cut waits for nobody")
}
