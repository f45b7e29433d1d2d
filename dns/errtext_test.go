package dns_test

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/thehomelab/homelab/dns"
	"github.com/thehomelab/homelab/dns/dnstest"
	"github.com/thehomelab/homelab/internal/errtext"
	"github.com/thehomelab/homelab/secret"
)

// TestErrorTextSaysEachPartOnce provokes the usual failures (401, 404,
// 500, success false, a refused connection, a failing address source)
// through plain calls and the updater, and checks every text has one
// "dns: " and no part said twice in a row (STYLE: never "ddns: ddns:
// plan:").
func TestErrorTextSaysEachPartOnce(t *testing.T) {
	t.Parallel()
	zone := func(ctx context.Context, c *dns.Client) error { _, err := c.Zone(ctx, dnstest.SeedZone); return err }
	get := func(ctx context.Context, c *dns.Client) error {
		z, err := c.Zone(ctx, dnstest.SeedZone)
		if err != nil {
			return err
		}
		_, err = c.GetRecord(ctx, z, "0123456789abcdef0123456789abcdef")
		return err
	}
	create := func(ctx context.Context, c *dns.Client) error {
		z, err := c.Zone(ctx, dnstest.SeedZone)
		if err != nil {
			return err
		}
		_, err = c.CreateRecord(ctx, z, dns.Record{Type: dns.TypeA, Name: "new." + dnstest.SeedZone, Content: "203.0.113.7"})
		return err
	}
	update := func(src func(context.Context) (netip.Addr, error)) func(context.Context, *dns.Client) error {
		return func(ctx context.Context, c *dns.Client) error {
			u, err := c.NewUpdater(dns.UpdaterConfig{Zone: dnstest.SeedZone, Names: []string{"vpn"}, IPv4: src})
			if err != nil {
				return err
			}
			_, err = u.Update(ctx)
			return err
		}
	}
	addr := func(context.Context) (netip.Addr, error) { return netip.MustParseAddr("203.0.113.10"), nil }
	broken := func(context.Context) (netip.Addr, error) {
		return netip.Addr{}, errors.New("router: no address on pppoe-out1")
	}
	for _, tc := range []struct {
		name  string
		token string
		fault *dnstest.Fault
		down  bool
		call  func(context.Context, *dns.Client) error
		is    error
	}{
		{name: "401 zone", token: "wrong", call: zone, is: dns.ErrAuth},
		{name: "401 update", token: "wrong", call: update(addr), is: dns.ErrAuth},
		{name: "404 get", call: get, is: dns.ErrNotFound},
		{name: "500 zone", fault: &dnstest.Fault{Endpoint: dnstest.EndpointListZones, Kind: dnstest.Fail500}, call: zone},
		{name: "500 create", fault: &dnstest.Fault{Endpoint: dnstest.EndpointCreateRecord, Kind: dnstest.Fail500}, call: create},
		{name: "500 update", fault: &dnstest.Fault{Endpoint: dnstest.EndpointCreateRecord, Kind: dnstest.Fail500}, call: update(addr)},
		{name: "success false", fault: &dnstest.Fault{Endpoint: dnstest.EndpointListRecords, Kind: dnstest.FailSuccessFalse}, call: update(addr)},
		{name: "dropped", fault: &dnstest.Fault{Endpoint: dnstest.EndpointListZones, Kind: dnstest.FailDrop}, call: zone, is: dns.ErrUnavailable},
		{name: "refused zone", down: true, call: zone, is: dns.ErrUnavailable},
		{name: "refused update", down: true, call: update(addr), is: dns.ErrUnavailable},
		{name: "source fails", call: update(broken)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := dnstest.Start(t)
			if tc.fault != nil {
				srv.Inject(*tc.fault)
			}
			url := srv.URL
			if tc.down {
				l, err := net.Listen("tcp", "127.0.0.1:0")
				require.NoError(t, err)
				url = "http://" + l.Addr().String()
				require.NoError(t, l.Close())
			}
			tok := dnstest.SeedToken
			if tc.token != "" {
				tok = tc.token
			}
			c, err := dns.NewClient(secret.New(tok), dns.WithBaseURL(url), dns.WithRateLimit(0), dns.WithRetries(0))
			require.NoError(t, err)
			t.Cleanup(func() { _ = c.Close() })
			err = tc.call(t.Context(), c)
			require.Error(t, err)
			t.Log(err)
			if tc.is != nil {
				assert.ErrorIs(t, err, tc.is)
			}
			assert.NoError(t, errtext.Check("dns", err))
		})
	}
}
