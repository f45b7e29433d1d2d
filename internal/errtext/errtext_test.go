package errtext

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestCheck(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		pkg, text string
		ok        bool
	}{
		{"proxmox", "proxmox: POST /nodes/pve/lxc: 401 authentication failure", true},
		{"backup", "backup: restore a into 9900: proxmox: POST /nodes/pve/lxc: 401 authentication failure", true},
		{"proxmox", "proxmox: POST /nodes/pve/lxc: POST /nodes/pve/lxc: 401 authentication failure", false},
		{"proxmox", "proxmox: proxmox: version: 500", false},
		{"ddns", "ddns: plan: ddns: plan: x", false},
		{"dns", "dns: a: b: a: b", false},
		{"dns", "dns: update: x\ndns: create: y", false},
		{"dns", "dns: update: x\ncreate: y", true},
		{"ups", "ups: list backups: fine", true},
		{"omv", "omv x", false},
		{"routeros", "routeros: run /ip/address/print (/ip/address/print): no such command", false},
		{"routeros", "routeros: list addresses (/ip/address/print): no such command", true},
		{"routeros", "routeros: login (/login): invalid user name or password (6)", true},
		{"backup", "backup: find guest 9900: proxmox: find guest 9900: unavailable", false},
		{"backup", "backup: find guest 9900: proxmox: unavailable", true},
		// omv/smb's prefix is an inner package's like any other
		{"backup", "backup: audit share: smb: audit share: refused", false},
		{"backup", "backup: audit share: smb: tree connect: refused", true},
	} {
		err := Check(tc.pkg, errors.New(tc.text))
		assert.Equal(t, tc.ok, err == nil, "%s: %v", tc.text, err)
	}
	assert.Error(t, Check("dns", nil))
}
