package lab

import (
	"context"
	"fmt"

	"github.com/thehomelab/homelab/dns"
	"github.com/thehomelab/homelab/dns/dnstest"
	"github.com/thehomelab/homelab/secret"
)

// startDNS starts the fake Cloudflare holding the VPN record at yesterday's
// address.
func (l *Lab) startDNS(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	srv := dnstest.NewServer()
	l.closers = append(l.closers, srv.Close)
	srv.AddRecord(dnstest.Record{ZoneName: Zone, Type: "A", Name: VPNName,
		Content: StaleVPNAddr, TTL: 120, Comment: dns.DefaultComment})
	// The lab answers at once: client-side pacing would only slow the demo.
	c, err := dns.NewClient(secret.New(dnstest.SeedToken), dns.WithBaseURL(srv.URL), dns.WithRateLimit(0))
	if err != nil {
		return fmt.Errorf("lab: dns client: %w", err)
	}
	l.closers = append(l.closers, func() { _ = c.Close() })
	l.DNS, l.DNSServer = c, srv
	return nil
}
