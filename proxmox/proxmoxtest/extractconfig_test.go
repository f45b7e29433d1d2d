package proxmoxtest

import (
	"encoding/json"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The archive holds the config of when vzdump ran; a disk added later is
// not in it (pve-manager PVE/API2/VZDump.pm extractconfig).
func TestExtractConfigIsTheBackupTimeSnapshot(t *testing.T) {
	t.Parallel()
	srv := Start(t)
	srv.AddGuest(Guest{VMID: 140, Node: Node, Type: "qemu", Name: "web", Config: map[string]string{
		"scsi0": "local-lvm:vm-140-disk-0,size=8G", "memory": "2048", "description": "web server\nsecond line"}})
	code, data, msg := call(t, srv, "POST", "/nodes/"+Node+"/vzdump", url.Values{"vmid": {"140"}, "storage": {"backups"}, "compress": {"zstd"}})
	require.Equal(t, 200, code, msg)
	upid := upidOf(t, data)
	require.Eventually(t, func() bool { return srv.TaskExit(upid) != "" }, 5*time.Second, 5*time.Millisecond)
	require.Equal(t, "OK", srv.TaskExit(upid))
	vols := srv.Backups("backups")
	require.Len(t, vols, 1)

	code, _, msg = call(t, srv, "PUT", "/nodes/"+Node+"/qemu/140/config", url.Values{"scsi1": {"local-lvm:4"}})
	require.Equal(t, 200, code, msg)
	require.Contains(t, srv.GuestConfig(140), "scsi1")

	code, data, msg = call(t, srv, "GET", "/nodes/"+Node+"/vzdump/extractconfig", url.Values{"volume": {vols[0]}})
	require.Equal(t, 200, code, msg)
	var text string
	require.NoError(t, json.Unmarshal(data, &text))
	assert.Equal(t, "#web server\n#second line\nmemory: 2048\nname: web\nscsi0: local-lvm:vm-140-disk-0,size=8G\n", text)
}

func TestExtractConfigErrors(t *testing.T) {
	t.Parallel()
	srv := Start(t)
	srv.AddGuest(Guest{VMID: 141, Node: Node, Type: "lxc", Name: "ct", Config: map[string]string{"rootfs": "local-lvm:vm-141-disk-0,size=8G"}})
	vol := srv.AddBackup(Backup{Storage: "backups", VMID: 141, Type: "lxc", Time: time.Date(2026, 11, 24, 3, 0, 0, 0, time.UTC)})
	get := func(volume string) (int, string) {
		code, _, msg := call(t, srv, "GET", "/nodes/"+Node+"/vzdump/extractconfig", url.Values{"volume": {volume}})
		return code, msg
	}
	code, msg := get("backups:backup/vzdump-lxc-141-2026_01_01-00_00_00.tar.zst")
	assert.Equal(t, 500, code)
	assert.Equal(t, "ERROR: file '"+archivePath(srv.storages["backups"], "backups:backup/vzdump-lxc-141-2026_01_01-00_00_00.tar.zst")+"' does not exist", msg)
	code, msg = get("nope:backup/vzdump-lxc-141-2026_01_01-00_00_00.tar.zst")
	assert.Equal(t, 500, code)
	assert.Equal(t, "storage 'nope' does not exist", msg)
	code, msg = get("local-lvm:vm-141-disk-0")
	assert.Equal(t, 500, code)
	assert.Equal(t, "unable to use volume local-lvm:vm-141-disk-0 - content type needs to be 'backup'", msg)
	code, msg = get("/var/lib/vz/dump/x.tar")
	assert.Equal(t, 500, code)
	assert.Equal(t, "Only root can pass arbitrary filesystem paths.", msg, "a root@pam token is not root@pam")

	srv.SetPrivileges("root@pam!sdk", "/", "Datastore.AllocateSpace", "Datastore.Audit")
	code, msg = get(vol)
	assert.Equal(t, 403, code)
	assert.Equal(t, "Permission check failed (/vms/141, VM.Backup)", msg)
	srv.SetPrivileges("root@pam!sdk", "/", "VM.Backup")
	code, msg = get(vol)
	assert.Equal(t, 403, code)
	assert.Equal(t, "Permission check failed (/storage/backups, Datastore.AllocateSpace)", msg)
	srv.SetPrivileges("root@pam!sdk", "/", "VM.Backup", "Datastore.AllocateSpace")
	code, msg = get(vol)
	assert.Equal(t, 200, code, msg)
}

func TestExtractConfigMissingVMA(t *testing.T) {
	t.Parallel()
	srv := Start(t)
	vol := "backups:backup/vzdump-qemu-100-2026_01_01-00_00_00.vma.zst"
	code, _, msg := call(t, srv, "GET", "/nodes/"+Node+"/vzdump/extractconfig", url.Values{"volume": {vol}})
	assert.Equal(t, 500, code)
	assert.Equal(t, "Failed to extract config from VMA archive: zstd: can't stat "+archivePath(srv.storages["backups"], vol)+" : No such file or directory -- ignored", msg)
}
