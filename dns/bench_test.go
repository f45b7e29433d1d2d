package dns_test

import (
	"math"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/thehomelab/homelab/dns"
	"github.com/thehomelab/homelab/dns/dnstest"
)

const benchLatency = 2 * time.Millisecond

var benchNames = []string{"vpn.thehomelab.site", "a.thehomelab.site", "b.thehomelab.site"}

func benchSetup(b *testing.B) (*dnstest.Server, *dns.Client, *addrBox, *dns.Updater) {
	srv, c := newFake(b)
	srv.SetRequestLimit(math.MaxInt32) // count every round trip, however many iterations
	for _, n := range benchNames {
		managed(srv, n, "A", "203.0.113.10")
	}
	box := &addrBox{}
	box.set("203.0.113.10")
	u := newUpdater(b, c, dns.UpdaterConfig{Names: benchNames, IPv4: box.source})
	_, err := u.Update(b.Context())
	require.NoError(b, err)
	srv.SetLatency(benchLatency)
	srv.ResetRequests()
	return srv, c, box, u
}

// BenchmarkUnchanged: a cycle whose address did not change.
func BenchmarkUnchanged(b *testing.B) {
	b.Run("updater", func(b *testing.B) {
		srv, _, _, u := benchSetup(b)
		ctx := b.Context()
		for b.Loop() {
			if _, err := u.Update(ctx); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(len(srv.Requests()))/float64(b.N), "roundtrips/op")
		if n := len(srv.Requests()); n != 0 {
			b.Fatalf("unchanged address cost %d requests, budget 0", n)
		}
	})
	// naive: a stateless updater lists every name each cycle (qdm12-style
	// without DNS resolution; the seed script PUT blindly instead).
	b.Run("naive-list-each-cycle", func(b *testing.B) {
		srv, c, _, _ := benchSetup(b)
		ctx := b.Context()
		z := zoneOf(b, c)
		srv.ResetRequests()
		want := netip.MustParseAddr("203.0.113.10")
		for b.Loop() {
			for _, n := range benchNames {
				rs, err := c.ListRecords(ctx, z, dns.RecordFilter{Type: dns.TypeA, Name: n})
				if err != nil || rs[0].Addr != want {
					b.Fatal(err)
				}
			}
		}
		b.ReportMetric(float64(len(srv.Requests()))/float64(b.N), "roundtrips/op")
	})
}

// BenchmarkChanged: the address changes every cycle, three names.
func BenchmarkChanged(b *testing.B) {
	b.Run("updater", func(b *testing.B) {
		srv, _, box, u := benchSetup(b)
		ctx := b.Context()
		addrs := []string{"198.51.100.20", "203.0.113.10"}
		i := 0
		for b.Loop() {
			box.set(addrs[i%2])
			i++
			p, err := u.Update(ctx)
			if err != nil || len(p.Changes) != 3 {
				b.Fatal(err, p.Changes)
			}
		}
		b.ReportMetric(float64(len(srv.Requests()))/float64(b.N), "roundtrips/op")
		b.ReportMetric(float64(count(srv, dnstest.EndpointPatchRecord))/float64(b.N), "patches/op")
		if n := len(srv.Requests()); n > 4*b.N {
			b.Fatalf("changed address on 3 names cost %.2f requests per cycle, budget 4", float64(n)/float64(b.N))
		}
	})
	b.Run("naive-list-and-patch-per-name", func(b *testing.B) {
		srv, c, _, _ := benchSetup(b)
		ctx := b.Context()
		z := zoneOf(b, c)
		srv.ResetRequests()
		addrs := []netip.Addr{netip.MustParseAddr("198.51.100.20"), netip.MustParseAddr("203.0.113.10")}
		i := 0
		for b.Loop() {
			a := addrs[i%2]
			i++
			for _, n := range benchNames {
				rs, err := c.ListRecords(ctx, z, dns.RecordFilter{Type: dns.TypeA, Name: n})
				if err != nil {
					b.Fatal(err)
				}
				if _, err := c.PatchRecord(ctx, z, rs[0], dns.RecordPatch{Addr: a}); err != nil {
					b.Fatal(err)
				}
			}
		}
		b.ReportMetric(float64(len(srv.Requests()))/float64(b.N), "roundtrips/op")
	})
}

// BenchmarkThousandCycles: 1,000 five-minute cycles (about 3.5 days of
// fake time) with an unchanged address and the default hourly
// re-verification: the only requests are the re-verification lists.
func BenchmarkThousandCycles(b *testing.B) {
	srv, _, _, u := benchSetup(b)
	srv.SetLatency(0)
	ctx := b.Context()
	now := time.Now()
	var mu sync.Mutex
	dns.SetClock(u, func() time.Time { mu.Lock(); defer mu.Unlock(); return now })
	u.Recheck()
	_, err := u.Update(ctx) // verified at the fake "now"
	require.NoError(b, err)
	srv.ResetRequests()
	cycles := 0
	for b.Loop() {
		for range 1000 {
			mu.Lock()
			now = now.Add(5 * time.Minute)
			mu.Unlock()
			if _, err := u.Update(ctx); err != nil {
				b.Fatal(err)
			}
			cycles++
		}
	}
	per := func(n int) float64 { return float64(n) / float64(cycles) * 1000 }
	lists := count(srv, dnstest.EndpointListRecords)
	// 1,000 × 5 min = 83.3 h: about 83 hourly re-verifications, one list
	// each, and nothing else.
	b.ReportMetric(per(len(srv.Requests())), "roundtrips/1000cycles")
	b.ReportMetric(per(lists), "reverify-lists/1000cycles")
	b.ReportMetric(per(len(srv.Requests())-lists), "other-roundtrips/1000cycles")
	if other := len(srv.Requests()) - lists; other != 0 {
		b.Fatalf("%d requests beyond the re-verification lists, budget 0", other)
	}
	if limit := cycles/12 + 1; lists > limit {
		b.Fatalf("%d re-verification lists in %d five-minute cycles, want at most %d (hourly)", lists, cycles, limit)
	}
}
