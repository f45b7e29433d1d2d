package dns

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/thehomelab/homelab/internal/clientcfg"
)

// Family is an address family: IPv4 (A records) or IPv6 (AAAA records).
type Family int

// Address families.
const (
	IPv4 Family = 4
	IPv6 Family = 6
)

// String returns "ipv4" or "ipv6".
func (f Family) String() string {
	switch f {
	case IPv4:
		return "ipv4"
	case IPv6:
		return "ipv6"
	}
	return fmt.Sprintf("family(%d)", int(f))
}

func (f Family) check() error {
	if f != IPv4 && f != IPv6 {
		return fmt.Errorf("%w: unknown address %s", ErrBadAddress, f)
	}
	return nil
}

// RecordType returns A for IPv4 and AAAA for IPv6.
func (f Family) RecordType() RecordType {
	if f == IPv6 {
		return TypeAAAA
	}
	return TypeA
}

// Source reports the current public address of one family. Any function
// with this shape is a source, e.g. one reading the router's PPPoE
// address. The Updater checks what it returns with CheckPublic.
type Source func(ctx context.Context) (netip.Addr, error)

// StaticSource always reports addr.
func StaticSource(addr netip.Addr) Source {
	return func(context.Context) (netip.Addr, error) { return addr, nil }
}

// maxEcho caps an echo answer; a real one is a few dozen bytes.
const maxEcho = 64 << 10

// EchoSource asks an HTTP "what is my IP" service (such as
// https://api.ipify.org or Cloudflare's /cdn-cgi/trace) and parses the
// answer with parseEcho. hc nil means a client with a 10 s timeout. An
// answer over 64 KiB (a real one is a few dozen bytes) is an error
// matching ErrTooLarge and ErrUnavailable.
func EchoSource(url string, fam Family, hc *http.Client) Source {
	if hc == nil {
		hc = &http.Client{Timeout: 10 * time.Second}
	}
	return func(ctx context.Context) (netip.Addr, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return netip.Addr{}, opError("echo source", err)
		}
		resp, err := hc.Do(req)
		if err != nil {
			if ctx.Err() != nil {
				return netip.Addr{}, ctx.Err()
			}
			return netip.Addr{}, opError("echo source", unreachable{err})
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return netip.Addr{}, &Error{Op: "echo source", StatusCode: resp.StatusCode, Message: "http " + strconv.Itoa(resp.StatusCode)}
		}
		// An answer over the cap is refused, never parsed truncated: the
		// cut could keep one address and drop a second that makes the
		// answer ambiguous.
		body, err := clientcfg.LimitedReadAll(resp.Body, maxEcho)
		if err != nil {
			if ctx.Err() != nil {
				return netip.Addr{}, ctx.Err()
			}
			return netip.Addr{}, opError("echo source: read", unreachable{err})
		}
		a, err := parseEcho(body, fam)
		if err != nil {
			return netip.Addr{}, opError("echo source", err)
		}
		return a, nil
	}
}

// parseEcho finds the one address of family fam in an echo service's
// answer: a bare address with whitespace, "ip=…" lines (Cloudflare trace),
// JSON or an HTML page. A zone suffix (%eth0) is dropped. No address, or
// two different ones, is an error matching ErrBadAddress: guessing could
// publish the wrong address. A body over 64 KiB is an error matching
// ErrTooLarge. The address is not checked for being public.
func parseEcho(body []byte, fam Family) (netip.Addr, error) {
	if err := fam.check(); err != nil {
		return netip.Addr{}, err
	}
	if len(body) > maxEcho {
		return netip.Addr{}, fmt.Errorf("%w: more than %d bytes", ErrTooLarge, maxEcho)
	}
	var found netip.Addr
	for _, tok := range addrTokens(body) {
		if len(tok) > 64 {
			continue
		}
		a, err := netip.ParseAddr(tok)
		if err != nil {
			// "IP:203.0.113.7": a label glued to an IPv4 address by a
			// colon (which tokens keep, for IPv6).
			i := strings.LastIndexByte(tok, ':')
			if i < 0 || !strings.Contains(tok[i:], ".") {
				continue
			}
			if a, err = netip.ParseAddr(tok[i+1:]); err != nil || !a.Is4() {
				continue
			}
		}
		a = a.WithZone("")
		if a.Is4In6() {
			a = a.Unmap()
		}
		if (fam == IPv4) != a.Is4() {
			continue
		}
		if found.IsValid() && found != a {
			return netip.Addr{}, fmt.Errorf("%w: answer holds two %s addresses (%s, %s)", ErrBadAddress, fam, found, a)
		}
		found = a
	}
	if !found.IsValid() {
		return netip.Addr{}, fmt.Errorf("%w: no %s address in answer", ErrBadAddress, fam)
	}
	return found, nil
}

// addrTokens splits an answer into candidate tokens: runs of characters
// that can form an address, plus a zone suffix after '%' (letters, digits,
// '-', '_', '.').
func addrTokens(body []byte) []string {
	var out []string
	start, zone := -1, false
	flush := func(i int) {
		if start >= 0 {
			out = append(out, string(body[start:i]))
		}
		start, zone = -1, false
	}
	for i, c := range body {
		switch {
		case c >= '0' && c <= '9', c >= 'a' && c <= 'f', c >= 'A' && c <= 'F', c == '.', c == ':':
		case c == '%' && start >= 0 && !zone:
			zone = true
			continue
		case zone && (c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '-' || c == '_'):
			continue
		default:
			flush(i)
			continue
		}
		if start < 0 {
			start = i
		}
	}
	flush(len(body))
	return out
}

// InterfaceSource reports the first public address of family fam on the
// local network interface name (for a host that holds the public address
// itself, e.g. a PPPoE link).
func InterfaceSource(name string, fam Family) Source {
	return func(ctx context.Context) (netip.Addr, error) {
		if err := ctx.Err(); err != nil {
			return netip.Addr{}, err
		}
		ifi, err := net.InterfaceByName(name)
		if err != nil {
			return netip.Addr{}, opError("interface source", err)
		}
		addrs, err := ifi.Addrs()
		if err != nil {
			return netip.Addr{}, opError("interface source "+name, err)
		}
		a, err := pickInterfaceAddr(addrs, fam)
		if err != nil {
			return netip.Addr{}, opError("interface source "+name, err)
		}
		return a, nil
	}
}

// pickInterfaceAddr returns the first address of family fam in addrs (as
// net.Interface.Addrs returns them) that passes CheckPublic.
func pickInterfaceAddr(addrs []net.Addr, fam Family) (netip.Addr, error) {
	if err := fam.check(); err != nil {
		return netip.Addr{}, err
	}
	var firstErr error
	for _, na := range addrs {
		var ip net.IP
		switch v := na.(type) {
		case *net.IPNet:
			ip = v.IP
		case *net.IPAddr:
			ip = v.IP
		default:
			continue
		}
		a, ok := netip.AddrFromSlice(ip)
		if !ok {
			continue
		}
		a = a.Unmap()
		if (fam == IPv4) != a.Is4() {
			continue
		}
		if err := CheckPublic(a); err != nil {
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		return a, nil
	}
	if firstErr != nil {
		return netip.Addr{}, fmt.Errorf("no public %s address: %w", fam, firstErr)
	}
	return netip.Addr{}, fmt.Errorf("%w: no %s address", ErrBadAddress, fam)
}

// AddressError is an address that must not be published, and why.
type AddressError struct {
	Addr   netip.Addr
	Reason string
}

// Error implements error.
func (e *AddressError) Error() string {
	return fmt.Sprintf("refusing to publish %s: %s address", e.Addr, e.Reason)
}

// Is matches ErrBadAddress and ErrInvalid.
func (e *AddressError) Is(target error) bool { return target == ErrBadAddress || target == ErrInvalid }

var (
	cgnat     = netip.MustParsePrefix("100.64.0.0/10")
	thisNet   = netip.MustParsePrefix("0.0.0.0/8")
	reserved4 = netip.MustParsePrefix("240.0.0.0/4")
	ietf4     = netip.MustParsePrefix("192.0.0.0/24")  // IETF protocol assignments (DS-Lite B4, NAT64 discovery)
	bench4    = netip.MustParsePrefix("198.18.0.0/15") // benchmarking, used by some CPE and VPN software inside
	global6   = netip.MustParsePrefix("2000::/3")
)

// CheckPublic returns an *Error wrapping an *AddressError (matching
// ErrBadAddress and ErrInvalid) when a
// must not be published in a public DNS record: invalid, unspecified,
// loopback, private (RFC 1918, ULA), CGNAT 100.64.0.0/10, link-local,
// multicast, reserved (0/8, 240/4, 192.0.0.0/24, 198.18.0.0/15),
// IPv4-mapped, or IPv6 outside 2000::/3. Documentation
// ranges pass (examples and tests use them).
func CheckPublic(a netip.Addr) error {
	reason := ""
	switch {
	case !a.IsValid():
		return &Error{Op: "check address", Err: &AddressError{Addr: a, Reason: "invalid"}}
	case a.Zone() != "":
		reason = "scoped"
	case a.Is4In6():
		reason = "ipv4-mapped"
	case a.IsUnspecified():
		reason = "unspecified"
	case a.IsLoopback():
		reason = "loopback"
	case a.IsPrivate():
		reason = "private"
	case cgnat.Contains(a):
		reason = "cgnat (100.64.0.0/10)"
	case a.IsLinkLocalUnicast(), a.IsLinkLocalMulticast():
		reason = "link-local"
	case a.IsMulticast():
		reason = "multicast"
	case a.Is4() && (thisNet.Contains(a) || reserved4.Contains(a) || ietf4.Contains(a) || bench4.Contains(a)):
		reason = "reserved"
	case a.Is6() && (!global6.Contains(a)):
		reason = "non-global ipv6"
	}
	if reason != "" {
		return &Error{Op: "check address", Err: &AddressError{Addr: a, Reason: reason}}
	}
	return nil
}
