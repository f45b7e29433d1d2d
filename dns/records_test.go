package dns_test

import (
	"net/http"
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/thehomelab/homelab/dns"
	"github.com/thehomelab/homelab/dns/dnstest"
	"github.com/thehomelab/homelab/secret"
)

func TestRecordsCRUD(t *testing.T) {
	t.Parallel()
	srv, c := newFake(t)
	ctx := t.Context()
	z := zoneOf(t, c)
	assert.Equal(t, dnstest.SeedZone, z.Name)

	r, err := c.CreateRecord(ctx, z, dns.Record{Type: dns.TypeA, Name: "vpn", Addr: netip.MustParseAddr("203.0.113.10"),
		TTL: 5 * time.Minute, Comment: "hello", Tags: []string{"env:lab"}})
	require.NoError(t, err)
	assert.Equal(t, "vpn.thehomelab.site", r.Name)
	assert.Equal(t, netip.MustParseAddr("203.0.113.10"), r.Addr)
	assert.Equal(t, 5*time.Minute, r.TTL)
	assert.Equal(t, []string{"env:lab"}, r.Tags)

	got, err := c.GetRecord(ctx, z, r.ID)
	require.NoError(t, err)
	assert.Equal(t, r.ID, got.ID)

	p, err := c.PatchRecord(ctx, z, got, dns.RecordPatch{Addr: netip.MustParseAddr("198.51.100.20")})
	require.NoError(t, err)
	assert.Equal(t, "198.51.100.20", p.Content)
	assert.Equal(t, "hello", p.Comment, "comment kept")
	assert.Equal(t, []string{"env:lab"}, p.Tags, "tags kept")
	assert.Equal(t, 5*time.Minute, p.TTL, "ttl kept")
	assert.Zero(t, count(srv, dnstest.EndpointPutRecord), "never PUT")

	rs, err := c.ListRecords(ctx, z, dns.RecordFilter{Name: "vpn", Type: dns.TypeA})
	require.NoError(t, err)
	require.Len(t, rs, 1)

	require.NoError(t, c.DeleteRecord(ctx, z, r.ID))
	_, err = c.GetRecord(ctx, z, r.ID)
	require.ErrorIs(t, err, dns.ErrNotFound)
	t.Log(err)
}

func TestListFollowsPagination(t *testing.T) {
	t.Parallel()
	srv, c := newFake(t)
	srv.SetMaxPerPage(2)
	for i := range 7 {
		srv.AddRecord(dnstest.Record{ZoneName: dnstest.SeedZone, Type: "TXT", Name: "p.thehomelab.site", Content: string(rune('a' + i))})
	}
	z := zoneOf(t, c)
	srv.ResetRequests()
	rs, err := c.ListRecords(t.Context(), z, dns.RecordFilter{Type: dns.TypeTXT, Name: "p"})
	require.NoError(t, err)
	assert.Len(t, rs, 7)
	assert.Equal(t, 4, count(srv, dnstest.EndpointListRecords))
}

func TestPatchAndTTL(t *testing.T) {
	t.Parallel()
	srv, c := newFake(t)
	ctx := t.Context()
	z := zoneOf(t, c)
	r, err := c.CreateRecord(ctx, z, dns.Record{Type: dns.TypeAAAA, Name: "v6", Addr: netip.MustParseAddr("2001:DB8::1"), Tags: []string{"x:y"}})
	require.NoError(t, err)
	assert.Equal(t, dns.TTLAuto, r.TTL)
	assert.Equal(t, "2001:db8::1", r.Content)

	r, err = c.PatchRecord(ctx, z, r, dns.RecordPatch{TTL: time.Hour, Comment: dns.Ptr("note"), Tags: []string{}})
	require.NoError(t, err)
	assert.Equal(t, time.Hour, r.TTL)
	assert.Equal(t, "note", r.Comment)
	assert.Empty(t, r.Tags)
	r, err = c.PatchRecord(ctx, z, r, dns.RecordPatch{Proxied: dns.Ptr(true)})
	require.NoError(t, err)
	assert.True(t, r.Proxied)
	assert.Equal(t, dns.TTLAuto, r.TTL, "proxied records are automatic")
	assert.Equal(t, "2001:db8::1", srv.Records("v6.thehomelab.site")[0].Content)

	_, err = c.PatchRecord(ctx, z, dns.Record{}, dns.RecordPatch{})
	require.Error(t, err)
	_, err = c.PatchRecord(ctx, z, r, dns.RecordPatch{Addr: netip.MustParseAddr("203.0.113.1")})
	require.Error(t, err, "family checked before sending")
}

func TestFQDN(t *testing.T) {
	t.Parallel()
	z := dns.Zone{Name: "thehomelab.site"}
	for in, want := range map[string]string{
		"": "thehomelab.site", "@": "thehomelab.site", "VPN": "vpn.thehomelab.site", "vpn.thehomelab.site.": "vpn.thehomelab.site",
		"*.apps": "*.apps.thehomelab.site", "café": "xn--caf-dma.thehomelab.site", "thehomelab.site": "thehomelab.site",
	} {
		assert.Equal(t, want, z.FQDN(in), in)
	}
}

func TestOptionsBaseURLAndHTTPClient(t *testing.T) {
	t.Parallel()
	srv := dnstest.NewServer()
	t.Cleanup(srv.Close)
	c, err := dns.NewClient(secret.New(dnstest.SeedToken), dns.WithBaseURL(srv.BaseURL()+"/"),
		dns.WithHTTPClient(&http.Client{}), dns.WithRateLimit(0), dns.WithTimeout(time.Minute))
	require.NoError(t, err)
	defer c.Close()
	_, err = c.Zone(t.Context(), "TheHomelab.Site.")
	require.NoError(t, err)
	assert.Equal(t, 1, count(srv, dnstest.EndpointListZones))
}

func TestListFilters(t *testing.T) {
	t.Parallel()
	srv, c := newFake(t)
	ctx := t.Context()
	z := zoneOf(t, c)
	add := func(name, typ, content, comment string) {
		srv.AddRecord(dnstest.Record{ZoneName: dnstest.SeedZone, Type: typ, Name: name + ".thehomelab.site", Content: content, Comment: comment})
	}
	add("a", "A", "203.0.113.1", "mine")
	add("b", "A", "203.0.113.2", "mine")
	add("b", "AAAA", "2001:db8::2", "")
	add("c", "TXT", "203.0.113.1", "other")
	names := func(rs []dns.Record) []string {
		var out []string
		for _, r := range rs {
			out = append(out, r.Name+" "+string(r.Type))
		}
		return out
	}
	tests := []struct {
		f    dns.RecordFilter
		want []string
	}{
		{dns.RecordFilter{Comment: "mine"}, []string{"a.thehomelab.site A", "b.thehomelab.site A"}},
		{dns.RecordFilter{Content: "203.0.113.1"}, []string{"a.thehomelab.site A", "c.thehomelab.site TXT"}},
		{dns.RecordFilter{Name: "b"}, []string{"b.thehomelab.site A", "b.thehomelab.site AAAA"}},
		{dns.RecordFilter{Name: "B.TheHomelab.Site.", Type: dns.TypeAAAA}, []string{"b.thehomelab.site AAAA"}},
		{dns.RecordFilter{Type: dns.TypeTXT, Comment: "mine"}, nil},
	}
	for _, tt := range tests {
		rs, err := c.ListRecords(ctx, z, tt.f)
		require.NoError(t, err)
		assert.ElementsMatch(t, tt.want, names(rs), "%+v", tt.f)
	}
	rs, err := c.ListRecords(ctx, z, dns.RecordFilter{Name: "b", Type: dns.TypeAAAA})
	require.NoError(t, err)
	require.Len(t, rs, 1)
	assert.Equal(t, netip.MustParseAddr("2001:db8::2"), rs[0].Addr, "typed AAAA content")
	assert.Empty(t, rs[0].Comment)
}
