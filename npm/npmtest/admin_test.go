package npmtest_test

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/thehomelab/homelab/npm/npmtest"
)

func TestWireSetupMode(t *testing.T) {
	t.Parallel()
	srv := npmtest.NewServer(npmtest.WithSetupMode())
	t.Cleanup(srv.Close)
	w := &wire{t: t, srv: srv}
	status, m := w.json(http.MethodGet, "/", "")
	require.Equal(t, 200, status)
	assert.Equal(t, false, m["setup"])
	status, m = w.json(http.MethodPost, "/users", `{"name":"Admin","nickname":"admin","email":"Me@thehomelab.site","auth":{"type":"password","secret":"long-enough-pw"}}`)
	require.Equal(t, 201, status, m)
	assert.Equal(t, []any{"admin"}, m["roles"], "first user forced to admin")
	status, m = w.json(http.MethodGet, "/", "")
	require.Equal(t, 200, status)
	assert.Equal(t, true, m["setup"])
	// Setup is over: creating users needs an admin token now. Without one
	// the permission failure ends at the catch-all, as observed on 2.15.1
	// (backend/routes/users.js passes the undefined error on).
	status, m = w.json(http.MethodPost, "/users", `{"name":"B","nickname":"b","email":"b@thehomelab.site"}`)
	assert.Equal(t, 404, status)
	assert.Equal(t, "Not Found - /users", errMsg(m))
	status, b := w.do(http.MethodPost, "/tokens", "application/json", `{"identity":"me@thehomelab.site","secret":"long-enough-pw"}`)
	assert.Equal(t, 200, status, string(b))
}

func TestWireAdminRoutes(t *testing.T) {
	t.Parallel()
	w := newWire(t)
	status, m := w.json(http.MethodGet, "/reports/hosts", "")
	require.Equal(t, 200, status)
	assert.EqualValues(t, map[string]any{"proxy": 11.0, "redirection": 1.0, "stream": 1.0, "dead": 0.0}, m)

	status, m = w.json(http.MethodPut, "/settings/default-site", `{"value":"418"}`)
	assert.Equal(t, 400, status)
	assert.Equal(t, "data/value must be equal to one of the allowed values", errMsg(m))
	status, m = w.json(http.MethodPut, "/settings/default-site", `{"value":"404"}`)
	assert.Equal(t, 200, status)
	assert.Equal(t, "404", m["value"])

	uid := w.srv.AddUser(npmtest.UserSpec{Email: "v@thehomelab.site", Password: "viewer-pw"})
	status, _ = w.json(http.MethodPut, "/users/"+itoa(uid)+"/permissions", `{"visibility":"all","proxy_hosts":"view"}`)
	require.Equal(t, 200, status)
	status, b := w.do(http.MethodPost, "/tokens", "application/json", `{"identity":"v@thehomelab.site","secret":"viewer-pw"}`)
	require.Equal(t, 200, status)
	var tok struct{ Token string }
	require.NoError(t, json.Unmarshal(b, &tok))
	v := &wire{t: t, srv: w.srv, tok: tok.Token}
	status, b = v.do(http.MethodGet, "/nginx/proxy-hosts", "", "")
	require.Equal(t, 200, status)
	var list []any
	require.NoError(t, json.Unmarshal(b, &list))
	assert.Len(t, list, 11, "visibility all")
	status, m = v.json(http.MethodPost, "/nginx/proxy-hosts", host)
	assert.Equal(t, 500, status, "view only: the create route's catch crashes on the undefined error (backend/routes/nginx/proxy_hosts.js)")
	assert.Equal(t, "Internal Error", errMsg(m))
	status, _ = v.json(http.MethodPut, "/nginx/proxy-hosts/1", `{"forward_port":81}`)
	assert.Equal(t, 404, status, "view only, other routes: the catch-all")
	status, _ = v.json(http.MethodGet, "/settings", "")
	assert.Equal(t, 404, status, "admin only")

	status, b = w.do(http.MethodGet, "/audit-log", "", "")
	require.Equal(t, 200, status)
	assert.Contains(t, string(b), `"object_type"`)
}

func TestTOTP(t *testing.T) {
	t.Parallel()
	// RFC 6238 appendix B, SHA-1, truncated to 6 digits.
	secret := "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ" // base32 of "12345678901234567890"
	for unix, want := range map[int64]string{59: "287082", 1111111109: "081804", 1234567890: "005924", 2000000000: "279037"} {
		assert.Equal(t, want, npmtest.TOTP(secret, time.Unix(unix, 0)))
	}
	assert.Empty(t, npmtest.TOTP("not base32!", time.Unix(0, 0)))
}

func TestWireUsersDeleteAndAuditEntry(t *testing.T) {
	t.Parallel()
	w := newWire(t)
	uid := w.srv.AddUser(npmtest.UserSpec{Email: "gone@thehomelab.site", Password: "gone-pass"})
	status, b := w.do(http.MethodDelete, "/users/"+itoa(uid), "", "")
	require.Equal(t, 200, status, string(b))
	status, m := w.json(http.MethodDelete, "/users/1", "")
	assert.Equal(t, 403, status)
	assert.Equal(t, "You cannot delete yourself.", errMsg(m))
	status, m = w.json(http.MethodGet, "/audit-log/1", "")
	require.Equal(t, 200, status)
	assert.Equal(t, "user", m["object_type"])
	assert.Equal(t, "deleted", m["action"])
	status, _ = w.json(http.MethodGet, "/audit-log/99", "")
	assert.Equal(t, 404, status)
}
