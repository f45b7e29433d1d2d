package routeros

import (
	"github.com/thehomelab/homelab/secret"
	"maps"

	"context"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/skip2/go-qrcode"
)

// DefaultWireGuardInterface is the homelab's WireGuard interface.
const DefaultWireGuardInterface = "wireguard1"

// WireGuardService manages /interface/wireguard and its peers.
type WireGuardService struct{ c *Client }

// Interface is a WireGuard interface. The private key is never read.
type Interface struct {
	ID         ID
	Name       string
	ListenPort int
	MTU        int
	PublicKey  string // read-only, derived by the router
	Running    bool
	Disabled   bool
	Comment    string
}

func interfaceFrom(r Record) Interface {
	return Interface{ID: r.ID(), Name: r["name"], ListenPort: int(r.Int("listen-port")), MTU: int(r.Int("mtu")),
		PublicKey: r["public-key"], Running: r.Bool("running"), Disabled: r.Bool("disabled"), Comment: r["comment"]}
}

const ifaceProps = "=.proplist=.id,name,listen-port,mtu,public-key,running,disabled,comment"

// Interfaces lists WireGuard interfaces.
//
// RouterOS API: /interface/wireguard/print
func (s *WireGuardService) Interfaces(ctx context.Context) ([]Interface, error) {
	recs, err := s.c.print(ctx, "list wireguard interfaces", "/interface/wireguard", ifaceProps)
	if err != nil {
		return nil, err
	}
	out := make([]Interface, 0, len(recs))
	for _, r := range recs {
		out = append(out, interfaceFrom(r))
	}
	return out, nil
}

// Interface reads one WireGuard interface by name.
//
// RouterOS API: /interface/wireguard/print ?name=
func (s *WireGuardService) Interface(ctx context.Context, name string) (Interface, error) {
	op := "read wireguard interface " + name
	recs, err := s.c.print(ctx, op, "/interface/wireguard", "?name="+name, ifaceProps)
	if err != nil {
		return Interface{}, err
	}
	if len(recs) == 0 {
		return Interface{}, notFound(op, "no such interface")
	}
	return interfaceFrom(recs[0]), nil
}

// InterfaceOptions are optional settings of a new WireGuard interface;
// zero fields take the router's defaults (port 13231, MTU 1420, a private
// key generated on the router).
type InterfaceOptions struct {
	ListenPort int
	MTU        int
	PrivateKey secret.Secret
	Comment    string
}

// CreateInterface adds a WireGuard interface and returns it with the
// public key the router derived.
//
// RouterOS API: /interface/wireguard/add
func (s *WireGuardService) CreateInterface(ctx context.Context, name string, o InterfaceOptions) (Interface, error) {
	op := "create wireguard interface " + name
	c := cmd{"/interface/wireguard/add", kv("name", name)}
	if o.ListenPort > 0 {
		c = append(c, kv("listen-port", strconv.Itoa(o.ListenPort)))
	}
	if o.MTU > 0 {
		c = append(c, kv("mtu", strconv.Itoa(o.MTU)))
	}
	if !o.PrivateKey.IsZero() {
		c = append(c, kv("private-key", o.PrivateKey.Reveal()))
	}
	if o.Comment != "" {
		c = append(c, kv("comment", o.Comment))
	}
	if _, err := s.c.one(ctx, op, c); err != nil {
		return Interface{}, err
	}
	return s.Interface(ctx, name)
}

// Peer is a WireGuard peer as the router holds it. The preshared key is
// never returned; HasPresharedKey says whether one is set.
type Peer struct {
	ID                  ID
	Name                string // name (7.15+), else the comment
	Interface           string
	PublicKey           string
	AllowedAddress      []netip.Prefix
	EndpointAddress     string
	EndpointPort        int
	PersistentKeepalive time.Duration
	Responder           bool
	Comment             string
	Disabled            bool
	HasPresharedKey     bool
	LastHandshake       time.Duration // time since the last handshake; 0 if none
	RX, TX              int64

	// The v7 client fields (7.12+; ClientAllowedAddress 7.21+): what the
	// router's own "show client config" and QR render for this peer. They
	// do not change the server side.
	ClientAddress        []netip.Prefix
	ClientDNS            []string // addresses or names
	ClientEndpoint       string   // host:port the client dials
	ClientKeepalive      time.Duration
	ClientListenPort     int
	ClientAllowedAddress []netip.Prefix
	// HasPrivateKey says the router holds the client's private key (so its
	// QR is complete); the key itself is never returned.
	HasPrivateKey bool
	// CurrentEndpointAddress and CurrentEndpointPort are where the peer's
	// packets come from now (read-only); empty before a handshake.
	CurrentEndpointAddress string
	CurrentEndpointPort    int
}

func peerFrom(r Record) (Peer, error) {
	allowed, err := parsePrefixes(r["allowed-address"])
	if err != nil {
		return Peer{}, err
	}
	p := Peer{ID: r.ID(), Name: r["name"], Interface: r["interface"], PublicKey: r["public-key"],
		AllowedAddress: allowed, EndpointAddress: r["endpoint-address"], EndpointPort: int(r.Int("endpoint-port")),
		PersistentKeepalive: r.Duration("persistent-keepalive"), Responder: r.Bool("responder") || r.Bool("is-responder"),
		Comment: r["comment"], Disabled: r.Bool("disabled"), HasPresharedKey: r["preshared-key"] != "",
		LastHandshake: r.Duration("last-handshake"), RX: r.Int("rx"), TX: r.Int("tx")}
	if p.Name == "" {
		p.Name = p.Comment
	}
	if p.ClientAddress, err = parsePrefixes(r["client-address"]); err != nil {
		return Peer{}, err
	}
	if p.ClientAllowedAddress, err = parsePrefixes(r["client-allowed-address"]); err != nil {
		return Peer{}, err
	}
	p.ClientDNS = splitList(r["client-dns"])
	p.ClientEndpoint = r["client-endpoint"]
	p.ClientKeepalive = r.Duration("client-keepalive")
	p.ClientListenPort = int(r.Int("client-listen-port"))
	p.HasPrivateKey = r["private-key"] != ""
	p.CurrentEndpointAddress = r["current-endpoint-address"]
	p.CurrentEndpointPort = int(r.Int("current-endpoint-port"))
	return p, nil
}

// Peers lists the peers of iface (all interfaces when empty).
//
// RouterOS API: /interface/wireguard/peers/print ?interface=
func (s *WireGuardService) Peers(ctx context.Context, iface string) ([]Peer, error) {
	var q []string
	if iface != "" {
		q = append(q, "?interface="+iface)
	}
	return s.peers(ctx, "list wireguard peers", q...)
}

func (s *WireGuardService) peers(ctx context.Context, op string, q ...string) ([]Peer, error) {
	recs, err := s.c.print(ctx, op, "/interface/wireguard/peers", q...)
	if err != nil {
		return nil, err
	}
	return peersFrom(op, recs)
}

func peersFrom(op string, recs []Record) ([]Peer, error) {
	out := make([]Peer, 0, len(recs))
	for _, r := range recs {
		p, err := peerFrom(r)
		if err != nil {
			return nil, &Error{Op: op, Code: -1, Err: err, kinds: []error{ErrInvalid}}
		}
		out = append(out, p)
	}
	return out, nil
}

// PeerSpec describes a peer to add or ensure. Interface defaults to
// DefaultWireGuardInterface.
type PeerSpec struct {
	Interface           string
	Name                string // sent as name on 7.15+; always also the comment unless Comment is set
	PublicKey           string
	PresharedKey        secret.Secret
	AllowedAddress      []netip.Prefix
	EndpointAddress     string
	EndpointPort        int
	PersistentKeepalive time.Duration
	// Responder makes the router wait for the client to connect (road
	// warriors). Sent as responder (7.17+) or is-responder (7.15–7.16).
	Responder bool
	Comment   string

	// The client fields (sent on 7.12+, ClientAllowedAddress on 7.21+;
	// older routers do not know them and they are left out): what the
	// router's "show client config" and QR render. Empty fields are not
	// sent.
	ClientAddress        []netip.Prefix
	ClientDNS            []string
	ClientEndpoint       string
	ClientKeepalive      time.Duration
	ClientListenPort     int
	ClientAllowedAddress []netip.Prefix
	// PrivateKey is the client's private key, stored on the router only
	// when set (7.12+), so that the router's QR is complete. Leave it
	// empty to keep the key off the router.
	PrivateKey secret.Secret
}

func (sp PeerSpec) iface() string {
	if sp.Interface == "" {
		return DefaultWireGuardInterface
	}
	return sp.Interface
}

func (sp PeerSpec) comment() string {
	if sp.Comment != "" {
		return sp.Comment
	}
	return sp.Name
}

// fields renders the spec's attributes for the router's version.
func (sp PeerSpec) fields(major, minor int) map[string]string {
	f := map[string]string{
		"interface":            sp.iface(),
		"public-key":           sp.PublicKey,
		"allowed-address":      joinPrefixes(sp.AllowedAddress),
		"persistent-keepalive": FormatDuration(sp.PersistentKeepalive),
	}
	if sp.EndpointAddress != "" {
		f["endpoint-address"] = sp.EndpointAddress
	}
	if sp.EndpointPort > 0 {
		f["endpoint-port"] = strconv.Itoa(sp.EndpointPort)
	}
	if c := sp.comment(); c != "" {
		f["comment"] = c
	}
	v := major*100 + minor
	if sp.Name != "" && v >= 715 {
		f["name"] = sp.Name
	}
	switch {
	case v >= 717:
		f["responder"] = formatBool(sp.Responder)
	case v >= 715:
		f["is-responder"] = formatBool(sp.Responder)
	}
	if v >= 712 {
		if len(sp.ClientAddress) > 0 {
			f["client-address"] = joinPrefixes(sp.ClientAddress)
		}
		if len(sp.ClientDNS) > 0 {
			f["client-dns"] = strings.Join(sp.ClientDNS, ",")
		}
		if sp.ClientEndpoint != "" {
			f["client-endpoint"] = sp.ClientEndpoint
		}
		if sp.ClientKeepalive > 0 {
			f["client-keepalive"] = FormatDuration(sp.ClientKeepalive)
		}
		if sp.ClientListenPort > 0 {
			f["client-listen-port"] = strconv.Itoa(sp.ClientListenPort)
		}
	}
	if v >= 721 && len(sp.ClientAllowedAddress) > 0 {
		f["client-allowed-address"] = joinPrefixes(sp.ClientAllowedAddress)
	}
	return f
}

func joinPrefixes(ps []netip.Prefix) string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = p.String()
	}
	return strings.Join(s, ",")
}

func (sp PeerSpec) validate() error {
	if !ValidKey(sp.PublicKey) {
		return errKey
	}
	if len(sp.AllowedAddress) == 0 {
		return fmt.Errorf("routeros: peer needs at least one allowed address")
	}
	return nil
}

func (sp PeerSpec) addCmd(major, minor int) cmd {
	f := sp.fields(major, minor)
	c := cmd{"/interface/wireguard/peers/add"}
	keys := make([]string, 0, len(f))
	for k := range f {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		c = append(c, kv(k, f[k]))
	}
	if !sp.PresharedKey.IsZero() {
		c = append(c, kv("preshared-key", sp.PresharedKey.Reveal()))
	}
	if !sp.PrivateKey.IsZero() && major*100+minor >= 712 {
		c = append(c, kv("private-key", sp.PrivateKey.Reveal()))
	}
	return c
}

// AddPeer adds one peer and returns its id.
//
// RouterOS API: /interface/wireguard/peers/add
func (s *WireGuardService) AddPeer(ctx context.Context, spec PeerSpec) (ID, error) {
	ids, err := s.AddPeers(ctx, []PeerSpec{spec})
	if err != nil {
		return "", err
	}
	return ids[0], nil
}

// AddPeers adds many peers pipelined over one connection (one round trip
// after the router's version is known). Every reply is checked; the error
// joins the refusals, and ids holds "" for refused peers.
//
// RouterOS API: /interface/wireguard/peers/add (pipelined)
func (s *WireGuardService) AddPeers(ctx context.Context, specs []PeerSpec) ([]ID, error) {
	op := fmt.Sprintf("add %d wireguard peers", len(specs))
	for _, sp := range specs {
		if err := sp.validate(); err != nil {
			return nil, &Error{Op: op, Code: -1, Err: err, kinds: []error{ErrInvalid}}
		}
	}
	major, minor, err := s.c.routerVersion(ctx)
	if err != nil {
		return nil, err
	}
	cmds := make([]cmd, len(specs))
	for i, sp := range specs {
		cmds[i] = sp.addCmd(major, minor)
	}
	res, err := s.c.batch(ctx, op, cmds)
	if res == nil {
		return nil, err
	}
	ids := make([]ID, len(res))
	for i, r := range res {
		if r.trap == nil {
			if !strings.HasPrefix(r.done["ret"], "*") {
				return nil, &Error{Op: op, Command: cmds[i][0], Code: -1, Message: "add returned no id", kinds: []error{ErrConnection}}
			}
			ids[i] = ID(r.done["ret"])
		}
	}
	return ids, err
}

// PeerResult is what EnsurePeer did: the peer as it ends up, the Action
// and one Change per property set (the preshared key's values are never
// shown). On an error it is the zero value.
type PeerResult struct {
	Peer    Peer
	Action  Action
	Changes []Change
}

// Changed reports whether EnsurePeer changed the router.
func (r PeerResult) Changed() bool { return r.Action != Unchanged }

// EnsurePeer makes the peer with spec's public key on spec's interface
// match spec: it adds it when missing (Created) and otherwise sets only
// the fields that differ, enabling a disabled peer (Updated). A second run
// changes nothing (Unchanged). The preshared key is only compared when the
// router shows it (it is a sensitive field).
//
// RouterOS API: /interface/wireguard/peers/print, add, set
func (s *WireGuardService) EnsurePeer(ctx context.Context, spec PeerSpec) (PeerResult, error) {
	op := "ensure wireguard peer"
	if err := spec.validate(); err != nil {
		return PeerResult{}, &Error{Op: op, Code: -1, Err: err, kinds: []error{ErrInvalid}}
	}
	major, minor, err := s.c.routerVersion(ctx)
	if err != nil {
		return PeerResult{}, err
	}
	recs, err := s.c.print(ctx, op, "/interface/wireguard/peers", "?interface="+spec.iface(), "?public-key="+spec.PublicKey)
	if err != nil {
		return PeerResult{}, err
	}
	if len(recs) == 0 {
		id, err := s.AddPeer(ctx, spec)
		if err != nil {
			return PeerResult{}, err
		}
		f := spec.fields(major, minor)
		f[".id"] = string(id)
		p, _ := peerFrom(Record(f))
		p.HasPresharedKey = !spec.PresharedKey.IsZero()
		p.Responder = spec.Responder
		return PeerResult{Peer: p, Action: Created, Changes: []Change{{New: "peer " + p.Name}}}, nil
	}
	cur := recs[0]
	want := spec.fields(major, minor)
	want["disabled"] = "no" // a disabled peer does not match a spec
	set := cmd{"/interface/wireguard/peers/set", kv(".id", cur[".id"])}
	var changes []Change
	keys := make([]string, 0, len(want))
	for k := range want {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	after := maps.Clone(cur)
	for _, k := range keys {
		if !sameValue(k, cur[k], want[k]) {
			set = append(set, kv(k, want[k]))
			changes = append(changes, Change{Field: k, Old: cur[k], New: want[k]})
			after[k] = want[k]
		}
	}
	for k, want := range map[string]secret.Secret{"preshared-key": spec.PresharedKey, "private-key": spec.PrivateKey} {
		if k == "private-key" && major*100+minor < 712 {
			continue
		}
		if have, shown := cur[k]; shown && !want.IsZero() && have != want.Reveal() {
			set = append(set, kv(k, want.Reveal()))
			changes = append(changes, Change{Field: k, Old: secret.Redacted, New: secret.Redacted})
			after[k] = secret.Redacted
		}
	}
	slices.SortFunc(changes, func(a, b Change) int { return strings.Compare(a.Field, b.Field) })
	res := PeerResult{Changes: changes}
	if len(changes) == 0 {
		res.Peer, _ = peerFrom(cur)
		return res, nil
	}
	if _, err := s.c.one(ctx, op, set); err != nil {
		return PeerResult{}, err // a refused set changes nothing
	}
	res.Action = Updated
	res.Peer, _ = peerFrom(after)
	return res, nil
}

// sameValue compares a wire value with a desired one, as RouterOS would
// print it.
func sameValue(k, have, want string) bool {
	if have == want {
		return true
	}
	switch k {
	case "responder", "is-responder", "disabled":
		if have == "" && k == "disabled" {
			have = "false" // not printed: not disabled
		}
		a, err1 := parseBool(have)
		b, err2 := parseBool(want)
		return err1 == nil && err2 == nil && a == b
	case "persistent-keepalive", "client-keepalive":
		a, err1 := parseDuration(have)
		b, err2 := parseDuration(want)
		return err1 == nil && err2 == nil && a == b
	case "allowed-address", "client-address", "client-allowed-address":
		a, err1 := parsePrefixes(have)
		b, err2 := parsePrefixes(want)
		if err1 != nil || err2 != nil || len(a) != len(b) {
			return false
		}
		for _, p := range b {
			if !slices.Contains(a, p) {
				return false
			}
		}
		return true
	case "endpoint-port":
		return (have == "" || have == "0") && (want == "" || want == "0")
	}
	return false
}

// RemovePeer removes the peer of iface (all interfaces when empty) whose
// public key, name or comment equals nameOrKey. It is ErrNotFound when none
// matches and ErrConflict when a name matches several peers.
//
// RouterOS API: /interface/wireguard/peers/print, remove
func (s *WireGuardService) RemovePeer(ctx context.Context, iface, nameOrKey string) error {
	op := "remove wireguard peer " + nameOrKey
	if ValidKey(nameOrKey) {
		op = "remove wireguard peer with public key " + nameOrKey
	}
	peers, err := s.Peers(ctx, iface)
	if err != nil {
		return wrapOp(err, op)
	}
	var ids []string
	for _, p := range peers {
		if p.PublicKey == nameOrKey || p.Name == nameOrKey || p.Comment == nameOrKey {
			ids = append(ids, string(p.ID))
		}
	}
	switch len(ids) {
	case 0:
		return notFound(op, "no such peer")
	case 1:
	default:
		return &Error{Op: op, Code: -1, Message: fmt.Sprintf("%d peers match", len(ids)), kinds: []error{ErrConflict}}
	}
	_, err = s.c.one(ctx, op, cmd{"/interface/wireguard/peers/remove", kv(".id", ids[0])})
	return err
}

// NextFreeAddress returns the lowest host address of network not used by
// the router's own addresses or a peer's allowed-address (peers of other
// interfaces count only with prefixes inside the network, so a full-tunnel
// peer to a VPN provider does not use up every address). When network
// is the zero Prefix it is taken from iface's address (192.168.100.1/24 on
// wireguard1 gives 192.168.100.0/24).
//
// RouterOS API: /ip/address/print + /interface/wireguard/peers/print (one round trip)
func (s *WireGuardService) NextFreeAddress(ctx context.Context, iface string, network netip.Prefix) (netip.Addr, error) {
	if iface == "" {
		iface = DefaultWireGuardInterface
	}
	st, err := s.survey(ctx, "find free vpn address", iface, false)
	if err != nil {
		return netip.Addr{}, err
	}
	return st.nextFree("find free vpn address", network)
}

type survey struct {
	ifaceName string
	ifaceAddr netip.Prefix // the interface's address, if any
	addrs     []Record
	peers     []Peer
	iface     Interface
	cloud     Record
}

// survey reads what Onboard and NextFreeAddress need in one pipelined
// round trip.
func (s *WireGuardService) survey(ctx context.Context, op, iface string, full bool) (*survey, error) {
	cmds := []cmd{
		{"/ip/address/print", "=.proplist=address,interface,disabled"},
		{"/interface/wireguard/peers/print", "=.proplist=.id,allowed-address,interface,public-key,name,comment"},
	}
	if full {
		cmds = append(cmds, cmd{"/interface/wireguard/print", "?name=" + iface, ifaceProps}, cmd{"/ip/cloud/print"})
	}
	res, err := s.c.batch(ctx, op, cmds)
	if err != nil {
		return nil, err
	}
	st := &survey{ifaceName: iface, addrs: res[0].re}
	if st.peers, err = peersFrom(op, res[1].re); err != nil {
		return nil, err
	}
	if full {
		if len(res[2].re) == 0 {
			return nil, notFound(op, "no wireguard interface "+iface)
		}
		st.iface = interfaceFrom(res[2].re[0])
		if len(res[3].re) > 0 {
			st.cloud = res[3].re[0]
		}
	}
	// The interface's own IPv4 address gives the VPN network and the
	// router's address in it (192.168.100.1/24 on wireguard1).
	for _, a := range st.addrs {
		if a["interface"] == iface && !a.Bool("disabled") {
			if p, err := parsePrefix(a["address"]); err == nil && p.Addr().Is4() {
				st.ifaceAddr = p
				break
			}
		}
	}
	return st, nil
}

func (st *survey) nextFree(op string, network netip.Prefix) (netip.Addr, error) {
	if !network.IsValid() {
		if !st.ifaceAddr.IsValid() {
			return netip.Addr{}, notFound(op, "interface has no address to take the network from")
		}
		network = st.ifaceAddr
	}
	network = network.Masked()
	if !network.Addr().Is4() || network.Bits() > 30 {
		return netip.Addr{}, &Error{Op: op, Code: -1, Message: "network must be an ipv4 prefix of /30 or larger", kinds: []error{ErrInvalid}}
	}
	var used []netip.Prefix
	for _, a := range st.addrs {
		if p, err := parsePrefix(a["address"]); err == nil {
			used = append(used, netip.PrefixFrom(p.Addr(), p.Addr().BitLen()))
		}
	}
	for _, p := range st.peers {
		for _, a := range p.AllowedAddress {
			// A peer of another interface routing more than the whole
			// network (a VPN provider's 0.0.0.0/0) does not use an
			// address in it; overlaps only matter within one interface.
			if p.Interface != st.ifaceName && a.Bits() < network.Bits() {
				continue
			}
			used = append(used, a)
		}
	}
	last := lastAddr(network)
	for a := network.Addr().Next(); a.IsValid() && a.Less(last); a = a.Next() {
		if !slices.ContainsFunc(used, func(u netip.Prefix) bool { return u.Contains(a) }) {
			return a, nil
		}
	}
	return netip.Addr{}, notFound(op, "no free address in "+network.String())
}

func lastAddr(p netip.Prefix) netip.Addr {
	b := p.Addr().As4()
	host := uint32(1)<<(32-p.Bits()) - 1
	v := (uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])) | host
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}

// OnboardOptions are optional settings of Onboard; the zero value gives a
// full-tunnel client on wireguard1.
type OnboardOptions struct {
	Interface string       // default DefaultWireGuardInterface
	Network   netip.Prefix // default: the interface's network
	// Endpoint is the host:port clients dial; default the /ip/cloud DNS
	// name (or public address) with the interface's listen port.
	Endpoint string
	DNS      []netip.Addr // client DNS servers; default the router's VPN address
	// AllowedIPs is what the client routes into the tunnel; default full
	// tunnel 0.0.0.0/0, ::/0.
	AllowedIPs []netip.Prefix
	Keepalive  time.Duration // default 25s
	// KeyOnRouter also stores the client's private key on the router
	// (RouterOS 7.12+), so that the router's own "show client config" and
	// QR are complete. By default the key stays off the router: only this
	// Onboarding holds it.
	KeyOnRouter bool
}

// Onboarding is what Onboard made. Config holds the client's private key,
// so it is a secret.Secret; so is QR, a PNG of the same text for the mobile
// app (write it with []byte(QR.Reveal())): printing, logging or
// JSON-encoding an Onboarding shows neither key.
type Onboarding struct {
	Peer         Peer
	Address      netip.Prefix // the client's tunnel address, /32
	PublicKey    string
	PrivateKey   secret.Secret
	PresharedKey secret.Secret
	Config       secret.Secret // wg-quick file
	QR           secret.Secret // PNG bytes
}

// Onboard adds a VPN client named name (the peer's name and comment) in one
// call: it reads the interface, its
// network, the peers and the cloud name (one pipelined round trip),
// generates the client's key pair and a preshared key, takes the next free
// address, adds the peer as a responder and returns the wg-quick config
// and its QR code.
//
// RouterOS API: /ip/address/print, /interface/wireguard/print,
// /interface/wireguard/peers/print + add, /ip/cloud/print
func (s *WireGuardService) Onboard(ctx context.Context, name string, o OnboardOptions) (*Onboarding, error) {
	op := "onboard vpn client " + name
	if name == "" {
		return nil, &Error{Op: op, Code: -1, Message: "name is required", kinds: []error{ErrInvalid}}
	}
	iface := o.Interface
	if iface == "" {
		iface = DefaultWireGuardInterface
	}
	st, err := s.survey(ctx, op, iface, true)
	if err != nil {
		return nil, err
	}
	for _, p := range st.peers {
		if p.Interface == iface && (p.Name == name || p.Comment == name) {
			return nil, &Error{Op: op, Code: -1, Message: "a peer with this name exists", kinds: []error{ErrConflict}}
		}
	}
	addr, err := st.nextFree(op, o.Network)
	if err != nil {
		return nil, err
	}
	endpoint := o.Endpoint
	if endpoint == "" {
		host := st.cloud["dns-name"]
		if host == "" {
			host = st.cloud["public-address"]
		}
		if host == "" {
			return nil, &Error{Op: op, Code: -1, Message: "no endpoint given and /ip/cloud has no name or address", kinds: []error{ErrInvalid}}
		}
		endpoint = host + ":" + strconv.Itoa(st.iface.ListenPort)
	}
	dns := o.DNS
	if len(dns) == 0 {
		if st.ifaceAddr.IsValid() {
			dns = []netip.Addr{st.ifaceAddr.Addr()}
		}
	}
	allowed := o.AllowedIPs
	if len(allowed) == 0 {
		allowed = []netip.Prefix{netip.PrefixFrom(netip.IPv4Unspecified(), 0), netip.PrefixFrom(netip.IPv6Unspecified(), 0)}
	}
	keep := o.Keepalive
	if keep == 0 {
		keep = 25 * time.Second
	}
	kp, err := GenerateKeyPair()
	if err != nil {
		return nil, &Error{Op: op, Code: -1, Err: err}
	}
	psk, err := GeneratePresharedKey()
	if err != nil {
		return nil, &Error{Op: op, Code: -1, Err: err}
	}
	clientAddr := netip.PrefixFrom(addr, 32)
	dnsText := make([]string, len(dns))
	for i, a := range dns {
		dnsText[i] = a.String()
	}
	// The client fields let the router's own "show client config" and QR
	// work for this peer (routers before 7.12 ignore them: not sent).
	spec := PeerSpec{Interface: iface, Name: name, PublicKey: kp.Public, PresharedKey: psk,
		AllowedAddress: []netip.Prefix{clientAddr}, Responder: true,
		ClientAddress: []netip.Prefix{clientAddr}, ClientDNS: dnsText, ClientEndpoint: endpoint,
		ClientKeepalive: keep, ClientAllowedAddress: allowed}
	if o.KeyOnRouter {
		spec.PrivateKey = kp.Private
	}
	id, err := s.AddPeer(ctx, spec)
	if err != nil {
		return nil, err
	}
	conf := ClientConfig{PrivateKey: kp.Private, Address: clientAddr, DNS: dns, ServerPublicKey: st.iface.PublicKey,
		PresharedKey: psk, Endpoint: endpoint, AllowedIPs: allowed, Keepalive: keep}
	text := conf.Render()
	png, err := qrcode.Encode(text, qrcode.Medium, 512)
	if err != nil {
		return nil, &Error{Op: op, Code: -1, Err: err}
	}
	return &Onboarding{
		Peer: Peer{ID: id, Name: name, Interface: iface, PublicKey: kp.Public, AllowedAddress: spec.AllowedAddress,
			Responder: true, Comment: name, HasPresharedKey: true, ClientAddress: spec.ClientAddress,
			ClientDNS: spec.ClientDNS, ClientEndpoint: endpoint, ClientKeepalive: keep,
			ClientAllowedAddress: spec.ClientAllowedAddress, HasPrivateKey: o.KeyOnRouter},
		Address: clientAddr, PublicKey: kp.Public, PrivateKey: kp.Private, PresharedKey: psk,
		Config: secret.New(text), QR: secret.New(string(png)),
	}, nil
}

// ClientConfig is a wg-quick client file.
type ClientConfig struct {
	PrivateKey      secret.Secret
	Address         netip.Prefix
	DNS             []netip.Addr
	ServerPublicKey string
	PresharedKey    secret.Secret
	Endpoint        string
	AllowedIPs      []netip.Prefix
	Keepalive       time.Duration
}

// Render writes the wg-quick file text (see wg-quick(8)).
func (c ClientConfig) Render() string {
	var b strings.Builder
	b.WriteString("[Interface]\n")
	b.WriteString("PrivateKey = " + c.PrivateKey.Reveal() + "\n")
	b.WriteString("Address = " + c.Address.String() + "\n")
	if len(c.DNS) > 0 {
		d := make([]string, len(c.DNS))
		for i, a := range c.DNS {
			d[i] = a.String()
		}
		b.WriteString("DNS = " + strings.Join(d, ", ") + "\n")
	}
	b.WriteString("\n[Peer]\n")
	b.WriteString("PublicKey = " + c.ServerPublicKey + "\n")
	if !c.PresharedKey.IsZero() {
		b.WriteString("PresharedKey = " + c.PresharedKey.Reveal() + "\n")
	}
	b.WriteString("Endpoint = " + c.Endpoint + "\n")
	ips := make([]string, len(c.AllowedIPs))
	for i, p := range c.AllowedIPs {
		ips[i] = p.String()
	}
	b.WriteString("AllowedIPs = " + strings.Join(ips, ", ") + "\n")
	if c.Keepalive > 0 {
		b.WriteString("PersistentKeepalive = " + strconv.Itoa(int(c.Keepalive/time.Second)) + "\n")
	}
	return b.String()
}
