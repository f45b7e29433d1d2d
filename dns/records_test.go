package dns_test

import (
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/thehomelab/homelab/dns"
	"github.com/thehomelab/homelab/dns/dnstest"
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
	assert.Zero(t, srv.Requests(dnstest.EndpointPutRecord), "never PUT")

	rs, err := c.ListRecords(ctx, z, dns.RecordFilter{Name: "vpn", Type: dns.TypeA})
	require.NoError(t, err)
	require.Len(t, rs, 1)

	require.NoError(t, c.DeleteRecord(ctx, z, r.ID))
	_, err = c.GetRecord(ctx, z, r.ID)
	require.ErrorIs(t, err, dns.ErrNotFound)
	t.Log(err)
}
