package routeros

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	gorouteros "github.com/go-routeros/routeros/v3"

	"github.com/thehomelab/homelab/routeros/routerostest"
)

// benchLatency is the injected per-reply latency the issue asks for.
const benchLatency = 5 * time.Millisecond

func benchServer(b *testing.B) *routerostest.Server {
	b.Helper()
	return routerostest.Start(b, routerostest.WithLatency(benchLatency))
}

// naiveClient is go-routeros used the plain way: one sync Run per command.
func naiveClient(b *testing.B, srv *routerostest.Server) *gorouteros.Client {
	b.Helper()
	conn, err := net.Dial("tcp", srv.Addr())
	if err != nil {
		b.Fatal(err)
	}
	c, err := gorouteros.NewClient(conn)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = c.Close() })
	if err := c.LoginContext(context.Background(), routerostest.DefaultUser, routerostest.DefaultPassword); err != nil {
		b.Fatal(err)
	}
	return c
}

// cleanup removes what an iteration added, outside the timer, so the fake's
// tables stay the seed lab's size however many iterations run (its
// validation scans a table: a growing one would be measured, not the client).
func cleanup(b *testing.B, srv *routerostest.Server, menu, query string) {
	b.Helper()
	b.StopTimer()
	defer b.StartTimer()
	out, err := srv.Run(menu+"/print", query, "=.proplist=.id")
	if err != nil {
		b.Fatal(err)
	}
	var ids []string
	for _, re := range out {
		if re[0] == "!re" {
			ids = append(ids, strings.TrimPrefix(re[1], "=.id="))
		}
	}
	if len(ids) == 0 {
		b.Fatalf("nothing to clean up in %s %s", menu, query)
	}
	removeIDs(b, srv, menu, ids)
}

// removeIDs removes items by id, outside the timer.
func removeIDs(b *testing.B, srv *routerostest.Server, menu string, ids []string) {
	b.Helper()
	b.StopTimer()
	defer b.StartTimer()
	if _, err := srv.Run(menu+"/remove", "=.id="+strings.Join(ids, ",")); err != nil {
		b.Fatal(err)
	}
}

func listAddrs(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("10.%d.%d.%d", 20+i/65536, (i/256)%256, i%256)
	}
	return out
}

// BenchmarkEnsureAddressList500 brings a 500-entry address list from empty
// to the desired set.
func BenchmarkEnsureAddressList500(b *testing.B) {
	desired := listAddrs(500)
	b.Run("sdk-pipelined", func(b *testing.B) {
		srv := benchServer(b)
		c, err := Dial(b.Context(), srv.Addr(), creds)
		if err != nil {
			b.Fatal(err)
		}
		defer c.Close()
		start := c.roundTrips()
		b.ResetTimer()
		for i := 0; b.Loop(); i++ {
			list := fmt.Sprintf("bench-%d", i)
			res, err := c.Firewall.EnsureAddressList(b.Context(), list, desired)
			if err != nil {
				b.Fatal(err)
			}
			if len(res.Added) != len(desired) {
				b.Fatalf("added %d", len(res.Added))
			}
			cleanup(b, srv, "/ip/firewall/address-list", "?list="+list)
		}
		b.ReportMetric(float64(c.roundTrips()-start)/float64(b.N), "roundtrips/op")
	})
	b.Run("go-routeros-one-by-one", func(b *testing.B) {
		srv := benchServer(b)
		c := naiveClient(b, srv)
		rt := 0
		b.ResetTimer()
		for i := 0; b.Loop(); i++ {
			list := fmt.Sprintf("bench-%d", i)
			rep, err := c.Run("/ip/firewall/address-list/print", "?list="+list, "=.proplist=.id,address")
			rt++
			if err != nil {
				b.Fatal(err)
			}
			have := map[string]bool{}
			for _, s := range rep.Re {
				have[s.Map["address"]] = true
			}
			for _, a := range desired {
				if have[a] {
					continue
				}
				rep, err := c.Run("/ip/firewall/address-list/add", "=list="+list, "=address="+a)
				rt++
				if err != nil || rep.Done == nil || rep.Done.Map["ret"] == "" {
					b.Fatalf("add %s: %v", a, err)
				}
			}
			cleanup(b, srv, "/ip/firewall/address-list", "?list="+list)
		}
		b.ReportMetric(float64(rt)/float64(b.N), "roundtrips/op")
	})
}

func fakeKeys(n int) []string {
	out := make([]string, n)
	for i := range out {
		var k [32]byte
		_, _ = rand.Read(k[:])
		out[i] = base64.StdEncoding.EncodeToString(k[:])
	}
	return out
}

func peerAddr(iter, i int) netip.Prefix {
	return netip.PrefixFrom(netip.AddrFrom4([4]byte{172, byte(16 + iter/256), byte(iter % 256), byte(i + 1)}), 32)
}

// BenchmarkAddPeers200 adds 200 WireGuard peers.
func BenchmarkAddPeers200(b *testing.B) {
	const n = 200
	b.Run("sdk-pipelined", func(b *testing.B) {
		srv := benchServer(b)
		c, err := Dial(b.Context(), srv.Addr(), creds)
		if err != nil {
			b.Fatal(err)
		}
		defer c.Close()
		if _, _, err := c.routerVersion(b.Context()); err != nil { // cached once per client
			b.Fatal(err)
		}
		start := c.roundTrips()
		b.ResetTimer()
		for i := 0; b.Loop(); i++ {
			b.StopTimer()
			keys := fakeKeys(n)
			specs := make([]PeerSpec, n)
			for j := range specs {
				specs[j] = PeerSpec{Name: fmt.Sprintf("p%d-%d", i, j), PublicKey: keys[j], AllowedAddress: []netip.Prefix{peerAddr(i, j)}, Responder: true}
			}
			b.StartTimer()
			ids, err := c.WireGuard.AddPeers(b.Context(), specs)
			if err != nil {
				b.Fatal(err)
			}
			if len(ids) != n {
				b.Fatalf("got %d ids", len(ids))
			}
			strs := make([]string, len(ids))
			for j, id := range ids {
				strs[j] = string(id)
			}
			removeIDs(b, srv, "/interface/wireguard/peers", strs)
		}
		b.ReportMetric(float64(c.roundTrips()-start)/float64(b.N), "roundtrips/op")
	})
	b.Run("go-routeros-one-by-one", func(b *testing.B) {
		srv := benchServer(b)
		c := naiveClient(b, srv)
		rt := 0
		b.ResetTimer()
		for i := 0; b.Loop(); i++ {
			b.StopTimer()
			keys := fakeKeys(n)
			b.StartTimer()
			ids := make([]string, 0, n)
			for j := range n {
				rep, err := c.Run("/interface/wireguard/peers/add", "=interface=wireguard1", "=public-key="+keys[j],
					"=allowed-address="+peerAddr(i, j).String(), fmt.Sprintf("=name=p%d-%d", i, j), "=responder=yes")
				rt++
				if err != nil || rep.Done == nil || rep.Done.Map["ret"] == "" {
					b.Fatalf("add peer: %v", err)
				}
				ids = append(ids, rep.Done.Map["ret"])
			}
			removeIDs(b, srv, "/interface/wireguard/peers", ids)
		}
		b.ReportMetric(float64(rt)/float64(b.N), "roundtrips/op")
	})
}

// BenchmarkAuditIsolation audits the lab (IPv4 forward and input, with the
// blocklist the rules name) against a fake with 5 ms latency: two round
// trips whatever the number of rules, lists and services.
func BenchmarkAuditIsolation(b *testing.B) {
	srv := benchServer(b)
	c, err := Dial(context.Background(), srv.Addr(), creds)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	guest, lan := netip.MustParsePrefix(routerostest.LabGuest), netip.MustParsePrefix(routerostest.LabLAN)
	start := c.roundTrips()
	for b.Loop() {
		rep, err := c.Firewall.AuditIsolation(context.Background(), guest, lan)
		if err != nil || !rep.Isolated {
			b.Fatal(err, rep.Reason)
		}
	}
	b.ReportMetric(float64(c.roundTrips()-start)/float64(b.N), "roundtrips/op")
}
