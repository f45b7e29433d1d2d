package proxmoxtest

import (
	"crypto/tls"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// call sends one authenticated API request to the fake and decodes data.
func call(t *testing.T, srv *Server, method, path string, form url.Values) (int, json.RawMessage, string) {
	t.Helper()
	return callAs(t, srv, method, path, form, map[string]string{"Authorization": "PVEAPIToken=root@pam!sdk=" + TokenSecret})
}

// rootTicket logs in as root@pam and returns the headers of a ticket
// request (cookie and CSRF token).
func rootTicket(t *testing.T, srv *Server) map[string]string {
	t.Helper()
	code, data, msg := callAs(t, srv, "POST", "/access/ticket", url.Values{"username": {RootUser}, "password": {RootPassword}}, nil)
	require.Equal(t, 200, code, msg)
	var tk struct {
		Ticket string `json:"ticket"`
		CSRF   string `json:"CSRFPreventionToken"`
	}
	require.NoError(t, json.Unmarshal(data, &tk))
	return map[string]string{"Cookie": "PVEAuthCookie=" + url.QueryEscape(tk.Ticket), "CSRFPreventionToken": tk.CSRF}
}

// callAs is call with the given auth headers.
func callAs(t *testing.T, srv *Server, method, path string, form url.Values, hdr map[string]string) (int, json.RawMessage, string) {
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
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
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
	assert.Equal(t, "can't find file 'backups:backup/vzdump-qemu-102-2000_01_01-00_00_00.vma.zst'", msg)

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

// A container restore given rootfs= makes its disk where the spec says
// (STORAGE:SIZE), not on storage= or an empty storage ID.
func TestRestoreContainerRootFS(t *testing.T) {
	t.Parallel()
	srv := Start(t)
	vol := srv.AddBackup(Backup{Storage: "backups", VMID: 101, Type: "lxc", Time: time.Date(2026, 11, 24, 3, 0, 0, 0, time.UTC)})
	code, data, msg := call(t, srv, "POST", "/nodes/"+Node+"/lxc", url.Values{"vmid": {"9101"}, "ostemplate": {vol}, "restore": {"1"}, "rootfs": {"local-lvm:8"}})
	require.Equal(t, 200, code, msg)
	upid := upidOf(t, data)
	require.Eventually(t, func() bool { return srv.TaskExit(upid) == "OK" }, 5*time.Second, 5*time.Millisecond)
	assert.True(t, strings.HasPrefix(srv.GuestConfig(9101)["rootfs"], "local-lvm:vm-9101-disk-0"), srv.GuestConfig(9101)["rootfs"])
}

// Every refusal of a restore comes where PVE raises it (before the task:
// HTTP 500; in the worker: the task fails) with PVE's text; the sources are
// cited in restore.go.
func TestRestoreRefusals(t *testing.T) {
	t.Parallel()
	srv := Start(t)
	when := time.Date(2026, 11, 24, 3, 0, 0, 0, time.UTC)
	vm := srv.AddBackup(Backup{Storage: "backups", VMID: 100, Type: "qemu", Time: when})
	ct := srv.AddBackup(Backup{Storage: "backups", VMID: 101, Type: "lxc", Time: when})
	qemu, lxc := "/nodes/"+Node+"/qemu", "/nodes/"+Node+"/lxc"
	refused := []struct {
		name, path string
		form       url.Values
		status     int
		msg        string
	}{
		{"vm: archive storage unknown", qemu, url.Values{"vmid": {"9100"}, "archive": {"nas:backup/x.vma.zst"}}, 500,
			"storage 'nas' does not exist"},
		{"vm: vmid held by a CT", qemu, url.Values{"vmid": {"101"}, "archive": {vm}}, 500,
			"unable to restore VM 101 - CT 101 already exists on node 'proxmox1'"},
		{"ct: vmid held by a VM", lxc, url.Values{"vmid": {"100"}, "ostemplate": {ct}, "restore": {"1"}, "storage": {"local-lvm"}}, 500,
			"VM 100 already exists on node 'proxmox1'"},
		{"ct: running, force", lxc, url.Values{"vmid": {"101"}, "ostemplate": {ct}, "restore": {"1"}, "force": {"1"}, "storage": {"local-lvm"}}, 500,
			"can't overwrite running container"},
		{"ct: target storage unknown", lxc, url.Values{"vmid": {"9101"}, "ostemplate": {ct}, "restore": {"1"}, "storage": {"nas"}}, 500,
			"storage 'nas' does not exist"},
		{"ct: default storage local holds no rootdir", lxc, url.Values{"vmid": {"9101"}, "ostemplate": {ct}, "restore": {"1"}}, 400,
			"Parameter verification failed."},
	}
	for _, tt := range refused {
		code, _, msg := call(t, srv, "POST", tt.path, tt.form)
		assert.Equal(t, tt.status, code, tt.name)
		assert.Equal(t, tt.msg, msg, tt.name)
	}
	assert.Empty(t, srv.GuestStatus(9100))
	assert.Empty(t, srv.GuestStatus(9101))

	failed := []struct {
		name, path string
		form       url.Values
		vmid       int
		exit       string
		kept       bool
	}{
		{"vm from a CT archive", qemu, url.Values{"vmid": {"9200"}, "archive": {ct}}, 9200,
			"ERROR: file '/mnt/pve/backups/dump/" + strings.TrimPrefix(ct, "backups:backup/") + "' does not look like a QemuServer vzdump backup", true},
		{"vm: target storage unknown", qemu, url.Values{"vmid": {"9201"}, "archive": {vm}, "storage": {"nas"}}, 9201,
			"storage 'nas' does not exist", true},
		{"ct from a VM archive", lxc, url.Values{"vmid": {"9202"}, "ostemplate": {vm}, "restore": {"1"}, "storage": {"local-lvm"}}, 9202,
			"unable to restore CT 9202 - ERROR: archive contains no configuration file", false},
		{"ct: archive missing", lxc, url.Values{"vmid": {"9203"}, "ostemplate": {"backups:backup/vzdump-lxc-1-x.tar.zst"}, "restore": {"1"}, "storage": {"local-lvm"}}, 9203,
			"unable to restore CT 9203 - can't find file 'backups:backup/vzdump-lxc-1-x.tar.zst'", false},
	}
	for _, tt := range failed {
		code, data, msg := call(t, srv, "POST", tt.path, tt.form)
		require.Equal(t, 200, code, "%s: %s", tt.name, msg)
		upid := upidOf(t, data)
		assert.Eventually(t, func() bool { return srv.TaskExit(upid) != "" }, 5*time.Second, 5*time.Millisecond, tt.name)
		assert.Equal(t, tt.exit, srv.TaskExit(upid), tt.name)
		if tt.kept {
			assert.Equal(t, "stopped", srv.GuestStatus(tt.vmid), "%s: qmrestore leaves the VM", tt.name)
			assert.Empty(t, srv.GuestConfig(tt.vmid), tt.name)
		} else {
			assert.Empty(t, srv.GuestStatus(tt.vmid), "%s: vzrestore removes the new CT", tt.name)
		}
	}

	srv.SetGuestStatus(102, "running")
	code, data, msg := call(t, srv, "POST", qemu, url.Values{"vmid": {"102"}, "archive": {vm}, "force": {"1"}})
	require.Equal(t, 200, code, msg)
	upid := upidOf(t, data)
	assert.Eventually(t, func() bool { return srv.TaskExit(upid) != "" }, 5*time.Second, 5*time.Millisecond)
	assert.Equal(t, "unable to restore VM 102 - vm is running", srv.TaskExit(upid))
	assert.NotContains(t, srv.GuestConfig(102), "lock")
}

// The agent ping refuses as qemu-server's assert_agent_available does: an
// agent key set to 0 is "configured", the ping then finds no agent.
func TestAgentPingRefusals(t *testing.T) {
	t.Parallel()
	srv := Start(t)
	srv.AddGuest(Guest{VMID: 200, Node: Node, Type: "qemu", Name: "off", Config: map[string]string{"agent": "0"}})
	srv.AddGuest(Guest{VMID: 201, Node: Node, Type: "qemu", Name: "none", Config: map[string]string{}})
	srv.SetGuestStatus(200, "running")
	srv.SetGuestStatus(201, "running")
	_, _, msg := call(t, srv, "POST", "/nodes/"+Node+"/qemu/200/agent/ping", nil)
	assert.Equal(t, "QEMU guest agent is not running", msg)
	_, _, msg = call(t, srv, "POST", "/nodes/"+Node+"/qemu/201/agent/ping", nil)
	assert.Equal(t, "No QEMU guest agent configured", msg)
}

// A container restore given rootfs= (STORAGE:SIZE) makes exactly the disks
// the request names, at the requested size, and restores none of the
// archive's mount points (pve-container src/PVE/API2/LXC.pm create_vm
// leaves storage-only mode; src/PVE/LXC/Create.pm sanitize_and_merge_config
// skips the archived rootfs and mpN).
func TestRestoreContainerRootFSReplacesArchivedMountPoints(t *testing.T) {
	t.Parallel()
	srv := Start(t)
	srv.AddGuest(Guest{VMID: 120, Node: Node, Type: "lxc", Name: "files", Config: map[string]string{
		"rootfs": "local-lvm:vm-120-disk-0,size=32G", "mp0": "local-lvm:vm-120-disk-1,mp=/srv,backup=1,size=100G",
		"memory": "1024", "net0": "name=eth0,bridge=vmbr0,hwaddr=BC:24:11:00:01:20,type=veth"}})
	vol := srv.AddBackup(Backup{Storage: "backups", VMID: 120, Type: "lxc", Time: time.Date(2026, 11, 24, 3, 0, 0, 0, time.UTC)})
	restore := func(vmid string, extra url.Values) (map[string]string, string) {
		t.Helper()
		form := url.Values{"vmid": {vmid}, "ostemplate": {vol}, "restore": {"1"}}
		for k, v := range extra {
			form[k] = v
		}
		code, data, msg := call(t, srv, "POST", "/nodes/"+Node+"/lxc", form)
		if code != 200 {
			return nil, msg
		}
		upid := upidOf(t, data)
		require.Eventually(t, func() bool { return srv.TaskExit(upid) != "" }, 5*time.Second, 5*time.Millisecond)
		require.Equal(t, "OK", srv.TaskExit(upid))
		n, _ := strconv.Atoi(vmid)
		return srv.GuestConfig(n), ""
	}

	// Without rootfs= (storage-only mode) the archived mount points come
	// back at their archived sizes.
	conf, msg := restore("9120", url.Values{"storage": {"local-lvm"}})
	require.Empty(t, msg)
	assert.Equal(t, "local-lvm:vm-9120-disk-0,size=32G", conf["rootfs"])
	assert.Contains(t, conf, "mp0")

	conf, msg = restore("9121", url.Values{"rootfs": {"local-lvm:8"}})
	require.Empty(t, msg)
	assert.Equal(t, "local-lvm:vm-9121-disk-0,size=8G", conf["rootfs"], "the requested size, not the archived one")
	assert.NotContains(t, conf, "mp0", "the archived mount point is not restored")
	assert.Equal(t, "1024", conf["memory"], "the rest of the archived config is")

	// A bare size goes on storage=; mpN= given beside rootfs= is created
	// too (volume, then mp=, then the other options sorted).
	conf, msg = restore("9122", url.Values{"storage": {"local-lvm"}, "rootfs": {"0.5"}, "mp1": {"local-lvm:4,mp=/data,backup=1"}})
	require.Empty(t, msg)
	assert.Equal(t, "local-lvm:vm-9122-disk-0,size=512M", conf["rootfs"])
	assert.Equal(t, "local-lvm:vm-9122-disk-1,mp=/data,backup=1,size=4G", conf["mp1"])
	assert.NotContains(t, conf, "mp0")

	_, msg = restore("9123", url.Values{"mp0": {"local-lvm:4,mp=/data"}})
	assert.Equal(t, "mount points configured, but 'rootfs' not set - aborting", msg)
	_, msg = restore("9123", url.Values{"rootfs": {"nope:8"}})
	assert.Equal(t, "storage 'nope' does not exist", msg)
	_, msg = restore("9123", url.Values{"rootfs": {"backups:8"}})
	assert.Equal(t, "Parameter verification failed.", msg)
	_, msg = restore("9123", url.Values{"rootfs": {"/mnt/data"}})
	assert.Equal(t, "Permission check failed (mount point type bind is only allowed for root@pam)", msg, "an API token is not root@pam")
	_, msg = restore("9123", url.Values{"rootfs": {"local-lvm:8"}, "mp0": {"/dev/sdb1,mp=/data"}})
	assert.Equal(t, "Permission check failed (mount point type device is only allowed for root@pam)", msg)
	assert.Empty(t, srv.GuestStatus(9123), "refused before the config is created")
}

// Without rootfs= a container restore brings back every archived mount
// point: a volume one (backed up or not) as a new disk at its archived
// size, a bind or device one as it was, for root@pam only (pve-container
// src/PVE/API2/LXC.pm create_vm, storage-only mode).
func TestRestoreContainerStorageOnlyMountPoints(t *testing.T) {
	t.Parallel()
	srv := Start(t)
	srv.AddGuest(Guest{VMID: 130, Node: Node, Type: "lxc", Name: "media", Config: map[string]string{
		"rootfs": "local-lvm:vm-130-disk-0,size=8G", "mp0": "local-lvm:vm-130-disk-1,mp=/cache,size=100M",
		"mp1": "local-lvm:vm-130-disk-2,mp=/data,backup=1,size=4G", "mp2": "/mnt/nas/media,mp=/media"}})
	vol := srv.AddBackup(Backup{Storage: "backups", VMID: 130, Type: "lxc", Time: time.Date(2026, 11, 24, 3, 0, 0, 0, time.UTC)})
	code, data, msg := call(t, srv, "POST", "/nodes/"+Node+"/lxc", url.Values{"vmid": {"9130"}, "ostemplate": {vol}, "restore": {"1"}, "storage": {"local-lvm"}})
	require.Equal(t, 200, code, msg)
	upid := upidOf(t, data)
	require.Eventually(t, func() bool { return srv.TaskExit(upid) != "" }, 5*time.Second, 5*time.Millisecond)
	assert.Equal(t, "unable to restore CT 9130 - restoring 'mp2' to bind mount is only possible for root", srv.TaskExit(upid), "an API token is not root@pam")
	assert.Empty(t, srv.GuestStatus(9130), "a new container whose restore fails is removed")
	code, data, msg = callAs(t, srv, "POST", "/nodes/"+Node+"/lxc", url.Values{"vmid": {"9130"}, "ostemplate": {vol}, "restore": {"1"}, "storage": {"local-lvm"}}, rootTicket(t, srv))
	require.Equal(t, 200, code, msg)
	upid = upidOf(t, data)
	require.Eventually(t, func() bool { return srv.TaskExit(upid) != "" }, 5*time.Second, 5*time.Millisecond)
	require.Equal(t, "OK", srv.TaskExit(upid))
	assert.Equal(t, "/mnt/nas/media,mp=/media", srv.GuestConfig(9130)["mp2"], "root@pam gets the bind mount back as it was")

	srv.AddGuest(Guest{VMID: 130, Node: Node, Type: "lxc", Name: "media", Config: map[string]string{
		"rootfs": "local-lvm:vm-130-disk-0,size=8G", "mp0": "local-lvm:vm-130-disk-1,mp=/cache,size=100M",
		"mp1": "local-lvm:vm-130-disk-2,mp=/data,backup=1,size=4G"}})
	// The archive holds the config of when it was made: back up again
	// without the bind mount.
	vol = srv.AddBackup(Backup{Storage: "backups", VMID: 130, Type: "lxc", Time: time.Date(2026, 11, 25, 3, 0, 0, 0, time.UTC)})
	code, data, msg = call(t, srv, "POST", "/nodes/"+Node+"/lxc", url.Values{"vmid": {"9131"}, "ostemplate": {vol}, "restore": {"1"}, "storage": {"local-lvm"}})
	require.Equal(t, 200, code, msg)
	upid = upidOf(t, data)
	require.Eventually(t, func() bool { return srv.TaskExit(upid) != "" }, 5*time.Second, 5*time.Millisecond)
	require.Equal(t, "OK", srv.TaskExit(upid))
	conf := srv.GuestConfig(9131)
	assert.Equal(t, "local-lvm:vm-9131-disk-0,size=8G", conf["rootfs"])
	assert.Equal(t, "local-lvm:vm-9131-disk-1,mp=/cache,size=100M", conf["mp0"], "a mount point without backup=1 comes back empty")
	assert.Equal(t, "local-lvm:vm-9131-disk-2,mp=/data,backup=1,size=4G", conf["mp1"])
}
