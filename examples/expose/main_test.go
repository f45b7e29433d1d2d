package main

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/thehomelab/homelab/npm/npmtest"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

var npmEnv = env(map[string]string{"NPM_EMAIL": npmtest.AdminEmail, "NPM_PASSWORD": npmtest.AdminPassword})

func TestExpose(t *testing.T) {
	t.Parallel()
	srv := npmtest.Start(t)
	args := []string{"-npm", srv.URL, "-fqdn", "status.thehomelab.site", "-to", "uptime-kuma:3001", "-websockets"}
	var out, errOut bytes.Buffer
	require.Equal(t, 0, run(t.Context(), args, &out, &errOut, npmEnv), errOut.String())
	assert.Contains(t, out.String(), "created: https://status.thehomelab.site -> http://uptime-kuma:3001.")
	assert.Contains(t, out.String(), "(reused) is valid until")

	out.Reset()
	require.Equal(t, 0, run(t.Context(), args, &out, &errOut, npmEnv), errOut.String())
	assert.Equal(t, "https://status.thehomelab.site -> http://uptime-kuma:3001 is already proxied as wanted: nothing changed.\n", out.String())
}

func TestExposeFailures(t *testing.T) {
	t.Parallel()
	srv := npmtest.Start(t)
	app := []string{"-npm", srv.URL, "-fqdn", "status.thehomelab.site", "-to", "uptime-kuma:3001"}
	tests := []struct {
		name string
		args []string
		env  func(string) string
		code int
		want string
	}{
		{"wrong password", app, env(map[string]string{"NPM_EMAIL": npmtest.AdminEmail, "NPM_PASSWORD": "wrong-password"}), 3, "expose: npm:"},
		{"no password", app, env(nil), 2, "set NPM_EMAIL and NPM_PASSWORD"},
		{"bad target", []string{"-fqdn", "x.thehomelab.site", "-to", "uptime-kuma"}, npmEnv, 2, `-to: want host:port, got "uptime-kuma"`},
		{"no fqdn", []string{"-to", "uptime-kuma:3001"}, npmEnv, 2, "-fqdn and -to are required"},
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
