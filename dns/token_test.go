package dns_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/thehomelab/homelab/dns"
	"github.com/thehomelab/homelab/dns/dnstest"
	"github.com/thehomelab/homelab/secret"
)

func TestVerifyToken(t *testing.T) {
	t.Parallel()
	srv := dnstest.NewServer()
	t.Cleanup(srv.Close)
	srv.AddToken(dnstest.Token{Value: "full", ID: "tok-full", Permissions: []dnstest.Permission{dnstest.DNSEdit}})
	srv.AddToken(dnstest.Token{Value: "ro", Permissions: []dnstest.Permission{dnstest.DNSRead}})
	srv.AddToken(dnstest.Token{Value: "zone-only", Permissions: []dnstest.Permission{dnstest.ZoneRead}})
	srv.AddToken(dnstest.Token{Value: "elsewhere", Permissions: []dnstest.Permission{dnstest.DNSEdit}, Zones: []string{"example.org"}})
	srv.AddToken(dnstest.Token{Value: "acct", ID: "acct-tok", Account: "acc1", Permissions: []dnstest.Permission{dnstest.DNSEdit}})
	srv.AddToken(dnstest.Token{Value: "off", Status: "disabled", Permissions: []dnstest.Permission{dnstest.DNSEdit}})
	srv.AddToken(dnstest.Token{Value: "nothing"})

	tests := []struct {
		token     string
		probe     bool
		account   string
		status    string
		is        error
		missing   []dns.Permission
		granted   []dns.Permission
		unchecked []dns.Permission
	}{
		{token: "full", probe: true, granted: []dns.Permission{dns.PermZoneRead, dns.PermDNSRead, dns.PermDNSEdit}},
		{token: "full", granted: []dns.Permission{dns.PermZoneRead, dns.PermDNSRead}},
		{token: "ro", probe: true, is: dns.ErrPermission, missing: []dns.Permission{dns.PermDNSEdit}, granted: []dns.Permission{dns.PermZoneRead, dns.PermDNSRead}},
		{token: "zone-only", probe: true, is: dns.ErrPermission, missing: []dns.Permission{dns.PermDNSRead, dns.PermDNSEdit}, granted: []dns.Permission{dns.PermZoneRead}},
		{token: "elsewhere", is: dns.ErrPermission, missing: []dns.Permission{dns.PermZoneRead, dns.PermDNSRead, dns.PermDNSEdit}},
		{token: "off", is: dns.ErrAuth},
		// Account-owned: the user endpoint rejects it, the probes decide.
		{token: "acct", probe: true, granted: []dns.Permission{dns.PermZoneRead, dns.PermDNSRead, dns.PermDNSEdit}, status: "none"},
		{token: "acct", account: "acc1", granted: []dns.Permission{dns.PermZoneRead, dns.PermDNSRead}},
		{token: "unknown", is: dns.ErrAuth},
		// No zone permission at all: the zone listing is refused (403).
		{token: "nothing", probe: true, is: dns.ErrPermission, missing: []dns.Permission{dns.PermZoneRead}, unchecked: []dns.Permission{dns.PermDNSRead, dns.PermDNSEdit}},
	}
	for _, tt := range tests {
		t.Run(tt.token+tt.account, func(t *testing.T) {
			t.Parallel()
			c, err := dns.NewClient(secret.New(tt.token), dns.WithBaseURL(srv.URL), dns.WithRateLimit(0), dns.WithRetries(0))
			require.NoError(t, err)
			defer c.Close()
			rep, err := c.VerifyToken(t.Context(), dnstest.SeedZone, dns.VerifyOptions{ProbeWrite: tt.probe, AccountID: tt.account})
			if tt.is == nil {
				require.NoError(t, err)
				if tt.status == "none" {
					assert.Empty(t, rep.Status)
				} else {
					assert.Equal(t, "active", rep.Status)
				}
			} else {
				require.ErrorIs(t, err, tt.is)
				for _, m := range tt.missing {
					assert.Contains(t, err.Error(), string(m), "the error names what is missing")
				}
			}
			assert.Equal(t, tt.missing, rep.Missing)
			assert.Equal(t, tt.granted, rep.Granted)
			if tt.unchecked != nil {
				assert.Equal(t, tt.unchecked, rep.Unchecked)
			}
			t.Log(err)
		})
	}
	assert.Empty(t, srv.Records("_homelab-token-check.thehomelab.site"), "probe record removed")
}

// A failing tokens/verify (other than a rejection of the token) is
// reported, not swallowed because the probes pass.
func TestVerifyTokenEndpointFailure(t *testing.T) {
	t.Parallel()
	for _, f := range []dnstest.FaultKind{dnstest.Fail500, dnstest.Fail429, dnstest.FailSuccessFalse} {
		srv, c := newFake(t)
		srv.Inject(dnstest.Fault{Endpoint: dnstest.EndpointVerifyToken, Kind: f})
		_, err := c.VerifyToken(t.Context(), dnstest.SeedZone, dns.VerifyOptions{})
		require.Error(t, err, f)
		var e *dns.Error
		require.ErrorAs(t, err, &e)
		assert.Contains(t, err.Error(), "verify token on thehomelab.site")
	}
}
