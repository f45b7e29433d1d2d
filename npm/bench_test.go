package npm_test

import (
	"testing"
	"time"

	"github.com/thehomelab/homelab/npm"
	"github.com/thehomelab/homelab/npm/npmtest"
)

// benchLatency is the injected round-trip time of the fake, roughly a LAN
// NPM behind its bundled nginx.
const benchLatency = 2 * time.Millisecond

func warm(b *testing.B, f fixture) {
	b.Helper()
	if err := f.c.Login(b.Context()); err != nil {
		b.Fatal(err)
	}
	if _, err := f.c.ServerVersion(b.Context()); err != nil {
		b.Fatal(err)
	}
	f.n.n.Store(0)
	b.ResetTimer()
}

// report adds the HTTP requests per operation (the house style calls
// them round trips).
func report(b *testing.B, f fixture) {
	n := float64(f.n.n.Load()) / float64(b.N)
	b.ReportMetric(n, "requests/op")
	b.ReportMetric(n, "roundtrips/op")
}

// BenchmarkEnsureProxyHostUnchanged: one unchanged host costs one list.
func BenchmarkEnsureProxyHostUnchanged(b *testing.B) {
	f := newFixture(b, []npmtest.Option{npmtest.WithLatency(benchLatency)})
	spec := seedSpecs()[4]
	warm(b, f)
	for b.Loop() {
		r, err := f.c.ProxyHosts.Ensure(b.Context(), spec)
		if err != nil || r.Action != npm.Unchanged {
			b.Fatal(err, r.Action)
		}
	}
	report(b, f)
}

// BenchmarkEnsureSeedApps compares ensuring all 11 seeded apps with one
// batched call (one list with expand) against the naive loop of single
// ProxyHosts.Ensure calls (one list each).
func BenchmarkEnsureSeedApps(b *testing.B) {
	specs := seedSpecs()
	b.Run("batched", func(b *testing.B) {
		f := newFixture(b, []npmtest.Option{npmtest.WithLatency(benchLatency)})
		warm(b, f)
		for b.Loop() {
			if _, err := f.c.ProxyHosts.EnsureAll(b.Context(), specs); err != nil {
				b.Fatal(err)
			}
		}
		report(b, f)
	})
	b.Run("naive", func(b *testing.B) {
		f := newFixture(b, []npmtest.Option{npmtest.WithLatency(benchLatency)})
		warm(b, f)
		for b.Loop() {
			for _, s := range specs {
				if _, err := f.c.ProxyHosts.Ensure(b.Context(), s); err != nil {
					b.Fatal(err)
				}
			}
		}
		report(b, f)
	})
}

// BenchmarkExposeUnchanged: an app that is already exposed costs two
// lists (certificates, hosts).
func BenchmarkExposeUnchanged(b *testing.B) {
	f := newFixture(b, []npmtest.Option{npmtest.WithLatency(benchLatency)})
	a := npm.App{FQDN: "nextcloud.thehomelab.site", ForwardHost: "nextcloud", ForwardPort: 80, HTTP2: true, HSTS: true, BlockExploits: true}
	warm(b, f)
	for b.Loop() {
		if _, err := f.c.Expose(b.Context(), a); err != nil {
			b.Fatal(err)
		}
	}
	report(b, f)
}
