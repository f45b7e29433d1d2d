package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func mapEnv(m map[string]string) Env { return func(k string) string { return m[k] } }

func write(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
	require.NoError(t, os.WriteFile(p, []byte(content), 0o600))
	return p
}

func TestExampleIsAccepted(t *testing.T) {
	c, err := Parse("example.yaml", []byte(Example), mapEnv(nil))
	require.NoError(t, err)
	assert.Equal(t, "192.168.1.1:8729", c.Router.Address.Value)
	assert.Equal(t, "proxmox1", c.Lab.Node)
	assert.Equal(t, "nas", c.Lab.NASGuest)
	assert.Equal(t, []string{"backups", "documents", "media"}, c.Lab.Shares)
	assert.Equal(t, "10.1.1.0/24", c.Lab.Networks["guest"].String())
	assert.Equal(t, "192.168.100.0/24", c.Lab.Networks["vpn"].String())
	assert.Equal(t, "thehomelab.site", c.Cloudflare.Zone)
	// No secret is set anywhere: notes, not errors.
	assert.NotEmpty(t, c.Notes)
}

// chdir is t.Chdir for the precedence test (not parallel).
func TestFindPrecedence(t *testing.T) {
	dir := t.TempDir()
	home := filepath.Join(dir, "home")
	work := filepath.Join(dir, "work")
	homeCfg := write(t, home, ".config/homelab/homelab.yaml", "lab: {node: home}\n")
	envCfg := write(t, dir, "env.yaml", "lab: {node: env}\n")
	flagCfg := write(t, dir, "flag.yaml", "lab: {node: flag}\n")
	require.NoError(t, os.MkdirAll(work, 0o755))
	t.Chdir(work)

	node := func(flagPath string, env map[string]string) string {
		t.Helper()
		c, err := Load(flagPath, mapEnv(env))
		require.NoError(t, err)
		return c.Lab.Node
	}
	all := map[string]string{"HOME": home, EnvConfig: envCfg}
	assert.Equal(t, "flag", node(flagCfg, all))
	assert.Equal(t, "env", node("", all))
	assert.Equal(t, "home", node("", map[string]string{"HOME": home}))
	write(t, work, FileName, "lab: {node: cwd}\n")
	assert.Equal(t, "cwd", node("", map[string]string{"HOME": home}))
	assert.Equal(t, "env", node("", all))
	_ = homeCfg

	t.Chdir(dir)
	_, err := Load("", mapEnv(nil))
	require.ErrorIs(t, err, ErrNotFound)
	// An explicit path that does not exist is an error, not a fallback.
	_, err = Load(filepath.Join(dir, "missing.yaml"), mapEnv(all))
	require.ErrorIs(t, err, os.ErrNotExist)
}

func TestSecrets(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	creds := filepath.Join(dir, "creds")
	write(t, dir, "router.pw", "from-file\n")
	write(t, creds, "nas-password", "from-credential\n")
	write(t, creds, "npm-pw", "named-credential")
	cfg := write(t, dir, "homelab.yaml", `
router:
  address: 192.168.1.1:8728
  password_file: router.pw
nas:
  url: https://nas.lan
npm:
  url: http://npm.lan:81
  password_credential: npm-pw
nut:
  address: 192.168.1.10
  password_env: MY_NUT
proxmox:
  url: https://pve.lan:8006
  token_id: homelab@pve!cli
`)
	env := map[string]string{
		EnvCredentials:         creds,
		"ROUTEROS_PASSWORD":    "env-loses-to-file",
		"OMV_PASSWORD":         "env-loses-to-credential",
		"MY_NUT":               "from-env",
		"PROXMOX_TOKEN_SECRET": "token-from-env",
	}
	c, err := Read(cfg, mapEnv(env))
	require.NoError(t, err)
	assert.Equal(t, "from-file", c.Router.Password.Reveal())
	assert.Equal(t, "from-credential", c.NAS.Password.Reveal())
	assert.Equal(t, "named-credential", c.NPM.Password.Reveal())
	assert.Equal(t, "from-env", c.NUT.Password.Reveal())
	assert.Equal(t, "token-from-env", c.Proxmox.Token.Reveal())

	// A secret is never printed, however the config is formatted.
	for _, s := range []string{fmt.Sprintf("%v", c), fmt.Sprintf("%+v", *c.Router), fmt.Sprintf("%#v", *c.NAS)} {
		for _, v := range []string{"from-file", "from-credential", "named-credential", "from-env", "token-from-env"} {
			assert.NotContains(t, s, v)
		}
	}
}

func TestErrorsHaveLines(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write(t, dir, "secret", "hunter2-the-secret\n")
	tests := []struct {
		name, yaml string
		want       []string
	}{
		{"unknown key", "router:\n  address: 192.168.1.1:8728\n  pasword: x\n", []string{"homelab.yaml:3:", "pasword"}},
		{"bad url", "nas:\n  url: nas.lan\n", []string{"homelab.yaml:2:", "bad url"}},
		{"ftp url", "\nproxmox:\n  url: ftp://pve.lan\n", []string{"homelab.yaml:3:", "http"}},
		{"bad pin", "proxmox:\n  url: https://pve.lan:8006\n  fingerprint: sha256:ZZ:12\n", []string{"homelab.yaml:3:", "fingerprint"}},
		{"pin over http", "npm:\n  url: http://npm.lan:81\n  fingerprint: " + strings.Repeat("AB", 32) + "\n", []string{"homelab.yaml:3:", "https"}},
		{"unreadable secret file", "router:\n  address: r:8728\n  password_file: /nonexistent/pw\n", []string{"homelab.yaml:3:", "/nonexistent/pw"}},
		{"bad network", "lab:\n  networks:\n    lan: 192.168.1.0\n", []string{"homelab.yaml:3:", "prefix"}},
		{"syntax", "router:\n  address: [\n", []string{"homelab.yaml:"}},
		{"two problems", "nas:\n  url: nas.lan\nnpm:\n  url: npm\n", []string{"homelab.yaml:2:", "homelab.yaml:4:"}},
		{"bad address", "nut:\n  address: tcp://ups:3493\n", []string{"homelab.yaml:2:", "host:port"}},
		{"url with password", "nas:\n  url: https://admin:hunter2-the-secret@nas.lan\n", []string{"homelab.yaml:2:", "secret"}},
		// A missing key has no line of its own: its section's is named.
		{"missing url", "\nproxmox:\n  token_id: root@pam!homelab\n", []string{"homelab.yaml:2:", "url is required"}},
		{"missing address", "router:\n  user: admin\nnut:\n  ups: ups\n", []string{"homelab.yaml:1:", "homelab.yaml:3:", "address is required"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := write(t, t.TempDir(), "homelab.yaml", tt.yaml)
			_, err := Read(p, mapEnv(nil))
			require.Error(t, err)
			var ce *Error
			require.True(t, errors.As(err, &ce), "%T", err)
			for _, w := range tt.want {
				assert.Contains(t, err.Error(), w)
			}
			assert.NotContains(t, err.Error(), "hunter2-the-secret")
		})
	}
}

// A token found nowhere is a note naming the token's keys, not the
// password's.
func TestMissingTokenNote(t *testing.T) {
	t.Parallel()
	p := write(t, t.TempDir(), "homelab.yaml", "proxmox:\n  url: https://pve.lan:8006\n  token_id: root@pam!homelab\ncloudflare:\n  zone: thehomelab.site\nnas:\n  url: https://nas.lan\n")
	c, err := Read(p, mapEnv(nil))
	require.NoError(t, err)
	notes := strings.Join(c.Notes, "\n")
	assert.Contains(t, notes, "proxmox: no secret: set PROXMOX_TOKEN_SECRET, a token_file,")
	assert.Contains(t, notes, "cloudflare: no secret: set CLOUDFLARE_API_TOKEN, a token_file,")
	assert.Contains(t, notes, "nas: no secret: set OMV_PASSWORD, a password_file,")
}

func TestCredentialNamedButMissing(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	p := write(t, dir, "homelab.yaml", "\n\nrouter:\n  address: r:8728\n  password_credential: nope\n")
	_, err := Read(p, mapEnv(map[string]string{EnvCredentials: dir}))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "nope")
}
