package main

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/thehomelab/homelab/proxmox/proxmoxtest"
	"github.com/thehomelab/homelab/ups/upstest"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

var guardEnv = env(map[string]string{
	"PROXMOX_TOKEN_ID": proxmoxtest.TokenID, "PROXMOX_TOKEN_SECRET": proxmoxtest.TokenSecret,
	"NUT_USER": "upsmon", "NUT_PASSWORD": "upsmon-secret",
})

// nut starts a fake upsd with the UPS in status; "OB DISCHRG LB" makes the
// policy decide at the first poll.
func nut(t *testing.T, status string) *upstest.Server {
	srv := upstest.Start(t)
	vars := upstest.DefaultVars()
	vars["ups.status"] = status
	srv.AddUPS("ups", "PowerWalker VI 1000 STL", vars)
	srv.AddUser("upsmon", upstest.User{Password: "upsmon-secret", Actions: []string{"FSD"}, Upsmon: "primary"})
	srv.AddUser("viewer", upstest.User{Password: "viewer-secret"})
	return srv
}

func TestPowerLoss(t *testing.T) {
	t.Parallel()
	u, pv := nut(t, "OB DISCHRG LB"), proxmoxtest.Start(t)
	args := []string{"-ups", "ups@" + u.Addr(), "-proxmox", pv.URL, "-proxmox-fingerprint", pv.Fingerprint(), "-fsd"}

	// A drill goes the whole way and changes nothing.
	var out, errOut bytes.Buffer
	require.Equal(t, 0, run(t.Context(), append(args, "-dry-run"), &out, &errOut, guardEnv), errOut.String())
	assert.Contains(t, out.String(), "Watching the UPS")
	assert.Contains(t, out.String(), "Decision: shut down")
	assert.Contains(t, out.String(), "Dry run: nothing was stopped.")
	assert.False(t, u.FSDSet("ups"))
	assert.Equal(t, "running", pv.GuestStatus(100))

	out.Reset()
	require.Equal(t, 0, run(t.Context(), args, &out, &errOut, guardEnv), errOut.String())
	story := out.String()
	assert.True(t, u.FSDSet("ups"))
	for _, id := range []int{100, 101, 102} {
		assert.Equal(t, "stopped", pv.GuestStatus(id))
	}
	assert.False(t, pv.NodeOnline(proxmoxtest.Node))
	docker, nas := strings.Index(story, "(docker): shut down."), strings.Index(story, "(nas): shut down.")
	require.True(t, docker >= 0 && nas >= 0, story)
	assert.Less(t, docker, nas)
	assert.NotContains(t, story+errOut.String(), "upsmon-secret")
}

// A guard that cannot act refuses to start instead of watching.
func TestPowerLossRefusesToStart(t *testing.T) {
	t.Parallel()
	u, pv := nut(t, "OL"), proxmoxtest.Start(t)
	base := []string{"-ups", "ups@" + u.Addr(), "-proxmox", pv.URL, "-proxmox-fingerprint", pv.Fingerprint()}
	tests := []struct {
		name string
		args []string
		env  map[string]string
		code int
		want string
	}{
		{"token refused", base, map[string]string{"PROXMOX_TOKEN_ID": proxmoxtest.TokenID, "PROXMOX_TOKEN_SECRET": "wrong-secret"}, 3,
			"powerloss: not starting, the guard could not act: proxmox:"},
		{"not a primary", append(base, "-fsd"), map[string]string{"PROXMOX_TOKEN_ID": proxmoxtest.TokenID, "PROXMOX_TOKEN_SECRET": proxmoxtest.TokenSecret,
			"NUT_USER": "viewer", "NUT_PASSWORD": "viewer-secret"}, 3, "-fsd needs a upsmon primary login"},
		{"fsd without account", append(base, "-fsd"), map[string]string{"PROXMOX_TOKEN_ID": "x", "PROXMOX_TOKEN_SECRET": "y"}, 2, "-fsd needs NUT_USER"},
		{"bad ups", []string{"-ups", "localhost"}, nil, 2, "name@host"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var out, errOut bytes.Buffer
			assert.Equal(t, tt.code, run(t.Context(), tt.args, &out, &errOut, env(tt.env)))
			assert.Contains(t, errOut.String(), tt.want)
			assert.NotContains(t, out.String(), "Watching")
			assert.NotContains(t, errOut.String(), "wrong-secret")
		})
	}
	assert.False(t, u.FSDSet("ups"))
}

// safeBuffer is a bytes.Buffer written by the guard's goroutines.
type safeBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *safeBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *safeBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// While it waits, the guard says loudly when a shutdown has become
// impossible, and stops quietly when interrupted.
func TestPowerLossRecheck(t *testing.T) {
	t.Parallel()
	u, pv := nut(t, "OL"), proxmoxtest.Start(t)
	args := []string{"-ups", "ups@" + u.Addr(), "-proxmox", pv.URL, "-proxmox-fingerprint", pv.Fingerprint(), "-recheck", "20ms"}
	ctx, cancel := context.WithCancel(t.Context())
	var out, errOut safeBuffer
	done := make(chan int, 1)
	go func() { done <- run(ctx, args, &out, &errOut, guardEnv) }()
	require.Eventually(t, func() bool { return strings.Contains(out.String(), "Watching the UPS") }, 10*time.Second, 5*time.Millisecond)
	pv.AddToken(proxmoxtest.TokenID, "rotated") // the token in use is no longer accepted
	require.Eventually(t, func() bool { return strings.Contains(errOut.String(), "WARNING: a shutdown would fail now") }, 10*time.Second, 5*time.Millisecond)
	cancel()
	assert.Equal(t, 0, <-done)
	assert.Contains(t, out.String(), "Stopped; no shutdown was decided.")
}

func TestPowerLossUnknownUPS(t *testing.T) {
	t.Parallel()
	u, pv := nut(t, "OL"), proxmoxtest.Start(t)
	var out, errOut bytes.Buffer
	args := []string{"-ups", "fridge@" + u.Addr(), "-proxmox", pv.URL, "-proxmox-fingerprint", pv.Fingerprint()}
	assert.Equal(t, 3, run(t.Context(), args, &out, &errOut, guardEnv))
	assert.Contains(t, errOut.String(), "powerloss: not starting, the guard could not act: ups:")
}

// A token that may not power off a guest of the plan is refused before the
// guard starts watching: a guard that cannot act is no guard.
func TestPowerLossRefusesWithoutPrivilege(t *testing.T) {
	t.Parallel()
	u, pv := nut(t, "OL"), proxmoxtest.Start(t)
	pv.SetPrivileges(proxmoxtest.TokenID, "/vms/100", "VM.Audit")
	var out, errOut bytes.Buffer
	args := []string{"-ups", "ups@" + u.Addr(), "-proxmox", pv.URL, "-proxmox-fingerprint", pv.Fingerprint()}
	assert.Equal(t, 3, run(t.Context(), args, &out, &errOut,
		env(map[string]string{"PROXMOX_TOKEN_ID": proxmoxtest.TokenID, "PROXMOX_TOKEN_SECRET": proxmoxtest.TokenSecret})))
	assert.Contains(t, errOut.String(), "VM.PowerMgmt")
	assert.NotContains(t, out.String(), "Watching")
}
