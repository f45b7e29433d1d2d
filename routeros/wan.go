package routeros

import (
	"context"
	"net/netip"
	"time"
)

// DefaultWANInterface is the PPPoE client interface of the homelab router.
const DefaultWANInterface = "pppoe-out1"

// WANService reads the public side: the PPPoE address and MikroTik cloud.
type WANService struct{ c *Client }

// PublicIP returns the IPv4 address on the WAN interface (iface, or
// DefaultWANInterface when empty), e.g. 203.0.113.45 from "203.0.113.45/32".
// It is ErrNotFound when the interface has no address (PPPoE down).
//
// RouterOS API: /ip/address/print ?interface=<iface>
func (s *WANService) PublicIP(ctx context.Context, iface string) (netip.Addr, error) {
	if iface == "" {
		iface = DefaultWANInterface
	}
	op := "read public ip of " + iface
	recs, err := s.c.print(ctx, op, "/ip/address", "?interface="+iface, "=.proplist=address,disabled,invalid")
	if err != nil {
		return netip.Addr{}, err
	}
	for _, r := range recs {
		if r.Bool("disabled") || r.Bool("invalid") {
			continue
		}
		p, err := parsePrefix(r["address"])
		if err != nil {
			return netip.Addr{}, &Error{Op: op, Code: -1, Err: err, kinds: []error{ErrInvalid}}
		}
		if p.Addr().Is4() {
			return p.Addr(), nil
		}
	}
	return netip.Addr{}, notFound(op, "no ipv4 address on "+iface)
}

// PPPoEStatus is one reading of /interface/pppoe-client/monitor.
type PPPoEStatus struct {
	Status        string // connected, dialing, verifying password..., disconnected
	Uptime        time.Duration
	LocalAddress  netip.Addr // the public IP
	RemoteAddress netip.Addr
	ACName        string
	ServiceName   string
	MTU, MRU      int
}

// Connected reports whether the session is up.
func (p PPPoEStatus) Connected() bool { return p.Status == "connected" }

// PPPoE monitors the PPPoE client once (iface, or DefaultWANInterface).
//
// RouterOS API: /interface/pppoe-client/monitor =numbers=<iface> =once=
func (s *WANService) PPPoE(ctx context.Context, iface string) (PPPoEStatus, error) {
	if iface == "" {
		iface = DefaultWANInterface
	}
	op := "monitor " + iface
	r, err := s.c.one(ctx, op, cmd{"/interface/pppoe-client/monitor", kv("numbers", iface), "=once="})
	if err != nil {
		return PPPoEStatus{}, err
	}
	if len(r.re) == 0 {
		return PPPoEStatus{}, notFound(op, "no monitor record")
	}
	m := r.re[0]
	st := PPPoEStatus{Status: m["status"], Uptime: m.Duration("uptime"), ACName: m["ac-name"],
		ServiceName: m["service-name"], MTU: int(m.Int("mtu")), MRU: int(m.Int("mru"))}
	st.LocalAddress, _ = netip.ParseAddr(m["local-address"])
	st.RemoteAddress, _ = netip.ParseAddr(m["remote-address"])
	return st, nil
}

// DDNSMode is /ip/cloud ddns-enabled: yes, no, or (RouterOS 7.17+, the
// default there) auto, which turns DDNS on only while a feature such as
// Back To Home needs it. Before 7.17 the router prints true/false, read as
// DDNSOn/DDNSOff.
type DDNSMode string

// The values of ddns-enabled.
const (
	DDNSOff  DDNSMode = "no"
	DDNSOn   DDNSMode = "yes"
	DDNSAuto DDNSMode = "auto"
)

func parseDDNSMode(s string) DDNSMode {
	switch s {
	case "yes", "true":
		return DDNSOn
	case "no", "false":
		return DDNSOff
	}
	return DDNSMode(s)
}

// Cloud is /ip/cloud (MikroTik's DDNS).
type Cloud struct {
	DDNSEnabled   DDNSMode
	PublicAddress netip.Addr // invalid until the first successful update
	DNSName       string     // <serial>.sn.mynetname.net, once updated
	Status        string
	Warning       string // set when the router's and the cloud's view differ (NAT)
}

// Cloud reads the MikroTik cloud status and public address.
//
// RouterOS API: /ip/cloud/print
func (s *WANService) Cloud(ctx context.Context) (Cloud, error) {
	const op = "read ip cloud"
	recs, err := s.c.print(ctx, op, "/ip/cloud")
	if err != nil {
		return Cloud{}, err
	}
	if len(recs) == 0 {
		return Cloud{}, notFound(op, "no record")
	}
	r := recs[0]
	cl := Cloud{DDNSEnabled: parseDDNSMode(r["ddns-enabled"]), DNSName: r["dns-name"], Status: r["status"], Warning: r["warning"]}
	cl.PublicAddress, _ = netip.ParseAddr(r["public-address"])
	return cl, nil
}
