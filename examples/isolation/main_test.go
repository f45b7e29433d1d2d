package main

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/thehomelab/homelab/routeros/routerostest"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestIsolation(t *testing.T) {
	t.Parallel()
	rt := routerostest.Start(t)
	good := env(map[string]string{"ROUTEROS_PASSWORD": routerostest.DefaultPassword})
	var out, errOut bytes.Buffer
	code := run(t.Context(), []string{"-router", rt.Addr()}, &out, &errOut, good)
	assert.Equal(t, 0, code, errOut.String())
	assert.Equal(t, "10.1.1.0/24 cannot reach 192.168.1.0/24: rule *15 \"guest isolation\" (drop) decides.\n", out.String())

	// The VPN is allowed into the LAN: a leak for this audit.
	out.Reset()
	errOut.Reset()
	code = run(t.Context(), []string{"-router", rt.Addr(), "-from", "192.168.100.0/24"}, &out, &errOut, good)
	assert.Equal(t, 1, code)
	assert.Contains(t, errOut.String(), "isolation: LEAK: 192.168.100.0/24 can reach 192.168.1.0/24")
}

func TestIsolationFailures(t *testing.T) {
	t.Parallel()
	rt := routerostest.Start(t)
	tests := []struct {
		name string
		args []string
		env  map[string]string
		code int
		want string
	}{
		{"wrong password", []string{"-router", rt.Addr()}, map[string]string{"ROUTEROS_PASSWORD": "wrong-password"}, 3, "isolation: routeros:"},
		{"no password", []string{"-router", rt.Addr()}, nil, 2, "set ROUTEROS_PASSWORD"},
		{"bad prefix", []string{"-from", "guest"}, nil, 2, "-from"},
		{"bad address", []string{"-router", "192.168.1.1:87x28"}, map[string]string{"ROUTEROS_PASSWORD": "x"}, 2, `isolation: routeros: dial: address "192.168.1.1:87x28"`},
		{"unknown flag", []string{"-bogus"}, nil, 2, "usage: isolation"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var out, errOut bytes.Buffer
			assert.Equal(t, tt.code, run(t.Context(), tt.args, &out, &errOut, env(tt.env)))
			assert.Contains(t, errOut.String(), tt.want)
			assert.Empty(t, out.String())
			assert.NotContains(t, errOut.String(), "wrong-password")
		})
	}
}

func TestIsolationHelp(t *testing.T) {
	t.Parallel()
	var out, errOut bytes.Buffer
	assert.Equal(t, 0, run(t.Context(), []string{"-h"}, &out, &errOut, env(nil)))
	assert.Contains(t, out.String(), "usage: isolation")
	assert.Empty(t, errOut.String())
}

// -v turns on the SDK's debug log, on stderr, without the password.
func TestIsolationVerbose(t *testing.T) {
	t.Parallel()
	rt := routerostest.Start(t)
	var out, errOut bytes.Buffer
	code := run(t.Context(), []string{"-v", "-router", rt.Addr()}, &out, &errOut, env(map[string]string{"ROUTEROS_PASSWORD": routerostest.DefaultPassword}))
	assert.Equal(t, 0, code, errOut.String())
	assert.Contains(t, errOut.String(), "level=DEBUG")
	assert.NotContains(t, errOut.String(), routerostest.DefaultPassword)
}
