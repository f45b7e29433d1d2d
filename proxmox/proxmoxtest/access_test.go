package proxmoxtest_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/thehomelab/homelab/proxmox/proxmoxtest"
)

func TestAccessPermissionsWire(t *testing.T) {
	t.Parallel()
	r := newRaw(t)
	r.srv.AddToken("guard@pve!ups", "11111111-2222-3333-4444-555555555555")
	r.srv.SetPrivileges("guard@pve!ups", "/", "Sys.Audit", "VM.Audit")
	r.srv.SetPrivileges("guard@pve!ups", "/vms", "VM.Audit", "VM.PowerMgmt")
	r.srv.SetPrivileges("guard@pve!ups", "/vms/102")
	tok := map[string]string{"Authorization": "PVEAPIToken=guard@pve!ups=11111111-2222-3333-4444-555555555555"}

	all := r.do("GET", "/access/permissions", nil, tok)
	assert.Equal(t, 200, all.status)
	data := all.body["data"].(map[string]any)
	for _, p := range []string{"/", "/access", "/nodes", "/storage", "/vms", "/vms/102"} {
		assert.Contains(t, data, p, "default paths and paths with an entry")
	}
	assert.Equal(t, map[string]any{"VM.Audit": 1.0, "VM.PowerMgmt": 1.0}, data["/vms"])
	assert.Equal(t, map[string]any{}, data["/vms/102"])
	assert.Equal(t, map[string]any{"Sys.Audit": 1.0, "VM.Audit": 1.0}, data["/nodes"], "from / below")

	one := r.do("GET", "/access/permissions?path=/vms/101", nil, tok)
	assert.Equal(t, map[string]any{"/vms/101": map[string]any{"VM.Audit": 1.0, "VM.PowerMgmt": 1.0}}, one.body["data"])
	none := r.do("GET", "/access/permissions?path=/vms/102", nil, tok)
	assert.Equal(t, map[string]any{}, none.body["data"])

	// another identity's permissions need Sys.Audit on /access
	other := r.do("GET", "/access/permissions?userid="+proxmoxtest.RootUser, nil, tok)
	assert.Equal(t, 200, other.status, "Sys.Audit propagates from /")
	r.srv.SetPrivileges("guard@pve!ups", "/access")
	other = r.do("GET", "/access/permissions?userid="+proxmoxtest.RootUser, nil, tok)
	assert.Equal(t, 403, other.status)
	assert.Equal(t, "Permission check failed (/access, Sys.Audit)", other.reason)

	// the privilege model also guards the calls
	stop := r.do("POST", "/nodes/"+proxmoxtest.Node+"/qemu/102/status/shutdown", nil, tok)
	assert.Equal(t, 403, stop.status)
	assert.Equal(t, "Permission check failed (/vms/102, VM.PowerMgmt)", stop.reason)

	r.srv.RevokeToken("guard@pve!ups")
	assert.Equal(t, 401, r.do("GET", "/access/permissions", nil, tok).status)
}
