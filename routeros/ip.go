package routeros

import (
	"context"
	"net"
	"net/netip"
	"time"
)

// IPService reads /ip/address and /ip/route.
type IPService struct{ c *Client }

// Address is an /ip/address entry.
type Address struct {
	ID        ID
	Address   netip.Prefix // host address with prefix length, e.g. 192.168.1.1/24
	Network   netip.Addr   // network, or the peer address of a PPPoE /32
	Interface string
	Comment   string
	Dynamic   bool
	Disabled  bool
	Invalid   bool
}

// Addresses lists the router's IP addresses.
//
// RouterOS API: /ip/address/print
func (s *IPService) Addresses(ctx context.Context) ([]Address, error) {
	const op = "list addresses"
	recs, err := s.c.print(ctx, op, "/ip/address")
	if err != nil {
		return nil, err
	}
	out := make([]Address, 0, len(recs))
	for _, r := range recs {
		p, err := parsePrefix(r["address"])
		if err != nil {
			return nil, &Error{Op: op, Code: -1, Err: err, kinds: []error{ErrInvalid}}
		}
		a := Address{ID: r.ID(), Address: p, Interface: r["interface"], Comment: r["comment"],
			Dynamic: r.Bool("dynamic"), Disabled: r.Bool("disabled"), Invalid: r.Bool("invalid")}
		a.Network, _ = netip.ParseAddr(r["network"])
		out = append(out, a)
	}
	return out, nil
}

// Route is an /ip/route entry.
type Route struct {
	ID           ID
	Dst          netip.Prefix
	Gateway      string // address or interface name
	Distance     int
	RoutingTable string
	Comment      string
	Dynamic      bool
	Active       bool
	Disabled     bool
}

// Routes lists the routing table.
//
// RouterOS API: /ip/route/print
func (s *IPService) Routes(ctx context.Context) ([]Route, error) {
	const op = "list routes"
	recs, err := s.c.print(ctx, op, "/ip/route")
	if err != nil {
		return nil, err
	}
	out := make([]Route, 0, len(recs))
	for _, r := range recs {
		p, err := parsePrefix(r["dst-address"])
		if err != nil {
			return nil, &Error{Op: op, Code: -1, Err: err, kinds: []error{ErrInvalid}}
		}
		out = append(out, Route{ID: r.ID(), Dst: p, Gateway: r["gateway"], Distance: int(r.Int("distance")),
			RoutingTable: r["routing-table"], Comment: r["comment"], Dynamic: r.Bool("dynamic"),
			Active: r.Bool("active"), Disabled: r.Bool("disabled")})
	}
	return out, nil
}

// DHCPService manages /ip/dhcp-server/lease.
type DHCPService struct{ c *Client }

// Lease is a DHCP server lease.
type Lease struct {
	ID           ID
	Address      netip.Addr
	MAC          net.HardwareAddr
	Server       string
	HostName     string
	Comment      string
	Status       string // bound, waiting, offered, …
	Dynamic      bool
	Disabled     bool
	ExpiresAfter time.Duration
	LastSeen     time.Duration
}

// Leases lists DHCP leases.
//
// RouterOS API: /ip/dhcp-server/lease/print
func (s *DHCPService) Leases(ctx context.Context) ([]Lease, error) {
	const op = "list dhcp leases"
	recs, err := s.c.print(ctx, op, "/ip/dhcp-server/lease")
	if err != nil {
		return nil, err
	}
	out := make([]Lease, 0, len(recs))
	for _, r := range recs {
		l := Lease{ID: r.ID(), Server: r["server"], HostName: r["host-name"], Comment: r["comment"],
			Status: r["status"], Dynamic: r.Bool("dynamic"), Disabled: r.Bool("disabled"),
			ExpiresAfter: r.Duration("expires-after"), LastSeen: r.Duration("last-seen")}
		l.Address, _ = netip.ParseAddr(r["address"])
		l.MAC, _ = net.ParseMAC(r["mac-address"])
		out = append(out, l)
	}
	return out, nil
}

// MakeStatic pins a dynamic lease so it survives expiry.
//
// RouterOS API: /ip/dhcp-server/lease/make-static =.id=
func (s *DHCPService) MakeStatic(ctx context.Context, id ID) error {
	_, err := s.c.one(ctx, "make lease "+string(id)+" static", cmd{"/ip/dhcp-server/lease/make-static", kv(".id", string(id))})
	return err
}

// SetComment sets a lease's comment (make it static first: dynamic leases
// cannot be changed).
//
// RouterOS API: /ip/dhcp-server/lease/set =.id= =comment=
func (s *DHCPService) SetComment(ctx context.Context, id ID, comment string) error {
	_, err := s.c.one(ctx, "comment lease "+string(id), cmd{"/ip/dhcp-server/lease/set", kv(".id", string(id)), kv("comment", comment)})
	return err
}
