package omvtest_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/thehomelab/homelab/omv/omvtest"
)

type wire struct {
	t       *testing.T
	srv     *omvtest.Server
	cookies map[string]string
	header  string
	ua      string
}

type reply struct {
	status   int
	Response json.RawMessage `json:"response"`
	Error    *struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
		Trace   string `json:"trace"`
	} `json:"error"`
}

func newWire(t *testing.T, opts ...omvtest.Option) *wire {
	srv := omvtest.NewServer(opts...)
	t.Cleanup(srv.Close)
	return &wire{t: t, srv: srv, cookies: map[string]string{}, ua: "test/1"}
}

func (w *wire) raw(body string) reply {
	w.t.Helper()
	req, err := http.NewRequestWithContext(w.t.Context(), http.MethodPost, w.srv.URL+"/rpc.php", strings.NewReader(body))
	require.NoError(w.t, err)
	req.Header.Set("User-Agent", w.ua)
	for k, v := range w.cookies {
		req.AddCookie(&http.Cookie{Name: k, Value: v})
	}
	if w.header != "" {
		req.Header.Set("X-OPENMEDIAVAULT-SESSIONID", w.header)
	}
	resp, err := w.srv.Client().Do(req)
	require.NoError(w.t, err)
	defer resp.Body.Close()
	for _, c := range resp.Cookies() {
		if c.MaxAge < 0 {
			delete(w.cookies, c.Name)
		} else {
			w.cookies[c.Name] = c.Value
		}
	}
	data, err := io.ReadAll(resp.Body)
	require.NoError(w.t, err)
	r := reply{status: resp.StatusCode}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		require.NoError(w.t, json.Unmarshal(data, &r), "%s", data)
	}
	return r
}

func (w *wire) call(service, method string, params any) reply {
	w.t.Helper()
	b, err := json.Marshal(map[string]any{"service": service, "method": method, "params": params})
	require.NoError(w.t, err)
	return w.raw(string(b))
}

func (w *wire) login() map[string]any {
	w.t.Helper()
	r := w.call("Session", "login", map[string]any{"username": omvtest.AdminUser, "password": omvtest.AdminPassword})
	require.Equal(w.t, 200, r.status)
	var m map[string]any
	require.NoError(w.t, json.Unmarshal(r.Response, &m))
	return m
}

func TestEnvelopeErrors(t *testing.T) {
	t.Parallel()
	w := newWire(t)
	r := w.raw(`[1,2]`)
	assert.Equal(t, 500, r.status)
	assert.Equal(t, "Failed to get the RPC parameters.", r.Error.Message)
	assert.Equal(t, 0, r.Error.Code)
	r = w.raw(`{"service":"System","method":"getInformation"}`)
	assert.Equal(t, 500, r.status, "6.x requires params")
	assert.Equal(t, ": Missing 'required' attribute 'params'.", r.Error.Message)
	r = w.call("System", "getInformation", nil)
	assert.Equal(t, 401, r.status)
	assert.Equal(t, "Session not authenticated.", r.Error.Message)
	w.login()
	r = w.call("nope", "x", nil)
	assert.Equal(t, 404, r.status)
	assert.Equal(t, "RPC service 'nope' not found.", r.Error.Message)
	r = w.call("SYSTEM", "getinformation", nil)
	assert.Equal(t, 404, r.status)
	assert.Equal(t, "The method 'getinformation' does not exist for the RPC service 'SYSTEM'.", r.Error.Message)
	r = w.call("sYsTeM", "getInformation", nil)
	assert.Equal(t, 200, r.status, "service names are case-insensitive")
	r = w.call("MdMgmt", "getList", map[string]any{"start": 0, "limit": nil})
	assert.Equal(t, 404, r.status, "6.x has RaidMgmt")
}

func TestV7GetAndStringParams(t *testing.T) {
	t.Parallel()
	w := newWire(t, omvtest.WithVersion(omvtest.V7))
	m := w.login()
	assert.Equal(t, true, m["authenticated"])
	sid, _ := m["sessionid"].(string)
	require.NotEmpty(t, sid)
	assert.Contains(t, w.cookies, "OPENMEDIAVAULT-SESSIONID")
	// Header instead of cookie.
	w.cookies = map[string]string{}
	w.header = sid
	r := w.raw(`{"service":"Config","method":"isDirty"}`)
	assert.Equal(t, 200, r.status, "7.x defaults missing params")
	r = w.raw(`{"service":"UserMgmt","method":"getUser","params":"{\"name\":\"proxmox\"}"}`)
	assert.Equal(t, 200, r.status, "7.x decodes string params")
	q := url.Values{"service": {"System"}, "method": {"noop"}, "params": {""}}
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, w.srv.URL+"/rpc.php?"+q.Encode(), nil)
	require.NoError(t, err)
	req.Header.Set("X-OPENMEDIAVAULT-SESSIONID", sid)
	resp, err := w.srv.Client().Do(req)
	require.NoError(t, err)
	_ = resp.Body.Close()
	assert.Equal(t, 200, resp.StatusCode)
}

func TestLoginShapes(t *testing.T) {
	t.Parallel()
	w6 := newWire(t)
	m := w6.login()
	assert.Equal(t, map[string]any{"authenticated": true, "username": "admin", "permissions": map[string]any{"role": "admin"}}, m)
	assert.Contains(t, w6.cookies, "X-OPENMEDIAVAULT-SESSIONID")
	w85 := newWire(t, omvtest.WithVersion(omvtest.V85))
	m = w85.login()
	assert.Equal(t, "authenticated", m["status"])
	assert.NotContains(t, m, "authenticated")
	assert.NotEmpty(t, m["sessionid"])
	r := w85.call("Session", "login", map[string]any{"username": "admin", "password": "bad"})
	assert.Equal(t, 400, r.status)
	assert.Equal(t, "Incorrect username or password.", r.Error.Message)
	r = w85.call("Session", "login", map[string]any{"username": "proxmox", "password": omvtest.ProxmoxPassword})
	assert.Equal(t, 400, r.status)
	assert.Equal(t, "Another user is already authenticated.", r.Error.Message)
}

func TestIdleExpiryAndLogout(t *testing.T) {
	t.Parallel()
	w := newWire(t)
	w.login()
	assert.Equal(t, 1, w.srv.LoginMails())
	w.srv.Advance(4 * time.Minute)
	require.Equal(t, 200, w.call("Config", "isDirty", nil).status)
	w.srv.Advance(4 * time.Minute) // refreshed above: still alive
	require.Equal(t, 200, w.call("Config", "isDirty", nil).status)
	w.srv.Advance(6 * time.Minute)
	r := w.call("Config", "isDirty", nil)
	assert.Equal(t, 401, r.status)
	assert.Equal(t, "Session expired.", r.Error.Message)
	r = w.call("Config", "isDirty", nil)
	assert.Equal(t, "Session not authenticated.", r.Error.Message)
	w.login()
	assert.Equal(t, 1, w.srv.LoginMails(), "marker cookie suppresses the mail")
	w.ua = "other/2"
	r = w.call("Session", "logout", nil)
	assert.Equal(t, 401, r.status)
	assert.Equal(t, "Invalid User-Agent.", r.Error.Message)
	w.ua = "test/1"
	assert.Equal(t, 200, w.call("Session", "logout", nil).status)
	assert.Equal(t, 0, w.srv.Sessions())
}

func TestPagingAndJobs(t *testing.T) {
	t.Parallel()
	w := newWire(t)
	w.login()
	r := w.call("ShareMgmt", "getList", map[string]any{"start": 1, "limit": 1, "sortfield": "name", "sortdir": "desc"})
	require.Equal(t, 200, r.status)
	var page struct {
		Total int              `json:"total"`
		Data  []map[string]any `json:"data"`
	}
	require.NoError(t, json.Unmarshal(r.Response, &page))
	assert.Equal(t, 3, page.Total)
	require.Len(t, page.Data, 1)
	assert.Equal(t, "documents", page.Data[0]["name"])
	r = w.call("ShareMgmt", "getList", map[string]any{"start": 0, "limit": 0})
	require.NoError(t, json.Unmarshal(r.Response, &page))
	assert.Equal(t, 3, page.Total)
	assert.Empty(t, page.Data)

	r = w.call("Config", "applyChangesBg", map[string]any{"modules": []string{}, "force": false})
	require.Equal(t, 200, r.status)
	var file string
	require.NoError(t, json.Unmarshal(r.Response, &file))
	assert.True(t, strings.HasPrefix(file, "/tmp/bgstatus"))
	pos := 0
	var out strings.Builder
	for {
		r = w.call("Exec", "getOutput", map[string]any{"filename": file, "pos": pos})
		require.Equal(t, 200, r.status)
		var o struct {
			Pos     int    `json:"pos"`
			Output  string `json:"output"`
			Running bool   `json:"running"`
		}
		require.NoError(t, json.Unmarshal(r.Response, &o))
		out.WriteString(o.Output)
		pos = o.Pos
		if !o.Running {
			break
		}
	}
	assert.Equal(t, len(out.String()), pos)
	r = w.call("Exec", "getOutput", map[string]any{"filename": file, "pos": pos})
	assert.Equal(t, 500, r.status)
	assert.Contains(t, r.Error.Message, "Failed to open file")
}

func TestSchemaAndModelChecks(t *testing.T) {
	t.Parallel()
	w := newWire(t)
	w.login()
	tests := []struct {
		method string
		params any
		status int
		msg    string
	}{
		{"SMB.setShare", map[string]any{"uuid": omvtest.NewObjectUUID}, 400, ": Missing 'required' attribute 'audit'."},
		{"ShareMgmt.set", map[string]any{"uuid": omvtest.NewObjectUUID, "name": "x", "reldirpath": "x/", "comment": "",
			"mntentref": omvtest.MountPointUUID, "mode": "778"}, 400, "mode: Invalid value '778', allowed values are '700, 750, 755, 770, 775, 777'."},
		{"ShareMgmt.set", map[string]any{"uuid": omvtest.NewObjectUUID, "name": "media", "reldirpath": "m2/", "comment": "",
			"mntentref": omvtest.MountPointUUID}, 500, "A shared folder with the name 'media' already exists."},
		{"ShareMgmt.set", map[string]any{"uuid": "11111111-2222-4333-8444-555555555555", "name": "z", "reldirpath": "z/", "comment": "",
			"mntentref": omvtest.MountPointUUID}, 500, "Failed to execute XPath query '//system/shares/sharedfolder[uuid='11111111-2222-4333-8444-555555555555']'."},
		{"RaidMgmt.getDetail", map[string]any{"devicefile": "md0"}, 400, "devicefile: The value 'md0' is not a device file."},
		{"Quota.set", map[string]any{"uuid": omvtest.FilesystemUUID, "quota": []any{}, "bogus": 1}, 200, ""},
		// config.inc looks a listed module up only when it will deploy it.
		{"Config.applyChanges", map[string]any{"modules": []string{"nope"}, "force": false}, 200, ""},
		{"Config.applyChanges", map[string]any{"modules": []string{"nope"}, "force": true}, 500, "Module 'nope' not found."},
	}
	for _, tt := range tests {
		svc, method, _ := strings.Cut(tt.method, ".")
		r := w.call(svc, method, tt.params)
		assert.Equal(t, tt.status, r.status, tt.method)
		if tt.msg != "" && assert.NotNil(t, r.Error, tt.method) {
			assert.Equal(t, tt.msg, r.Error.Message)
		}
	}
}

func TestNonAdminAndDeletedUser(t *testing.T) {
	t.Parallel()
	w := newWire(t)
	r := w.call("Session", "login", map[string]any{"username": "docker", "password": omvtest.DockerPassword})
	require.Equal(t, 200, r.status)
	assert.Equal(t, 200, w.call("System", "getInformation", nil).status)
	r = w.call("DiskMgmt", "enumerateDevices", nil)
	assert.Equal(t, 403, r.status)
	assert.Equal(t, "Invalid context role.", r.Error.Message)

	admin := newWire(t)
	admin.srv = w.srv
	admin.login()
	require.Equal(t, 200, admin.call("UserMgmt", "deleteUser", map[string]any{"name": "docker"}).status)
	r = w.call("System", "getInformation", nil)
	assert.Equal(t, 401, r.status)
	assert.Equal(t, "Invalid user.", r.Error.Message)
}

func TestRAIDTextsConsistent(t *testing.T) {
	t.Parallel()
	srv := omvtest.NewServer()
	t.Cleanup(srv.Close)
	assert.Contains(t, srv.MDStat(), "md0 : active raid1 sdb[1] sda[0]\n      976630464 blocks super 1.2 [2/2] [UU]\n")
	require.NoError(t, srv.FailMember("md0", "sda"))
	assert.Contains(t, srv.MDStat(), "sda[0](F)")
	assert.Contains(t, srv.MDStat(), "[2/1] [_U]")
	d, err := srv.Detail("md0")
	require.NoError(t, err)
	assert.Contains(t, d, "State : clean, degraded \n")
	assert.Contains(t, d, "faulty   /dev/sda")
	require.NoError(t, srv.RemoveMember("md0", "sda"))
	assert.NotContains(t, srv.MDStat(), "sda")
	srv.AddDisk("/dev/sdc", "X", 1000204886016)
	require.NoError(t, srv.AddMember("md0", "sdc"))
	srv.Advance(time.Minute)
	assert.Contains(t, srv.MDStat(), "recovery =  0.6%")
	d, err = srv.Detail("md0")
	require.NoError(t, err)
	assert.Contains(t, d, "Rebuild Status : 0% complete")
	assert.Contains(t, d, "spare rebuilding   /dev/sdc")
	require.NoError(t, srv.StartSync("md0", "resync", true))
	assert.Contains(t, srv.MDStat(), "\tresync=DELAYED")
	require.NoError(t, srv.SetInactive("md0", true))
	assert.Contains(t, srv.MDStat(), "md0 : inactive")
	d, err = srv.Detail("md0")
	require.NoError(t, err)
	assert.Contains(t, d, "State : inactive")
}

func TestWithClock(t *testing.T) {
	t.Parallel()
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	w := newWire(t, omvtest.WithClock(clock))
	assert.Equal(t, now, w.srv.Now())
	w.login()
	mu.Lock()
	now = now.Add(10 * time.Minute)
	mu.Unlock()
	r := w.call("Config", "isDirty", nil)
	assert.Equal(t, "Session expired.", r.Error.Message)
}

// Quota.get reports limits as OMV's binary_format does (largest unit up to
// TiB, cut to two decimals per step of 1024) and Quota.set cuts a
// fractional bhardlimit to a whole number before converting to KiB
// (binary_convert at scale 0), as quota.inc on 6.x-8.x does.
func TestQuotaUnitsAsOMV(t *testing.T) {
	t.Parallel()
	w := newWire(t)
	w.login()
	get := func() map[string][2]any {
		r := w.call("Quota", "get", map[string]any{"uuid": omvtest.FilesystemUUID})
		require.Equal(t, 200, r.status)
		var list []map[string]any
		require.NoError(t, json.Unmarshal(r.Response, &list))
		out := map[string][2]any{}
		for _, q := range list {
			out[q["type"].(string)+":"+q["name"].(string)] = [2]any{q["bhardlimit"], q["bunit"]}
		}
		return out
	}
	set := func(quota ...map[string]any) {
		r := w.call("Quota", "set", map[string]any{"uuid": omvtest.FilesystemUUID, "quota": quota})
		require.Equal(t, 200, r.status)
	}
	set(map[string]any{"type": "user", "name": "proxmox", "bhardlimit": 1500, "bunit": "MiB"},
		map[string]any{"type": "user", "name": "docker", "bhardlimit": 3, "bunit": "PiB"},
		map[string]any{"type": "group", "name": "users", "bhardlimit": 1023, "bunit": "KiB"})
	assert.Equal(t, int64(1536000), w.srv.Quota(omvtest.FilesystemUUID, "proxmox"))
	got := get()
	assert.Equal(t, [2]any{1.46, "GiB"}, got["user:proxmox"], "1.4648… is cut, not rounded")
	assert.Equal(t, [2]any{3072.0, "TiB"}, got["user:docker"], "maxPrefix TiB")
	assert.Equal(t, [2]any{1023.0, "KiB"}, got["group:users"])

	set(map[string]any{"type": "user", "name": "proxmox", "bhardlimit": 1.46, "bunit": "GiB"})
	assert.Equal(t, int64(1<<20), w.srv.Quota(omvtest.FilesystemUUID, "proxmox"), "1.46 GiB is stored as 1 GiB")
	assert.Equal(t, [2]any{0.0, "MiB"}, get()["user:docker"], "no entry: OMV's default")
}

// rpc/proxy/json.inc checks the session before omv-engined looks the
// service up: without a session even an unknown service is a 401.
func TestSessionCheckedBeforeLookup(t *testing.T) {
	t.Parallel()
	w := newWire(t)
	r := w.call("Nope", "x", nil)
	assert.Equal(t, 401, r.status)
	assert.Equal(t, "Session not authenticated.", r.Error.Message)
	w.login()
	r = w.call("Nope", "x", nil)
	assert.Equal(t, 404, r.status)
	assert.Equal(t, "RPC service 'Nope' not found.", r.Error.Message)
}

// RaidMgmt.getList's state is built like StorageDeviceMdadm::getState:
// progress only after "resyncing"/"recovering".
func TestRAIDStateAsOMV(t *testing.T) {
	t.Parallel()
	w := newWire(t)
	w.srv.SetIdleTimeout(0)
	w.login()
	state := func() string {
		r := w.call("RaidMgmt", "getList", map[string]any{"start": 0, "limit": nil})
		require.Equal(t, 200, r.status)
		var res struct {
			Data []struct {
				State string `json:"state"`
			} `json:"data"`
		}
		require.NoError(t, json.Unmarshal(r.Response, &res))
		require.Len(t, res.Data, 1)
		return res.Data[0].State
	}
	assert.Equal(t, "clean", state())
	require.NoError(t, w.srv.StartSync("md0", "check", false))
	w.srv.Advance(time.Minute)
	assert.Equal(t, "clean, checking", state(), "OMV's progress regex knows no check")
	w.srv.Advance(time.Hour)
	require.NoError(t, w.srv.StartSync("md0", "resync", true))
	assert.Equal(t, "clean, resyncing (DELAYED) (DELAYED)", state())
	require.NoError(t, w.srv.ResumeSync("md0"))
	w.srv.Advance(time.Minute)
	assert.Regexp(t, `^clean, resyncing \(0\.6% \(6000000/976630464\) finish=\d+\.\dmin speed=100000K/sec\)$`, state())
}

func TestIsDirtyModulesAndShareNames(t *testing.T) {
	t.Parallel()
	for _, v := range []omvtest.Version{omvtest.V6, omvtest.V7, omvtest.V85} {
		w := newWire(t, omvtest.WithVersion(v))
		w.login()
		r := w.call("Quota", "set", map[string]any{"uuid": omvtest.FilesystemUUID, "quota": []any{}})
		require.Equal(t, 200, r.status)
		r = w.call("Config", "isDirty", map[string]any{"modules": []string{"samba"}})
		require.Equal(t, 200, r.status)
		// 6.x has no modules filter: any dirty module counts.
		assert.Equal(t, v == omvtest.V6, string(r.Response) == "true", v.String())
		r = w.call("Config", "isDirty", map[string]any{"modules": []string{"quota"}})
		assert.Equal(t, "true", string(r.Response), v.String())

		folder := map[string]any{"uuid": omvtest.NewObjectUUID, "name": "bad:name", "reldirpath": "x/", "comment": "",
			"mntentref": omvtest.MountPointUUID}
		r = w.call("ShareMgmt", "set", folder)
		if v == omvtest.V85 {
			assert.Equal(t, 400, r.status)
			assert.Equal(t, "name: The value 'bad:name' is not a valid share name.", r.Error.Message)
		} else {
			assert.Equal(t, 200, r.status, v.String())
		}
	}
}

// An SMB change marks samba and, through its alias zeroconf, avahi: the
// dirty list holds module names, so applying "zeroconf" deploys nothing.
func TestModuleAliasInDirtyList(t *testing.T) {
	t.Parallel()
	w := newWire(t)
	w.login()
	r := w.call("SMB", "getShareList", map[string]any{"start": 0, "limit": nil})
	require.Equal(t, 200, r.status)
	var list struct {
		Data []map[string]any `json:"data"`
	}
	require.NoError(t, json.Unmarshal(r.Response, &list))
	share := list.Data[0]
	delete(share, "sharedfoldername")
	share["comment"] = "changed"
	require.Equal(t, 200, w.call("SMB", "setShare", share).status)
	assert.Equal(t, []string{"avahi", "samba"}, w.srv.DirtyModules())
	require.Equal(t, 200, w.call("Config", "applyChanges", map[string]any{"modules": []string{"samba", "zeroconf"}, "force": false}).status)
	assert.Equal(t, []string{"avahi"}, w.srv.DirtyModules(), "zeroconf is not in the dirty list")
	require.Equal(t, 200, w.call("Config", "applyChanges", map[string]any{"modules": []string{"avahi"}, "force": false}).status)
	assert.Empty(t, w.srv.DirtyModules())
}

func TestSharedFolderModeNotStored(t *testing.T) {
	t.Parallel()
	w := newWire(t)
	w.login()
	r := w.call("ShareMgmt", "set", map[string]any{"uuid": omvtest.NewObjectUUID, "name": "x", "reldirpath": "x/", "comment": "",
		"mntentref": omvtest.MountPointUUID, "mode": "700"})
	require.Equal(t, 200, r.status)
	var obj map[string]any
	require.NoError(t, json.Unmarshal(r.Response, &obj))
	assert.Equal(t, "700", obj["mode"], "set echoes the mode")
	r = w.call("ShareMgmt", "getList", map[string]any{"start": 0, "limit": nil})
	var list struct {
		Data []map[string]any `json:"data"`
	}
	require.NoError(t, json.Unmarshal(r.Response, &list))
	require.NotEmpty(t, list.Data)
	for _, f := range list.Data {
		assert.NotContains(t, f, "mode", "conf.system.sharedfolder has no mode")
	}
}

func TestEmptyRecycleBinNeedsCleanSamba(t *testing.T) {
	t.Parallel()
	w := newWire(t)
	w.login()
	const share = "2a2b3c4d-0003-4000-8000-00000000000c" // media
	r := w.call("SMB", "emptyRecycleBin", map[string]any{"uuid": share})
	require.Equal(t, 200, r.status)
	var file string
	require.NoError(t, json.Unmarshal(r.Response, &file))
	assert.True(t, strings.HasPrefix(file, "/tmp/bgstatus"), file)
	require.Equal(t, 200, w.call("SMB", "setSettings", map[string]any{"enable": true, "workgroup": "W", "serverstring": "s",
		"loglevel": 0, "usesendfile": true, "aio": true, "timeserver": false, "winssupport": false, "winsserver": "",
		"homesenable": false, "homesbrowseable": true, "extraoptions": ""}).status)
	r = w.call("SMB", "emptyRecycleBin", map[string]any{"uuid": share})
	assert.Equal(t, 500, r.status)
	assert.Equal(t, "Please apply the configuration changes first.", r.Error.Message)
}

// The harness: Requests is a copy in order, faults fire Times times or
// until ClearFaults, a 504 runs the call first, SetLatency delays every
// call and SetMethodLatency one method, Close is idempotent.
func TestHarness(t *testing.T) {
	t.Parallel()
	srv := omvtest.Start(t)
	w := &wire{t: t, srv: srv, cookies: map[string]string{}, ua: "test/1"}
	w.login()

	srv.Inject(omvtest.Fault{RPC: "config.isdirty", Status: 503, Message: "busy", Times: 2})
	for range 2 {
		r := w.call("Config", "isDirty", nil)
		assert.Equal(t, 503, r.status)
		assert.Equal(t, "busy", r.Error.Message)
	}
	assert.Equal(t, 200, w.call("Config", "isDirty", nil).status, "Times 2 is spent")

	srv.Inject(omvtest.Fault{Status: 500, Message: "every call"})
	for range 3 {
		assert.Equal(t, 500, w.call("Config", "isDirty", nil).status, "Times 0 is every call")
	}
	srv.ClearFaults()
	assert.Equal(t, 200, w.call("Config", "isDirty", nil).status)

	// A 504 answers like nginx after the call ran.
	srv.Inject(omvtest.Fault{RPC: "UserMgmt.setGroup", Status: 504, Times: 1})
	r := w.call("UserMgmt", "setGroup", map[string]any{"name": "family", "comment": "", "members": []string{}})
	assert.Equal(t, 504, r.status)
	assert.Nil(t, r.Error, "an HTML body, not OMV's envelope")
	assert.Equal(t, 200, w.call("UserMgmt", "getGroup", map[string]any{"name": "family"}).status, "the call ran")

	reqs := srv.Requests()
	require.NotEmpty(t, reqs)
	assert.Equal(t, "Session.login", reqs[0].RPC)
	assert.Equal(t, http.MethodPost, reqs[0].Method)
	assert.Equal(t, "/rpc.php", reqs[0].Path)
	assert.False(t, reqs[0].Time.IsZero())
	reqs[0].RPC = "changed"
	assert.Equal(t, "Session.login", srv.Requests()[0].RPC, "Requests returns a copy")

	srv.SetLatency(50 * time.Millisecond)
	start := time.Now()
	w.call("Config", "isDirty", nil)
	assert.GreaterOrEqual(t, time.Since(start), 50*time.Millisecond)
	srv.SetMethodLatency("Config.isDirty", 0)
	start = time.Now()
	w.call("Config", "isDirty", nil)
	assert.Less(t, time.Since(start), 50*time.Millisecond, "the per-method latency wins")

	srv.Close()
	srv.Close()
}

// A WithTLS server's Fingerprint is its certificate's pin.
func TestFingerprint(t *testing.T) {
	t.Parallel()
	assert.Empty(t, omvtest.Start(t).Fingerprint())
	srv := omvtest.Start(t, omvtest.WithTLS())
	assert.True(t, strings.HasPrefix(srv.Fingerprint(), "sha256:"))
	require.NotNil(t, srv.Certificate())
}
