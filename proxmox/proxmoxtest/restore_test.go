package proxmoxtest

import (
	"crypto/tls"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// call sends one authenticated API request to the fake and decodes data.
func call(t *testing.T, srv *Server, method, path string, form url.Values) (int, json.RawMessage, string) {
	t.Helper()
	var body io.Reader
	u := srv.URL + "/api2/json" + path
	if method == http.MethodPost || method == http.MethodPut {
		body = strings.NewReader(form.Encode())
	} else if form != nil {
		u += "?" + form.Encode()
	}
	req, err := http.NewRequestWithContext(t.Context(), method, u, body)
	require.NoError(t, err)
	req.Header.Set("Authorization", "PVEAPIToken=root@pam!sdk="+TokenSecret)
	if body != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: srv.CertPool(), MinVersion: tls.VersionTLS12}}}
	resp, err := hc.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var env struct {
		Data    json.RawMessage `json:"data"`
		Message string          `json:"message"`
	}
	b, _ := io.ReadAll(resp.Body)
	_ = json.Unmarshal(b, &env)
	return resp.StatusCode, env.Data, strings.TrimSuffix(env.Message, "\n")
}

func upidOf(t *testing.T, data json.RawMessage) string {
	t.Helper()
	var upid string
	require.NoError(t, json.Unmarshal(data, &upid))
	require.True(t, strings.HasPrefix(upid, "UPID:"), upid)
	return upid
}

func TestRestoreAndDestroy(t *testing.T) {
	t.Parallel()
	srv := Start(t)
	srv.AddGuest(Guest{VMID: 102, Node: Node, Type: "qemu", Name: "homeassistant", Config: map[string]string{
		"scsi0": "local-lvm:vm-102-disk-0,size=32G", "scsi1": "/dev/disk/by-id/ata-X,backup=0",
		"ide2": "none,media=cdrom", "net0": "virtio=BC:24:11:00:01:02,bridge=vmbr0", "agent": "1", "onboot": "1"}})
	vol := srv.AddBackup(Backup{Storage: "backups", VMID: 102, Type: "qemu", Time: time.Date(2026, 11, 24, 3, 0, 0, 0, time.UTC)})

	code, data, msg := call(t, srv, "POST", "/nodes/"+Node+"/qemu", url.Values{"vmid": {"9102"}, "archive": {vol}, "storage": {"local-lvm"}, "unique": {"1"}, "start": {"0"}})
	require.Equal(t, 200, code, msg)
	upid := upidOf(t, data)
	assert.Contains(t, upid, ":qmrestore:9102:")
	assert.Eventually(t, func() bool { return srv.TaskExit(upid) == "OK" }, 5*time.Second, 5*time.Millisecond)
	conf := srv.GuestConfig(9102)
	assert.Equal(t, "local-lvm:vm-9102-disk-0,size=32G", conf["scsi0"])
	assert.NotContains(t, conf, "scsi1", "a backup=0 passthrough disk is not in the archive")
	assert.Equal(t, "none,media=cdrom", conf["ide2"])
	assert.Equal(t, "virtio=BC:24:11:00:23:8E,bridge=vmbr0", conf["net0"], "unique=1 gives a new MAC")
	assert.Equal(t, "stopped", srv.GuestStatus(9102))

	code, _, msg = call(t, srv, "POST", "/nodes/"+Node+"/qemu", url.Values{"vmid": {"9102"}, "archive": {vol}})
	assert.Equal(t, 500, code)
	assert.Equal(t, "unable to restore VM 9102 - VM 9102 already exists on node 'proxmox1'", msg)
	code, _, msg = call(t, srv, "POST", "/nodes/"+Node+"/qemu", url.Values{"vmid": {"9103"}, "archive": {vol}, "scsi0": {"local-lvm:4"}})
	assert.Equal(t, 400, code, msg)
	code, _, msg = call(t, srv, "POST", "/nodes/"+Node+"/qemu", url.Values{"vmid": {"9103"}, "archive": {"backups:backup/vzdump-qemu-102-2000_01_01-00_00_00.vma.zst"}})
	assert.Equal(t, 500, code)
	assert.Contains(t, msg, "does not exist")

	code, _, msg = call(t, srv, "POST", "/nodes/"+Node+"/qemu/9102/agent/ping", nil)
	assert.Equal(t, 500, code)
	assert.Equal(t, "VM 9102 is not running", msg)
	srv.SetGuestStatus(9102, "running")
	code, _, msg = call(t, srv, "POST", "/nodes/"+Node+"/qemu/9102/agent/ping", nil)
	assert.Equal(t, 200, code, msg)
	srv.SetAgentRunning(9102, false)
	_, _, msg = call(t, srv, "POST", "/nodes/"+Node+"/qemu/9102/agent/ping", nil)
	assert.Equal(t, "QEMU guest agent is not running", msg)

	code, _, msg = call(t, srv, "DELETE", "/nodes/"+Node+"/qemu/9102", url.Values{"purge": {"1"}})
	assert.Equal(t, 500, code)
	assert.Equal(t, "VM 9102 is running - destroy failed", msg)
	srv.SetGuestStatus(9102, "stopped")
	code, data, msg = call(t, srv, "DELETE", "/nodes/"+Node+"/qemu/9102", url.Values{"purge": {"1"}, "destroy-unreferenced-disks": {"1"}})
	require.Equal(t, 200, code, msg)
	upid = upidOf(t, data)
	assert.Contains(t, upid, ":qmdestroy:9102:")
	assert.Eventually(t, func() bool { return srv.TaskExit(upid) == "OK" }, 5*time.Second, 5*time.Millisecond)
	assert.Empty(t, srv.GuestStatus(9102))
}

func TestRestoreContainer(t *testing.T) {
	t.Parallel()
	srv := Start(t)
	vol := srv.AddBackup(Backup{Storage: "backups", VMID: 101, Type: "lxc", Time: time.Date(2026, 11, 24, 3, 0, 0, 0, time.UTC)})
	code, data, msg := call(t, srv, "POST", "/nodes/"+Node+"/lxc", url.Values{"vmid": {"9101"}, "ostemplate": {vol}, "restore": {"1"}, "unique": {"1"}, "storage": {"local-lvm"}})
	require.Equal(t, 200, code, msg)
	upid := upidOf(t, data)
	assert.Contains(t, upid, ":vzrestore:9101:")
	assert.Eventually(t, func() bool { return srv.TaskExit(upid) == "OK" }, 5*time.Second, 5*time.Millisecond)
	conf := srv.GuestConfig(9101)
	assert.Equal(t, "local-lvm:vm-9101-disk-0,size=32G", conf["rootfs"])
	assert.Contains(t, conf["net0"], "hwaddr=BC:24:11:00:23:8D")

	code, data, _ = call(t, srv, "DELETE", "/nodes/"+Node+"/lxc/9101", nil)
	require.Equal(t, 200, code)
	upid = upidOf(t, data)
	assert.Contains(t, upid, ":vzdestroy:9101:")
	code, _, msg = call(t, srv, "DELETE", "/nodes/"+Node+"/lxc/101", nil)
	assert.Equal(t, 500, code)
	assert.Equal(t, "unable to destroy CT 101 - container is running", msg)
}
