package dns_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/thehomelab/homelab/dns"
	"github.com/thehomelab/homelab/dns/dnstest"
	"github.com/thehomelab/homelab/secret"
)

// addrBox is a settable source, like a router whose PPPoE address changes.
type addrBox struct {
	mu sync.Mutex
	a  netip.Addr
	n  int
}

func (b *addrBox) set(s string) {
	b.mu.Lock()
	b.a = netip.MustParseAddr(s)
	b.mu.Unlock()
}

func (b *addrBox) source(context.Context) (netip.Addr, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.n++
	return b.a, nil
}

func newUpdater(t testing.TB, c *dns.Client, cfg dns.UpdaterConfig) *dns.Updater {
	t.Helper()
	if cfg.Zone == "" {
		cfg.Zone = dnstest.SeedZone
	}
	u, err := c.NewUpdater(cfg)
	require.NoError(t, err)
	return u
}

func managed(srv *dnstest.Server, name, typ, content string) dnstest.Record {
	return srv.AddRecord(dnstest.Record{ZoneName: dnstest.SeedZone, Type: typ, Name: name, Content: content, TTL: 1, Comment: dns.DefaultComment})
}

func TestUpdaterCreatesThenStaysQuiet(t *testing.T) {
	t.Parallel()
	srv, c := newFake(t)
	ctx := t.Context()
	box := &addrBox{}
	box.set("203.0.113.10")
	u := newUpdater(t, c, dns.UpdaterConfig{Names: []string{"vpn"}, IPv4: box.source})

	p, err := u.Update(ctx)
	require.NoError(t, err)
	require.Len(t, p.Changes, 1)
	assert.Equal(t, dns.Created, p.Changes[0].Action)
	rs := srv.Records("vpn.thehomelab.site")
	require.Len(t, rs, 1)
	assert.Equal(t, "203.0.113.10", rs[0].Content)
	assert.Equal(t, dns.DefaultComment, rs[0].Comment)
	assert.False(t, rs[0].Proxied, "vpn stays DNS-only")

	st := u.State()
	assert.Equal(t, netip.MustParseAddr("203.0.113.10"), st.IPv4)
	require.Len(t, st.Records, 1)
	assert.Equal(t, rs[0].ID, st.Records[0].ID, "record id remembered")
	assert.False(t, st.VerifiedAt.IsZero())

	srv.ResetRequests()
	for range 50 {
		p, err = u.Update(ctx)
		require.NoError(t, err)
		assert.False(t, p.Checked)
		assert.False(t, p.Changed())
	}
	assert.Zero(t, len(srv.Requests()), "unchanged address: zero requests")
}

func TestUpdaterChangePatchesEachRecordOnce(t *testing.T) {
	t.Parallel()
	srv, c := newFake(t)
	ctx := t.Context()
	names := []string{"vpn.thehomelab.site", "a.thehomelab.site", "b.thehomelab.site"}
	for i, n := range names {
		r := managed(srv, n, "A", "203.0.113.10")
		switch i {
		case 1:
			r.TTL, r.Proxied, r.Tags = 300, false, []string{"team:lab"}
			require.True(t, srv.SetRecord(r))
		case 2:
			r.Proxied = true
			require.True(t, srv.SetRecord(r))
		}
	}
	box := &addrBox{}
	box.set("203.0.113.10")
	u := newUpdater(t, c, dns.UpdaterConfig{Names: names, IPv4: box.source})
	_, err := u.Update(ctx) // learns the zone and the records
	require.NoError(t, err)

	box.set("198.51.100.20")
	srv.ResetRequests()
	p, err := u.Update(ctx)
	require.NoError(t, err)
	assert.Len(t, p.Changes, 3)
	assert.Equal(t, 1, count(srv, dnstest.EndpointListRecords))
	assert.Equal(t, 3, count(srv, dnstest.EndpointPatchRecord))
	assert.Zero(t, count(srv, dnstest.EndpointPutRecord))
	assert.LessOrEqual(t, len(srv.Requests()), 4)
	for _, n := range names {
		rs := srv.Records(n)
		require.Len(t, rs, 1)
		assert.Equal(t, "198.51.100.20", rs[0].Content)
		assert.Equal(t, dns.DefaultComment, rs[0].Comment)
	}
	assert.Len(t, u.State().Records, 3)
	a := srv.Records("a.thehomelab.site")[0]
	assert.Equal(t, 300, a.TTL, "ttl preserved")
	assert.Equal(t, []string{"team:lab"}, a.Tags, "tags preserved")
	assert.True(t, srv.Records("b.thehomelab.site")[0].Proxied, "proxied preserved")
	assert.Equal(t, "update vpn.thehomelab.site A 203.0.113.10 -> 198.51.100.20", p.Changes[0].String())
}

func TestUpdaterIPv6(t *testing.T) {
	t.Parallel()
	srv, c := newFake(t)
	r := managed(srv, "vpn.thehomelab.site", "AAAA", "2001:db8::1")
	r.TTL = 120
	srv.SetRecord(r)
	u := newUpdater(t, c, dns.UpdaterConfig{Names: []string{"vpn"},
		IPv4: dns.StaticSource(netip.MustParseAddr("203.0.113.10")),
		IPv6: dns.StaticSource(netip.MustParseAddr("2001:db8::42"))})
	p, err := u.Update(t.Context())
	require.NoError(t, err)
	assert.Len(t, p.Changes, 2) // create A, update AAAA
	var aaaa dnstest.Record
	for _, r := range srv.Records("vpn.thehomelab.site") {
		if r.Type == "AAAA" {
			aaaa = r
		}
	}
	assert.Equal(t, "2001:db8::42", aaaa.Content)
	assert.Equal(t, 120, aaaa.TTL)
	assert.Equal(t, netip.MustParseAddr("2001:db8::42"), p.IPv6)
}

func TestUpdaterOwnership(t *testing.T) {
	t.Parallel()
	srv, c := newFake(t)
	ctx := t.Context()
	hand := srv.AddRecord(dnstest.Record{ZoneName: dnstest.SeedZone, Type: "A", Name: "vpn.thehomelab.site", Content: "192.0.2.1", Comment: "set by hand"})
	u := newUpdater(t, c, dns.UpdaterConfig{Names: []string{"vpn"}, IPv4: dns.StaticSource(netip.MustParseAddr("203.0.113.10"))})

	p, err := u.PlanUpdate(ctx)
	require.ErrorIs(t, err, dns.ErrUnmanaged)
	assert.Empty(t, p.Changes)
	require.Len(t, p.Unmanaged, 1)
	assert.Equal(t, hand.ID, p.Unmanaged[0].ID)

	_, err = u.Update(ctx)
	require.ErrorIs(t, err, dns.ErrUnmanaged)
	assert.Zero(t, count(srv, dnstest.EndpointPatchRecord)+count(srv, dnstest.EndpointCreateRecord)+count(srv, dnstest.EndpointDeleteRecord))
	assert.Equal(t, "192.0.2.1", srv.Records("vpn.thehomelab.site")[0].Content, "never overwritten")

	// The apex is proxied and unmanaged; a CNAME blocks too.
	srv.AddRecord(dnstest.Record{ZoneName: dnstest.SeedZone, Type: "CNAME", Name: "photo.thehomelab.site", Content: "thehomelab.site"})
	u2 := newUpdater(t, c, dns.UpdaterConfig{Names: []string{"photo"}, Adopt: []string{"photo"}, IPv4: dns.StaticSource(netip.MustParseAddr("203.0.113.10"))})
	_, err = u2.Update(ctx)
	require.ErrorIs(t, err, dns.ErrUnmanaged)

	// Explicit adoption takes the record over and keeps its other fields.
	u3 := newUpdater(t, c, dns.UpdaterConfig{Names: []string{"vpn"}, Adopt: []string{"vpn.thehomelab.site"}, IPv4: dns.StaticSource(netip.MustParseAddr("203.0.113.10"))})
	res, err := u3.Update(ctx)
	require.NoError(t, err)
	require.Len(t, res.Changes, 1)
	rs := srv.Records("vpn.thehomelab.site")
	require.Len(t, rs, 1)
	assert.Equal(t, hand.ID, rs[0].ID)
	assert.Equal(t, "203.0.113.10", rs[0].Content)
	assert.Equal(t, dns.DefaultComment, rs[0].Comment)
}

func TestUpdaterCoexistsWithUnmanagedAndDropsDuplicates(t *testing.T) {
	t.Parallel()
	srv, c := newFake(t)
	extra := srv.AddRecord(dnstest.Record{ZoneName: dnstest.SeedZone, Type: "A", Name: "vpn.thehomelab.site", Content: "192.0.2.50", Comment: "static"})
	managed(srv, "vpn.thehomelab.site", "A", "203.0.113.1")
	managed(srv, "vpn.thehomelab.site", "A", "203.0.113.2")
	u := newUpdater(t, c, dns.UpdaterConfig{Names: []string{"vpn"}, IPv4: dns.StaticSource(netip.MustParseAddr("203.0.113.2"))})
	p, err := u.Update(t.Context())
	require.NoError(t, err)
	require.Len(t, p.Changes, 1)
	assert.Equal(t, dns.Deleted, p.Changes[0].Action)
	assert.Equal(t, []dns.Record{p.Unmanaged[0]}, p.Unmanaged)
	var contents []string
	for _, r := range srv.Records("vpn.thehomelab.site") {
		contents = append(contents, r.Content)
	}
	assert.ElementsMatch(t, []string{"192.0.2.50", "203.0.113.2"}, contents)
	assert.Equal(t, extra.ID, p.Unmanaged[0].ID)
}

func TestUpdaterRejectsBadAddresses(t *testing.T) {
	t.Parallel()
	for _, bad := range []string{"10.0.0.1", "192.168.1.1", "100.64.3.4", "127.0.0.1", "169.254.1.1", "0.0.0.0", "fd00::1", "fe80::1", "::1", "::"} {
		t.Run(bad, func(t *testing.T) {
			t.Parallel()
			srv, c := newFake(t)
			a := netip.MustParseAddr(bad)
			cfg := dns.UpdaterConfig{Names: []string{"vpn"}}
			if a.Is4() {
				cfg.IPv4 = dns.StaticSource(a)
			} else {
				cfg.IPv6 = dns.StaticSource(a)
			}
			u := newUpdater(t, c, cfg)
			_, err := u.Update(t.Context())
			require.ErrorIs(t, err, dns.ErrBadAddress)
			var ae *dns.AddressError
			require.ErrorAs(t, err, &ae)
			assert.Contains(t, err.Error(), "refusing to publish "+bad)
			assert.Zero(t, len(srv.Requests()), "nothing sent")
			assert.Empty(t, srv.Records("vpn.thehomelab.site"))
		})
	}
}

func TestUpdaterSourceErrorKeepsOtherFamily(t *testing.T) {
	t.Parallel()
	srv, c := newFake(t)
	boom := errors.New("router unreachable")
	u := newUpdater(t, c, dns.UpdaterConfig{Names: []string{"vpn"},
		IPv4: dns.StaticSource(netip.MustParseAddr("203.0.113.10")),
		IPv6: func(context.Context) (netip.Addr, error) { return netip.Addr{}, boom }})
	p, err := u.Update(t.Context())
	require.ErrorIs(t, err, boom)
	require.Len(t, p.Changes, 1)
	assert.Len(t, srv.Records("vpn.thehomelab.site"), 1)
}

func TestUpdaterPatchFailsMidBatch(t *testing.T) {
	t.Parallel()
	srv, c := newFake(t)
	ctx := t.Context()
	names := []string{"a", "b", "c"}
	for _, n := range names {
		managed(srv, n+".thehomelab.site", "A", "203.0.113.10")
	}
	box := &addrBox{}
	box.set("203.0.113.10")
	u := newUpdater(t, c, dns.UpdaterConfig{Names: names, IPv4: box.source})
	_, err := u.Update(ctx)
	require.NoError(t, err)

	box.set("198.51.100.20")
	srv.Inject(dnstest.Fault{Endpoint: dnstest.EndpointPatchRecord, Kind: dnstest.Fail500, Skip: 1, Times: 1})
	p, err := u.Update(ctx)
	require.ErrorIs(t, err, dns.ErrUnavailable)
	require.Len(t, p.Changes, 2, "reports what it did")
	assert.Equal(t, "a.thehomelab.site", p.Changes[0].After.Name)
	assert.Equal(t, "c.thehomelab.site", p.Changes[1].After.Name, "the names after the failed one are still updated")
	got := map[string]string{}
	for _, n := range names {
		got[n] = srv.Records(n + ".thehomelab.site")[0].Content
	}
	assert.Equal(t, map[string]string{"a": "198.51.100.20", "b": "203.0.113.10", "c": "198.51.100.20"}, got, "no wrong record")

	// Next cycle finishes the job with one list and one patch.
	srv.ResetRequests()
	p, err = u.Update(ctx)
	require.NoError(t, err)
	assert.Len(t, p.Changes, 1)
	assert.Equal(t, 1, count(srv, dnstest.EndpointListRecords))
	assert.Equal(t, 1, count(srv, dnstest.EndpointPatchRecord))
	srv.ResetRequests()
	_, err = u.Update(ctx)
	require.NoError(t, err)
	assert.Zero(t, len(srv.Requests()))
}

// A 429 midway stops the batch: the remaining PATCHes would only be
// rate limited too.
func TestUpdaterRateLimitStopsBatch(t *testing.T) {
	t.Parallel()
	srv, c := newFake(t)
	ctx := t.Context()
	names := []string{"a", "b", "c"}
	for _, n := range names {
		managed(srv, n+".thehomelab.site", "A", "203.0.113.10")
	}
	box := &addrBox{}
	box.set("203.0.113.10")
	u := newUpdater(t, c, dns.UpdaterConfig{Names: names, IPv4: box.source})
	_, err := u.Update(ctx)
	require.NoError(t, err)

	box.set("198.51.100.20")
	srv.Inject(dnstest.Fault{Endpoint: dnstest.EndpointPatchRecord, Kind: dnstest.Fail429, Skip: 1, RetryAfter: time.Minute})
	srv.ResetRequests()
	p, err := u.Update(ctx)
	require.ErrorIs(t, err, dns.ErrRateLimited)
	assert.Equal(t, time.Minute, dns.RetryAfter(err))
	assert.Len(t, p.Changes, 1)
	assert.Equal(t, 2, count(srv, dnstest.EndpointPatchRecord), "c was not sent")
}

// A failed update of a name leaves that name's other changes (deleting
// its duplicates) for the next cycle.
func TestUpdaterFailedUpdateKeepsDuplicates(t *testing.T) {
	t.Parallel()
	srv, c := newFake(t)
	managed(srv, "vpn.thehomelab.site", "A", "203.0.113.1")
	managed(srv, "vpn.thehomelab.site", "A", "203.0.113.2")
	u := newUpdater(t, c, dns.UpdaterConfig{Names: []string{"vpn"}, IPv4: dns.StaticSource(netip.MustParseAddr("198.51.100.20"))})
	srv.Inject(dnstest.Fault{Endpoint: dnstest.EndpointPatchRecord, Kind: dnstest.Fail500, Times: 1})
	_, err := u.Update(t.Context())
	require.ErrorIs(t, err, dns.ErrUnavailable)
	assert.Len(t, srv.Records("vpn.thehomelab.site"), 2, "no delete after the failed update")
	assert.Zero(t, count(srv, dnstest.EndpointDeleteRecord))

	p, err := u.Update(t.Context())
	require.NoError(t, err)
	assert.Len(t, p.Changes, 2)
	rs := srv.Records("vpn.thehomelab.site")
	require.Len(t, rs, 1)
	assert.Equal(t, "198.51.100.20", rs[0].Content)
}

func TestUpdater429Storm(t *testing.T) {
	t.Parallel()
	srv, c := newFake(t)
	ctx := t.Context()
	managed(srv, "vpn.thehomelab.site", "A", "203.0.113.10")
	box := &addrBox{}
	box.set("203.0.113.10")
	u := newUpdater(t, c, dns.UpdaterConfig{Names: []string{"vpn"}, IPv4: box.source})
	_, err := u.Update(ctx)
	require.NoError(t, err)

	box.set("198.51.100.20")
	srv.Inject(dnstest.Fault{Kind: dnstest.Fail429, RetryAfter: 300 * time.Second})
	for range 3 {
		_, err = u.Update(ctx)
		require.ErrorIs(t, err, dns.ErrRateLimited)
		assert.Equal(t, 300*time.Second, dns.RetryAfter(err))
	}
	assert.Equal(t, "203.0.113.10", srv.Records("vpn.thehomelab.site")[0].Content)
	srv.ClearFaults()
	_, err = u.Update(ctx)
	require.NoError(t, err)
	assert.Equal(t, "198.51.100.20", srv.Records("vpn.thehomelab.site")[0].Content)
}

func TestUpdaterRepairsManualEdit(t *testing.T) {
	t.Parallel()
	srv, c := newFake(t)
	ctx := t.Context()
	r := managed(srv, "vpn.thehomelab.site", "A", "203.0.113.10")
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	u := newUpdater(t, c, dns.UpdaterConfig{Names: []string{"vpn"}, IPv4: dns.StaticSource(netip.MustParseAddr("203.0.113.10")), VerifyEvery: time.Hour})
	dns.SetClock(u, clock)
	_, err := u.Update(ctx)
	require.NoError(t, err)

	r.Content = "192.0.2.99" // someone edits it in the dashboard
	srv.SetRecord(r)
	srv.ResetRequests()
	_, err = u.Update(ctx)
	require.NoError(t, err)
	assert.Zero(t, len(srv.Requests()), "not due yet")

	mu.Lock()
	now = now.Add(time.Hour)
	mu.Unlock()
	p, err := u.Update(ctx)
	require.NoError(t, err)
	assert.True(t, p.Checked)
	require.Len(t, p.Changes, 1)
	assert.Equal(t, "203.0.113.10", srv.Records("vpn.thehomelab.site")[0].Content)

	// On demand.
	r.Content = "192.0.2.98"
	srv.SetRecord(r)
	u.Recheck()
	_, err = u.Update(ctx)
	require.NoError(t, err)
	assert.Equal(t, "203.0.113.10", srv.Records("vpn.thehomelab.site")[0].Content)

	// Deleted by hand: recreated.
	require.True(t, srv.RemoveRecord(r.ID))
	u.Recheck()
	p, err = u.Update(ctx)
	require.NoError(t, err)
	require.Len(t, p.Changes, 1)
	assert.Equal(t, dns.Created, p.Changes[0].Action)
	assert.Len(t, srv.Records("vpn.thehomelab.site"), 1)
}

func TestUpdaterPlanChangesNothing(t *testing.T) {
	t.Parallel()
	srv, c := newFake(t)
	managed(srv, "vpn.thehomelab.site", "A", "203.0.113.10")
	u := newUpdater(t, c, dns.UpdaterConfig{Names: []string{"vpn", "new"}, IPv4: dns.StaticSource(netip.MustParseAddr("198.51.100.20"))})
	p, err := u.PlanUpdate(t.Context())
	require.NoError(t, err)
	require.Len(t, p.Changes, 2)
	assert.Equal(t, "update vpn.thehomelab.site A 203.0.113.10 -> 198.51.100.20", p.Changes[0].String())
	assert.Equal(t, "create new.thehomelab.site A 198.51.100.20", p.Changes[1].String())
	assert.Equal(t, "203.0.113.10", srv.Records("vpn.thehomelab.site")[0].Content)
	assert.Empty(t, srv.Records("new.thehomelab.site"))
	assert.Zero(t, count(srv, dnstest.EndpointPatchRecord)+count(srv, dnstest.EndpointCreateRecord))
}

func TestUpdaterZoneMissingAndNoPermission(t *testing.T) {
	t.Parallel()
	srv, c := newFake(t)
	u := newUpdater(t, c, dns.UpdaterConfig{Zone: "missing.example", Names: []string{"vpn"}, IPv4: dns.StaticSource(netip.MustParseAddr("203.0.113.10"))})
	_, err := u.Update(t.Context())
	require.ErrorIs(t, err, dns.ErrZoneNotFound)

	srv.AddToken(dnstest.Token{Value: "ro", Permissions: []dnstest.Permission{dnstest.DNSRead}})
	ro, err := dns.NewClient(secret.New("ro"), dns.WithBaseURL(srv.URL), dns.WithRateLimit(0), dns.WithRetries(0))
	require.NoError(t, err)
	defer ro.Close()
	u = newUpdater(t, ro, dns.UpdaterConfig{Names: []string{"vpn"}, IPv4: dns.StaticSource(netip.MustParseAddr("203.0.113.10"))})
	_, err = u.Update(t.Context())
	require.ErrorIs(t, err, dns.ErrPermission)
	// Still failing next cycle (not remembered as published).
	_, err = u.Update(t.Context())
	require.ErrorIs(t, err, dns.ErrPermission)
}

func TestUpdaterRunEventsAndBackoff(t *testing.T) {
	t.Parallel()
	srv, c := newFake(t)
	box := &addrBox{}
	box.set("203.0.113.10")
	var events []dns.Event
	var mu sync.Mutex
	var cycles atomic.Int32
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	srv.Inject(dnstest.Fault{Endpoint: dnstest.EndpointListZones, Kind: dnstest.Fail500, Times: 1})
	u := newUpdater(t, c, dns.UpdaterConfig{Names: []string{"vpn"}, IPv4: box.source, OnEvent: func(e dns.Event) {
		mu.Lock()
		events = append(events, e)
		mu.Unlock()
		switch cycles.Add(1) {
		case 3:
			box.set("198.51.100.20")
		case 5:
			cancel()
		}
	}})
	err := u.Run(ctx, 5*time.Millisecond)
	require.ErrorIs(t, err, context.Canceled)
	mu.Lock()
	defer mu.Unlock()
	var kinds []string
	for _, e := range events {
		kinds = append(kinds, e.Kind.String())
	}
	assert.Equal(t, []string{"error", "changed", "unchanged", "changed", "unchanged"}, kinds)
	assert.ErrorIs(t, events[0].Err, dns.ErrUnavailable)
	assert.Equal(t, "198.51.100.20", srv.Records("vpn.thehomelab.site")[0].Content)
}

func TestNewUpdaterValidates(t *testing.T) {
	t.Parallel()
	_, c := newFake(t)
	src := dns.StaticSource(netip.MustParseAddr("203.0.113.1"))
	for _, cfg := range []dns.UpdaterConfig{
		{Names: []string{"x"}, IPv4: src},
		{Zone: "z", IPv4: src},
		{Zone: "z", Names: []string{"x"}},
		{Zone: "z", Names: []string{"x"}, IPv4: src, Comment: "a\nb"},
	} {
		_, err := c.NewUpdater(cfg)
		assert.Error(t, err)
	}
}

func TestUpdaterRunWaitsOutRetryAfter(t *testing.T) {
	t.Parallel()
	srv, c := newFake(t)
	srv.Inject(dnstest.Fault{Kind: dnstest.Fail429, RetryAfter: 300 * time.Second})
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var first dns.Event
	u := newUpdater(t, c, dns.UpdaterConfig{Names: []string{"vpn"}, IPv4: dns.StaticSource(netip.MustParseAddr("203.0.113.10")),
		OnEvent: func(e dns.Event) { first = e; cancel() }})
	require.ErrorIs(t, u.Run(ctx, time.Millisecond), context.Canceled)
	assert.Equal(t, dns.EventError, first.Kind)
	assert.ErrorIs(t, first.Err, dns.ErrRateLimited)
	assert.GreaterOrEqual(t, first.Next, 300*time.Second)
}

// The budget: 1,000 cycles with an unchanged address cost nothing
// beyond the periodic re-verification (one list per VerifyEvery).
func TestUpdaterThousandCyclesOnlyReverify(t *testing.T) {
	t.Parallel()
	srv, c := newFake(t)
	ctx := t.Context()
	for _, n := range []string{"vpn", "a", "b"} {
		managed(srv, n+".thehomelab.site", "A", "203.0.113.10")
	}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	u := newUpdater(t, c, dns.UpdaterConfig{Names: []string{"vpn", "a", "b"},
		IPv4: dns.StaticSource(netip.MustParseAddr("203.0.113.10")), VerifyEvery: time.Hour})
	dns.SetClock(u, func() time.Time { mu.Lock(); defer mu.Unlock(); return now })
	_, err := u.Update(ctx)
	require.NoError(t, err)
	srv.ResetRequests()
	checked := 0
	for range 1000 {
		mu.Lock()
		now = now.Add(5 * time.Minute)
		mu.Unlock()
		p, err := u.Update(ctx)
		require.NoError(t, err)
		require.False(t, p.Changed())
		if p.Checked {
			checked++
		}
	}
	// 1,000 × 5 min = 83 h 20 min: a re-verification every 12th cycle.
	assert.Equal(t, 83, checked)
	assert.Equal(t, 83, count(srv, dnstest.EndpointListRecords))
	assert.Equal(t, 83, len(srv.Requests()), "nothing but the re-verification lists")
}

// NeverVerify: a day of 5-minute cycles with an unchanged address makes
// no Cloudflare request at all; a changed address is still published at
// once, and Recheck still reads Cloudflare.
func TestUpdaterNeverVerifyQuietDay(t *testing.T) {
	t.Parallel()
	srv, c := newFake(t)
	ctx := t.Context()
	managed(srv, "vpn.thehomelab.site", "A", "203.0.113.10")
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	addr := netip.MustParseAddr("203.0.113.10")
	u := newUpdater(t, c, dns.UpdaterConfig{Names: []string{"vpn"}, VerifyEvery: dns.NeverVerify,
		IPv4: func(context.Context) (netip.Addr, error) { mu.Lock(); defer mu.Unlock(); return addr, nil }})
	dns.SetClock(u, func() time.Time { mu.Lock(); defer mu.Unlock(); return now })
	_, err := u.Update(ctx)
	require.NoError(t, err)
	srv.ResetRequests()
	for range 24 * 60 / 5 {
		mu.Lock()
		now = now.Add(5 * time.Minute)
		mu.Unlock()
		p, err := u.Update(ctx)
		require.NoError(t, err)
		require.False(t, p.Changed())
		require.False(t, p.Checked)
	}
	assert.Empty(t, srv.Requests(), "a quiet day costs no Cloudflare request")

	mu.Lock()
	addr = netip.MustParseAddr("203.0.113.77")
	mu.Unlock()
	p, err := u.Update(ctx)
	require.NoError(t, err)
	assert.True(t, p.Changed(), "a new address is published at once")

	srv.ResetRequests()
	u.Recheck()
	p, err = u.Update(ctx)
	require.NoError(t, err)
	assert.True(t, p.Checked)
	assert.Equal(t, 1, count(srv, dnstest.EndpointListRecords))
}

// Run backs off exponentially after failures, from min(interval, 30 s) up
// to 8 × interval (±10 % jitter), and goes back to the interval after a
// success. Fake clock: no request is made (the source fails).
func TestUpdaterRunBackoff(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		c, err := dns.NewClient(secret.New("x"), dns.WithBaseURL("http://127.0.0.1:9"))
		require.NoError(t, err)
		defer c.Close()
		boom := errors.New("router unreachable")
		var events []dns.Event
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		u, err := c.NewUpdater(dns.UpdaterConfig{Zone: "thehomelab.site", Names: []string{"vpn"},
			IPv4: func(context.Context) (netip.Addr, error) { return netip.Addr{}, boom },
			OnEvent: func(e dns.Event) {
				events = append(events, e)
				if len(events) == 10 {
					cancel()
				}
			}})
		require.NoError(t, err)
		start := time.Now()
		require.ErrorIs(t, u.Run(ctx, time.Hour), context.Canceled)
		want := []time.Duration{30 * time.Second, time.Minute, 2 * time.Minute, 4 * time.Minute, 8 * time.Minute,
			16 * time.Minute, 32 * time.Minute, 64 * time.Minute, 128 * time.Minute, 256 * time.Minute}
		require.Len(t, events, len(want))
		var total time.Duration
		for i, e := range events {
			assert.Equal(t, dns.EventError, e.Kind)
			assert.ErrorIs(t, e.Err, boom)
			assert.InDelta(t, float64(want[i]), float64(e.Next), 0.1*float64(want[i])+1, "event %d", i)
			if i < len(events)-1 {
				total += e.Next
			}
		}
		assert.Equal(t, total, time.Since(start), "Run waited exactly what it announced")
	})
}

// Successful cycles wait the interval with ±10 % jitter, so several
// updaters do not hit Cloudflare in lockstep.
func TestUpdaterRunJitter(t *testing.T) {
	t.Parallel()
	_, c := newFake(t)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	const interval = 2 * time.Millisecond
	var nexts []time.Duration
	u := newUpdater(t, c, dns.UpdaterConfig{Names: []string{"vpn"}, IPv4: dns.StaticSource(netip.MustParseAddr("203.0.113.10")),
		OnEvent: func(e dns.Event) {
			if e.Kind == dns.EventError {
				t.Error(e.Err)
			}
			nexts = append(nexts, e.Next)
			if len(nexts) == 20 {
				cancel()
			}
		}})
	require.ErrorIs(t, u.Run(ctx, interval), context.Canceled)
	distinct := map[time.Duration]bool{}
	for _, n := range nexts {
		assert.GreaterOrEqual(t, n, interval*9/10)
		assert.LessOrEqual(t, n, interval*11/10)
		distinct[n] = true
	}
	assert.Greater(t, len(distinct), 1, "jittered, not a fixed interval")
}

func TestUpdaterPlanContextDone(t *testing.T) {
	t.Parallel()
	srv, c := newFake(t)
	srv.SetLatency(5 * time.Second)
	u := newUpdater(t, c, dns.UpdaterConfig{Names: []string{"vpn"}, IPv4: dns.StaticSource(netip.MustParseAddr("203.0.113.10"))})
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	_, err := u.PlanUpdate(ctx)
	assert.Equal(t, context.DeadlineExceeded, err, "ctx.Err() itself")
	_, err = u.Update(ctx)
	assert.Equal(t, context.DeadlineExceeded, err)
}

// Client and Updater are documented as safe for concurrent use; -race
// checks it.
func TestConcurrentUse(t *testing.T) {
	t.Parallel()
	srv, c := newFake(t)
	z := zoneOf(t, c)
	box := &addrBox{}
	box.set("203.0.113.10")
	u := newUpdater(t, c, dns.UpdaterConfig{Names: []string{"vpn", "a"}, IPv4: box.source})
	var wg sync.WaitGroup
	for i := range 6 {
		wg.Go(func() {
			for j := range 10 {
				switch (i + j) % 6 {
				case 0:
					_, err := u.Update(t.Context())
					assert.NoError(t, err)
				case 1:
					_, err := u.PlanUpdate(t.Context())
					assert.NoError(t, err)
				case 2:
					_ = u.State()
					u.Recheck()
				case 3:
					_, err := c.ListRecords(t.Context(), z, dns.RecordFilter{Name: "vpn"})
					assert.NoError(t, err)
				case 4:
					box.set([]string{"203.0.113.10", "198.51.100.20"}[j%2])
				case 5:
					_ = srv.Records("")
					_ = len(srv.Requests())
				}
			}
		})
	}
	wg.Wait()
	box.set("198.51.100.20")
	_, err := u.Update(t.Context())
	require.NoError(t, err)
	for _, n := range []string{"vpn.thehomelab.site", "a.thehomelab.site"} {
		rs := srv.Records(n)
		require.Len(t, rs, 1, "no duplicates from concurrent cycles")
		assert.Equal(t, "198.51.100.20", rs[0].Content)
	}
}

// A restart with a saved State and an unchanged address costs nothing; a
// changed one costs the list and the PATCHes, without the zone lookup.
func TestUpdaterRestoreAcrossRestart(t *testing.T) {
	t.Parallel()
	srv, c := newFake(t)
	ctx := t.Context()
	box := &addrBox{}
	box.set("203.0.113.10")
	cfg := dns.UpdaterConfig{Names: []string{"vpn", "a"}, IPv4: box.source}
	u := newUpdater(t, c, cfg)
	_, err := u.Update(ctx)
	require.NoError(t, err)
	saved, err := json.Marshal(u.State())
	require.NoError(t, err)

	// "Reboot": a new Updater fed the saved state.
	var st dns.State
	require.NoError(t, json.Unmarshal(saved, &st))
	orig := u.State()
	assert.Equal(t, orig.Zone, st.Zone)
	assert.Equal(t, netip.MustParseAddr("203.0.113.10"), st.IPv4)
	assert.True(t, orig.VerifiedAt.Equal(st.VerifiedAt))
	require.Len(t, st.Records, 2)
	for i, r := range st.Records {
		assert.Equal(t, orig.Records[i].ID, r.ID)
		assert.Equal(t, orig.Records[i].Addr, r.Addr)
		assert.Equal(t, orig.Records[i].TTL, r.TTL)
	}
	u2 := newUpdater(t, c, cfg)
	require.NoError(t, u2.Restore(st))
	srv.ResetRequests()
	p, err := u2.Update(ctx)
	require.NoError(t, err)
	assert.False(t, p.Checked)
	assert.Zero(t, len(srv.Requests()), "unchanged address after a restart: zero requests")

	box.set("198.51.100.20")
	p, err = u2.Update(ctx)
	require.NoError(t, err)
	assert.Len(t, p.Changes, 2)
	assert.Zero(t, count(srv, dnstest.EndpointListZones), "zone id remembered")
	assert.Equal(t, 3, len(srv.Requests()), "one list, two patches")

	// A pending state (a failed change) is re-read at once; another zone
	// is refused.
	st = u2.State()
	st.Pending = true
	u3 := newUpdater(t, c, cfg)
	require.NoError(t, u3.Restore(st))
	srv.ResetRequests()
	p, err = u3.Update(ctx)
	require.NoError(t, err)
	assert.True(t, p.Checked)
	st.Zone.Name = "example.org"
	require.Error(t, u3.Restore(st))
}

// A name blocked by an unmanaged record is reported every cycle, but from
// memory: no request until the next re-verification or Recheck, which
// also notices when the record was handed over (comment added).
func TestUpdaterBlockedNameCostsNothing(t *testing.T) {
	t.Parallel()
	srv, c := newFake(t)
	ctx := t.Context()
	hand := srv.AddRecord(dnstest.Record{ZoneName: dnstest.SeedZone, Type: "A", Name: "vpn.thehomelab.site", Content: "192.0.2.1", Comment: "set by hand"})
	u := newUpdater(t, c, dns.UpdaterConfig{Names: []string{"vpn", "a"}, IPv4: dns.StaticSource(netip.MustParseAddr("203.0.113.10"))})
	p, err := u.Update(ctx)
	require.ErrorIs(t, err, dns.ErrUnmanaged)
	require.Len(t, p.Changes, 1, "the other name is still created")
	assert.True(t, u.State().Pending)

	srv.ResetRequests()
	for range 20 {
		p, err = u.Update(ctx)
		require.ErrorIs(t, err, dns.ErrUnmanaged)
		assert.Contains(t, err.Error(), "vpn.thehomelab.site A")
		require.Len(t, p.Unmanaged, 1)
		assert.Equal(t, hand.ID, p.Unmanaged[0].ID)
		assert.False(t, p.Checked)
	}
	assert.Zero(t, len(srv.Requests()), "blocked name: reported from memory, no request")

	// The owner hands the record over; Recheck picks it up.
	hand.Comment = dns.DefaultComment
	require.True(t, srv.SetRecord(hand))
	u.Recheck()
	p, err = u.Update(ctx)
	require.NoError(t, err)
	require.Len(t, p.Changes, 1)
	assert.Equal(t, "203.0.113.10", srv.Records("vpn.thehomelab.site")[0].Content)
	assert.False(t, u.State().Pending)
	srv.ResetRequests()
	_, err = u.Update(ctx)
	require.NoError(t, err)
	assert.Zero(t, len(srv.Requests()))
}

// With NeverVerify a blocked name is still looked at again hourly (not
// every cycle): the owner handing the record over is picked up without a
// restart, and once every name is published the zone is not read again.
func TestUpdaterNeverVerifyBlockedHourly(t *testing.T) {
	t.Parallel()
	srv, c := newFake(t)
	ctx := t.Context()
	hand := srv.AddRecord(dnstest.Record{ZoneName: dnstest.SeedZone, Type: "A", Name: "vpn.thehomelab.site", Content: "192.0.2.1", Comment: "set by hand"})
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	u := newUpdater(t, c, dns.UpdaterConfig{Names: []string{"vpn"}, VerifyEvery: dns.NeverVerify,
		IPv4: dns.StaticSource(netip.MustParseAddr("203.0.113.10"))})
	dns.SetClock(u, func() time.Time { mu.Lock(); defer mu.Unlock(); return now })
	step := func() (dns.UpdateResult, error) {
		mu.Lock()
		now = now.Add(5 * time.Minute)
		mu.Unlock()
		return u.Update(ctx)
	}
	_, err := u.Update(ctx)
	require.ErrorIs(t, err, dns.ErrUnmanaged)

	hand.Comment = dns.DefaultComment // the owner hands the record over
	require.True(t, srv.SetRecord(hand))
	srv.ResetRequests()
	for range 11 { // 55 minutes: reported from memory
		_, err = step()
		require.ErrorIs(t, err, dns.ErrUnmanaged)
	}
	assert.Empty(t, srv.Requests())
	p, err := step() // the hour: read again, the handed-over record is taken
	require.NoError(t, err)
	assert.True(t, p.Checked)
	assert.Equal(t, "203.0.113.10", srv.Records("vpn.thehomelab.site")[0].Content)

	srv.ResetRequests()
	for range 24 { // then two quiet hours cost nothing
		_, err = step()
		require.NoError(t, err)
	}
	assert.Empty(t, srv.Requests())
}

// The "one list, three patches" holds for a zone bigger than
// Cloudflare's default page of 100 records.
func TestUpdaterBigZoneOneList(t *testing.T) {
	t.Parallel()
	srv, c := newFake(t)
	for i := range 250 {
		srv.AddRecord(dnstest.Record{ZoneName: dnstest.SeedZone, Type: "TXT", Name: fmt.Sprintf("t%d.thehomelab.site", i), Content: "x"})
	}
	names := []string{"vpn", "a", "b"}
	for _, n := range names {
		managed(srv, n+".thehomelab.site", "A", "203.0.113.10")
	}
	box := &addrBox{}
	box.set("203.0.113.10")
	u := newUpdater(t, c, dns.UpdaterConfig{Names: names, IPv4: box.source})
	_, err := u.Update(t.Context())
	require.NoError(t, err)
	box.set("198.51.100.20")
	srv.ResetRequests()
	p, err := u.Update(t.Context())
	require.NoError(t, err)
	assert.Len(t, p.Changes, 3)
	assert.Equal(t, 1, count(srv, dnstest.EndpointListRecords))
	assert.Equal(t, 4, len(srv.Requests()))
}

// Closing the client ends Run (and Apply refuses), even when no cycle
// would make a request.
func TestUpdaterRunEndsOnClose(t *testing.T) {
	t.Parallel()
	srv := dnstest.NewServer()
	t.Cleanup(srv.Close)
	c, err := dns.NewClient(secret.New(dnstest.SeedToken), dns.WithBaseURL(srv.URL), dns.WithRateLimit(0))
	require.NoError(t, err)
	var cycles atomic.Int32
	u := newUpdater(t, c, dns.UpdaterConfig{Names: []string{"vpn"}, IPv4: dns.StaticSource(netip.MustParseAddr("203.0.113.10")),
		OnEvent: func(dns.Event) {
			if cycles.Add(1) == 3 {
				_ = c.Close()
			}
		}})
	done := make(chan error, 1)
	go func() { done <- u.Run(t.Context(), time.Millisecond) }()
	select {
	case err := <-done:
		require.ErrorIs(t, err, dns.ErrClosed)
	case <-time.After(10 * time.Second):
		t.Fatal("Run kept going after Close")
	}
	assert.Equal(t, int32(3), cycles.Load())
	_, err = u.Update(t.Context())
	require.ErrorIs(t, err, dns.ErrClosed)
	_, err = u.PlanUpdate(t.Context())
	require.ErrorIs(t, err, dns.ErrClosed)
}

// A source that never answers (a hung router API) costs one
// SourceTimeout, not the whole loop.
func TestUpdaterSourceTimeout(t *testing.T) {
	t.Parallel()
	srv, c := newFake(t)
	hung := func(ctx context.Context) (netip.Addr, error) {
		<-ctx.Done()
		return netip.Addr{}, ctx.Err()
	}
	u := newUpdater(t, c, dns.UpdaterConfig{Names: []string{"vpn"}, IPv4: hung,
		IPv6: dns.StaticSource(netip.MustParseAddr("2001:db8::42")), SourceTimeout: 20 * time.Millisecond})
	start := time.Now()
	p, err := u.Update(t.Context())
	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Contains(t, err.Error(), "dns: ddns ipv4 source: no answer within 20ms")
	assert.Less(t, time.Since(start), 5*time.Second)
	require.Len(t, p.Changes, 1, "the other family is still published")
	assert.Equal(t, "2001:db8::42", srv.Records("vpn.thehomelab.site")[0].Content)

	_, err = c.NewUpdater(dns.UpdaterConfig{Zone: "z", Names: []string{"x"}, IPv4: hung, SourceTimeout: -time.Second})
	require.Error(t, err)
}
