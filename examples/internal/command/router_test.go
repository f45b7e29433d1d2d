package command

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/thehomelab/homelab/dns/dnstest"
	"github.com/thehomelab/homelab/examples/internal/workflow"
	"github.com/thehomelab/homelab/routeros"
	"github.com/thehomelab/homelab/routeros/routerostest"
)

var routerEnv = env(map[string]string{"ROUTEROS_PASSWORD": routerostest.DefaultPassword})

func TestDDNSCommandFromRouter(t *testing.T) {
	t.Parallel()
	rt := routerostest.Start(t)
	cf := cloudflare(t)
	e := env(map[string]string{"CLOUDFLARE_API_TOKEN": dnstest.SeedToken, "ROUTEROS_PASSWORD": routerostest.DefaultPassword})
	var out bytes.Buffer
	require.NoError(t, runDDNS(t.Context(), &out, &out, []string{"-router", rt.Addr(), "-cloudflare", cf.URL}, e), out.String())
	assert.Contains(t, out.String(), "router pppoe-out1 reports "+routerostest.LabPublicIP)
	assert.Equal(t, routerostest.LabPublicIP, cf.Records("vpn.thehomelab.site")[0].Content)

	// Without the router's password nothing is published.
	err := runDDNS(t.Context(), &out, &out, []string{"-router", rt.Addr(), "-cloudflare", cf.URL},
		env(map[string]string{"CLOUDFLARE_API_TOKEN": dnstest.SeedToken}))
	assert.ErrorContains(t, err, "set ROUTEROS_PASSWORD")
}

func TestWireGuardCommand(t *testing.T) {
	t.Parallel()
	rt := routerostest.Start(t)
	dir := t.TempDir()
	conf, qr := filepath.Join(dir, "anna.conf"), filepath.Join(dir, "anna.png")
	args := []string{"-router", rt.Addr(), "-name", "phone-anna", "-conf", conf, "-qr", qr, "-allowed", "192.168.1.0/24"}
	var out bytes.Buffer
	require.NoError(t, runWireGuard(t.Context(), &out, &out, args, routerEnv), out.String())
	assert.Contains(t, out.String(), "peer phone-anna added on wireguard1")
	assert.NotContains(t, out.String(), "Key =")

	text, err := os.ReadFile(conf)
	require.NoError(t, err)
	assert.Contains(t, string(text), "PrivateKey = ")
	assert.Contains(t, string(text), "AllowedIPs = 192.168.1.0/24")
	png, err := os.ReadFile(qr)
	require.NoError(t, err)
	assert.Equal(t, "\x89PNG", string(png[:4]))
	for _, f := range []string{conf, qr} {
		st, err := os.Stat(f)
		require.NoError(t, err)
		assert.Equal(t, os.FileMode(0o600), st.Mode().Perm(), f)
	}

	// Files are never overwritten, and the router is not touched then.
	before := rt.Commands()
	err = runWireGuard(t.Context(), &out, &out, args, routerEnv)
	assert.ErrorContains(t, err, "exists: not overwriting")
	assert.Equal(t, 2, ExitCode(err), "a file in the way is a usage error, as in examples/wireguard")
	assert.Equal(t, before, rt.Commands())

	// The same name again is refused by the router.
	args = []string{"-router", rt.Addr(), "-name", "phone-anna", "-conf", filepath.Join(dir, "again.conf")}
	err = runWireGuard(t.Context(), &out, &out, args, routerEnv)
	assert.ErrorIs(t, err, routeros.ErrConflict)
	assert.NoFileExists(t, filepath.Join(dir, "again.conf"))
}

// homelab wireguard creates its key files exclusively, as
// examples/wireguard does: a file already there is a usage error, a
// symlink planted there is not followed, and the router is not asked.
func TestWireGuardCommandNeverOverwrites(t *testing.T) {
	t.Parallel()
	rt := routerostest.Start(t)
	dir := t.TempDir()
	existing := filepath.Join(dir, "existing.conf")
	require.NoError(t, os.WriteFile(existing, []byte("mine"), 0o600))
	target := filepath.Join(dir, "elsewhere.conf")
	link := filepath.Join(dir, "link.conf")
	require.NoError(t, os.Symlink(target, link)) // dangling

	for _, file := range []string{existing, link} {
		var out bytes.Buffer
		err := runWireGuard(t.Context(), &out, &out, []string{"-router", rt.Addr(), "-name", "phone-x", "-conf", file}, routerEnv)
		require.ErrorIs(t, err, ErrUsage)
		assert.ErrorContains(t, err, file+" exists: not overwriting it")
	}
	text, err := os.ReadFile(existing)
	require.NoError(t, err)
	assert.Equal(t, "mine", string(text))
	assert.NoFileExists(t, target, "the symlink was followed")
	assert.Zero(t, rt.Commands(), "the router was asked")

	// A QR file that cannot be created: the config file made just before
	// is removed again.
	conf := filepath.Join(dir, "new.conf")
	var out bytes.Buffer
	err = runWireGuard(t.Context(), &out, &out, []string{"-router", rt.Addr(), "-name", "phone-x", "-conf", conf, "-qr", existing}, routerEnv)
	require.ErrorIs(t, err, ErrUsage)
	assert.NoFileExists(t, conf)

	err = runWireGuard(t.Context(), &out, &out, []string{"-name", "phone-x", "-conf", conf, "-qr", conf}, routerEnv)
	require.ErrorIs(t, err, ErrUsage)
	assert.NoFileExists(t, conf)
}

func TestIsolationCommand(t *testing.T) {
	t.Parallel()
	rt := routerostest.Start(t)
	var out bytes.Buffer
	require.NoError(t, runIsolation(t.Context(), &out, &out, []string{"-router", rt.Addr()}, routerEnv), out.String())
	assert.Contains(t, out.String(), `10.1.1.0/24 cannot reach 192.168.1.0/24: rule *15 "guest isolation" (drop) decides`)

	// The VPN is allowed into the LAN: that is a leak for this audit.
	out.Reset()
	err := runIsolation(t.Context(), &out, &out, []string{"-router", rt.Addr(), "-from", "192.168.100.0/24"}, routerEnv)
	require.ErrorIs(t, err, workflow.ErrNotIsolated)
	assert.Contains(t, out.String(), "LEAK: 192.168.100.0/24 can reach 192.168.1.0/24")
}

func TestRouterCommandErrors(t *testing.T) {
	t.Parallel()
	rt := routerostest.Start(t)
	tests := []struct {
		name  string
		run   func(ctx context.Context, out, errOut io.Writer, args []string, env Env) error
		args  []string
		env   Env
		usage bool
		want  string
		is    error
	}{
		{name: "wireguard without name", run: runWireGuard, args: []string{"-conf", "x"}, env: routerEnv, usage: true, want: "-name"},
		{name: "wireguard without output", run: runWireGuard, args: []string{"-name", "x"}, env: routerEnv, usage: true, want: "shown only once"},
		{name: "wireguard bad prefix", run: runWireGuard, args: []string{"-name", "x", "-conf", "x", "-allowed", "lan"}, env: routerEnv, usage: true, want: "-allowed"},
		{name: "isolation bad prefix", run: runIsolation, args: []string{"-from", "guest"}, env: routerEnv, usage: true, want: "-from"},
		{name: "ddns bad source", run: runDDNS, args: []string{"-from", "psychic"}, env: routerEnv, usage: true, want: "-from"},
		{name: "isolation wrong password", run: runIsolation, args: []string{"-router", rt.Addr()},
			env: env(map[string]string{"ROUTEROS_PASSWORD": "wrong-password"}), is: routeros.ErrAuth, want: "router"},
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
			assert.NotContains(t, err.Error()+out.String(), "wrong-password")
		})
	}
}
