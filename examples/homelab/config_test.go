package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/thehomelab/homelab/examples/internal/command"
)

// TestConfigExampleChecks: what config example prints, config check accepts.
func TestConfigExampleChecks(t *testing.T) {
	t.Parallel()
	var out, errOut bytes.Buffer
	require.Equal(t, command.ExitOK, run(t.Context(), []string{"config", "example"}, &out, &errOut, noEnv))
	for _, want := range []string{"192.168.1.0/24", "192.168.100.0/24", "10.1.1.0/24", "proxmox1", "nas_guest: nas",
		"[docker]", "[backups, documents, media]", "zone: thehomelab.site"} {
		assert.Contains(t, out.String(), want)
	}
	p := filepath.Join(t.TempDir(), "homelab.yaml")
	require.NoError(t, os.WriteFile(p, out.Bytes(), 0o600))

	out.Reset()
	errOut.Reset()
	code := run(t.Context(), []string{"config", "check", "-config", p}, &out, &errOut, noEnv)
	assert.Equal(t, command.ExitOK, code, errOut.String())
	assert.Contains(t, out.String(), p+": ok")
	assert.Contains(t, errOut.String(), "note: router: no secret: set ROUTEROS_PASSWORD")
}

func TestConfigCheckErrors(t *testing.T) {
	t.Parallel()
	p := filepath.Join(t.TempDir(), "homelab.yaml")
	require.NoError(t, os.WriteFile(p, []byte("router:\n  address: 192.168.1.1:8728\n  password_file: /nonexistent/pw\nnas:\n  url: nas.lan\n"), 0o600))
	var out, errOut bytes.Buffer
	code := run(t.Context(), []string{"config", "check", "-config", p}, &out, &errOut, noEnv)
	assert.Equal(t, command.ExitUsage, code)
	assert.Contains(t, errOut.String(), p+":3: router: secret file")
	assert.Contains(t, errOut.String(), p+":5: bad url")
	assert.Empty(t, out.String())

	// From $HOMELAB_CONFIG, a file that does not exist.
	errOut.Reset()
	env := func(k string) string {
		if k == "HOMELAB_CONFIG" {
			return "/nonexistent/homelab.yaml"
		}
		return ""
	}
	assert.Equal(t, command.ExitUsage, run(t.Context(), []string{"config", "check"}, &out, &errOut, env))
	assert.Contains(t, errOut.String(), "/nonexistent/homelab.yaml")

	assert.Equal(t, command.ExitUsage, run(t.Context(), []string{"config", "frobnicate"}, &out, &errOut, noEnv))
	assert.Equal(t, command.ExitUsage, run(t.Context(), []string{"config"}, &out, &errOut, noEnv))
}

// TestConfigCheckNeverPrintsSecrets: secrets read from a file, the
// credentials directory and the environment appear nowhere in check's
// output.
func TestConfigCheckNeverPrintsSecrets(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	creds := filepath.Join(dir, "creds")
	require.NoError(t, os.MkdirAll(creds, 0o700))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "router.pw"), []byte("s3cret-from-file\n"), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(creds, "nas-password"), []byte("s3cret-from-creds"), 0o600))
	p := filepath.Join(dir, "homelab.yaml")
	require.NoError(t, os.WriteFile(p, []byte("router:\n  address: r:8728\n  password_file: router.pw\nnas:\n  url: https://nas.lan\nnut:\n  address: ups:3493\n"), 0o600))
	env := func(k string) string {
		return map[string]string{"CREDENTIALS_DIRECTORY": creds, "NUT_PASSWORD": "s3cret-from-env"}[k]
	}
	var out, errOut bytes.Buffer
	require.Equal(t, command.ExitOK, run(t.Context(), []string{"config", "check", "-config", p}, &out, &errOut, env), errOut.String())
	all := out.String() + errOut.String()
	assert.Contains(t, all, "ok ([router nas nut])")
	for _, s := range []string{"s3cret-from-file", "s3cret-from-creds", "s3cret-from-env"} {
		assert.NotContains(t, all, s)
	}
}

func TestStatusWithoutConfig(t *testing.T) {
	t.Parallel()
	var out, errOut bytes.Buffer
	env := func(k string) string {
		if k == "HOMELAB_CONFIG" {
			return "/nonexistent/homelab.yaml"
		}
		return ""
	}
	assert.Equal(t, command.ExitUsage, run(t.Context(), []string{"status"}, &out, &errOut, env))
	assert.Contains(t, errOut.String(), "/nonexistent/homelab.yaml")
}
