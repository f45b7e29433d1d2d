package dns_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
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

func TestErrorsFromFaults(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		fault  dnstest.Fault
		is     error
		status int
	}{
		{"500", dnstest.Fault{Kind: dnstest.Fail500}, dns.ErrUnavailable, 500},
		{"success false on 200", dnstest.Fault{Kind: dnstest.FailSuccessFalse}, nil, 200},
		{"429", dnstest.Fault{Kind: dnstest.Fail429, RetryAfter: 7 * time.Second}, dns.ErrRateLimited, 429},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv, c := newFake(t)
			z := zoneOf(t, c)
			tt.fault.Endpoint = dnstest.EndpointListRecords
			srv.Inject(tt.fault)
			_, err := c.ListRecords(t.Context(), z, dns.RecordFilter{})
			require.Error(t, err)
			var e *dns.Error
			require.ErrorAs(t, err, &e)
			assert.Equal(t, tt.status, e.StatusCode)
			assert.NotEmpty(t, e.Errors, "envelope errors kept")
			assert.NotZero(t, e.Errors[0].Code)
			assert.Contains(t, err.Error(), "list records thehomelab.site")
			if tt.is != nil {
				assert.ErrorIs(t, err, tt.is)
			}
			if tt.status == 429 {
				assert.Equal(t, 7*time.Second, e.RetryAfter)
				assert.Equal(t, 7*time.Second, dns.RetryAfter(err))
			}
		})
	}
}

func TestDroppedConnection(t *testing.T) {
	t.Parallel()
	srv, c := newFake(t)
	z := zoneOf(t, c)
	// Every time: net/http itself resends an idempotent request once when a
	// reused connection drops.
	srv.Inject(dnstest.Fault{Endpoint: dnstest.EndpointListRecords, Kind: dnstest.FailDrop})
	_, err := c.ListRecords(t.Context(), z, dns.RecordFilter{})
	require.Error(t, err)
	assert.True(t, strings.HasPrefix(err.Error(), "dns: list records"), err.Error())
	srv.ClearFaults()
	// The next call goes through.
	_, err = c.ListRecords(t.Context(), z, dns.RecordFilter{})
	require.NoError(t, err)
}

func TestRetriesHonourRetryAfter(t *testing.T) {
	t.Parallel()
	srv, c := newFake(t, dns.WithRetries(2))
	z := zoneOf(t, c)
	srv.Inject(dnstest.Fault{Endpoint: dnstest.EndpointListRecords, Kind: dnstest.Fail429, Times: 1, RetryAfter: time.Second})
	start := time.Now()
	_, err := c.ListRecords(t.Context(), z, dns.RecordFilter{})
	require.NoError(t, err)
	assert.GreaterOrEqual(t, time.Since(start), 900*time.Millisecond, "waited the Retry-After")
	assert.Equal(t, 2, count(srv, dnstest.EndpointListRecords))
}

func TestLongRetryAfterIsReturned(t *testing.T) {
	t.Parallel()
	srv, c := newFake(t, dns.WithRetries(3))
	z := zoneOf(t, c)
	srv.SetRateLimit(1, 5*time.Minute) // Cloudflare's lockout: far beyond what a client waits out
	_, err := c.ListRecords(t.Context(), z, dns.RecordFilter{})
	require.NoError(t, err)
	_, err = c.ListRecords(t.Context(), z, dns.RecordFilter{})
	require.ErrorIs(t, err, dns.ErrRateLimited)
	assert.Greater(t, dns.RetryAfter(err), 4*time.Minute)
}

func TestAuthAndPermissionErrors(t *testing.T) {
	t.Parallel()
	srv := dnstest.NewServer()
	t.Cleanup(srv.Close)
	srv.AddToken(dnstest.Token{Value: "read-only", Permissions: []dnstest.Permission{dnstest.DNSRead}})
	srv.AddToken(dnstest.Token{Value: "other-zone", Permissions: []dnstest.Permission{dnstest.DNSEdit}, Zones: []string{"example.org"}})
	mk := func(tok string) *dns.Client {
		c, err := dns.NewClient(secret.New(tok), dns.WithBaseURL(srv.URL), dns.WithRateLimit(0), dns.WithRetries(0))
		require.NoError(t, err)
		t.Cleanup(func() { _ = c.Close() })
		return c
	}
	ctx := t.Context()

	_, err := mk("wrong").Zone(ctx, dnstest.SeedZone)
	require.ErrorIs(t, err, dns.ErrAuth)

	_, err = mk("other-zone").Zone(ctx, dnstest.SeedZone)
	require.ErrorIs(t, err, dns.ErrZoneNotFound)

	ro := mk("read-only")
	z, err := ro.Zone(ctx, dnstest.SeedZone)
	require.NoError(t, err)
	_, err = ro.CreateRecord(ctx, z, dns.Record{Type: dns.TypeA, Name: "x", Addr: netip.MustParseAddr("203.0.113.1")})
	require.ErrorIs(t, err, dns.ErrPermission)
	var e *dns.Error
	require.ErrorAs(t, err, &e)
	assert.True(t, e.HasCode(dns.CodeUnauthorized))
	assert.Empty(t, srv.Records("x.thehomelab.site"))
}

func TestZoneLookup(t *testing.T) {
	t.Parallel()
	srv, c := newFake(t)
	_, err := c.Zone(t.Context(), "missing.example")
	require.ErrorIs(t, err, dns.ErrZoneNotFound)

	srv.AddZone("twice.example")
	srv.AddZone("twice.example")
	_, err = c.Zone(t.Context(), "twice.example")
	require.ErrorIs(t, err, dns.ErrAmbiguousZone)

	_, err = c.ListRecords(t.Context(), dns.Zone{ID: "0000", Name: "gone.example"}, dns.RecordFilter{})
	require.ErrorIs(t, err, dns.ErrZoneNotFound)
}

func TestCreateConflicts(t *testing.T) {
	t.Parallel()
	srv, c := newFake(t)
	ctx := t.Context()
	z := zoneOf(t, c)
	a := dns.Record{Type: dns.TypeA, Name: "app", Addr: netip.MustParseAddr("203.0.113.5"), Comment: "x"}
	first, err := c.CreateRecord(ctx, z, a)
	require.NoError(t, err)

	// Identical record: success after a re-check, same record returned.
	again, err := c.CreateRecord(ctx, z, a)
	require.NoError(t, err)
	assert.Equal(t, first.ID, again.ID)
	assert.Len(t, srv.Records("app.thehomelab.site"), 1)

	// Same type, name and content, other TTL and proxy status: 81057, and
	// the re-check finds the existing record (the seeded apex).
	apex := srv.Records(dnstest.SeedZone)[0]
	got, err := c.CreateRecord(ctx, z, dns.Record{Type: dns.TypeA, Name: "@", Addr: netip.MustParseAddr(apex.Content), TTL: 5 * time.Minute})
	require.NoError(t, err)
	assert.Equal(t, apex.ID, got.ID)
	assert.Len(t, srv.Records(dnstest.SeedZone), 1)

	// A CNAME on a name with an A record: 81053.
	_, err = c.CreateRecord(ctx, z, dns.Record{Type: dns.TypeCNAME, Name: "app", Content: "thehomelab.site"})
	require.ErrorIs(t, err, dns.ErrConflict)
	var e *dns.Error
	require.ErrorAs(t, err, &e)
	assert.True(t, e.HasCode(dns.CodeCNAMEConflict))

	// An A record on a CNAME name: 81054.
	srv.AddRecord(dnstest.Record{ZoneName: dnstest.SeedZone, Type: "CNAME", Name: "photo.thehomelab.site", Content: "thehomelab.site"})
	_, err = c.CreateRecord(ctx, z, dns.Record{Type: dns.TypeA, Name: "photo", Addr: netip.MustParseAddr("203.0.113.5")})
	require.ErrorIs(t, err, dns.ErrConflict)
	require.ErrorAs(t, err, &e)
	assert.True(t, e.HasCode(dns.CodeCNAMEExists))

	// Validation: wrong family is refused before any request.
	n := len(srv.Requests())
	_, err = c.CreateRecord(ctx, z, dns.Record{Type: dns.TypeA, Name: "v6", Addr: netip.MustParseAddr("2001:db8::1")})
	require.Error(t, err)
	assert.Equal(t, n, len(srv.Requests()))
}

func TestServerValidation(t *testing.T) {
	t.Parallel()
	_, c := newFake(t)
	z := zoneOf(t, c)
	_, err := c.CreateRecord(t.Context(), z, dns.Record{Type: dns.TypeTXT, Name: "t", Content: "x", TTL: 10 * time.Second})
	require.ErrorIs(t, err, dns.ErrInvalid)
	_, err = c.CreateRecord(t.Context(), z, dns.Record{Type: dns.TypeTXT, Name: "t", Content: "x", Proxied: true})
	require.NoError(t, err, "proxied is not sent for TXT")
}

func TestSecretNeverLeaks(t *testing.T) {
	t.Parallel()
	const tok = "super-secret-token-value"
	srv := dnstest.NewServer()
	t.Cleanup(srv.Close)
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	s := secret.New(tok)
	c, err := dns.NewClient(s, dns.WithBaseURL(srv.URL), dns.WithLogger(log), dns.WithRateLimit(0), dns.WithRetries(1))
	require.NoError(t, err)
	defer c.Close()
	_, err = c.Zone(t.Context(), dnstest.SeedZone) // 401: unknown token
	require.ErrorIs(t, err, dns.ErrAuth)
	_, verr := c.VerifyToken(t.Context(), dnstest.SeedZone, dns.VerifyOptions{})
	for _, out := range []string{
		err.Error(), fmt.Sprintf("%v %+v %#v", err, err, err), fmt.Sprint(verr),
		fmt.Sprintf("%v %+v %#v %s %q %x", s, s, s, s, s, s), fmt.Sprintf("%v %+v %#v", c, c, c), logs.String(),
	} {
		assert.NotContains(t, out, tok)
	}
	assert.NotEmpty(t, logs.String(), "debug lines were written")
	assert.True(t, errors.Is(err, dns.ErrAuth))
}

func TestOptionsValidate(t *testing.T) {
	t.Parallel()
	tok := secret.New("x")
	for _, o := range []dns.Option{
		dns.WithBaseURL("ftp://x"), dns.WithBaseURL("http://u:p@h/"), dns.WithBaseURL("http://h/client/v4?x=1"), dns.WithBaseURL("http://h/#f"), dns.WithHTTPClient(nil),
		dns.WithTimeout(0), dns.WithRateLimit(-1), dns.WithRetries(-1),
	} {
		_, err := dns.NewClient(tok, o)
		assert.Error(t, err)
	}
	_, err := dns.NewClient(secret.Secret{})
	assert.Error(t, err)
	c, err := dns.NewClient(tok)
	require.NoError(t, err)
	require.NoError(t, c.Close())
	require.NoError(t, c.Close())
	_, err = c.Zone(t.Context(), "x")
	assert.ErrorIs(t, err, dns.ErrClosed)
}

func TestPatchRetriedCreateNot(t *testing.T) {
	t.Parallel()
	srv, c := newFake(t, dns.WithRetries(1))
	ctx := t.Context()
	z := zoneOf(t, c)
	r, err := c.CreateRecord(ctx, z, dns.Record{Type: dns.TypeA, Name: "r", Addr: netip.MustParseAddr("203.0.113.1")})
	require.NoError(t, err)
	srv.Inject(dnstest.Fault{Endpoint: dnstest.EndpointPatchRecord, Kind: dnstest.Fail429, Times: 1, RetryAfter: time.Second})
	_, err = c.PatchRecord(ctx, z, r, dns.RecordPatch{Addr: netip.MustParseAddr("203.0.113.2")})
	require.NoError(t, err)
	assert.Equal(t, 2, count(srv, dnstest.EndpointPatchRecord))

	srv.Inject(dnstest.Fault{Endpoint: dnstest.EndpointCreateRecord, Kind: dnstest.Fail429, Times: 1, RetryAfter: time.Second})
	_, err = c.CreateRecord(ctx, z, dns.Record{Type: dns.TypeA, Name: "s", Addr: netip.MustParseAddr("203.0.113.1")})
	require.ErrorIs(t, err, dns.ErrRateLimited)
	assert.Equal(t, 2, count(srv, dnstest.EndpointCreateRecord))
}

func TestContextHonoured(t *testing.T) {
	t.Parallel()
	srv, c := newFake(t)
	z := zoneOf(t, c)
	srv.SetLatency(5 * time.Second)
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := c.ListRecords(ctx, z, dns.RecordFilter{})
	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Less(t, time.Since(start), 2*time.Second)
	assert.Equal(t, ctx.Err(), err, "ctx.Err() itself once the context is done")

	c2, err := dns.NewClient(secret.New(dnstest.SeedToken), dns.WithBaseURL(srv.URL), dns.WithTimeout(50*time.Millisecond), dns.WithRateLimit(0))
	require.NoError(t, err)
	defer c2.Close()
	_, err = c2.ListRecords(t.Context(), z, dns.RecordFilter{})
	require.ErrorIs(t, err, context.DeadlineExceeded, "client timeout")
}
