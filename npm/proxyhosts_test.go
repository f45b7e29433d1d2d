package npm_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/thehomelab/homelab/npm"
	"github.com/thehomelab/homelab/npm/npmtest"
)

func TestProxyHostLifecycle(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	ctx := t.Context()

	hs, err := f.c.ProxyHosts.List(ctx, npm.ListOptions{Expand: []string{npm.ExpandCertificate, npm.ExpandAccessList}})
	require.NoError(t, err)
	require.Len(t, hs, 11)
	assert.Equal(t, []string{"checkmk.thehomelab.site"}, hs[0].Domains, "sorted by domain")
	require.NotNil(t, hs[0].Certificate)
	assert.EqualValues(t, npmtest.WildcardCertificateID, hs[0].Certificate.ID)
	require.NotNil(t, hs[0].AccessList)
	assert.Equal(t, "lan-only", hs[0].AccessList.Name)

	h, err := f.c.ProxyHosts.Create(ctx, npm.ProxyHostSpec{
		Domains: []string{"wiki.thehomelab.site", "docs.thehomelab.site"}, ForwardHost: "wiki", ForwardPort: 3000,
		CertificateID: npmtest.WildcardCertificateID, SSLForced: true, HSTSEnabled: true, BlockExploits: true,
		Locations: []npm.Location{{Path: "/api", ForwardHost: "wiki-api", ForwardPort: 8080}},
	})
	require.NoError(t, err)
	assert.Equal(t, []string{"docs.thehomelab.site", "wiki.thehomelab.site"}, h.Domains)
	assert.Equal(t, "http", h.ForwardScheme)
	require.NotNil(t, h.NginxOnline, "read back after create")
	assert.True(t, *h.NginxOnline)
	assert.True(t, h.Enabled)
	require.Len(t, h.Locations, 1)
	assert.Equal(t, "wiki-api", h.Locations[0].ForwardHost)
	assert.False(t, h.CreatedOn.IsZero())

	// Partial update: only forward_port changes.
	h2, err := f.c.ProxyHosts.Update(ctx, h.ID, npm.ProxyHostUpdate{ForwardPort: npm.Ptr(3001)})
	require.NoError(t, err)
	assert.Equal(t, 3001, h2.ForwardPort)
	assert.Equal(t, "wiki", h2.ForwardHost)
	assert.True(t, h2.SSLForced)

	require.NoError(t, f.c.ProxyHosts.Disable(ctx, h.ID))
	err = f.c.ProxyHosts.Disable(ctx, h.ID)
	require.ErrorIs(t, err, npm.ErrConflict)
	assert.Contains(t, err.Error(), "Host is already disabled")
	h3, err := f.c.ProxyHosts.Enable(ctx, h.ID)
	require.NoError(t, err)
	assert.True(t, h3.Enabled)

	require.NoError(t, f.c.ProxyHosts.Delete(ctx, h.ID))
	_, err = f.c.ProxyHosts.Get(ctx, h.ID)
	require.ErrorIs(t, err, npm.ErrNotFound)
	err = f.c.ProxyHosts.Delete(ctx, h.ID)
	require.ErrorIs(t, err, npm.ErrNotFound)

	// Ids are never reused after a soft delete.
	h4, err := f.c.ProxyHosts.Create(ctx, npm.ProxyHostSpec{Domains: []string{"wiki.thehomelab.site"}, ForwardHost: "wiki", ForwardPort: 3000})
	require.NoError(t, err)
	assert.Greater(t, h4.ID, h.ID)

	found, err := f.c.ProxyHosts.List(ctx, npm.ListOptions{Query: "wiki"})
	require.NoError(t, err)
	require.Len(t, found, 1)
}

func TestProxyHostDuplicateDomain(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	ctx := t.Context()
	// Case-insensitive and across types: www. belongs to a redirection host.
	for _, d := range []string{"NEXTCLOUD.thehomelab.site", "www.thehomelab.site"} {
		_, err := f.c.ProxyHosts.Create(ctx, npm.ProxyHostSpec{Domains: []string{d}, ForwardHost: "x", ForwardPort: 80})
		require.ErrorIs(t, err, npm.ErrConflict, d)
		assert.Contains(t, err.Error(), d+" is already in use")
	}
	assert.Len(t, f.srv.Hosts("proxy_hosts"), 11, "nothing created")
}

func TestProxyHostValidation(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	ctx := t.Context()
	for _, tc := range []struct {
		name string
		spec npm.ProxyHostSpec
		msg  string
	}{
		{"bad domain", npm.ProxyHostSpec{Domains: []string{"a b.thehomelab.site"}, ForwardHost: "x", ForwardPort: 80}, "data/domain_names/0 must match pattern"},
		{"duplicate", npm.ProxyHostSpec{Domains: []string{"d.thehomelab.site", "d.thehomelab.site"}, ForwardHost: "x", ForwardPort: 80}, "must NOT have duplicate items"},
		{"scheme", npm.ProxyHostSpec{Domains: []string{"s.thehomelab.site"}, ForwardScheme: "ftp", ForwardHost: "x", ForwardPort: 80}, "data/forward_scheme must be equal to one of the allowed values"},
	} {
		_, err := f.c.ProxyHosts.Create(ctx, tc.spec)
		require.ErrorIs(t, err, npm.ErrInvalid, tc.name)
		assert.Contains(t, err.Error(), tc.msg, tc.name)
	}
	// Client-side checks never reach the server.
	_, err := f.c.ProxyHosts.Create(ctx, npm.ProxyHostSpec{Domains: []string{"p.thehomelab.site"}, ForwardHost: "x", ForwardPort: 70000})
	require.ErrorIs(t, err, npm.ErrInvalid)
	_, err = f.c.ProxyHosts.Update(ctx, 1, npm.ProxyHostUpdate{})
	require.ErrorIs(t, err, npm.ErrInvalid)
}

func TestProxyHostVersionAwarePayloads(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		version string
		tfp     bool
	}{{"2.11.3", false}, {"2.12.6", false}, {"2.13.7", false}, {"2.14.0", true}, {"2.15.1", true}} {
		t.Run(tc.version, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, []npmtest.Option{npmtest.WithVersion(tc.version), npmtest.WithSQLiteDates()})
			ctx := t.Context()
			spec := npm.ProxyHostSpec{Domains: []string{"v.thehomelab.site"}, ForwardHost: "v", ForwardPort: 80, BlockExploits: true}
			h, err := f.c.ProxyHosts.Create(ctx, spec)
			require.NoError(t, err, "no trust_forwarded_proto sent to old servers")
			assert.True(t, h.BlockExploits, "0/1 and true/false booleans decode")
			assert.False(t, h.CreatedOn.IsZero(), "SQLite dates decode")
			_, err = f.c.ProxyHosts.Update(ctx, h.ID, npm.ProxyHostUpdate{TrustForwardedProto: npm.Ptr(true)})
			if tc.tfp {
				require.NoError(t, err)
			} else {
				require.ErrorIs(t, err, npm.ErrUnsupported)
			}
			// Ensure twice: the second run changes nothing on every version.
			_, err = f.c.ProxyHosts.Ensure(ctx, spec)
			require.NoError(t, err)
			r, err := f.c.ProxyHosts.Ensure(ctx, spec)
			require.NoError(t, err)
			assert.Equal(t, npm.Unchanged, r.Action, "%v", r.Changes)
		})
	}
}

func TestNginxFailureLooksLikeSuccess(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	ctx := t.Context()
	f.srv.FailNginx(func(c npmtest.NginxConfig) error {
		if strings.Contains(c.AdvancedConfig, "bogus") {
			return errors.New(`unknown directive "bogus" in /data/nginx/proxy_host/12.conf:20`)
		}
		return nil
	})
	h, err := f.c.ProxyHosts.Create(ctx, npm.ProxyHostSpec{Domains: []string{"n.thehomelab.site"}, ForwardHost: "n", ForwardPort: 80, AdvancedConfig: "bogus on;"})
	require.ErrorIs(t, err, npm.ErrNginx)
	var ne *npm.NginxError
	require.ErrorAs(t, err, &ne)
	assert.Contains(t, ne.Message, "unknown directive")
	assert.NotZero(t, h.ID, "the host exists")

	// Update of an enabled host: the answer carries the nginx result.
	_, err = f.c.ProxyHosts.Update(ctx, 1, npm.ProxyHostUpdate{AdvancedConfig: npm.Ptr("bogus;")})
	require.ErrorIs(t, err, npm.ErrNginx)
	_, err = f.c.ProxyHosts.Update(ctx, 1, npm.ProxyHostUpdate{AdvancedConfig: npm.Ptr("")})
	require.NoError(t, err)

	// An unchanged host that nginx rejects is still reported.
	_, err = f.c.ProxyHosts.Ensure(ctx, npm.ProxyHostSpec{Domains: []string{"n.thehomelab.site"}, ForwardHost: "n", ForwardPort: 80, AdvancedConfig: "bogus on;"})
	require.ErrorIs(t, err, npm.ErrNginx)
}

func TestEnsureProxyHost(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	ctx := t.Context()
	specs := seedSpecs()

	// Unchanged seed host: one request.
	f.n.n.Store(0)
	_, err := f.c.ProxyHosts.Ensure(ctx, specs[4]) // login + health on first use
	require.NoError(t, err)
	f.n.n.Store(0)
	r, err := f.c.ProxyHosts.Ensure(ctx, specs[4])
	require.NoError(t, err)
	assert.Equal(t, npm.Unchanged, r.Action)
	assert.Empty(t, r.Changes)
	assert.EqualValues(t, 1, f.n.n.Load())

	// Domains in another order and case are the same set.
	sp := specs[4]
	sp.Domains = []string{"Nextcloud.TheHomelab.site"}
	r, err = f.c.ProxyHosts.Ensure(ctx, sp)
	require.NoError(t, err)
	assert.Equal(t, npm.Unchanged, r.Action)

	// A change sends only the difference and reports it.
	sp = specs[4]
	sp.ForwardPort = 8080
	sp.AllowWebsocketUpgrade = true
	r, err = f.c.ProxyHosts.Ensure(ctx, sp)
	require.NoError(t, err)
	assert.Equal(t, npm.Updated, r.Action)
	assert.ElementsMatch(t, []npm.Change{{Field: "forward_port", Old: "80", New: "8080"}, {Field: "allow_websocket_upgrade", Old: "false", New: "true"}}, r.Changes)
	assert.Equal(t, 8080, r.ProxyHost.ForwardPort)
	r, err = f.c.ProxyHosts.Ensure(ctx, sp)
	require.NoError(t, err)
	assert.Equal(t, npm.Unchanged, r.Action)

	// HTTP/2 and HSTS without a certificate are cleared by the server; the
	// spec is compared after the same rewrite, so it converges.
	plain := npm.ProxyHostSpec{Domains: []string{"plain.thehomelab.site", "alt.thehomelab.site"}, ForwardHost: "p", ForwardPort: 80, HTTP2Support: true, HSTSEnabled: true, SSLForced: true}
	r, err = f.c.ProxyHosts.Ensure(ctx, plain)
	require.NoError(t, err)
	assert.Equal(t, npm.Created, r.Action)
	assert.False(t, r.ProxyHost.HTTP2Support)
	r, err = f.c.ProxyHosts.Ensure(ctx, plain)
	require.NoError(t, err)
	assert.Equal(t, npm.Unchanged, r.Action, "%v", r.Changes)

	// Disabled state goes through the disable endpoint.
	plain.Disabled = true
	r, err = f.c.ProxyHosts.Ensure(ctx, plain)
	require.NoError(t, err)
	assert.Equal(t, npm.Updated, r.Action)
	assert.Equal(t, []npm.Change{{Field: "enabled", Old: "true", New: "false"}}, r.Changes)
	hs := f.srv.Hosts("proxy_hosts")
	assert.False(t, hs[len(hs)-1].Enabled)
	plain.Disabled = false
	r, err = f.c.ProxyHosts.Ensure(ctx, plain)
	require.NoError(t, err)
	assert.True(t, r.ProxyHost.Enabled)

	// A host found by one shared domain gets the new domain set.
	grow := plain
	grow.Domains = []string{"plain.thehomelab.site", "alt.thehomelab.site", "more.thehomelab.site"}
	r, err = f.c.ProxyHosts.Ensure(ctx, grow)
	require.NoError(t, err)
	assert.Equal(t, npm.Updated, r.Action)
	assert.Equal(t, []string{"alt.thehomelab.site", "more.thehomelab.site", "plain.thehomelab.site"}, r.ProxyHost.Domains)
}

func TestEnsureAllSeedApps(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	ctx := t.Context()
	require.NoError(t, f.c.Login(ctx))
	_, err := f.c.ServerVersion(ctx)
	require.NoError(t, err)
	f.n.n.Store(0)
	rs, err := f.c.ProxyHosts.EnsureAll(ctx, seedSpecs())
	require.NoError(t, err)
	require.Len(t, rs, 11)
	for _, r := range rs {
		assert.Equal(t, npm.Unchanged, r.Action, "%v: %v", r.ProxyHost.Domains, r.Changes)
	}
	assert.LessOrEqual(t, f.n.n.Load(), int64(3))
	assert.EqualValues(t, 1, f.n.n.Load())

	// One app moved to another port: list + one PUT.
	specs := seedSpecs()
	specs[6].ForwardPort = 2343
	f.n.n.Store(0)
	rs, err = f.c.ProxyHosts.EnsureAll(ctx, specs)
	require.NoError(t, err)
	assert.Equal(t, npm.Updated, rs[6].Action)
	assert.Equal(t, []npm.Change{{Field: "forward_port", Old: "2342", New: "2343"}}, rs[6].Changes)
	assert.EqualValues(t, 2, f.n.n.Load())
}

func TestUnknownFieldRejected(t *testing.T) {
	t.Parallel()
	// The client believes the server is 2.15 (WithVersion), the server is
	// 2.13: trust_forwarded_proto is an unknown field there.
	f := newFixture(t, []npmtest.Option{npmtest.WithVersion("2.13.7")}, npm.WithVersion("2.15.1"))
	_, err := f.c.ProxyHosts.Create(t.Context(), npm.ProxyHostSpec{Domains: []string{"u.thehomelab.site"}, ForwardHost: "u", ForwardPort: 80})
	require.ErrorIs(t, err, npm.ErrInvalid)
	var ae *npm.Error
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, 400, ae.StatusCode)
	assert.Equal(t, "data must NOT have additional properties", ae.Message)
	assert.Len(t, f.srv.Hosts("proxy_hosts"), 11, "nothing created")
}

func TestResultShape(t *testing.T) {
	t.Parallel()
	assert.Equal(t, "unchanged", npm.Unchanged.String())
	assert.Equal(t, "created", npm.Created.String())
	assert.Equal(t, "updated", npm.Updated.String())
	assert.Equal(t, "deleted", npm.Deleted.String())
	assert.Equal(t, npm.Unchanged, npm.Action(0), "the zero value")
	assert.Equal(t, "forward_port: 80 → 443", npm.Change{Field: "forward_port", Old: "80", New: "443"}.String())
	assert.Equal(t, "certificate: issued x", npm.Change{Field: "certificate", New: "issued x"}.String())
	assert.False(t, npm.ProxyHostResult{}.Changed())
	assert.True(t, npm.ProxyHostResult{Action: npm.Created}.Changed())
	assert.False(t, npm.ExposeResult{}.Changed())
	assert.True(t, npm.ExposeResult{CertificateCreated: true}.Changed())
}
