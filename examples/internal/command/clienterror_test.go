package command

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestBadDeviceSettingIsUsage: a device URL or fingerprint the SDK refuses
// (its ErrInvalid) is a configuration error, status 2, as in the programs
// in examples/<name>, and the message names the package once.
func TestBadDeviceSettingIsUsage(t *testing.T) {
	t.Parallel()
	e := env(map[string]string{"PROXMOX_TOKEN_ID": "sdk@pam!ci", "PROXMOX_TOKEN_SECRET": "s", "PROXMOX_ROOT_PASSWORD": "p",
		"OMV_PASSWORD": "p", "NPM_EMAIL": "a@example.org", "NPM_PASSWORD": "p", "ROUTEROS_PASSWORD": "p",
		"CLOUDFLARE_API_TOKEN": "t", "NUT_USER": "u", "NUT_PASSWORD": "p", "SHARE_OWNER_PASSWORD": "x"})
	conf := filepath.Join(t.TempDir(), "phone.conf")
	for _, tc := range []struct {
		name string
		args []string
		pkg  string
	}{
		{"inventory", []string{"-proxmox-fingerprint", "nonsense"}, "proxmox"},
		{"inventory", []string{"-proxmox", "ftp://pve.lan"}, "proxmox"},
		{"shutdown", []string{"-proxmox-fingerprint", "nonsense"}, "proxmox"},
		{"passthrough", []string{"-proxmox-fingerprint", "nonsense", "-vm", "nas", "-disks", "S1"}, "proxmox"},
		{"backup", []string{"-proxmox-fingerprint", "nonsense"}, "proxmox"},
		{"nas-health", []string{"-nas-fingerprint", "nonsense"}, "omv"},
		{"share", []string{"-nas-fingerprint", "nonsense", "-name", "x", "-owner", "y"}, "omv"},
		{"expose", []string{"-npm", "https://npm.lan/api", "-npm-fingerprint", "nonsense", "-fqdn", "a.thehomelab.site", "-to", "a:80"}, "npm"},
		{"isolation", []string{"-router-fingerprint", "nonsense"}, "routeros"},
		{"wireguard", []string{"-router-fingerprint", "nonsense", "-name", "phone", "-conf", conf}, "routeros"},
		{"powerloss", []string{"-nut-fingerprint", "nonsense"}, "ups"},
		{"ddns", []string{"-cloudflare", "ftp://api.cloudflare.com", "-from", "echo"}, "dns"},
		{"acme", []string{"-cloudflare", "ftp://api.cloudflare.com", "present", "a.thehomelab.site", "v"}, "dns"},
	} {
		t.Run(tc.name+" "+strings.Join(tc.args, " "), func(t *testing.T) {
			t.Parallel()
			c, ok := Lookup(tc.name)
			if !assert.True(t, ok) {
				return
			}
			var out, errOut bytes.Buffer
			code := Main(t.Context(), c, tc.args, &out, &errOut, e)
			assert.Equal(t, ExitUsage, code, errOut.String())
			assert.Equal(t, 1, strings.Count(" "+errOut.String(), " "+tc.pkg+": "), "the package named once: %s", errOut.String())
		})
	}
}
