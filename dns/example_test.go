package dns_test

import (
	"context"
	"fmt"
	"log"
	"net/netip"
	"time"

	"github.com/thehomelab/homelab/dns"
	"github.com/thehomelab/homelab/dns/dnstest"
	"github.com/thehomelab/homelab/secret"
)

// routerPPPoE stands in for the router: in examples/homelab it asks the
// MikroTik for the address of its pppoe-out interface.
func routerPPPoE(addr string) dns.Source {
	return func(ctx context.Context) (netip.Addr, error) {
		return netip.ParseAddr(addr)
	}
}

func ExampleNewClient() {
	srv := dnstest.NewServer() // in production: no WithBaseURL
	defer srv.Close()

	c, err := dns.NewClient(secret.New(dnstest.SeedToken), dns.WithBaseURL(srv.URL))
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	z, err := c.Zone(ctx, "thehomelab.site")
	if err != nil {
		log.Fatal(err)
	}
	r, err := c.CreateRecord(ctx, z, dns.Record{Type: dns.TypeA, Name: "vpn", Addr: netip.MustParseAddr("203.0.113.10")})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(r, r.TTL == dns.TTLAuto, r.Proxied)
	// Output: vpn.thehomelab.site A 203.0.113.10 true false
}

func ExampleUpdater_PlanUpdate() {
	srv := dnstest.NewServer()
	defer srv.Close()
	srv.AddRecord(dnstest.Record{ZoneName: "thehomelab.site", Type: "A", Name: "vpn.thehomelab.site",
		Content: "203.0.113.10", Comment: dns.DefaultComment})

	c, err := dns.NewClient(secret.New(dnstest.SeedToken), dns.WithBaseURL(srv.URL))
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	u, err := c.NewUpdater(dns.UpdaterConfig{
		Zone:  "thehomelab.site",
		Names: []string{"vpn", "home"},
		IPv4:  routerPPPoE("198.51.100.20"),
	})
	if err != nil {
		log.Fatal(err)
	}
	p, err := u.PlanUpdate(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	for _, ch := range p.Changes {
		fmt.Println(ch)
	}
	fmt.Println("still", srv.Records("vpn.thehomelab.site")[0].Content)
	// Output:
	// update vpn.thehomelab.site A 203.0.113.10 -> 198.51.100.20
	// create home.thehomelab.site A 198.51.100.20
	// still 203.0.113.10
}

func ExampleUpdater_Update() {
	srv := dnstest.NewServer()
	defer srv.Close()
	srv.AddRecord(dnstest.Record{ZoneName: "thehomelab.site", Type: "A", Name: "vpn.thehomelab.site",
		Content: "203.0.113.10", TTL: 120, Comment: dns.DefaultComment})

	c, err := dns.NewClient(secret.New(dnstest.SeedToken), dns.WithBaseURL(srv.URL))
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	u, err := c.NewUpdater(dns.UpdaterConfig{
		Zone:        "thehomelab.site",
		Names:       []string{"vpn"},
		IPv4:        routerPPPoE("198.51.100.20"),
		VerifyEvery: 6 * time.Hour,
	})
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	p, err := u.Update(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(p.Changes[0])

	srv.ResetRequests()
	p, err = u.Update(ctx) // same address: nothing to do, no request
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("changed:", p.Changed(), "requests:", len(srv.Requests()))
	r := srv.Records("vpn.thehomelab.site")[0]
	fmt.Println(r.Content, r.TTL, r.Comment)
	// Output:
	// update vpn.thehomelab.site A 203.0.113.10 -> 198.51.100.20
	// changed: false requests: 0
	// 198.51.100.20 120 managed by homelab dns
}

func ExampleUpdater_Update_refused() {
	srv := dnstest.NewServer()
	defer srv.Close()
	c, err := dns.NewClient(secret.New(dnstest.SeedToken), dns.WithBaseURL(srv.URL))
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	u, err := c.NewUpdater(dns.UpdaterConfig{Zone: "thehomelab.site", Names: []string{"vpn"}, IPv4: routerPPPoE("100.72.1.9")})
	if err != nil {
		log.Fatal(err)
	}
	_, err = u.Update(context.Background())
	fmt.Println(err)
	fmt.Println("requests:", len(srv.Requests()))
	// Output:
	// dns: ddns ipv4 source: refusing to publish 100.72.1.9: cgnat (100.64.0.0/10) address
	// requests: 0
}

func ExampleClient_PresentChallenge() {
	srv := dnstest.NewServer()
	defer srv.Close()
	c, err := dns.NewClient(secret.New(dnstest.SeedToken), dns.WithBaseURL(srv.URL))
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	z, err := c.Zone(ctx, "thehomelab.site")
	if err != nil {
		log.Fatal(err)
	}
	// Wildcard and apex in one order: two values on one name.
	ch, err := c.PresentChallenge(ctx, z, "*.thehomelab.site", "token-for-wildcard", "token-for-apex")
	if err != nil {
		log.Fatal(err)
	}
	if err := ch.Wait(ctx, 100*time.Millisecond); err != nil {
		log.Fatal(err)
	}
	fmt.Println(ch.Name(), len(srv.Records(ch.Name())))
	// … the CA validates here …
	if err := ch.CleanUp(ctx); err != nil {
		log.Fatal(err)
	}
	fmt.Println(len(srv.Records(ch.Name())))
	// Output:
	// _acme-challenge.thehomelab.site 2
	// 0
}

func ExampleClient_VerifyToken() {
	srv := dnstest.NewServer()
	defer srv.Close()
	srv.AddToken(dnstest.Token{Value: "read-only-token", Permissions: []dnstest.Permission{dnstest.DNSRead}})
	c, err := dns.NewClient(secret.New("read-only-token"), dns.WithBaseURL(srv.URL))
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	rep, err := c.VerifyToken(context.Background(), "thehomelab.site", dns.VerifyOptions{ProbeWrite: true})
	fmt.Println(rep.Status, rep.Granted, rep.Missing)
	fmt.Println(err)
	// Output:
	// active [Zone:Read DNS:Read] [DNS:Edit]
	// dns: verify token on thehomelab.site: token lacks DNS:Edit: permission denied
}
