package proxmoxtest_test

import (
	"context"
	"crypto/tls"
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

	"github.com/thehomelab/homelab/proxmox/proxmoxtest"
)

type raw struct {
	t   *testing.T
	srv *proxmoxtest.Server
	hc  *http.Client
}

func newRaw(t *testing.T, opts ...proxmoxtest.Option) *raw {
	t.Helper()
	srv := proxmoxtest.NewServer(opts...)
	t.Cleanup(srv.Close)
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: srv.CertPool(), MinVersion: tls.VersionTLS12}}}
	t.Cleanup(hc.CloseIdleConnections)
	return &raw{t: t, srv: srv, hc: hc}
}

type reply struct {
	status int
	reason string
	body   map[string]any
}

func (r *raw) do(method, path string, form url.Values, hdr map[string]string) reply {
	r.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(r.t.Context(), method, r.srv.URL+"/api2/json"+path, body)
	require.NoError(r.t, err)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := r.hc.Do(req)
	require.NoError(r.t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	out := reply{status: resp.StatusCode, reason: strings.TrimSpace(strings.TrimPrefix(resp.Status, resp.Status[:3]))}
	_ = json.Unmarshal(b, &out.body)
	return out
}

var token = map[string]string{"Authorization": "PVEAPIToken=" + proxmoxtest.TokenID + "=" + proxmoxtest.TokenSecret}

func TestAuthenticationRules(t *testing.T) {
	t.Parallel()
	r := newRaw(t)
	assert.Equal(t, reply{status: 401, reason: "No ticket"}, r.do("GET", "/version", nil, nil))
	bad := r.do("GET", "/version", nil, map[string]string{"Authorization": "PVEAPIToken=" + proxmoxtest.TokenID + "=nope"})
	assert.Equal(t, 401, bad.status)
	assert.Equal(t, "Authentication failed!", bad.reason)
	assert.Equal(t, 200, r.do("GET", "/version", nil, map[string]string{"Authorization": "PVEAPIToken " + proxmoxtest.TokenID + "=" + proxmoxtest.TokenSecret}).status, "space separator")

	tk := r.do("POST", "/access/ticket", url.Values{"username": {"root@pam"}, "password": {proxmoxtest.RootPassword}}, token)
	assert.Equal(t, 403, tk.status, "tokens may not ask for tickets")

	wrong := r.do("POST", "/access/ticket", url.Values{"username": {"root@pam"}, "password": {"x"}}, nil)
	assert.Equal(t, 401, wrong.status)
	assert.Equal(t, "authentication failure", wrong.reason)

	ok := r.do("POST", "/access/ticket", url.Values{"username": {"root@pam"}, "password": {proxmoxtest.RootPassword}}, nil)
	require.Equal(t, 200, ok.status)
	data := ok.body["data"].(map[string]any)
	ticket, csrf := data["ticket"].(string), data["CSRFPreventionToken"].(string)
	assert.True(t, strings.HasPrefix(ticket, "PVE:root@pam:"))
	cookie := map[string]string{"Cookie": "PVEAuthCookie=" + url.QueryEscape(ticket)}
	assert.Equal(t, 200, r.do("GET", "/version", nil, cookie).status)
	noCSRF := r.do("POST", "/nodes/proxmox1/status", url.Values{"command": {"reboot"}}, cookie)
	assert.Equal(t, 401, noCSRF.status)
	assert.Equal(t, "Permission denied - invalid csrf token", noCSRF.reason)
	cookie["CSRFPreventionToken"] = csrf
	assert.Equal(t, 200, r.do("POST", "/nodes/proxmox1/status", url.Values{"command": {"reboot"}}, cookie).status)
}

func TestStrictValidation(t *testing.T) {
	t.Parallel()
	r := newRaw(t)
	tests := []struct {
		method, path string
		form         url.Values
		status       int
		param        string
	}{
		{"POST", "/nodes/proxmox1/qemu/102/status/shutdown", url.Values{"forceStop": {"true"}}, 400, "forceStop"},
		{"POST", "/nodes/proxmox1/qemu/102/status/shutdown", url.Values{"timeout": {"1e3"}}, 400, "timeout"},
		{"POST", "/nodes/proxmox1/qemu/102/status/shutdown", url.Values{"force": {"1"}}, 400, "force"},
		{"GET", "/cluster/resources?type=vms", nil, 400, "type"},
		{"POST", "/nodes/proxmox1/status", url.Values{}, 400, "command"},
		{"GET", "/nodes/proxmox1/bogus", nil, 501, ""},
		{"GET", "/version", url.Values{"a": {"b"}}, 501, ""},
		{"GET", "/nodes/proxmox1/qemu/999/config", nil, 500, ""},
	}
	for _, tt := range tests {
		got := r.do(tt.method, tt.path, tt.form, token)
		assert.Equal(t, tt.status, got.status, "%s %s", tt.method, tt.path)
		if tt.param != "" {
			errs, _ := got.body["errors"].(map[string]any)
			assert.Contains(t, errs, tt.param, "%s %s", tt.method, tt.path)
			assert.Equal(t, "Parameter verification failed.", got.reason)
		}
	}
}

func TestUPIDsAndTaskEndpoints(t *testing.T) {
	t.Parallel()
	r := newRaw(t)
	r.srv.HoldTasks(true)
	got := r.do("POST", "/nodes/proxmox1/lxc/101/status/shutdown", url.Values{"timeout": {"5"}}, token)
	require.Equal(t, 200, got.status)
	upid := got.body["data"].(string)
	assert.Regexp(t, `^UPID:proxmox1:[0-9A-F]{8}:[0-9A-F]{8,9}:[0-9A-F]{8}:vzshutdown:101:root@pam!sdk:$`, upid)
	st := r.do("GET", "/nodes/proxmox1/tasks/"+upid+"/status", nil, token)
	d := st.body["data"].(map[string]any)
	assert.Equal(t, "running", d["status"])
	assert.Equal(t, "root@pam", d["user"])
	assert.Equal(t, "sdk", d["tokenid"])
	require.True(t, r.srv.FinishTask(upid, ""))
	st = r.do("GET", "/nodes/proxmox1/tasks/"+upid+"/status", nil, token)
	assert.Equal(t, "OK", st.body["data"].(map[string]any)["exitstatus"])
	assert.Equal(t, "stopped", r.srv.GuestStatus(101))

	// CT asymmetry: stopping a stopped container is a synchronous 500
	again := r.do("POST", "/nodes/proxmox1/lxc/101/status/stop", url.Values{}, token)
	assert.Equal(t, 500, again.status)
	assert.Equal(t, "CT 101 not running", again.reason)
	assert.Equal(t, "CT 101 not running\n", again.body["message"])

	unknown := r.do("GET", "/nodes/proxmox1/tasks/UPID:proxmox1:00000001:00000001:00000001:x::root@pam:/status", nil, token)
	assert.Equal(t, 400, unknown.status)
	assert.Equal(t, "no such task", unknown.body["errors"].(map[string]any)["upid"])
}

func TestFaultsAndRecord(t *testing.T) {
	t.Parallel()
	r := newRaw(t, proxmoxtest.WithMode("pve8"))
	r.srv.Inject(proxmoxtest.Timeout596.On("GET", "^/nodes$"))
	got := r.do("GET", "/nodes", nil, token)
	assert.Equal(t, 596, got.status)
	assert.Contains(t, got.reason, "Connection timed out")
	assert.Nil(t, got.body)
	r.srv.ClearFaults()
	assert.Equal(t, 200, r.do("GET", "/nodes", nil, token).status)
	reqs := r.srv.Requests()
	require.Len(t, reqs, 2)
	assert.Equal(t, "GET", reqs[0].Method)
	assert.Equal(t, "/nodes", reqs[1].Path)
	assert.Equal(t, proxmoxtest.TokenID, reqs[1].Identity)

	err := r.do("GET", "/nodes/proxmox1/qemu/999/status/current", nil, token)
	assert.NotContains(t, err.body, "message", "pve8 error bodies have no message")
}

func TestCSRFTokenExpiresWithItsTicket(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	now := time.Date(2026, 11, 26, 2, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); defer mu.Unlock(); now = now.Add(d) }
	r := newRaw(t, proxmoxtest.WithClock(clock))
	login := func(password string) (string, string) {
		rep := r.do("POST", "/access/ticket", url.Values{"username": {"root@pam"}, "password": {password}}, nil)
		require.Equal(t, 200, rep.status)
		d := rep.body["data"].(map[string]any)
		return d["ticket"].(string), d["CSRFPreventionToken"].(string)
	}
	ticket, oldCSRF := login(proxmoxtest.RootPassword)
	advance(90 * time.Minute)
	ticket, newCSRF := login(ticket) // renewal
	advance(31 * time.Minute)        // the first login is now 2 h 1 min old
	hdr := map[string]string{"Cookie": "PVEAuthCookie=" + url.QueryEscape(ticket), "CSRFPreventionToken": oldCSRF}
	stale := r.do("POST", "/nodes/proxmox1/status", url.Values{"command": {"reboot"}}, hdr)
	assert.Equal(t, 401, stale.status, "a renewed ticket with the old CSRF token")
	hdr["CSRFPreventionToken"] = newCSRF
	assert.Equal(t, 200, r.do("POST", "/nodes/proxmox1/status", url.Values{"command": {"reboot"}}, hdr).status)
}

func TestHarnessShape(t *testing.T) {
	t.Parallel()
	srv := proxmoxtest.Start(t, nil, proxmoxtest.WithoutLab())
	assert.NotEmpty(t, srv.URL)
	srv.Close()
	srv.Close() // idempotent; Cleanup closes a third time
	assert.Empty(t, srv.Requests())
}

func TestInjectTimesAndClear(t *testing.T) {
	t.Parallel()
	r := newRaw(t)
	r.srv.Inject(proxmoxtest.Fault{Status: 500, Reason: "boom", Times: 2}.On("GET", "^/version$"))
	r.srv.Inject(proxmoxtest.Fault{Status: 503, Reason: "later"}.On("GET", "[")) // literal: matches nothing here
	tok := map[string]string{"Authorization": "PVEAPIToken=" + proxmoxtest.TokenID + "=" + proxmoxtest.TokenSecret}
	assert.Equal(t, 500, r.do("GET", "/version", nil, tok).status)
	assert.Equal(t, 500, r.do("GET", "/version", nil, tok).status)
	assert.Equal(t, 200, r.do("GET", "/version", nil, tok).status, "Times ran out")
	r.srv.Inject(proxmoxtest.Fault{Status: 500, Reason: "boom"}.On("", "/version"))
	assert.Equal(t, 500, r.do("GET", "/version", nil, tok).status)
	assert.Equal(t, 500, r.do("GET", "/version", nil, tok).status, "Times 0: every time")
	r.srv.ClearFaults()
	assert.Equal(t, 200, r.do("GET", "/version", nil, tok).status)
	reqs := r.srv.Requests()
	require.Len(t, reqs, 6)
	assert.Equal(t, "GET", reqs[0].Method)
	assert.Equal(t, "/version", reqs[0].Path)
	assert.False(t, reqs[0].Time.IsZero())
}

// A client that gives up on a delayed request with a body is noticed: the
// handler returns at once, so Close does not wait out the latency (net/http
// watches for a hang-up only once the body is read). A delayed body still
// arrives whole.
func TestLatencyNoticesClientGone(t *testing.T) {
	t.Parallel()
	r := newRaw(t)
	login := url.Values{"username": {"root@pam"}, "password": {proxmoxtest.RootPassword}}
	r.srv.SetLatency(20 * time.Millisecond)
	require.Equal(t, 200, r.do("POST", "/access/ticket", login, nil).status)

	const long = 10 * time.Second
	r.srv.SetLatency(long)
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "POST", r.srv.URL+"/api2/json/access/ticket", strings.NewReader(login.Encode()))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	_, err = r.hc.Do(req)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	start := time.Now()
	r.srv.Close()
	assert.Less(t, time.Since(start), long/5, "Close waited for the delayed handler")
}
