package routeros_test

import (
	"bytes"
	"context"
	"fmt"
	"log"
	"net/netip"
	"strings"

	"github.com/thehomelab/homelab/routeros"
	"github.com/thehomelab/homelab/routeros/routerostest"
	"github.com/thehomelab/homelab/secret"
)

// router starts the fake lab router and dials it, as a real program would
// dial 192.168.1.1:8728.
func router() (*routerostest.Server, *routeros.Client) {
	srv := routerostest.NewServer()
	c, err := routeros.Dial(context.Background(), srv.Addr(),
		routeros.WithCredentials(routerostest.DefaultUser, secret.New(routerostest.DefaultPassword)))
	if err != nil {
		log.Fatal(err)
	}
	return srv, c
}

func ExampleWANService_PublicIP() {
	srv, c := router()
	defer srv.Close()
	defer c.Close()

	ip, err := c.WAN.PublicIP(context.Background(), "") // "" means pppoe-out1
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("public IPv4:", ip)
	// Output:
	// public IPv4: 203.0.113.45
}

func ExampleFirewallService_AuditIsolation() {
	srv, c := router()
	defer srv.Close()
	defer c.Close()
	ctx := context.Background()
	guest, lan := netip.MustParsePrefix("10.1.1.0/24"), netip.MustParsePrefix("192.168.1.0/24")

	rep, err := c.Firewall.AuditIsolation(ctx, guest, lan)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("isolated=%v by %q\n", rep.Isolated, rep.Rule.Comment)

	fmt.Println("audited:", strings.Join(rep.Chains, ", "))

	// Someone disables the drop rule on the router.
	if err := c.Firewall.DisableFilterRule(ctx, rep.Rule.ID); err != nil {
		log.Fatal(err)
	}
	rep, err = c.Firewall.AuditIsolation(ctx, guest, lan)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("isolated:", rep.Isolated)
	for _, p := range rep.Passes {
		fmt.Println("passes", p)
	}
	fmt.Println("closest:", rep.Closest.Comment)
	// Output:
	// isolated=true by "guest isolation"
	// audited: ip forward, ip input
	// isolated: false
	// passes ip forward: tcp, udp, icmp and other protocols from 10.1.1.0/24 to 192.168.1.0/24
	// closest: guest isolation
}

func ExampleWireGuardService_Onboard() {
	srv, c := router()
	defer srv.Close()
	defer c.Close()

	ob, err := c.WireGuard.Onboard(context.Background(), "phone-anna", routeros.OnboardOptions{
		AllowedIPs: []netip.Prefix{netip.MustParsePrefix("192.168.1.0/24"), netip.MustParsePrefix("192.168.100.0/24")},
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("client address:", ob.Address)
	// The config holds fresh keys; print the rest of it.
	for _, line := range strings.Split(ob.Config.Reveal(), "\n") {
		if !strings.Contains(line, "Key =") {
			fmt.Println(line)
		}
	}
	fmt.Println("QR is a PNG:", bytes.HasPrefix([]byte(ob.QR.Reveal()), []byte("\x89PNG")))
	fmt.Println("config prints as:", ob.Config)
	// Output:
	// client address: 192.168.100.4/32
	// [Interface]
	// Address = 192.168.100.4/32
	// DNS = 192.168.100.1
	//
	// [Peer]
	// Endpoint = a1b2c3d4e5f6.sn.mynetname.net:13231
	// AllowedIPs = 192.168.1.0/24, 192.168.100.0/24
	// PersistentKeepalive = 25
	//
	// QR is a PNG: true
	// config prints as: REDACTED
}

func ExampleFirewallService_EnsureAddressList() {
	srv, c := router()
	defer srv.Close()
	defer c.Close()
	ctx := context.Background()

	desired := []string{"198.51.100.7", "192.0.2.0/24"}
	res, err := c.Firewall.EnsureAddressList(ctx, "blocklist", desired)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(res.Action)
	for _, ch := range res.Changes {
		fmt.Println(ch)
	}
	res, _ = c.Firewall.EnsureAddressList(ctx, "blocklist", desired)
	fmt.Println("second run:", res.Action, res.Changed())
	// Output:
	// updated
	// added 192.0.2.0/24
	// removed 198.51.100.0/28
	// second run: unchanged false
}

func ExampleClient_Run() {
	srv, c := router()
	defer srv.Close()
	defer c.Close()

	reply, err := c.Run(context.Background(), "/ip/dhcp-server/lease/print", "?server=dhcp-lan", "=.proplist=address,host-name")
	if err != nil {
		log.Fatal(err)
	}
	for _, r := range reply.Records {
		fmt.Println(r["address"], r["host-name"])
	}
	// Output:
	// 192.168.1.10 nas
	// 192.168.1.23 laptop
}
