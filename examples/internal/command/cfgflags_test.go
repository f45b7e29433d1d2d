package command

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/thehomelab/homelab/omv/omvtest"
	"github.com/thehomelab/homelab/proxmox/proxmoxtest"
)

// writeConfig writes homelab.yaml (and the named secret files) into a
// fresh directory and returns its path.
func writeConfig(t *testing.T, yaml string, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(content+"\n"), 0o600))
	}
	p := filepath.Join(dir, "homelab.yaml")
	require.NoError(t, os.WriteFile(p, []byte(yaml), 0o600))
	return p
}

func TestConfigSuppliesFlagsAndSecrets(t *testing.T) {
	t.Parallel()
	srv, _ := pve(t)
	path := writeConfig(t, "proxmox:\n  url: "+srv.URL+"\n  fingerprint: "+srv.Fingerprint()+
		"\n  token_id: "+proxmoxtest.TokenID+"\n  token_file: token\n",
		map[string]string{"token": proxmoxtest.TokenSecret})
	var out bytes.Buffer
	// No flag but -config, no environment: the URL, the pin, the token id
	// and the token's secret all come from the config.
	require.NoError(t, runInventory(t.Context(), &out, &out, []string{"-config", path}, env(nil)), out.String())
	assert.Contains(t, out.String(), "Inventory of "+srv.URL)
	assert.Contains(t, out.String(), "vm  100 nas")
}

func TestConfigPasswordFileViaLookup(t *testing.T) {
	t.Parallel()
	srv := nas(t)
	path := writeConfig(t, "nas:\n  url: "+srv.URL+"\n  user: admin\n  password_file: nas.pw\n",
		map[string]string{"nas.pw": omvtest.AdminPassword})
	var out bytes.Buffer
	// Found through $HOMELAB_CONFIG; OMV_PASSWORD is not set anywhere.
	e := env(map[string]string{"HOMELAB_CONFIG": path})
	require.NoError(t, runNASHealth(t.Context(), &out, &out, nil, e), out.String())
	assert.Contains(t, out.String(), "NAS health: "+srv.URL)
	assert.Contains(t, out.String(), "healthy")
}

func TestFlagOverridesConfig(t *testing.T) {
	t.Parallel()
	srv, _ := pve(t)
	// The config points at nothing; the flag wins, the config still
	// gives the pin and the token.
	path := writeConfig(t, "proxmox:\n  url: https://127.0.0.1:1\n  fingerprint: "+srv.Fingerprint()+
		"\n  token_id: "+proxmoxtest.TokenID+"\n  token_file: token\nlab:\n  nas_guest: homeassistant\n",
		map[string]string{"token": proxmoxtest.TokenSecret})
	var out bytes.Buffer
	require.NoError(t, runInventory(t.Context(), &out, &out, []string{"-config", path, "-proxmox", srv.URL}, env(nil)), out.String())
	assert.Contains(t, out.String(), "Inventory of "+srv.URL)

	// The lab's NAS guest is the default of -last, and -last overrides it.
	fs := newFlags("shutdown", &out, &out, env(nil), "shutdown")
	last := fs.String("last", "nas", "")
	require.NoError(t, parse(fs, []string{"-config", path}))
	assert.Equal(t, "homeassistant", *last)
	fs = newFlags("shutdown", &out, &out, env(nil), "shutdown")
	last = fs.String("last", "nas", "")
	require.NoError(t, parse(fs, []string{"-last", "docker", "-config", path}))
	assert.Equal(t, "docker", *last)
}

func TestEnvironmentLoginOverridesConfig(t *testing.T) {
	t.Parallel()
	path := writeConfig(t, "router:\n  address: 192.0.2.1:8728\n  user: api\n  password_file: pw\n",
		map[string]string{"pw": "from-file"})
	var out bytes.Buffer
	fs := newFlags("isolation", &out, &out, env(map[string]string{"ROUTEROS_USER": "ops", "ROUTEROS_PASSWORD": "from-env"}), "isolation")
	r := addRouterFlags(fs)
	require.NoError(t, parse(fs, []string{"-config", path}))
	assert.Equal(t, "192.0.2.1:8728", *r.addr)
	assert.Equal(t, "ops", fs.getenv("ROUTEROS_USER"), "a login name in the environment overrides the config")
	assert.Equal(t, "from-file", fs.getenv("ROUTEROS_PASSWORD"), "the config's password_file comes before the environment")
}

func TestBrokenConfigExitsTwo(t *testing.T) {
	t.Parallel()
	path := writeConfig(t, "proxmox:\n  url: https://pve.lan:8006\n  colour: blue\n", nil)
	var out, errOut bytes.Buffer
	code := Main(t.Context(), Inventory(), []string{"-config", path}, &out, &errOut, env(nil))
	assert.Equal(t, ExitUsage, code)
	assert.Contains(t, errOut.String(), path+":3:")
	assert.Equal(t, 1, strings.Count(errOut.String(), "colour"), "printed once: %s", errOut.String())

	// A config named but missing is an error too, not today's behaviour.
	errOut.Reset()
	code = Main(t.Context(), Inventory(), nil, &out, &errOut, env(map[string]string{"HOMELAB_CONFIG": path + ".missing"}))
	assert.Equal(t, ExitUsage, code)
	assert.Contains(t, errOut.String(), ".missing")
}
