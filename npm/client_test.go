package npm_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/thehomelab/homelab/internal/tlspin"
	"github.com/thehomelab/homelab/npm"
	"github.com/thehomelab/homelab/npm/npmtest"
	"github.com/thehomelab/homelab/secret"
)

func TestHealthAndVersion(t *testing.T) {
	t.Parallel()
	for _, v := range []string{"2.11.3", "2.12.6", "2.13.7", "2.14.0", "2.15.1"} {
		t.Run(v, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, []npmtest.Option{npmtest.WithVersion(v)})
			h, err := f.c.Health(t.Context())
			require.NoError(t, err)
			assert.Equal(t, "OK", h.Status)
			assert.Equal(t, v, h.Version.String())
			assert.True(t, h.Setup)
		})
	}
}

func TestBasePathBareBackend(t *testing.T) {
	t.Parallel()
	f := newFixture(t, []npmtest.Option{npmtest.WithPrefix("")})
	hs, err := f.c.ProxyHosts.List(t.Context(), npm.ListOptions{})
	require.NoError(t, err)
	assert.Len(t, hs, 11)
}

func TestNewClientRejectsBadInput(t *testing.T) {
	t.Parallel()
	creds := npm.WithCredentials(npmtest.AdminEmail, secret.New("pw"))
	for _, tc := range []struct {
		name string
		url  string
		opts []npm.Option
	}{
		{"no scheme", "npm.lan:81/api", []npm.Option{creds}},
		{"user info", "http://admin:pw@npm.lan:81/api", []npm.Option{creds}},
		{"query", "http://npm.lan:81/api?x=1", []npm.Option{creds}},
		{"empty identity", "http://npm.lan:81/api", []npm.Option{npm.WithCredentials("", secret.New("x"))}},
		{"no credentials", "http://npm.lan:81/api", nil},
		{"bad fingerprint", "https://npm.lan/api", []npm.Option{creds, npm.WithFingerprint("zz")}},
		{"bad version", "http://npm.lan/api", []npm.Option{creds, npm.WithVersion("two")}},
		{"nil http client", "http://npm.lan/api", []npm.Option{creds, npm.WithHTTPClient(nil)}},
		{"pin over http", "http://npm.lan:81/api", []npm.Option{creds, npm.WithFingerprint("sha256:" + strings.Repeat("AB", 32))}},
		{"http client and pin", "https://npm.lan/api", []npm.Option{creds, npm.WithHTTPClient(http.DefaultClient), npm.WithFingerprint("sha256:" + strings.Repeat("AB", 32))}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := npm.NewClient(tc.url, tc.opts...)
			require.Error(t, err)
			require.ErrorIs(t, err, npm.ErrInvalid)
			assert.NotContains(t, err.Error(), "pw@")
			assert.Equal(t, 1, strings.Count(err.Error(), "npm: "), "one prefix: %v", err)
		})
	}
}

// A nil option is skipped, as everywhere in the SDK.
func TestNilOptionSkipped(t *testing.T) {
	t.Parallel()
	srv := npmtest.NewServer()
	t.Cleanup(srv.Close)
	c, err := npm.NewClient(srv.URL, nil, npm.WithCredentials(npmtest.AdminEmail, secret.New(npmtest.AdminPassword)), nil)
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	_, err = c.ProxyHosts.List(t.Context(), npm.ListOptions{})
	require.NoError(t, err)
}

func TestLoginFailures(t *testing.T) {
	t.Parallel()
	srv := npmtest.NewServer()
	t.Cleanup(srv.Close)
	c, err := npm.NewClient(srv.URL, npm.WithCredentials(npmtest.AdminEmail, secret.New("wrong-password-123")))
	require.NoError(t, err)
	_, err = c.ProxyHosts.List(t.Context(), npm.ListOptions{})
	require.ErrorIs(t, err, npm.ErrAuth)
	assert.Contains(t, err.Error(), "Invalid email or password")
	assert.NotContains(t, err.Error(), "wrong-password-123")

	// Without credentials the constructor refuses.
	_, err = npm.NewClient(srv.URL)
	require.ErrorIs(t, err, npm.ErrInvalid)
	assert.Contains(t, err.Error(), "WithCredentials")
}

func TestTokenRefreshBeforeExpiry(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	ctx := t.Context()
	require.NoError(t, f.c.Login(ctx))
	_, err := f.c.ProxyHosts.List(ctx, npm.ListOptions{})
	require.NoError(t, err)
	// 23.5 h later the token is inside the refresh margin: the client
	// trades it with GET /tokens instead of logging in again.
	f.srv.Advance(23*time.Hour + 30*time.Minute)
	f.n.n.Store(0)
	_, err = f.c.ProxyHosts.List(ctx, npm.ListOptions{})
	require.NoError(t, err)
	assert.EqualValues(t, 2, f.n.n.Load(), "refresh + list")
	// Three days later, in steps, the program keeps working.
	for range 6 {
		f.srv.Advance(12 * time.Hour)
		_, err = f.c.ProxyHosts.List(ctx, npm.ListOptions{})
		require.NoError(t, err)
	}
}

func TestExpiredTokenTriggersOneRelogin(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil, npm.WithRefreshMargin(0))
	ctx := t.Context()
	_, err := f.c.ProxyHosts.List(ctx, npm.ListOptions{})
	require.NoError(t, err)
	// The server says the token expired although the client's clock
	// disagrees (clock skew, server restart with a new TTL).
	f.srv.ExpireTokens()
	f.n.n.Store(0)
	_, err = f.c.ProxyHosts.List(ctx, npm.ListOptions{})
	require.NoError(t, err)
	assert.EqualValues(t, 3, f.n.n.Load(), "rejected list, login, list")
}

func TestGarbageTokenRelogin(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	ctx := t.Context()
	_, err := f.c.ProxyHosts.List(ctx, npm.ListOptions{})
	require.NoError(t, err)
	// New JWT keys on the server: the old token is garbage (500 "Internal
	// Error", like a real failure). Trading it in fails too, which proves
	// it garbage: the client logs in once and repeats the call.
	f.srv.ForgetTokens()
	f.n.n.Store(0)
	_, err = f.c.ProxyHosts.List(ctx, npm.ListOptions{})
	require.NoError(t, err)
	assert.EqualValues(t, 4, f.n.n.Load(), "rejected list, rejected GET /tokens, login, list")
	// A write is repeated as well: the server refused it at the token
	// check, before doing anything.
	f.srv.ForgetTokens()
	h, err := f.c.ProxyHosts.Update(ctx, 1, npm.ProxyHostUpdate{ForwardPort: npm.Ptr(81)})
	require.NoError(t, err)
	assert.Equal(t, 81, h.ForwardPort)

	// A real 500 on a write (certbot failed) is not repeated: the token
	// trades in fine, so the error stands.
	f.srv.FailCertificates(func([]string) error { return errors.New("acme: unauthorized") })
	f.n.n.Store(0)
	_, err = f.c.Certificates.CreateLetsEncrypt(ctx, npm.LetsEncryptRequest{Domains: []string{"g.thehomelab.site"}, CloudflareToken: secret.New("cf-token-abcdef")})
	var ae *npm.Error
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, 500, ae.StatusCode)
	assert.EqualValues(t, 3, f.n.n.Load(), "list certificates, POST, GET /tokens; no second POST")

	// A token nobody can replace is an authentication failure.
	f.srv.DisableUser(1)
	f.srv.ForgetTokens()
	_, err = f.c.ProxyHosts.List(ctx, npm.ListOptions{})
	require.ErrorIs(t, err, npm.ErrAuth)
}

func TestTwoFactor(t *testing.T) {
	t.Parallel()
	srv := npmtest.NewServer()
	t.Cleanup(srv.Close)
	const totpSecret = "JBSWY3DPEHPK3PXP"
	srv.EnableTwoFactor(npmtest.AdminEmail, totpSecret, "abcd1234")
	creds := npm.WithCredentials(npmtest.AdminEmail, secret.New(npmtest.AdminPassword))

	c, err := npm.NewClient(srv.URL, creds)
	require.NoError(t, err)
	err = c.Login(t.Context())
	require.ErrorIs(t, err, npm.ErrTwoFactor)
	assert.Contains(t, err.Error(), "WithTOTP")
	assert.Contains(t, err.Error(), "without 2FA")

	c2, err := npm.NewClient(srv.URL, creds, npm.WithTOTP(func(context.Context) (string, error) { return npmtest.TOTP(totpSecret, srv.Now()), nil }))
	require.NoError(t, err)
	_, err = c2.ProxyHosts.List(t.Context(), npm.ListOptions{})
	require.NoError(t, err)

	// A backup code works once.
	backup := npm.WithTOTP(func(context.Context) (string, error) { return "abcd1234", nil })
	c3, err := npm.NewClient(srv.URL, creds, backup, npm.WithClock(srv.Now))
	require.NoError(t, err)
	require.NoError(t, c3.Login(t.Context()))
	c4, err := npm.NewClient(srv.URL, creds, backup)
	require.NoError(t, err)
	require.ErrorIs(t, c4.Login(t.Context()), npm.ErrTwoFactor)

	// Refreshes never repeat the 2FA step (the backup code is used up, so
	// a new login would fail).
	for range 4 {
		srv.Advance(23*time.Hour + 30*time.Minute)
		_, err = c3.ProxyHosts.List(t.Context(), npm.ListOptions{})
		require.NoError(t, err)
	}

	bad, err := npm.NewClient(srv.URL, creds, npm.WithTOTP(func(context.Context) (string, error) { return "000000", nil }))
	require.NoError(t, err)
	err = bad.Login(t.Context())
	require.ErrorIs(t, err, npm.ErrAuth)
	require.ErrorIs(t, err, npm.ErrTwoFactor)
}

func TestPermissionModes(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		version string
		status  int
	}{{"2.12.6", 403}, {"2.13.7", 404}, {"2.15.1", 404}} {
		t.Run(tc.version, func(t *testing.T) {
			t.Parallel()
			srv := npmtest.NewServer(npmtest.WithVersion(tc.version))
			t.Cleanup(srv.Close)
			srv.AddUser(npmtest.UserSpec{Email: "viewer@thehomelab.site", Password: "viewer-pass", Permissions: map[string]string{"proxy_hosts": "view", "certificates": "hidden"}})
			c, err := npm.NewClient(srv.URL, npm.WithCredentials("viewer@thehomelab.site", secret.New("viewer-pass")))
			require.NoError(t, err)
			_, err = c.Certificates.List(t.Context())
			require.ErrorIs(t, err, npm.ErrPermission)
			require.NotErrorIs(t, err, npm.ErrNotFound)
			var ae *npm.Error
			require.ErrorAs(t, err, &ae)
			assert.Equal(t, tc.status, ae.StatusCode)

			_, err = c.ProxyHosts.Create(t.Context(), npm.ProxyHostSpec{Domains: []string{"x.thehomelab.site"}, ForwardHost: "x", ForwardPort: 80})
			require.ErrorIs(t, err, npm.ErrPermission)

			// A missing object stays ErrNotFound.
			_, err = c.ProxyHosts.Get(t.Context(), 999)
			require.ErrorIs(t, err, npm.ErrNotFound)
			require.NotErrorIs(t, err, npm.ErrPermission)
		})
	}
}

func TestDisabledUserToken(t *testing.T) {
	t.Parallel()
	srv := npmtest.NewServer()
	t.Cleanup(srv.Close)
	id := srv.AddUser(npmtest.UserSpec{Email: "ops@thehomelab.site", Password: "ops-password", Admin: true})
	c, err := npm.NewClient(srv.URL, npm.WithCredentials("ops@thehomelab.site", secret.New("ops-password")))
	require.NoError(t, err)
	_, err = c.ProxyHosts.List(t.Context(), npm.ListOptions{})
	require.NoError(t, err)
	srv.DeleteUser(id)
	_, err = c.ProxyHosts.List(t.Context(), npm.ListOptions{})
	require.ErrorIs(t, err, npm.ErrPermission)
}

func TestErrorCodeFallback(t *testing.T) {
	t.Parallel()
	// ≤2.14 leaves "code" out of 500 answers; the HTTP status stands in.
	f := newFixture(t, []npmtest.Option{npmtest.WithVersion("2.14.0")})
	f.srv.FailCertificates(func([]string) error { return errors.New("acme: rate limited") })
	_, err := f.c.Certificates.CreateLetsEncrypt(t.Context(), npm.LetsEncryptRequest{Domains: []string{"a.thehomelab.site"}, CloudflareToken: secret.New("cf-token-0123456789")})
	var ae *npm.Error
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, 500, ae.Code)
	assert.Equal(t, "Internal Error", ae.Message)
}

func TestSecretsNeverLeak(t *testing.T) {
	t.Parallel()
	const pw = "s3cr3t-admin-pass"
	const cf = "cf-tok-9f8e7d6c5b4a"
	srv := npmtest.NewServer()
	t.Cleanup(srv.Close)
	uid := srv.AddUser(npmtest.UserSpec{Email: "ops@thehomelab.site", Password: pw, Admin: true})
	_ = uid
	var logs bytes.Buffer
	c, err := npm.NewClient(srv.URL,
		npm.WithCredentials("ops@thehomelab.site", secret.New(pw)),
		npm.WithLogger(slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))))
	require.NoError(t, err)
	ctx := t.Context()
	cert, err := c.Certificates.CreateLetsEncrypt(ctx, npm.LetsEncryptRequest{Domains: []string{"vault.thehomelab.site"}, CloudflareToken: secret.New(cf)})
	require.NoError(t, err)
	srv.FailCertificates(func(ds []string) error { return fmt.Errorf("certbot said: token %s rejected", cf) })
	_, err = c.Certificates.CreateLetsEncrypt(ctx, npm.LetsEncryptRequest{Domains: []string{"bad.thehomelab.site"}, CloudflareToken: secret.New(cf)})
	require.Error(t, err)
	tok, _, err2 := c.Token(ctx, time.Hour)
	require.NoError(t, err2)

	// The server keeps the credentials but never serves them.
	stored := srv.Certificates()
	require.NotEmpty(t, stored)
	assert.Contains(t, stored[len(stored)-1].Credentials, cf)

	for _, out := range []string{
		logs.String(), err.Error(), fmt.Sprintf("%v %+v %#v", cert, c, npm.LetsEncryptRequest{CloudflareToken: secret.New(cf)}),
		fmt.Sprintf("%v %#v", tok, tok),
	} {
		assert.NotContains(t, out, pw)
		assert.NotContains(t, out, cf)
		assert.NotContains(t, out, tok.Reveal())
	}
	assert.Contains(t, logs.String(), "/nginx/certificates")
}

func TestConcurrentUse(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	errs := make(chan error, 8)
	for range 8 {
		go func() {
			_, err := f.c.ProxyHosts.List(t.Context(), npm.ListOptions{})
			errs <- err
		}()
	}
	for range 8 {
		require.NoError(t, <-errs)
	}
	require.NoError(t, f.c.Close())
	require.NoError(t, f.c.Close())
	_, err := f.c.ProxyHosts.List(t.Context(), npm.ListOptions{})
	assert.Error(t, err)
}

func TestContextCancelled(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := f.c.ProxyHosts.List(ctx, npm.ListOptions{})
	require.ErrorIs(t, err, context.Canceled)
	assert.True(t, strings.HasPrefix(err.Error(), "npm: "))
}

func TestBaseURLMistakes(t *testing.T) {
	t.Parallel()
	// The admin UI answers HTML where the API was expected.
	ui := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		_, _ = w.Write([]byte("<!doctype html><html><body>Nginx Proxy Manager</body></html>"))
	}))
	t.Cleanup(ui.Close)
	c, err := npm.NewClient(ui.URL, npm.WithCredentials(npmtest.AdminEmail, secret.New(npmtest.AdminPassword)))
	require.NoError(t, err)
	_, err = c.Health(t.Context())
	require.Error(t, err)
	assert.Contains(t, err.Error(), "/api")

	// "/api" without the slash is redirected by the bundled nginx; the
	// client never follows redirects.
	srv := npmtest.NewServer()
	t.Cleanup(srv.Close)
	c, err = npm.NewClient(srv.URL+"/", npm.WithCredentials(npmtest.AdminEmail, secret.New(npmtest.AdminPassword)))
	require.NoError(t, err)
	h, err := c.Health(t.Context())
	require.NoError(t, err, "trailing slash of the base URL is trimmed")
	assert.Equal(t, "OK", h.Status)
}

// TLS is verified: a pinned fingerprint or given roots let the client in,
// anything else is refused.
func TestTLSPinningAndRoots(t *testing.T) {
	t.Parallel()
	ts := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"status":"OK","setup":true,"version":{"major":2,"minor":15,"revision":1}}`))
	}))
	ts.Config.ErrorLog = log.New(io.Discard, "", 0) // refused handshakes are the point
	ts.StartTLS()
	t.Cleanup(ts.Close)
	leaf := ts.Certificate()
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	other := sha256.Sum256([]byte("another certificate"))
	for _, tc := range []struct {
		name string
		opt  []npm.Option
		ok   bool
	}{
		{"system roots", nil, false},
		{"pinned", []npm.Option{npm.WithFingerprint(tlspin.Of(leaf).String())}, true},
		{"wrong pin", []npm.Option{npm.WithFingerprint("sha256:" + hex.EncodeToString(other[:]))}, false},
		{"root CAs", []npm.Option{npm.WithRootCAs(pool)}, true},
	} {
		c, err := npm.NewClient(ts.URL+"/api", append(tc.opt, npm.WithCredentials(npmtest.AdminEmail, secret.New(npmtest.AdminPassword)))...)
		require.NoError(t, err, tc.name)
		h, err := c.Health(t.Context())
		if tc.ok {
			require.NoError(t, err, tc.name)
			assert.Equal(t, "2.15.1", h.Version.String(), tc.name)
		} else {
			require.Error(t, err, tc.name)
		}
		if tc.name == "wrong pin" {
			var me *tlspin.MismatchError
			assert.ErrorAs(t, err, &me)
			// The alias users write reaches the fingerprint seen.
			var fe *npm.FingerprintMismatchError
			require.ErrorAs(t, err, &fe)
			assert.Equal(t, "sha256:"+tlspin.Of(leaf).String(), fe.Got)
		}
		require.NoError(t, c.Close())
	}
}

// Every error the client returns is an *npm.Error of its operation and
// matches its class sentinel.
func TestErrorClasses(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	ctx := t.Context()
	srv := npmtest.Start(t)
	srv.AddUser(npmtest.UserSpec{Email: "viewer@thehomelab.site", Password: "viewer-pass", Permissions: map[string]string{"certificates": "hidden"}})
	viewer, err := npm.NewClient(srv.URL, npm.WithCredentials("viewer@thehomelab.site", secret.New("viewer-pass")))
	require.NoError(t, err)
	wrong, err := npm.NewClient(srv.URL, npm.WithCredentials(npmtest.AdminEmail, secret.New("wrong-password")))
	require.NoError(t, err)
	dead, err := npm.NewClient("http://127.0.0.1:1/api", npm.WithCredentials(npmtest.AdminEmail, secret.New("x")), npm.WithRetries(0))
	require.NoError(t, err)
	closed, err := npm.NewClient(srv.URL, npm.WithCredentials(npmtest.AdminEmail, secret.New(npmtest.AdminPassword)))
	require.NoError(t, err)
	require.NoError(t, closed.Close())
	_, badOpt := npm.NewClient(srv.URL, npm.WithCredentials(npmtest.AdminEmail, secret.New("x")), npm.WithTimeout(-1))

	_, errNotFound := f.c.ProxyHosts.Get(ctx, 999)
	_, errConflict := f.c.ProxyHosts.Create(ctx, npm.ProxyHostSpec{Domains: []string{"nextcloud.thehomelab.site"}, ForwardHost: "x", ForwardPort: 80})
	_, errInvalid := f.c.ProxyHosts.Create(ctx, npm.ProxyHostSpec{Domains: []string{"x.thehomelab.site"}})
	_, errPerm := viewer.Certificates.List(ctx)
	_, errAuth := wrong.Certificates.List(ctx)
	_, errUnavail := dead.Health(ctx)
	_, errClosed := closed.ProxyHosts.List(ctx, npm.ListOptions{})
	for _, tc := range []struct {
		err   error
		class error
	}{
		{errNotFound, npm.ErrNotFound}, {errConflict, npm.ErrConflict}, {errInvalid, npm.ErrInvalid},
		{errPerm, npm.ErrPermission}, {errAuth, npm.ErrAuth}, {errUnavail, npm.ErrUnavailable},
		{errClosed, npm.ErrClosed}, {badOpt, npm.ErrInvalid},
	} {
		require.Error(t, tc.err, tc.class.Error())
		assert.ErrorIs(t, tc.err, tc.class)
		var ae *npm.Error
		assert.ErrorAs(t, tc.err, &ae, tc.class.Error())
		assert.Equal(t, 1, strings.Count(tc.err.Error(), "npm: "), "one prefix: %v", tc.err)
		for _, other := range []error{npm.ErrNotFound, npm.ErrAuth, npm.ErrPermission, npm.ErrConflict, npm.ErrInvalid, npm.ErrUnavailable, npm.ErrClosed} {
			if other != tc.class {
				assert.NotErrorIs(t, tc.err, other, "%v", tc.err)
			}
		}
	}
}

// A server that accepts and never answers costs WithTimeout, never a hang.
func TestTimeoutBoundsACall(t *testing.T) {
	t.Parallel()
	srv := npmtest.Start(t)
	srv.SetLatency(time.Minute)
	c, err := npm.NewClient(srv.URL, npm.WithCredentials(npmtest.AdminEmail, secret.New(npmtest.AdminPassword)), npm.WithTimeout(200*time.Millisecond))
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	start := time.Now()
	_, err = c.Expose(t.Context(), npm.App{FQDN: "a.thehomelab.site", ForwardHost: "a", ForwardPort: 80})
	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Less(t, time.Since(start), 5*time.Second)
}

// A view-only user's create answers 500 "Internal Error" on 2.13–2.15
// (the create route of backend/routes/nginx/proxy_hosts.js crashes on the
// undefined permission error of backend/lib/access.js); the client reads
// the user's permissions and reports ErrPermission. A 500 of a user who may
// manage hosts stays what it is.
func TestCreateWithoutPermissionIs500(t *testing.T) {
	t.Parallel()
	srv := npmtest.Start(t)
	srv.AddUser(npmtest.UserSpec{Email: "viewer@thehomelab.site", Password: "viewer-pass", Visibility: "all", Permissions: map[string]string{"proxy_hosts": "view"}})
	c, err := npm.NewClient(srv.URL, npm.WithCredentials("viewer@thehomelab.site", secret.New("viewer-pass")))
	require.NoError(t, err)
	spec := npm.ProxyHostSpec{Domains: []string{"x.thehomelab.site"}, ForwardHost: "x", ForwardPort: 80}
	_, err = c.ProxyHosts.Create(t.Context(), spec)
	require.ErrorIs(t, err, npm.ErrPermission)
	var ae *npm.Error
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, 500, ae.StatusCode, "what the server answered")
	assert.Contains(t, err.Error(), `permission "view"`)
	_, err = c.Expose(t.Context(), npm.App{FQDN: "y.thehomelab.site", ForwardHost: "y", ForwardPort: 80})
	require.ErrorIs(t, err, npm.ErrPermission)
	assert.Len(t, srv.Hosts("proxy_hosts"), 11)

	// A user deleted since login cannot even read itself: ErrPermission.
	id := srv.AddUser(npmtest.UserSpec{Email: "gone@thehomelab.site", Password: "gone-pass", Admin: true})
	gone, err := npm.NewClient(srv.URL, npm.WithCredentials("gone@thehomelab.site", secret.New("gone-pass")))
	require.NoError(t, err)
	require.NoError(t, gone.Login(t.Context()))
	srv.DeleteUser(id)
	_, err = gone.ProxyHosts.Create(t.Context(), spec)
	require.ErrorIs(t, err, npm.ErrPermission)

	f := newFixture(t, nil)
	f.srv.Inject(npmtest.Fault{Method: http.MethodPost, Path: "/nginx/proxy-hosts", Times: 1})
	_, err = f.c.ProxyHosts.Create(t.Context(), spec)
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, 500, ae.StatusCode)
	assert.NotErrorIs(t, err, npm.ErrPermission, "an admin's 500 is a real failure")
}

// http:// with a pin or root CAs is refused (clientcfg.ParseURL): nothing
// would verify the server and the password would cross the network in
// clear while the caller believes it pinned.
func TestPinOverPlainHTTPRefused(t *testing.T) {
	t.Parallel()
	srv := npmtest.Start(t)
	creds := npm.WithCredentials(npmtest.AdminEmail, secret.New(npmtest.AdminPassword))
	pool := x509.NewCertPool()
	for _, opt := range []npm.Option{npm.WithFingerprint("sha256:" + strings.Repeat("AB", 32)), npm.WithRootCAs(pool)} {
		_, err := npm.NewClient(srv.URL, creds, opt)
		require.ErrorIs(t, err, npm.ErrInvalid)
		assert.Contains(t, err.Error(), "https://")
	}
	assert.Empty(t, srv.Requests(), "nothing sent")
}

// NPM on SQLite writes dates in the server's local time without a zone
// (backend/models/now_helper.js: datetime('now','localtime')); with TZ set
// in the container they read hours off unless the client knows the zone.
func TestServerLocation(t *testing.T) {
	t.Parallel()
	berlin := time.FixedZone("CEST", 2*3600)
	t0 := time.Date(2026, 6, 3, 10, 4, 5, 0, time.UTC)
	srv := npmtest.Start(t, npmtest.WithSQLiteDates(), npmtest.WithLocation(berlin), npmtest.WithClock(func() time.Time { return t0 }))
	creds := npm.WithCredentials(npmtest.AdminEmail, secret.New(npmtest.AdminPassword))

	seeded := t0.Add(-30 * 24 * time.Hour) // when npmtest seeds the lab

	naive, err := npm.NewClient(srv.URL, creds)
	require.NoError(t, err)
	h, err := naive.ProxyHosts.Get(t.Context(), 1)
	require.NoError(t, err)
	assert.Equal(t, 2*time.Hour, h.CreatedOn.Sub(seeded), "read as UTC: two hours off")

	c, err := npm.NewClient(srv.URL, creds, npm.WithServerLocation(berlin))
	require.NoError(t, err)
	h, err = c.ProxyHosts.Get(t.Context(), 1, npm.ExpandCertificate)
	require.NoError(t, err)
	assert.True(t, seeded.Equal(h.CreatedOn), "%v", h.CreatedOn)
	require.NotNil(t, h.Certificate)
	assert.True(t, seeded.Equal(h.Certificate.CreatedOn))
	certs, err := c.Certificates.List(t.Context())
	require.NoError(t, err)
	require.NotEmpty(t, certs)
	assert.True(t, seeded.Add(90*24*time.Hour).Equal(certs[0].ExpiresOn), "expires_on read in the zone too: %v", certs[0].ExpiresOn)

	_, err = npm.NewClient(srv.URL, creds, npm.WithServerLocation(nil))
	require.ErrorIs(t, err, npm.ErrInvalid)
}

// A build from source reports 2.0.0 (backend/package.json in git): the
// client takes the fields from the OpenAPI document the server serves
// (GET /schema, backend/routes/schema.js) and says so in a Debug line.
func TestUnknownVersionProbesSchema(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		behaves            string
		tfp, keyType, mail bool
		schema             bool
	}{
		{"2.15.1", true, true, false, true},
		{"2.13.7", false, true, false, true},
		{"2.12.6", false, false, true, true},
		{"2.11.3", true, true, false, false}, // no schema: the newest payloads
	} {
		t.Run(tc.behaves, func(t *testing.T) {
			t.Parallel()
			srv := npmtest.Start(t, npmtest.WithVersion(tc.behaves), npmtest.WithReportedVersion("2.0.0"))
			var logs bytes.Buffer
			c, err := npm.NewClient(srv.URL, npm.WithCredentials(npmtest.AdminEmail, secret.New(npmtest.AdminPassword)),
				npm.WithLogger(slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))))
			require.NoError(t, err)
			ctx := t.Context()
			v, err := c.ServerVersion(ctx)
			require.NoError(t, err)
			assert.Equal(t, "2.0.0", v.String())

			_, err = c.ProxyHosts.Create(ctx, npm.ProxyHostSpec{Domains: []string{"p.thehomelab.site"}, ForwardHost: "p", ForwardPort: 80, TrustForwardedProto: npm.Ptr(true)})
			if tc.tfp {
				if tc.schema {
					require.NoError(t, err)
				}
			} else {
				require.ErrorIs(t, err, npm.ErrUnsupported, "refused before sending")
			}
			_, err = c.Certificates.CreateLetsEncrypt(ctx, npm.LetsEncryptRequest{Domains: []string{"k.thehomelab.site"}, CloudflareToken: secret.New("cf-token-123456"), KeyType: "ecdsa"})
			if tc.keyType {
				if tc.schema {
					require.NoError(t, err)
				}
			} else {
				require.ErrorIs(t, err, npm.ErrUnsupported)
			}
			_, err = c.Certificates.CreateLetsEncrypt(ctx, npm.LetsEncryptRequest{Domains: []string{"m.thehomelab.site"}, CloudflareToken: secret.New("cf-token-123456")})
			switch {
			case tc.mail:
				require.ErrorIs(t, err, npm.ErrInvalid, "letsencrypt_email is required there: %v", err)
			case tc.schema:
				require.NoError(t, err)
			default:
				// Guessed wrong without a schema; certbot's reason says why.
				require.ErrorContains(t, err, "--email")
			}
			out := logs.String()
			assert.Equal(t, 1, strings.Count(out, "version 2.0.0"), "one Debug line: %s", out)
			if tc.schema {
				assert.Contains(t, out, "payloads follow its schema")
			} else {
				assert.Contains(t, out, "serves no usable schema")
			}
			assert.Contains(t, out, fmt.Sprintf("trust_forwarded_proto=%v", tc.tfp))
		})
	}
}

// Issuing a certificate outlasts WithTimeout (NPM answers once certbot is
// done): CreateLetsEncrypt is bounded by WithIssueTimeout, while a silent
// server is still found out in WithTimeout (TestTimeoutBoundsACall).
func TestIssuanceOutlastsWithTimeout(t *testing.T) {
	t.Parallel()
	srv := npmtest.Start(t)
	srv.SetCertificateLatency(600 * time.Millisecond)
	c, err := npm.NewClient(srv.URL, npm.WithCredentials(npmtest.AdminEmail, secret.New(npmtest.AdminPassword)),
		npm.WithTimeout(300*time.Millisecond), npm.WithIssueTimeout(time.Minute))
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	cert, err := c.Certificates.CreateLetsEncrypt(t.Context(), npm.LetsEncryptRequest{
		Domains: []string{"slow.thehomelab.site"}, Email: "admin@thehomelab.site",
		CloudflareToken: secret.New("cf-token"),
	})
	require.NoError(t, err)
	assert.Equal(t, []string{"slow.thehomelab.site"}, cert.Domains)

	_, err = npm.NewClient(srv.URL, npm.WithCredentials(npmtest.AdminEmail, secret.New(npmtest.AdminPassword)), npm.WithIssueTimeout(0))
	assert.ErrorContains(t, err, "WithIssueTimeout")
}

// An answer over the 32 MiB cap says it was too large and matches
// ErrTooLarge and ErrUnavailable, as in every package, instead of matching
// no class.
func TestAnswerTooLarge(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"status":"`)
		chunk := strings.Repeat("x", 1<<20)
		for range 33 {
			if _, err := io.WriteString(w, chunk); err != nil {
				return
			}
		}
		_, _ = io.WriteString(w, `"}`)
	}))
	t.Cleanup(srv.Close)
	c, err := npm.NewClient(srv.URL, npm.WithCredentials(npmtest.AdminEmail, secret.New(npmtest.AdminPassword)), npm.WithRetries(0))
	require.NoError(t, err)
	_, err = c.Health(t.Context())
	require.Error(t, err)
	assert.ErrorIs(t, err, npm.ErrTooLarge)
	assert.ErrorIs(t, err, npm.ErrUnavailable)
	assert.Contains(t, err.Error(), "more than 32 MiB")
	var e *npm.Error
	require.ErrorAs(t, err, &e)
	assert.Equal(t, http.StatusOK, e.StatusCode)
}
