package npm_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/thehomelab/homelab/npm"
	"github.com/thehomelab/homelab/npm/npmtest"
	"github.com/thehomelab/homelab/secret"
)

func app(fqdn string) npm.App {
	return npm.App{FQDN: fqdn, ForwardHost: "uptime-kuma", ForwardPort: 3001, Websockets: true, HTTP2: true, HSTS: true, BlockExploits: true}
}

func TestExposeReusesWildcard(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	ctx := t.Context()
	r, err := f.c.Expose(ctx, app("status.thehomelab.site"))
	require.NoError(t, err)
	assert.False(t, r.CertificateCreated)
	assert.EqualValues(t, npmtest.WildcardCertificateID, r.Certificate.ID)
	assert.Equal(t, npm.Created, r.Action)
	h := r.ProxyHost
	assert.True(t, h.SSLForced && h.HTTP2Support && h.HSTSEnabled && h.BlockExploits && h.AllowWebsocketUpgrade)

	r, err = f.c.Expose(ctx, app("status.thehomelab.site"))
	require.NoError(t, err)
	assert.Equal(t, npm.Unchanged, r.Action, "%v", r.Changes)
	assert.Len(t, f.srv.Certificates(), 1)

	// Another covering certificate that lives longer does not make the
	// host switch: its own certificate is still good.
	_, err = f.c.Certificates.CreateLetsEncrypt(ctx, npm.LetsEncryptRequest{Domains: []string{"status.thehomelab.site"}, CloudflareToken: secret.New("cf-token-abcdef")})
	require.NoError(t, err)
	r, err = f.c.Expose(ctx, app("status.thehomelab.site"))
	require.NoError(t, err)
	assert.Equal(t, npm.Unchanged, r.Action)
	assert.EqualValues(t, npmtest.WildcardCertificateID, r.Certificate.ID)
}

func TestExposeWithAccessList(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	a := app("kuma.thehomelab.site")
	a.AccessListID = npmtest.LANAccessListID
	r, err := f.c.Expose(t.Context(), a)
	require.NoError(t, err)
	assert.EqualValues(t, npmtest.LANAccessListID, r.ProxyHost.AccessListID)
	require.NotNil(t, r.ProxyHost.AccessList)
	assert.Equal(t, "lan-only", r.ProxyHost.AccessList.Name)
	// Making it public again is a one-field change.
	a.AccessListID = 0
	r, err = f.c.Expose(t.Context(), a)
	require.NoError(t, err)
	assert.Equal(t, []npm.Change{{Field: "access_list_id", Old: "1", New: "0"}}, r.Changes)
}

func TestExposeIssuesCertificate(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	ctx := t.Context()
	a := app("status.example.org")
	_, err := f.c.Expose(ctx, a)
	require.ErrorIs(t, err, npm.ErrInvalid, "no covering certificate and no token")

	a.CloudflareToken = secret.New("cf-token-for-example-org")
	r, err := f.c.Expose(ctx, a)
	require.NoError(t, err)
	assert.True(t, r.CertificateCreated)
	assert.Equal(t, []string{"status.example.org"}, r.Certificate.Domains)
	assert.Equal(t, r.Certificate.ID, r.ProxyHost.CertificateID)

	// Second run reuses it.
	r, err = f.c.Expose(ctx, a)
	require.NoError(t, err)
	assert.False(t, r.CertificateCreated)
	assert.Equal(t, npm.Unchanged, r.Action)

	// Close to expiry the certificate is not reused.
	f.srv.Advance(85 * 24 * time.Hour)
	r, err = f.c.Expose(ctx, a)
	require.NoError(t, err)
	assert.True(t, r.CertificateCreated)
	assert.Equal(t, npm.Updated, r.Action)
}

func TestExposeFailuresLeaveNothing(t *testing.T) {
	t.Parallel()
	t.Run("nginx rejects new host", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, nil)
		f.srv.FailNginx(func(c npmtest.NginxConfig) error {
			if c.ForwardHost == "uptime-kuma" {
				return errors.New("host not found in upstream \"uptime-kuma\"")
			}
			return nil
		})
		a := app("status.example.org")
		a.CloudflareToken = secret.New("cf-token-for-example-org")
		_, err := f.c.Expose(t.Context(), a)
		require.ErrorIs(t, err, npm.ErrNginx)
		assert.Len(t, f.srv.Hosts("proxy_hosts"), 11, "no orphan host")
		assert.Len(t, f.srv.Certificates(), 1, "issued certificate removed")
	})
	t.Run("nginx rejects changed host", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, nil)
		f.srv.FailNginx(func(c npmtest.NginxConfig) error {
			if c.ForwardPort == 9999 {
				return errors.New("bind() failed")
			}
			return nil
		})
		a := app("nextcloud.thehomelab.site")
		a.ForwardHost, a.ForwardPort = "nextcloud", 9999
		_, err := f.c.Expose(t.Context(), a)
		require.ErrorIs(t, err, npm.ErrNginx)
		h, err := f.c.ProxyHosts.Get(t.Context(), 5)
		require.NoError(t, err)
		assert.Equal(t, 80, h.ForwardPort, "previous settings restored")
		assert.Len(t, f.srv.Hosts("proxy_hosts"), 11)
	})
	t.Run("create answers 500 but stores the host", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, nil)
		f.srv.FailNginxPretest(func(npmtest.NginxConfig) error { return errors.New("nginx: [emerg] bind() failed") })
		_, err := f.c.Expose(t.Context(), app("status.thehomelab.site"))
		var ae *npm.Error
		require.ErrorAs(t, err, &ae)
		assert.Equal(t, 500, ae.StatusCode)
		assert.Len(t, f.srv.Hosts("proxy_hosts"), 11, "stored row found by domain and deleted")
		// And ProxyHosts.Ensure recovers from the stored row on its own.
		_, err = f.c.ProxyHosts.Ensure(t.Context(), npm.ProxyHostSpec{Domains: []string{"retry.thehomelab.site"}, ForwardHost: "r", ForwardPort: 80})
		require.Error(t, err)
		f.srv.FailNginxPretest(nil)
		r, err := f.c.ProxyHosts.Ensure(t.Context(), npm.ProxyHostSpec{Domains: []string{"retry.thehomelab.site"}, ForwardHost: "r", ForwardPort: 80})
		require.NoError(t, err)
		assert.Equal(t, npm.Unchanged, r.Action)
	})
	t.Run("nginx rejects a disabled host being enabled", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, nil)
		require.NoError(t, f.c.ProxyHosts.Disable(t.Context(), 3))
		f.srv.FailNginx(func(c npmtest.NginxConfig) error {
			if c.ForwardPort == 8081 {
				return errors.New("bind() failed")
			}
			return nil
		})
		a := app("heimdall.thehomelab.site")
		a.ForwardHost, a.ForwardPort = "heimdall", 8081
		_, err := f.c.Expose(t.Context(), a)
		require.ErrorIs(t, err, npm.ErrNginx)
		h, err := f.c.ProxyHosts.Get(t.Context(), 3)
		require.NoError(t, err)
		assert.False(t, h.Enabled, "left disabled as it was")
		assert.Equal(t, 80, h.ForwardPort)
	})
	t.Run("certificate fails", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, nil)
		f.srv.FailCertificates(func([]string) error { return errors.New("acme: unauthorized") })
		a := app("status.example.org")
		a.CloudflareToken = secret.New("cf-token-for-example-org")
		_, err := f.c.Expose(t.Context(), a)
		require.Error(t, err)
		assert.Len(t, f.srv.Hosts("proxy_hosts"), 11)
		assert.Len(t, f.srv.Certificates(), 1)
	})
	t.Run("slow certificate cancelled", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, nil)
		require.NoError(t, f.c.Login(t.Context()))
		// As on a real NPM, certbot goes on after the client hangs up.
		f.srv.DetachIssuance(true)
		f.srv.SetCertificateLatency(500 * time.Millisecond)
		ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
		defer cancel()
		a := app("status.example.org")
		a.CloudflareToken = secret.New("cf-token-for-example-org")
		_, err := f.c.Expose(ctx, a)
		require.ErrorIs(t, err, context.DeadlineExceeded)
		assert.Len(t, f.srv.Hosts("proxy_hosts"), 11)
		assert.Never(t, func() bool { return len(f.srv.Certificates()) != 1 }, time.Second, 20*time.Millisecond, "no certificate left behind")
	})
	t.Run("domain taken by a redirection host", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, nil)
		_, err := f.c.Expose(t.Context(), app("www.thehomelab.site"))
		require.ErrorIs(t, err, npm.ErrConflict)
		assert.Len(t, f.srv.Hosts("proxy_hosts"), 11)
	})
	t.Run("undo that fails is reported", func(t *testing.T) {
		t.Parallel()
		isPut := func(r *http.Request) bool { return r.Method == http.MethodPut }
		isDelete := func(r *http.Request) bool { return r.Method == http.MethodDelete }
		for name, tc := range map[string]struct {
			match   func(*http.Request) bool
			nth     int64
			fqdn    string
			port    int
			certDel bool
		}{
			"restore of a changed host":        {isPut, 2, "nextcloud.thehomelab.site", 9999, false},
			"delete of the issued certificate": {isDelete, 2, "status.example.org", 9999, true},
		} {
			f := newFailingFixture(t, tc.match, tc.nth)
			f.srv.FailNginx(func(c npmtest.NginxConfig) error {
				if c.ForwardPort == 9999 {
					return errors.New("bind() failed")
				}
				return nil
			})
			a := app(tc.fqdn)
			a.ForwardHost, a.ForwardPort = "nextcloud", tc.port
			a.CloudflareToken = secret.New("cf-token-for-example-org")
			r, err := f.c.Expose(t.Context(), a)
			require.ErrorIs(t, err, npm.ErrNginx, name)
			// The nginx rejection comes first; the failed undo is joined to
			// it, an *Error of its own.
			assert.True(t, hasStatus(err, 500), "%s: the failed undo is part of the error: %v", name, err)
			if tc.certDel {
				assert.True(t, r.CertificateCreated, "%s: the certificate that could not be removed is reported", name)
				assert.Contains(t, err.Error(), "delete certificate", name)
			} else {
				assert.Contains(t, err.Error(), "restore proxy host", name)
			}
		}
	})
	t.Run("cancelled while the host is being created", func(t *testing.T) {
		t.Parallel()
		srv := npmtest.NewServer()
		t.Cleanup(srv.Close)
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		lose := &losing{base: http.DefaultTransport, cancel: cancel, match: func(r *http.Request) bool {
			return r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/nginx/proxy-hosts")
		}}
		c, err := npm.NewClient(srv.URL, npm.WithCredentials(npmtest.AdminEmail, secret.New(npmtest.AdminPassword)),
			npm.WithHTTPClient(&http.Client{Transport: lose}), npm.WithClock(srv.Now))
		require.NoError(t, err)
		t.Cleanup(func() { _ = c.Close() })
		a := app("status.example.org")
		a.CloudflareToken = secret.New("cf-token-for-example-org")
		_, err = c.Expose(ctx, a)
		require.ErrorIs(t, err, context.Canceled)
		require.True(t, lose.done.Load(), "the host create reached the server")
		assert.Len(t, srv.Hosts("proxy_hosts"), 11, "the host the server stored is removed")
		assert.Len(t, srv.Certificates(), 1, "the certificate issued for it is removed")
	})
	t.Run("another client creates the host first", func(t *testing.T) {
		t.Parallel()
		srv := npmtest.NewServer()
		t.Cleanup(srv.Close)
		other, err := npm.NewClient(srv.URL, npm.WithCredentials(npmtest.AdminEmail, secret.New(npmtest.AdminPassword)))
		require.NoError(t, err)
		t.Cleanup(func() { _ = other.Close() })
		// Between Expose's list and its create, another client takes
		// the name: the create is refused, and the other client's host
		// must survive Expose's undo.
		hook := &hooked{base: http.DefaultTransport,
			match: func(r *http.Request) bool {
				return r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/nginx/proxy-hosts")
			},
			before: func() {
				_, err := other.ProxyHosts.Create(context.Background(), npm.ProxyHostSpec{Domains: []string{"status.thehomelab.site"}, ForwardHost: "kuma", ForwardPort: 3001})
				assert.NoError(t, err, "the other client's create")
			}}
		c, err := npm.NewClient(srv.URL, npm.WithCredentials(npmtest.AdminEmail, secret.New(npmtest.AdminPassword)),
			npm.WithHTTPClient(&http.Client{Transport: hook}))
		require.NoError(t, err)
		t.Cleanup(func() { _ = c.Close() })
		_, err = c.Expose(t.Context(), app("status.thehomelab.site"))
		require.ErrorIs(t, err, npm.ErrConflict)
		require.True(t, hook.done.Load())
		hs := srv.Hosts("proxy_hosts")
		require.Len(t, hs, 12, "the other client's host is kept")
		assert.Equal(t, []string{"status.thehomelab.site"}, hs[11].Domains)
	})
}
