package command

import (
	"bytes"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/thehomelab/homelab/npm"
	"github.com/thehomelab/homelab/npm/npmtest"
)

var npmEnv = env(map[string]string{"NPM_EMAIL": npmtest.AdminEmail, "NPM_PASSWORD": npmtest.AdminPassword})

func TestExposeCommand(t *testing.T) {
	t.Parallel()
	srv := npmtest.NewServer()
	t.Cleanup(srv.Close)
	args := []string{"-npm", srv.URL, "-fqdn", "status.thehomelab.site", "-to", "uptime-kuma:3001", "-websockets"}
	var out bytes.Buffer
	require.NoError(t, runExpose(t.Context(), &out, &out, args, npmEnv), out.String())
	assert.Contains(t, out.String(), "created: https://status.thehomelab.site -> http://uptime-kuma:3001")
	assert.Contains(t, out.String(), "(reused)")
	assert.Contains(t, out.String(), "the host redirects http to https, serves HTTP/2, sends HSTS, passes websockets")
	found := false
	for _, h := range srv.Hosts("proxy_hosts") {
		if len(h.Domains) == 1 && h.Domains[0] == "status.thehomelab.site" {
			found = true
		}
	}
	assert.True(t, found, "no proxy host for status.thehomelab.site")

	out.Reset()
	require.NoError(t, runExpose(t.Context(), &out, &out, args, npmEnv), out.String())
	assert.Contains(t, out.String(), "already proxied as wanted: nothing changed")

	// Moving the app changes the forward port of the same host.
	out.Reset()
	args[len(args)-2] = "uptime-kuma:3002"
	require.NoError(t, runExpose(t.Context(), &out, &out, args, npmEnv), out.String())
	assert.Contains(t, out.String(), "updated: https://status.thehomelab.site -> http://uptime-kuma:3002")
	assert.Contains(t, out.String(), "forward_port: 3001 → 3002")
}

func TestExposeCommandErrors(t *testing.T) {
	t.Parallel()
	srv := npmtest.NewServer()
	t.Cleanup(srv.Close)
	tests := []struct {
		name  string
		args  []string
		env   Env
		usage bool
		want  string
		is    error
	}{
		{name: "no fqdn", args: []string{"-to", "a:1"}, env: npmEnv, usage: true, want: "-fqdn and -to"},
		{name: "no port", args: []string{"-fqdn", "a.thehomelab.site", "-to", "kuma"}, env: npmEnv, usage: true, want: "-to"},
		{name: "bad port", args: []string{"-fqdn", "a.thehomelab.site", "-to", "kuma:99999"}, env: npmEnv, usage: true, want: "bad port"},
		{name: "bad scheme", args: []string{"-fqdn", "a.thehomelab.site", "-to", "kuma:1", "-scheme", "ftp"}, env: npmEnv, usage: true, want: "-scheme"},
		{name: "no credentials", args: []string{"-fqdn", "a.thehomelab.site", "-to", "kuma:1"}, env: env(nil), usage: true, want: "set NPM_EMAIL"},
		{name: "wrong password", args: []string{"-npm", srv.URL, "-fqdn", "a.thehomelab.site", "-to", "kuma:1"},
			env: env(map[string]string{"NPM_EMAIL": npmtest.AdminEmail, "NPM_PASSWORD": "wrong-password"}), want: "expose a.thehomelab.site", is: npm.ErrAuth},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var out bytes.Buffer
			err := runExpose(t.Context(), &out, &out, tt.args, tt.env)
			require.Error(t, err)
			assert.Equal(t, tt.usage, errors.Is(err, ErrUsage), "%v", err)
			assert.ErrorContains(t, err, tt.want)
			if tt.is != nil {
				assert.ErrorIs(t, err, tt.is)
			}
			assert.NotContains(t, err.Error()+out.String(), "wrong-password")
		})
	}
}
