package dns_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/thehomelab/homelab/dns"
	"github.com/thehomelab/homelab/dns/dnstest"
	"github.com/thehomelab/homelab/secret"
)

// newFake starts a dnstest server and a client for it, both closed in
// t.Cleanup. Pacing and retries are off unless opts say otherwise.
func newFake(t testing.TB, opts ...dns.Option) (*dnstest.Server, *dns.Client) {
	t.Helper()
	srv := dnstest.NewServer()
	t.Cleanup(srv.Close)
	base := []dns.Option{dns.WithBaseURL(srv.URL), dns.WithRateLimit(0), dns.WithRetries(0)}
	c, err := dns.NewClient(secret.New(dnstest.SeedToken), append(base, opts...)...)
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	return srv, c
}

func zoneOf(t testing.TB, c *dns.Client) dns.Zone {
	t.Helper()
	z, err := c.Zone(t.Context(), dnstest.SeedZone)
	require.NoError(t, err)
	return z
}

// count returns how many requests reached endpoint (a dnstest Endpoint
// constant).
func count(srv *dnstest.Server, endpoint string) int {
	n := 0
	for _, r := range srv.Requests() {
		if r.Endpoint == endpoint {
			n++
		}
	}
	return n
}
