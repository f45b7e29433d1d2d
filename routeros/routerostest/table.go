package routerostest

import (
	"encoding/base64"
	"fmt"
	"maps"
	"net"
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// kind says how a field's value is validated and normalised.
type kind int

const (
	kString kind = iota
	kBool
	kInt
	kDuration
	kPrefix    // host address with prefix length, e.g. 192.168.1.1/24
	kNetOrAddr // address, prefix or range (address lists, filter matchers)
	kAddr
	kPrefixes // comma list of prefixes (WireGuard allowed-address)
	kKey      // WireGuard key: 44-character base64
	kMAC
	kIface     // must name an existing interface
	kIfaceList // must name an existing interface list (or all, none, dynamic, static)
	kEnum      // one of field.enum
	kPort      // a port number or range a-b
	kProtocol  // a protocol name RouterOS knows, or 0..255
	kHost      // an address, prefix, range or DNS name (address-list entries)
	kTriState  // ddns-enabled from 7.17: yes, no or auto
	kIPsecPol  // ipsec-policy: in|out,ipsec|none
	kTCPFlags  // comma list of [!]flag
)

type field struct {
	kind kind
	// neg accepts a leading "!" (a negated matcher); list a comma list of
	// values, each checked against kind.
	neg, list bool
	enum      []string
	// minVer is the first RouterOS version (major*10000+minor*100+patch)
	// that knows the field; maxVer the last one, 0 meaning no limit.
	minVer, maxVer int
}

type menuSpec struct {
	fields   map[string]field
	readOnly map[string]bool
	defaults map[string]string
	required []string
	unique   []string        // natural key: add refuses a second row with equal values
	named    bool            // "name" can stand in for .id
	hidden   map[string]bool // write-only: never printed (a /user password)
	fixed    bool            // rows exist from the start: add and remove are refused (/ip/service)
	ordered  bool            // rule order matters: add takes place-before
}

type row struct {
	id      int
	values  map[string]string
	expires time.Time // address-list entries with a timeout
}

type table struct {
	spec  *menuSpec
	rows  []*row
	index map[string]*row // natural key → row, for menus with a unique key
}

func (t *table) key(vals map[string]string) string {
	var b strings.Builder
	for _, k := range t.spec.unique {
		b.WriteString(vals[k])
		b.WriteByte(0)
	}
	return b.String()
}

func (t *table) indexAdd(r *row) {
	if len(t.spec.unique) == 0 {
		return
	}
	if t.index == nil {
		t.index = map[string]*row{}
	}
	t.index[t.key(r.values)] = r
}

func (t *table) indexDel(r *row) {
	if k := t.key(r.values); len(t.spec.unique) > 0 && t.index[k] == r {
		delete(t.index, k)
	}
}

var (
	durationRE = regexp.MustCompile(`^(\d+w)?(\d+d)?(\d+h)?(\d+m)?(\d+s)?(\d+ms)?$`)
	macRE      = regexp.MustCompile(`^([0-9A-Fa-f]{2}:){5}[0-9A-Fa-f]{2}$`)
	// A DNS name as an address-list entry takes it (RouterOS resolves it
	// and adds dynamic entries; the API manual, address-list "address").
	hostnameRE = regexp.MustCompile(`^([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}\.?$`)
)

// protocolNames are the IP protocols RouterOS names in "protocol"
// (MikroTik docs, Firewall "common matchers": protocol).
var protocolNames = map[int]string{
	1: "icmp", 2: "igmp", 3: "ggp", 4: "ip-encap", 5: "st", 6: "tcp", 8: "egp", 12: "pup", 17: "udp",
	20: "hmp", 22: "xns-idp", 27: "rdp", 29: "iso-tp4", 33: "dccp", 36: "xtp", 37: "ddp", 39: "idpr-cmtp",
	41: "ipv6-encap", 46: "rsvp", 47: "gre", 50: "ipsec-esp", 51: "ipsec-ah", 58: "icmpv6", 73: "rspf",
	81: "vmtp", 89: "ospf", 94: "ipip", 98: "encap", 103: "pim", 112: "vrrp", 115: "l2tp", 132: "sctp",
	136: "udp-lite",
}

func version(major, minor, patch int) int { return major*10000 + minor*100 + patch }

// normalise validates v for field f and returns the stored form, or a
// trap message. "input does not match any value of <argument>" is the
// router's answer to a name it does not know (MikroTik API manual,
// help.mikrotik.com/docs "API", !trap "category": the example
// /ip/address/add =interface=asdf answered with category 1 and that
// message).
func (s *Server) normalise(name string, f field, v string) (string, error) {
	if f.neg && strings.HasPrefix(v, "!") {
		g := f
		g.neg = false
		out, err := s.normalise(name, g, v[1:])
		return "!" + out, err
	}
	if f.list {
		g := f
		g.list = false
		var out []string
		for part := range strings.SplitSeq(v, ",") {
			n, err := s.normalise(name, g, part)
			if err != nil {
				return "", err
			}
			out = append(out, n)
		}
		return strings.Join(out, ","), nil
	}
	bad := fmt.Errorf("invalid value for argument %s", name)
	switch f.kind {
	case kEnum:
		if !slices.Contains(f.enum, v) {
			return "", fmt.Errorf("input does not match any value of %s", name)
		}
	case kPort:
		lo, hi, isRange := strings.Cut(v, "-")
		a, err1 := strconv.ParseUint(lo, 10, 16)
		b, err2 := a, error(nil)
		if isRange {
			b, err2 = strconv.ParseUint(hi, 10, 16)
		}
		if err1 != nil || err2 != nil || b < a {
			return "", bad
		}
	case kProtocol:
		if n, err := strconv.ParseUint(v, 10, 8); err == nil {
			if name, ok := protocolNames[int(n)]; ok {
				return name, nil // RouterOS prints a known number by name
			}
			return v, nil
		}
		if !slices.Contains(slices.Collect(maps.Values(protocolNames)), v) {
			return "", fmt.Errorf("input does not match any value of protocol")
		}
	case kIfaceList:
		if !s.interfaceListExists(v) {
			return "", fmt.Errorf("input does not match any value of %s", name)
		}
	case kHost:
		if n, err := s.normalise(name, field{kind: kNetOrAddr}, v); err == nil {
			return n, nil
		}
		if !hostnameRE.MatchString(v) {
			return "", bad
		}
	case kTriState:
		if s.version < version(7, 17, 0) {
			return s.normalise(name, field{kind: kBool}, v)
		}
		switch v {
		case "yes", "true":
			return "yes", nil
		case "no", "false":
			return "no", nil
		case "auto":
			return "auto", nil
		}
		return "", bad
	case kIPsecPol:
		dir, pol, ok := strings.Cut(v, ",")
		if !ok || (dir != "in" && dir != "out") || (pol != "ipsec" && pol != "none") {
			return "", bad
		}
	case kTCPFlags:
		for f := range strings.SplitSeq(v, ",") {
			if !slices.Contains([]string{"fin", "syn", "rst", "psh", "ack", "urg", "ece", "cwr"}, strings.TrimPrefix(f, "!")) {
				return "", bad
			}
		}
	case kBool:
		switch v {
		case "yes", "true":
			return "true", nil
		case "no", "false":
			return "false", nil
		}
		return "", bad
	case kInt:
		if _, err := strconv.ParseUint(v, 10, 32); err != nil {
			return "", bad
		}
	case kDuration:
		if v == "" || !durationRE.MatchString(v) {
			if _, err := strconv.ParseUint(v, 10, 32); err != nil {
				return "", bad
			}
			return v + "s", nil
		}
	case kPrefix:
		p, err := netip.ParsePrefix(v)
		if err != nil {
			a, aerr := netip.ParseAddr(v)
			if aerr != nil {
				return "", bad
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		return p.String(), nil
	case kAddr:
		if _, err := netip.ParseAddr(v); err != nil {
			return "", bad
		}
	case kNetOrAddr:
		if _, err := netip.ParseAddr(v); err == nil {
			return v, nil
		}
		if p, err := netip.ParsePrefix(v); err == nil {
			if p.IsSingleIP() {
				return p.Addr().String(), nil
			}
			return p.Masked().String(), nil
		}
		if a, b, ok := strings.Cut(v, "-"); ok {
			if _, err := netip.ParseAddr(a); err == nil {
				if _, err := netip.ParseAddr(b); err == nil {
					return v, nil
				}
			}
		}
		return "", bad
	case kPrefixes:
		var out []string
		for part := range strings.SplitSeq(v, ",") {
			p, err := netip.ParsePrefix(strings.TrimSpace(part))
			if err != nil {
				return "", bad
			}
			out = append(out, p.Masked().String())
		}
		return strings.Join(out, ","), nil
	case kKey:
		b, err := base64.StdEncoding.DecodeString(v)
		if err != nil || len(b) != 32 || len(v) != 44 {
			return "", bad
		}
	case kMAC:
		if !macRE.MatchString(v) {
			return "", bad
		}
		hw, _ := net.ParseMAC(v)
		return strings.ToUpper(hw.String()), nil
	case kIface:
		if !s.interfaceExists(v) {
			return "", fmt.Errorf("input does not match any value of %s", name)
		}
	}
	return v, nil
}

// trapError is a device-side refusal: it becomes !trap then !done.
type trapError struct {
	category int // -1: none
	message  string
}

func (e *trapError) Error() string { return e.message }

func trap(category int, format string, args ...any) *trapError {
	return &trapError{category: category, message: fmt.Sprintf(format, args...)}
}

// applyAttrs validates attrs against the spec for add (creating=true) or
// set, writing normalised values into dst.
func (s *Server) applyAttrs(spec *menuSpec, dst map[string]string, attrs []attr, creating bool) error {
	for _, a := range attrs {
		if a.key == ".id" || a.key == "numbers" || (a.key == "place-before" && spec.ordered && creating) {
			continue
		}
		if spec.readOnly[a.key] {
			return trap(1, "unknown parameter %s", a.key)
		}
		f, ok := spec.fields[a.key]
		if !ok || (f.minVer != 0 && s.version < f.minVer) || (f.maxVer != 0 && s.version > f.maxVer) {
			return trap(1, "unknown parameter %s", a.key)
		}
		v, err := s.normalise(a.key, f, a.value)
		if err != nil {
			return trap(1, "%s", err.Error())
		}
		dst[a.key] = v
	}
	if creating {
		for _, r := range spec.required {
			if dst[r] == "" {
				return trap(1, "failure: %s not specified", r)
			}
		}
	}
	return nil
}

func (t *table) find(ref string) []*row {
	var out []*row
	for part := range strings.SplitSeq(ref, ",") {
		part = strings.TrimSpace(part)
		found := false
		for _, r := range t.rows {
			if strings.HasPrefix(part, "*") {
				if n, err := strconv.ParseUint(part[1:], 16, 32); err == nil && int(n) == r.id {
					out, found = append(out, r), true
					break
				}
			} else if t.spec.named && r.values["name"] == part {
				out, found = append(out, r), true
				break
			}
		}
		if !found {
			return nil
		}
	}
	return out
}

func (t *table) duplicate(vals map[string]string, self *row) bool {
	if len(t.spec.unique) == 0 {
		return false
	}
	r, ok := t.index[t.key(vals)]
	return ok && r != self
}

func fieldsOf(kinds map[string]kind) map[string]field {
	out := make(map[string]field, len(kinds))
	for k, v := range kinds {
		out[k] = field{kind: v}
	}
	return out
}

func setOf(names ...string) map[string]bool {
	out := make(map[string]bool, len(names))
	for _, n := range names {
		out[n] = true
	}
	return out
}

// addressListSpec is /ip/firewall/address-list and its IPv6 twin: an
// entry is an address, prefix, range or DNS name (MikroTik docs, Firewall
// address-list: "address ... (IP address/netmask | IP-IP | DNS name)").
func addressListSpec() *menuSpec {
	return &menuSpec{
		fields:   fieldsOf(map[string]kind{"list": kString, "address": kHost, "timeout": kDuration, "comment": kString, "disabled": kBool}),
		readOnly: setOf("dynamic", "creation-time"),
		defaults: map[string]string{"disabled": "false", "dynamic": "false"},
		required: []string{"list", "address"},
		unique:   []string{"list", "address"},
	}
}

// filterActions are the actions of /ip/firewall/filter (MikroTik docs,
// Firewall "Filter" / common matchers and actions); IPv6 has no
// fasttrack-connection before 7.? and the fake accepts it on both.
var filterActions = []string{"accept", "add-dst-to-address-list", "add-src-to-address-list", "drop",
	"fasttrack-connection", "jump", "log", "passthrough", "reject", "return", "tarpit"}

// filterSpec is /ip/firewall/filter (v6: /ipv6/firewall/filter): the
// matchers RouterOS 7 accepts, with "!" where it negates them (MikroTik
// docs, Firewall "common matchers and actions"; the defconf rule set uses
// in-interface-list=!LAN, connection-nat-state=!dstnat, ipsec-policy,
// hw-offload).
func filterSpec(v6 bool) *menuSpec {
	f := func(k kind, neg, list bool, enum ...string) field {
		return field{kind: k, neg: neg, list: list, enum: enum}
	}
	fields := map[string]field{
		"chain": f(kString, false, false), "action": f(kEnum, false, false, filterActions...),
		"jump-target": f(kString, false, false), "comment": f(kString, false, false), "disabled": f(kBool, false, false),
		"src-address": f(kNetOrAddr, true, false), "dst-address": f(kNetOrAddr, true, false),
		"src-address-list": f(kString, true, false), "dst-address-list": f(kString, true, false),
		"in-interface": f(kIface, true, false), "out-interface": f(kIface, true, false),
		"in-interface-list": f(kIfaceList, true, false), "out-interface-list": f(kIfaceList, true, false),
		"in-bridge-port": f(kIface, true, false), "out-bridge-port": f(kIface, true, false),
		"in-bridge-port-list": f(kIfaceList, true, false), "out-bridge-port-list": f(kIfaceList, true, false),
		"connection-state":     f(kEnum, true, true, "established", "related", "new", "invalid", "untracked"),
		"connection-nat-state": f(kEnum, true, true, "srcnat", "dstnat"),
		"connection-type":      f(kEnum, true, false, "ftp", "h323", "irc", "pptp", "quake3", "sip", "tftp"),
		"protocol":             f(kProtocol, true, false),
		"dst-port":             f(kPort, true, true), "src-port": f(kPort, true, true), "port": f(kPort, true, true),
		"src-address-type": f(kEnum, true, true, "unicast", "local", "broadcast", "multicast", "blackhole", "prohibit", "unreachable"),
		"dst-address-type": f(kEnum, true, true, "unicast", "local", "broadcast", "multicast", "blackhole", "prohibit", "unreachable"),
		"tcp-flags":        f(kTCPFlags, false, false), "ipsec-policy": f(kIPsecPol, false, false),
		"connection-mark": f(kString, true, false), "packet-mark": f(kString, true, false), "routing-mark": f(kString, true, false),
		"connection-limit": f(kString, false, false), "connection-rate": f(kString, true, false), "limit": f(kString, false, false),
		"dst-limit": f(kString, false, false), "nth": f(kString, false, false), "icmp-options": f(kString, true, false),
		"src-mac-address": f(kMAC, true, false), "packet-size": f(kString, true, false), "ttl": f(kString, false, false),
		"dscp": f(kString, true, false), "layer7-protocol": f(kString, true, false), "content": f(kString, false, false),
		"tls-host": f(kString, false, false), "psd": f(kString, false, false), "time": f(kString, false, false),
		"per-connection-classifier": f(kString, true, false), "tcp-mss": f(kString, true, false),
		"log": f(kBool, false, false), "log-prefix": f(kString, false, false),
		"hw-offload": f(kBool, false, false), "reject-with": f(kString, false, false),
		"address-list": f(kString, false, false), "address-list-timeout": f(kString, false, false),
	}
	if v6 {
		fields["hop-limit"] = f(kString, false, false)
		delete(fields, "ttl")
	}
	return &menuSpec{
		fields:   fields,
		readOnly: setOf("dynamic", "invalid", "bytes", "packets"),
		// RouterOS prints log and log-prefix on every rule, even unset.
		defaults: map[string]string{"disabled": "false", "dynamic": "false", "invalid": "false", "bytes": "0", "packets": "0",
			"log": "false", "log-prefix": ""},
		required: []string{"chain", "action"},
		ordered:  true,
	}
}

// specs returns the menus the fake models.
func specs() map[string]*menuSpec {
	peerFields := fieldsOf(map[string]kind{
		"interface": kIface, "public-key": kKey, "preshared-key": kKey,
		"allowed-address": kPrefixes, "endpoint-address": kString, "endpoint-port": kInt,
		"persistent-keepalive": kDuration, "comment": kString, "disabled": kBool,
	})
	peerFields["name"] = field{kind: kString, minVer: version(7, 15, 0)}
	peerFields["is-responder"] = field{kind: kBool, minVer: version(7, 15, 0), maxVer: version(7, 16, 99)}
	peerFields["responder"] = field{kind: kBool, minVer: version(7, 17, 0)}
	for _, f := range []string{"client-address", "client-dns", "client-endpoint", "client-keepalive", "client-listen-port"} {
		peerFields[f] = field{kind: kString, minVer: version(7, 12, 0)}
	}
	peerFields["private-key"] = field{kind: kString, minVer: version(7, 12, 0)}
	peerFields["client-allowed-address"] = field{kind: kPrefixes, minVer: version(7, 21, 0)}

	return map[string]*menuSpec{
		"/ip/address": {
			fields:   fieldsOf(map[string]kind{"address": kPrefix, "interface": kIface, "comment": kString, "disabled": kBool, "network": kAddr}),
			readOnly: setOf("dynamic", "invalid", "actual-interface"),
			defaults: map[string]string{"disabled": "false", "dynamic": "false", "invalid": "false"},
			required: []string{"address", "interface"},
			unique:   []string{"address", "interface"},
		},
		"/ip/route": {
			fields:   fieldsOf(map[string]kind{"dst-address": kNetOrAddr, "gateway": kString, "distance": kInt, "comment": kString, "disabled": kBool, "routing-table": kString}),
			readOnly: setOf("dynamic", "active", "connect", "static", "immediate-gw"),
			defaults: map[string]string{"disabled": "false", "dynamic": "false", "active": "true", "distance": "1", "routing-table": "main", "static": "true"},
			required: []string{"dst-address", "gateway"},
		},
		"/ip/dhcp-server/lease": {
			fields:   fieldsOf(map[string]kind{"address": kAddr, "mac-address": kMAC, "server": kString, "comment": kString, "disabled": kBool, "lease-time": kDuration, "client-id": kString}),
			readOnly: setOf("status", "dynamic", "host-name", "active-address", "active-mac-address", "expires-after", "last-seen"),
			defaults: map[string]string{"disabled": "false", "dynamic": "false", "status": "waiting"},
			required: []string{"address", "mac-address"},
			unique:   []string{"mac-address", "server"},
		},
		"/ip/firewall/address-list":   addressListSpec(),
		"/ip/firewall/filter":         filterSpec(false),
		"/ipv6/firewall/filter":       filterSpec(true),
		"/ipv6/firewall/address-list": addressListSpec(),
		"/ipv6/address": {
			fields:   fieldsOf(map[string]kind{"address": kPrefix, "interface": kIface, "comment": kString, "disabled": kBool, "advertise": kBool, "eui-64": kBool, "from-pool": kString}),
			readOnly: setOf("dynamic", "invalid", "link-local", "actual-interface", "global"),
			defaults: map[string]string{"disabled": "false", "dynamic": "false", "invalid": "false", "advertise": "false"},
			required: []string{"address", "interface"},
			unique:   []string{"address", "interface"},
		},
		"/interface/wireguard": {
			fields:   fieldsOf(map[string]kind{"name": kString, "listen-port": kInt, "mtu": kInt, "private-key": kKey, "comment": kString, "disabled": kBool}),
			readOnly: setOf("public-key", "running"),
			defaults: map[string]string{"listen-port": "13231", "mtu": "1420", "disabled": "false", "running": "true"},
			required: []string{"name"},
			unique:   []string{"name"},
			named:    true,
		},
		"/interface/wireguard/peers": {
			fields:   peerFields,
			readOnly: setOf("rx", "tx", "last-handshake", "current-endpoint-address", "current-endpoint-port", "dynamic"),
			defaults: map[string]string{"disabled": "false", "dynamic": "false", "rx": "0", "tx": "0", "endpoint-port": "0", "persistent-keepalive": "0s"},
			required: []string{"interface", "public-key"},
			unique:   []string{"interface", "public-key"},
			named:    true,
		},
		// MikroTik docs, Interface: name, type, mtu, running, disabled.
		"/interface": {
			fields:   fieldsOf(map[string]kind{"name": kString, "mtu": kInt, "comment": kString, "disabled": kBool}),
			readOnly: setOf("type", "running", "dynamic", "mac-address", "actual-mtu"),
			defaults: map[string]string{"disabled": "false", "dynamic": "false", "running": "true", "mtu": "1500"},
			required: []string{"name"},
			unique:   []string{"name"},
			named:    true,
			fixed:    true,
		},
		// MikroTik docs, Services (/ip/service): name, port, address,
		// certificate, vrf, max-sessions, disabled; the list is fixed.
		"/ip/service": {
			fields:   fieldsOf(map[string]kind{"port": kInt, "address": kString, "certificate": kString, "vrf": kString, "max-sessions": kInt, "disabled": kBool, "tls-version": kString}),
			readOnly: setOf("name", "invalid", "dynamic", "proto"),
			defaults: map[string]string{"disabled": "false", "invalid": "false", "dynamic": "false", "address": "", "vrf": "main", "max-sessions": "20"},
			required: []string{"name"},
			unique:   []string{"name"},
			named:    true,
			fixed:    true,
		},
		// MikroTik docs, User (/user): name, group, address, password
		// (write-only), disabled, comment; last-logged-in is read-only.
		"/user": {
			fields:   fieldsOf(map[string]kind{"name": kString, "group": kString, "address": kString, "password": kString, "disabled": kBool, "comment": kString}),
			readOnly: setOf("last-logged-in", "expired"),
			defaults: map[string]string{"disabled": "false", "group": "full", "address": "", "expired": "false"},
			required: []string{"name"},
			unique:   []string{"name"},
			named:    true,
			hidden:   setOf("password"),
		},
		"/interface/list": {
			fields:   fieldsOf(map[string]kind{"name": kString, "include": kString, "exclude": kString, "comment": kString}),
			readOnly: setOf("builtin", "dynamic"),
			defaults: map[string]string{"builtin": "false", "dynamic": "false", "include": "", "exclude": ""},
			required: []string{"name"},
			unique:   []string{"name"},
			named:    true,
		},
		"/interface/list/member": {
			fields:   fieldsOf(map[string]kind{"list": kString, "interface": kIface, "disabled": kBool, "comment": kString}),
			readOnly: setOf("dynamic"),
			defaults: map[string]string{"disabled": "false", "dynamic": "false"},
			required: []string{"list", "interface"},
			unique:   []string{"list", "interface"},
		},
		"/interface/pppoe-client": {
			fields:   fieldsOf(map[string]kind{"name": kString, "interface": kIface, "user": kString, "password": kString, "add-default-route": kBool, "use-peer-dns": kBool, "disabled": kBool}),
			readOnly: setOf("running"),
			defaults: map[string]string{"disabled": "false", "running": "true", "add-default-route": "true", "use-peer-dns": "true"},
			required: []string{"name", "interface"},
			unique:   []string{"name"},
			named:    true,
		},
		"/system/script": {
			fields:   fieldsOf(map[string]kind{"name": kString, "source": kString, "policy": kString, "dont-require-permissions": kBool, "comment": kString}),
			readOnly: setOf("owner", "run-count", "last-started", "invalid"),
			defaults: map[string]string{"policy": "ftp,reboot,read,write,policy,test,password,sniff,sensitive,romon", "dont-require-permissions": "false", "owner": "admin", "run-count": "0", "invalid": "false"},
			required: []string{"name"},
			unique:   []string{"name"},
			named:    true,
		},
		"/system/scheduler": {
			fields:   fieldsOf(map[string]kind{"name": kString, "on-event": kString, "start-date": kString, "start-time": kString, "interval": kDuration, "policy": kString, "disabled": kBool, "comment": kString}),
			readOnly: setOf("owner", "run-count", "next-run"),
			defaults: map[string]string{"interval": "0s", "start-time": "startup", "disabled": "false", "owner": "admin", "run-count": "0"},
			required: []string{"name"},
			unique:   []string{"name"},
			named:    true,
		},
		"/file": {
			fields:   fieldsOf(map[string]kind{"name": kString, "contents": kString}),
			readOnly: setOf("type", "size", "creation-time"),
			required: []string{"name"},
			unique:   []string{"name"},
			named:    true,
		},
	}
}

// settingsSpec lists writable fields of the settings menus (no .id).
var settingsSpec = map[string]map[string]field{
	"/system/identity": {"name": {kind: kString}},
	"/system/clock":    {"time-zone-name": {kind: kString}},
	"/ip/cloud":        {"ddns-enabled": {kind: kTriState}, "ddns-update-interval": {kind: kDuration}, "update-time": {kind: kBool}},
	"/system/resource": {},
}
