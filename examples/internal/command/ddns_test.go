package command

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/thehomelab/homelab/dns"
	"github.com/thehomelab/homelab/dns/dnstest"
)

// cloudflare starts a fake Cloudflare holding vpn at an old address.
func cloudflare(t *testing.T) *dnstest.Server {
	t.Helper()
	srv := dnstest.NewServer()
	t.Cleanup(srv.Close)
	srv.AddRecord(dnstest.Record{ZoneName: dnstest.SeedZone, Type: "A", Name: "vpn.thehomelab.site",
		Content: "203.0.113.10", Comment: dns.DefaultComment})
	return srv
}

func env(m map[string]string) Env { return func(k string) string { return m[k] } }

func TestDDNSCommand(t *testing.T) {
	t.Parallel()
	srv := cloudflare(t)
	e := env(map[string]string{"CLOUDFLARE_API_TOKEN": dnstest.SeedToken})
	var out bytes.Buffer
	args := []string{"-cloudflare", srv.URL, "-names", "vpn,home", "-ip", "198.51.100.20"}
	require.NoError(t, runDDNS(t.Context(), &out, &out, args, e), out.String())

	assert.Contains(t, out.String(), "update vpn.thehomelab.site A 203.0.113.10 -> 198.51.100.20")
	assert.Contains(t, out.String(), "create home.thehomelab.site A 198.51.100.20")
	assert.NotContains(t, out.String(), "second cycle", "the real command runs one cycle; the second is the demo's lesson")
	assert.NotContains(t, out.String(), dnstest.SeedToken)
	for _, name := range []string{"vpn.thehomelab.site", "home.thehomelab.site"} {
		recs := srv.Records(name)
		require.Len(t, recs, 1, name)
		assert.Equal(t, "198.51.100.20", recs[0].Content, name)
	}

	// A second run of the program finds everything in place.
	out.Reset()
	require.NoError(t, runDDNS(t.Context(), &out, &out, args, e))
	assert.Contains(t, out.String(), "nothing to change")
}

func TestDDNSCommandDryRun(t *testing.T) {
	t.Parallel()
	srv := cloudflare(t)
	e := env(map[string]string{"CLOUDFLARE_API_TOKEN": dnstest.SeedToken})
	var out bytes.Buffer
	args := []string{"-cloudflare", srv.URL, "-ip", "198.51.100.20", "-dry-run"}
	require.NoError(t, runDDNS(t.Context(), &out, &out, args, e))
	assert.Contains(t, out.String(), "plan: update vpn.thehomelab.site A 203.0.113.10 -> 198.51.100.20")
	assert.Contains(t, out.String(), "dry run: nothing changed")
	assert.Equal(t, "203.0.113.10", srv.Records("vpn.thehomelab.site")[0].Content)
	assert.Zero(t, dnsRequests(srv, dnstest.EndpointPatchRecord))
}

func TestDDNSCommandErrors(t *testing.T) {
	t.Parallel()
	srv := cloudflare(t)
	tests := []struct {
		name  string
		args  []string
		env   map[string]string
		usage bool
		want  string
		is    error
	}{
		{name: "bad ip", args: []string{"-ip", "not-an-ip"}, usage: true, want: "-ip"},
		{name: "no names", args: []string{"-ip", "198.51.100.20", "-names", " , "}, usage: true, want: "-names"},
		{name: "extra args", args: []string{"vpn"}, usage: true, want: "unexpected arguments"},
		{name: "watch with dry run", args: []string{"-watch", "5m", "-dry-run"}, usage: true, want: "-watch"},
		{name: "no token", args: []string{"-ip", "198.51.100.20"}, usage: true, want: "set CLOUDFLARE_API_TOKEN"},
		{name: "private address refused", args: []string{"-cloudflare", srv.URL, "-ip", "192.168.1.10"},
			env: map[string]string{"CLOUDFLARE_API_TOKEN": dnstest.SeedToken}, want: "private address", is: dns.ErrBadAddress},
		{name: "wrong token", args: []string{"-cloudflare", srv.URL, "-ip", "198.51.100.20"},
			env: map[string]string{"CLOUDFLARE_API_TOKEN": "wrong-token-value"}, want: "401", is: dns.ErrAuth},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var out bytes.Buffer
			err := runDDNS(t.Context(), &out, &out, tt.args, env(tt.env))
			require.Error(t, err)
			assert.Equal(t, tt.usage, errors.Is(err, ErrUsage), "%v", err)
			if tt.is != nil {
				assert.ErrorIs(t, err, tt.is)
			}
			assert.ErrorContains(t, err, tt.want)
			assert.NotContains(t, err.Error()+out.String(), "wrong-token-value")
		})
	}
	assert.Equal(t, "203.0.113.10", srv.Records("vpn.thehomelab.site")[0].Content)
}

func TestDDNSCommandWatch(t *testing.T) {
	t.Parallel()
	srv := cloudflare(t)
	e := env(map[string]string{"CLOUDFLARE_API_TOKEN": dnstest.SeedToken})
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var out safeBuffer
	done := make(chan error, 1)
	go func() {
		done <- runDDNS(ctx, &out, &out, []string{"-cloudflare", srv.URL, "-ip", "198.51.100.20", "-watch", "50ms"}, e)
	}()
	// The change is reported once the cycle is over; give it a few more.
	require.Eventually(t, func() bool {
		return strings.Contains(out.String(), "update vpn.thehomelab.site A 203.0.113.10 -> 198.51.100.20")
	}, 10*time.Second, 10*time.Millisecond)
	time.Sleep(200 * time.Millisecond)
	cancel()
	require.NoError(t, <-done)
	assert.Equal(t, "198.51.100.20", srv.Records("vpn.thehomelab.site")[0].Content)
	assert.Equal(t, 1, dnsRequests(srv, dnstest.EndpointPatchRecord), "unchanged cycles must not write")
}

// safeBuffer is a bytes.Buffer for a writer on another goroutine.
type safeBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *safeBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *safeBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// dnsRequests returns how many requests reached endpoint of the fake
// Cloudflare.
func dnsRequests(srv *dnstest.Server, endpoint string) int {
	n := 0
	for _, r := range srv.Requests() {
		if r.Endpoint == endpoint {
			n++
		}
	}
	return n
}
