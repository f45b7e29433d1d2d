package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/thehomelab/homelab/routeros/routerostest"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

var routerEnv = env(map[string]string{"ROUTEROS_PASSWORD": routerostest.DefaultPassword})

func TestWireGuard(t *testing.T) {
	t.Parallel()
	rt := routerostest.Start(t)
	dir := t.TempDir()
	conf, qr := filepath.Join(dir, "anna.conf"), filepath.Join(dir, "anna.png")
	args := []string{"-router", rt.Addr(), "-name", "phone-anna", "-conf", conf, "-qr", qr, "-allowed", "192.168.1.0/24"}
	var out, errOut bytes.Buffer
	require.Equal(t, 0, run(t.Context(), args, &out, &errOut, routerEnv), errOut.String())
	assert.Contains(t, out.String(), "Peer phone-anna added on wireguard1")
	assert.NotContains(t, out.String(), "PrivateKey")
	text, err := os.ReadFile(conf)
	require.NoError(t, err)
	assert.Contains(t, string(text), "AllowedIPs = 192.168.1.0/24")
	st, err := os.Stat(qr)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), st.Mode().Perm())

	// The same name again: the router refuses, nothing is written.
	again := filepath.Join(dir, "again.conf")
	errOut.Reset()
	code := run(t.Context(), []string{"-router", rt.Addr(), "-name", "phone-anna", "-conf", again}, &out, &errOut, routerEnv)
	assert.Equal(t, 1, code)
	assert.Contains(t, errOut.String(), "wireguard: phone-anna is already a peer")
	assert.NoFileExists(t, again)
}

func TestWireGuardFailures(t *testing.T) {
	t.Parallel()
	rt := routerostest.Start(t)
	dir := t.TempDir()
	tests := []struct {
		name string
		args []string
		env  func(string) string
		code int
		want string
	}{
		{"no output file", []string{"-name", "x"}, routerEnv, 2, "shown only once"},
		{"bad prefix", []string{"-name", "x", "-conf", "x", "-allowed", "lan"}, routerEnv, 2, "-allowed"},
		{"wrong password", []string{"-router", rt.Addr(), "-name", "x", "-conf", filepath.Join(dir, "x.conf")},
			env(map[string]string{"ROUTEROS_PASSWORD": "wrong-password"}), 3, "wireguard: routeros:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var out, errOut bytes.Buffer
			assert.Equal(t, tt.code, run(t.Context(), tt.args, &out, &errOut, tt.env))
			assert.Contains(t, errOut.String(), tt.want)
			assert.NotContains(t, errOut.String(), "wrong-password")
		})
	}
}

// A file already at -conf or -qr is never overwritten, nor followed when it
// is a symlink, and the run stops before the router is asked for keys.
func TestWireGuardNeverOverwrites(t *testing.T) {
	t.Parallel()
	rt := routerostest.Start(t)
	dir := t.TempDir()

	existing := filepath.Join(dir, "existing.conf")
	require.NoError(t, os.WriteFile(existing, []byte("mine"), 0o600))
	target := filepath.Join(dir, "elsewhere.conf")
	link := filepath.Join(dir, "link.conf")
	require.NoError(t, os.Symlink(target, link)) // dangling

	for _, file := range []string{existing, link} {
		var out, errOut bytes.Buffer
		code := run(t.Context(), []string{"-router", rt.Addr(), "-name", "phone-x", "-conf", file}, &out, &errOut, routerEnv)
		assert.Equal(t, 2, code, errOut.String())
		assert.Contains(t, errOut.String(), file+" exists: not overwriting it")
	}
	text, err := os.ReadFile(existing)
	require.NoError(t, err)
	assert.Equal(t, "mine", string(text))
	assert.NoFileExists(t, target, "the symlink was followed")
	assert.Empty(t, rt.Requests(), "the router was contacted")
}

// Two runs racing for the same file: exactly one gets it, and the file
// holds that run's keys.
func TestWireGuardRaceForFile(t *testing.T) {
	t.Parallel()
	rt := routerostest.Start(t)
	conf := filepath.Join(t.TempDir(), "shared.conf")
	codes := make([]int, 2)
	outs := make([]bytes.Buffer, 2)
	var wg sync.WaitGroup
	for i := range 2 {
		wg.Go(func() {
			var errOut bytes.Buffer
			args := []string{"-router", rt.Addr(), "-name", fmt.Sprintf("phone-%d", i), "-conf", conf}
			codes[i] = run(t.Context(), args, &outs[i], &errOut, routerEnv)
		})
	}
	wg.Wait()
	require.ElementsMatch(t, []int{0, 2}, codes)
	winner := 0
	if codes[1] == 0 {
		winner = 1
	}
	text, err := os.ReadFile(conf)
	require.NoError(t, err)
	// The winner's config carries the tunnel address it printed.
	_, addr, ok := strings.Cut(outs[winner].String(), "with address ")
	require.True(t, ok, outs[winner].String())
	addr, _, _ = strings.Cut(addr, ".\n")
	assert.Contains(t, string(text), "Address = "+addr)
}
