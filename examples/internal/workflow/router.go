package workflow

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"strings"

	"github.com/thehomelab/homelab/dns"
	"github.com/thehomelab/homelab/routeros"
)

// RouterPublicIP is the router's PPPoE address as a dns.Source: the
// composition of routeros and dns, neither of which knows the other.
func RouterPublicIP(rc *routeros.Client, iface string) dns.Source {
	return func(ctx context.Context) (netip.Addr, error) {
		return rc.WAN.PublicIP(ctx, iface)
	}
}

// WireGuardConfig describes a VPN client to onboard.
type WireGuardConfig struct {
	// Name names the peer on the router, e.g. "phone-anna".
	Name string
	// Options are passed to Onboard; the zero value is a full tunnel on
	// wireguard1 with the router's cloud name as endpoint.
	Options routeros.OnboardOptions
}

// WireGuard adds a VPN client to the router's WireGuard interface and
// returns its wg-quick config and QR code. Keys are generated here, shown
// once and never printed: the story shows the config without its key lines.
// A name that is already a peer is refused (its keys cannot be shown again).
func WireGuard(ctx context.Context, w io.Writer, rc *routeros.Client, cfg WireGuardConfig) (*routeros.Onboarding, error) {
	ob, err := rc.WireGuard.Onboard(ctx, cfg.Name, cfg.Options)
	if errors.Is(err, routeros.ErrConflict) {
		say(w, "%s is already a peer: refused (remove it first to issue new keys)", cfg.Name)
		return nil, fmt.Errorf("wireguard: %w", err)
	}
	if err != nil {
		return nil, fmt.Errorf("wireguard: %w", err)
	}
	say(w, "peer %s added on %s with address %s", ob.Peer.Name, ob.Peer.Interface, ob.Address)
	say(w, "client config (key lines withheld):")
	for _, line := range strings.Split(strings.TrimSpace(ob.Config.Reveal()), "\n") {
		if strings.Contains(line, "Key =") || strings.TrimSpace(line) == "" {
			continue
		}
		say(w, "  %s", line)
	}
	say(w, "QR code for the WireGuard app: %d-byte PNG", len(ob.QR.Reveal()))
	return ob, nil
}

// ErrNotIsolated reports a failed isolation audit.
var ErrNotIsolated error = problem{"not isolated"}

// Isolation checks that network from cannot open connections to network to
// through the router's forward chain (e.g. Guest → LAN) and says which rule
// decides. A leak is an error matching ErrNotIsolated, so a cron job fails.
func Isolation(ctx context.Context, w io.Writer, rc *routeros.Client, from, to netip.Prefix) (routeros.IsolationReport, error) {
	rep, err := rc.Firewall.AuditIsolation(ctx, from, to)
	if err != nil {
		return rep, fmt.Errorf("isolation: %w", err)
	}
	if rep.Isolated {
		rule := "the chain's default"
		if rep.Rule != nil {
			rule = fmt.Sprintf("rule %s %q (%s)", rep.Rule.ID, rep.Rule.Comment, rep.Rule.Action)
		}
		say(w, "%s cannot reach %s: %s decides", from, to, rule)
		return rep, nil
	}
	say(w, "LEAK: %s can reach %s: %s", from, to, rep.Reason)
	return rep, fmt.Errorf("isolation: %s -> %s: %w", from, to, ErrNotIsolated)
}
