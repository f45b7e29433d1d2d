package main

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/thehomelab/homelab/dns"
	"github.com/thehomelab/homelab/dns/dnstest"
	"github.com/thehomelab/homelab/routeros/routerostest"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func cloudflare(t *testing.T) *dnstest.Server {
	srv := dnstest.Start(t)
	srv.AddRecord(dnstest.Record{ZoneName: dnstest.SeedZone, Type: "A", Name: "vpn.thehomelab.site",
		Content: "203.0.113.10", Comment: dns.DefaultComment})
	return srv
}

func TestDDNSFromRouter(t *testing.T) {
	t.Parallel()
	cf, rt := cloudflare(t), routerostest.Start(t)
	e := env(map[string]string{"CLOUDFLARE_API_TOKEN": dnstest.SeedToken, "ROUTEROS_PASSWORD": routerostest.DefaultPassword})
	args := []string{"-cloudflare", cf.URL, "-router", rt.Addr(), "-names", "vpn,home"}

	var out, errOut bytes.Buffer
	require.Equal(t, 0, run(t.Context(), append(args, "-dry-run"), &out, &errOut, e), errOut.String())
	assert.Contains(t, out.String(), "Dry run: nothing was changed.")
	assert.Equal(t, "203.0.113.10", cf.Records("vpn.thehomelab.site")[0].Content)

	out.Reset()
	require.Equal(t, 0, run(t.Context(), args, &out, &errOut, e), errOut.String())
	assert.Contains(t, out.String(), "Done: 2 record(s) now point at "+routerostest.LabPublicIP+".")
	assert.Equal(t, routerostest.LabPublicIP, cf.Records("vpn.thehomelab.site")[0].Content)
	assert.Equal(t, routerostest.LabPublicIP, cf.Records("home.thehomelab.site")[0].Content)
	assert.NotContains(t, out.String()+errOut.String(), dnstest.SeedToken)

	out.Reset()
	require.Equal(t, 0, run(t.Context(), args, &out, &errOut, e), errOut.String())
	assert.Contains(t, out.String(), "nothing to change")
}

func TestDDNSFailures(t *testing.T) {
	t.Parallel()
	cf := cloudflare(t)
	tests := []struct {
		name string
		args []string
		env  map[string]string
		code int
		want string
	}{
		{"token refused", []string{"-cloudflare", cf.URL, "-ip", "198.51.100.20"}, map[string]string{"CLOUDFLARE_API_TOKEN": "wrong-token"}, 3, "ddns: dns:"},
		{"no token", []string{"-ip", "198.51.100.20"}, nil, 2, "set CLOUDFLARE_API_TOKEN"},
		{"bad source", []string{"-from", "psychic"}, map[string]string{"CLOUDFLARE_API_TOKEN": "x"}, 2, "-from"},
		{"watch and dry run", []string{"-watch", "5m", "-dry-run"}, nil, 2, "-watch"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var out, errOut bytes.Buffer
			assert.Equal(t, tt.code, run(t.Context(), tt.args, &out, &errOut, env(tt.env)))
			assert.Contains(t, errOut.String(), tt.want)
			assert.NotContains(t, errOut.String(), "wrong-token")
		})
	}
	assert.Equal(t, "203.0.113.10", cf.Records("vpn.thehomelab.site")[0].Content)
}

// safeBuffer is a bytes.Buffer written by the Updater's goroutine.
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

// -watch keeps running until interrupted, which is a normal end.
func TestDDNSWatch(t *testing.T) {
	t.Parallel()
	cf := cloudflare(t)
	e := env(map[string]string{"CLOUDFLARE_API_TOKEN": dnstest.SeedToken})
	ctx, cancel := context.WithCancel(t.Context())
	var out, errOut safeBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"-cloudflare", cf.URL, "-ip", "198.51.100.20", "-watch", "10ms"}, &out, &errOut, e)
	}()
	require.Eventually(t, func() bool { return strings.Contains(out.String(), "198.51.100.20") }, 10*time.Second, 5*time.Millisecond)
	cancel()
	assert.Equal(t, 0, <-done, errOut.String())
	assert.Contains(t, out.String(), "checking every 10ms; Ctrl-C stops.")
	assert.Equal(t, "198.51.100.20", cf.Records("vpn.thehomelab.site")[0].Content)
	assert.Empty(t, errOut.String())
}
