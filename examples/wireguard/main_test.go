package main

import (
	"bytes"
	"os"
	"path/filepath"
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
