package dns_test

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/thehomelab/homelab/dns"
	"github.com/thehomelab/homelab/dns/dnstest"
	"github.com/thehomelab/homelab/secret"
)

func TestNilOptionSkipped(t *testing.T) {
	t.Parallel()
	srv := dnstest.Start(t)
	c, err := dns.NewClient(secret.New(dnstest.SeedToken), nil, dns.WithBaseURL(srv.URL), nil, dns.WithRateLimit(0))
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	_, err = c.Zone(t.Context(), dnstest.SeedZone)
	require.NoError(t, err)
}

func TestNewClientRejectsMissingToken(t *testing.T) {
	t.Parallel()
	_, err := dns.NewClient(secret.Secret{})
	require.ErrorIs(t, err, dns.ErrAuth)
	var e *dns.Error
	require.ErrorAs(t, err, &e)
	assert.Equal(t, "new client", e.Op)

	_, err = dns.NewClient(secret.New("x"), dns.WithTimeout(-time.Second))
	require.ErrorIs(t, err, dns.ErrInvalid)
	assert.Equal(t, 1, strings.Count(err.Error(), "dns: "), err.Error())
}

// Every error the package returns is an *Error of the right class, with
// one "dns: " prefix.
func TestErrorClasses(t *testing.T) {
	t.Parallel()
	srv, c := newFake(t)
	ctx := t.Context()
	z := zoneOf(t, c)
	srv.AddToken(dnstest.Token{Value: "read-only", Permissions: []dnstest.Permission{dnstest.DNSRead}})
	ro, err := dns.NewClient(secret.New("read-only"), dns.WithBaseURL(srv.URL), dns.WithRateLimit(0), dns.WithRetries(0))
	require.NoError(t, err)
	t.Cleanup(func() { _ = ro.Close() })
	bad, err := dns.NewClient(secret.New("wrong"), dns.WithBaseURL(srv.URL), dns.WithRateLimit(0), dns.WithRetries(0))
	require.NoError(t, err)
	t.Cleanup(func() { _ = bad.Close() })
	closed, err := dns.NewClient(secret.New(dnstest.SeedToken), dns.WithBaseURL(srv.URL))
	require.NoError(t, err)
	require.NoError(t, closed.Close())
	a := netip.MustParseAddr("203.0.113.9")

	tests := []struct {
		name string
		call func() error
		is   []error
	}{
		{"auth", func() error { _, err := bad.Zone(ctx, dnstest.SeedZone); return err }, []error{dns.ErrAuth}},
		{"permission", func() error {
			_, err := ro.CreateRecord(ctx, z, dns.Record{Type: dns.TypeA, Name: "p", Addr: a})
			return err
		}, []error{dns.ErrPermission}},
		{"record not found", func() error { _, err := c.GetRecord(ctx, z, "nope"); return err }, []error{dns.ErrNotFound}},
		{"zone not found", func() error { _, err := c.Zone(ctx, "missing.example"); return err }, []error{dns.ErrNotFound, dns.ErrZoneNotFound}},
		{"unknown zone id", func() error {
			_, err := c.ListRecords(ctx, dns.Zone{ID: "0000", Name: "gone.example"}, dns.RecordFilter{})
			return err
		}, []error{dns.ErrNotFound, dns.ErrZoneNotFound}},
		{"conflict", func() error {
			_, err := c.CreateRecord(ctx, z, dns.Record{Type: dns.TypeCNAME, Name: "@", Content: "example.org"})
			return err
		}, []error{dns.ErrConflict}},
		{"invalid on the server", func() error {
			_, err := c.CreateRecord(ctx, z, dns.Record{Type: dns.TypeTXT, Name: "t", Content: "x", TTL: 10 * time.Second})
			return err
		}, []error{dns.ErrInvalid}},
		{"invalid before sending", func() error {
			_, err := c.CreateRecord(ctx, z, dns.Record{Type: dns.TypeA, Name: "v6", Addr: netip.MustParseAddr("2001:db8::1")})
			return err
		}, []error{dns.ErrInvalid}},
		{"unavailable", func() error {
			srv.Inject(dnstest.Fault{Endpoint: dnstest.EndpointGetRecord, Kind: dnstest.Fail500, Times: 1})
			_, err := c.GetRecord(ctx, z, "x")
			return err
		}, []error{dns.ErrUnavailable}},
		{"no answer", func() error {
			srv.Inject(dnstest.Fault{Endpoint: dnstest.EndpointGetRecord, Kind: dnstest.FailDrop, Times: 3})
			_, err := c.GetRecord(ctx, z, "y")
			return err
		}, []error{dns.ErrUnavailable}},
		{"closed", func() error { _, err := closed.Zone(ctx, dnstest.SeedZone); return err }, []error{dns.ErrClosed}},
		{"bad address", func() error { return dns.CheckPublic(netip.MustParseAddr("10.0.0.1")) }, []error{dns.ErrBadAddress, dns.ErrInvalid}},
	}
	for _, tt := range tests {
		err := tt.call()
		require.Error(t, err, tt.name)
		var e *dns.Error
		assert.True(t, errors.As(err, &e), "%s: %T is no *dns.Error", tt.name, err)
		for _, want := range tt.is {
			assert.ErrorIs(t, err, want, tt.name)
		}
		for _, other := range []error{dns.ErrAuth, dns.ErrPermission, dns.ErrConflict, dns.ErrClosed} {
			if !containsErr(tt.is, other) {
				assert.NotErrorIs(t, err, other, tt.name)
			}
		}
		assert.True(t, strings.HasPrefix(err.Error(), "dns: "), "%s: %v", tt.name, err)
		assert.Equal(t, 1, strings.Count(err.Error(), "dns: "), "%s: one prefix: %v", tt.name, err)
	}
}

func containsErr(list []error, e error) bool {
	for _, x := range list {
		if x == e {
			return true
		}
	}
	return false
}

func TestErrorShape(t *testing.T) {
	t.Parallel()
	srv, c := newFake(t)
	z := zoneOf(t, c)
	_ = srv
	_, err := c.GetRecord(t.Context(), z, "nope")
	var e *dns.Error
	require.ErrorAs(t, err, &e)
	assert.Equal(t, "get record nope", e.Op)
	assert.Equal(t, 404, e.StatusCode)
	assert.Equal(t, dns.CodeRecordNotFound, e.Code)
	assert.Equal(t, "Record does not exist.", e.Message)
	assert.Equal(t, "dns: get record nope: cloudflare http 404: 81044 Record does not exist", err.Error())

	wrapped := &dns.Error{Op: "outer", Err: dns.ErrClosed}
	assert.Equal(t, dns.ErrClosed, wrapped.Unwrap())
	assert.Equal(t, "dns: outer: closed", wrapped.Error())
}

func TestPlanUpdateThenApply(t *testing.T) {
	t.Parallel()
	srv, c := newFake(t)
	ctx := t.Context()
	managed(srv, "vpn.thehomelab.site", "A", "203.0.113.10")
	u := newUpdater(t, c, dns.UpdaterConfig{Names: []string{"vpn", "home"}, IPv4: dns.StaticSource(netip.MustParseAddr("198.51.100.20"))})

	p, err := u.PlanUpdate(ctx)
	require.NoError(t, err)
	assert.True(t, p.Changed())
	assert.Equal(t, "address 198.51.100.20:\n"+
		"update vpn.thehomelab.site A 203.0.113.10 -> 198.51.100.20\n"+
		"create home.thehomelab.site A 198.51.100.20", p.String())
	assert.Equal(t, "vpn.thehomelab.site A", p.Changes[0].Field)
	assert.Equal(t, "203.0.113.10", p.Changes[0].Old)
	assert.Equal(t, "198.51.100.20", p.Changes[0].New)
	assert.Equal(t, dns.Updated, p.Changes[0].Action)
	assert.Zero(t, count(srv, dnstest.EndpointPatchRecord), "a plan changes nothing")

	res, err := u.Apply(ctx, p)
	require.NoError(t, err)
	assert.True(t, res.Changed())
	assert.Equal(t, dns.Updated, res.Action, "an update and a create sum up as updated")
	require.Len(t, res.Records, 2)
	assert.Equal(t, "198.51.100.20", srv.Records("home.thehomelab.site")[0].Content)

	// The plan was applied: applying it again is refused, not repeated.
	_, err = u.Apply(ctx, p)
	require.ErrorIs(t, err, dns.ErrConflict)
	assert.Equal(t, 1, count(srv, dnstest.EndpointCreateRecord))

	// Nothing due: the plan says so and Apply sends nothing.
	p, err = u.PlanUpdate(ctx)
	require.NoError(t, err)
	assert.False(t, p.Checked)
	assert.Equal(t, "address 198.51.100.20 unchanged: nothing sent to Cloudflare", p.String())
	srv.ResetRequests()
	res, err = u.Apply(ctx, p)
	require.NoError(t, err)
	assert.Equal(t, dns.Unchanged, res.Action)
	assert.False(t, res.Changed())
	assert.Len(t, res.Records, 2)
	assert.Empty(t, srv.Requests())

	// A plan of another Updater is refused.
	other := newUpdater(t, c, dns.UpdaterConfig{Names: []string{"vpn"}, IPv4: dns.StaticSource(netip.MustParseAddr("198.51.100.20"))})
	_, err = other.Apply(ctx, p)
	require.ErrorIs(t, err, dns.ErrInvalid)
	_, err = u.Apply(ctx, dns.UpdatePlan{})
	require.ErrorIs(t, err, dns.ErrInvalid)
}

func TestActionAndChangeStrings(t *testing.T) {
	t.Parallel()
	assert.Equal(t, "unchanged created updated deleted",
		dns.Unchanged.String()+" "+dns.Created.String()+" "+dns.Updated.String()+" "+dns.Deleted.String())
	var zero dns.Action
	assert.Equal(t, dns.Unchanged, zero)
}

func TestStartClosesInCleanup(t *testing.T) {
	t.Parallel()
	var srv *dnstest.Server
	t.Run("inner", func(t *testing.T) {
		srv = dnstest.Start(t)
		_, c := newFakeAt(t, srv)
		_, err := c.Zone(t.Context(), dnstest.SeedZone)
		require.NoError(t, err)
	})
	_, c := newFakeAt(t, srv)
	_, err := c.Zone(t.Context(), dnstest.SeedZone)
	require.ErrorIs(t, err, dns.ErrUnavailable, "closed by the inner test's cleanup")
}

func newFakeAt(t *testing.T, srv *dnstest.Server) (*dnstest.Server, *dns.Client) {
	t.Helper()
	c, err := dns.NewClient(secret.New(dnstest.SeedToken), dns.WithBaseURL(srv.URL), dns.WithRateLimit(0), dns.WithRetries(0))
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	return srv, c
}
