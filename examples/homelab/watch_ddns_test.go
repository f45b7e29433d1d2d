package main

import (
	"bytes"
	"flag"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/thehomelab/homelab/dns"
	"github.com/thehomelab/homelab/dns/dnstest"
	"github.com/thehomelab/homelab/examples/internal/command"
	"github.com/thehomelab/homelab/examples/internal/lab"
	"github.com/thehomelab/homelab/routeros/routerostest"
)

// The updater's re-verification is off unless -ddns-verify sets it; that
// dns.NeverVerify makes no request on a quiet day is dns's
// TestUpdaterNeverVerifyQuietDay (on a clock, over a whole day).
func TestVerifyEvery(t *testing.T) {
	t.Parallel()
	assert.Equal(t, dns.NeverVerify, verifyEvery(0))
	assert.Equal(t, time.Hour, verifyEvery(time.Hour))
}

// TestWatchDDNSVerify: by default the watcher's DDNS never re-reads
// Cloudflare while the router's address is unchanged (issue 17: zero
// Cloudflare requests on a quiet day); -ddns-verify turns the periodic
// re-read (repairing a hand-edited record) back on.
func TestWatchDDNSVerify(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		verify time.Duration
		lists  bool
	}{
		{"default never", 0, false},
		{"every cycle", time.Nanosecond, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			l, c := startLabConfig(t)
			c.NAS, c.NPM, c.NUT, c.Proxmox, c.Lab.Networks = nil, nil, nil, nil, nil

			opts := fastWatch
			opts.DDNSInterval = 5 * time.Millisecond
			opts.DDNSVerify = tc.verify
			w := newWatcher(slog.New(slog.NewTextHandler(io.Discard, nil)), &fakeAlerter{}, opts)
			var (
				mu     sync.Mutex
				cycles int
				first  time.Time
			)
			w.cycled = func(name string) {
				if name != "ddns" {
					return
				}
				mu.Lock()
				defer mu.Unlock()
				// Counted from the first cycle that left the record
				// published (a first cycle that failed leaves the next
				// one to read Cloudflare).
				if first.IsZero() {
					recs := l.DNSServer.Records(lab.VPNName)
					if len(recs) != 1 || recs[0].Content != routerostest.LabPublicIP {
						return
					}
					first = time.Now()
				}
				cycles++
			}
			cancel, done := startWatcher(t, w, c, nil, nil)
			require.Eventually(t, func() bool { mu.Lock(); defer mu.Unlock(); return cycles >= 10 }, 20*time.Second, 5*time.Millisecond)
			cancel()
			<-done

			mu.Lock()
			defer mu.Unlock()
			after := 0
			for _, r := range l.DNSServer.Requests() {
				if r.Time.After(first) {
					after++
					assert.Equal(t, dnstest.EndpointListRecords, r.Endpoint)
				}
			}
			if tc.lists {
				assert.Positive(t, after, "re-reads while unchanged")
			} else {
				assert.Zero(t, after, "Cloudflare requests in %d cycles with the address unchanged", cycles)
			}
		})
	}
}

// A duration flag that is not positive is a usage error (exit 2), before
// anything is dialled: -interval -1s used to become the default without a
// word, and -ups-interval -1s stopped the guard at run time.
func TestWatchDurationFlags(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{
		{"-interval", "-1s"}, {"-ddns-interval", "0s"}, {"-ups-interval", "-1s"}, {"-ddns-verify", "-1h"},
		{"-wireguard-silent", "0"}, {"-backup-max-age", "-36h"},
	} {
		var out, errOut bytes.Buffer
		code := run(t.Context(), append([]string{"watch", "-config", "/nonexistent/homelab.yaml"}, args...), &out, &errOut, func(string) string { return "" })
		assert.Equal(t, command.ExitUsage, code, "%v", args)
		assert.Contains(t, errOut.String(), "-"+strings.TrimPrefix(args[0], "-")+" ", "%v", args)
		assert.Contains(t, errOut.String(), "want a positive duration", "%v", args)
	}

	// Every duration flag is checked, a future one too: negative is
	// refused everywhere, 0 only where the flag is declared an
	// offDuration (0: off), which is -ddns-verify alone.
	var opts watchOptions
	all, _, _, _ := watchFlags(&opts)
	var zeroOff []string
	all.VisitAll(func(f *flag.Flag) {
		g, ok := f.Value.(flag.Getter)
		if !ok {
			return
		}
		if _, ok := g.Get().(time.Duration); !ok {
			return
		}
		for _, v := range []string{"-1s", "0s", "1s"} {
			var o watchOptions
			fs, _, _, _ := watchFlags(&o)
			require.NoError(t, fs.Parse([]string{"-" + f.Name, v}))
			err := checkWatchDurations(fs)
			switch v {
			case "-1s":
				assert.ErrorContains(t, err, "-"+f.Name+" -1s: want a positive duration")
			case "0s":
				if err == nil {
					zeroOff = append(zeroOff, f.Name)
				} else {
					assert.ErrorContains(t, err, "-"+f.Name+" 0s: want a positive duration")
				}
			default:
				assert.NoError(t, err, "-%s %s", f.Name, v)
			}
		}
	})
	assert.Equal(t, []string{"ddns-verify"}, zeroOff, "the flags where 0 means off")
	assert.Zero(t, opts.DDNSVerify, "-ddns-verify is off by default")
	require.NoError(t, checkWatchDurations(all), "the defaults")
	require.Error(t, all.Parse([]string{"-ddns-verify", "soon"}), "a bad duration is a parse error")

	// The exemption is the flag's type, not its name.
	var d, off time.Duration
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	fs.DurationVar(&d, "ddns-verify", 0, "")
	fs.Var((*offDuration)(&off), "future-verify", "")
	assert.ErrorContains(t, checkWatchDurations(fs), "-ddns-verify 0s: want a positive duration")
	fs = flag.NewFlagSet("x", flag.ContinueOnError)
	fs.Var((*offDuration)(&off), "future-verify", "")
	assert.NoError(t, checkWatchDurations(fs))
	require.NoError(t, fs.Parse([]string{"-future-verify", "-1m"}))
	assert.ErrorContains(t, checkWatchDurations(fs), "-future-verify -1m0s: want a positive duration")
}

// The flags reach the watcher's options: -ups-interval is the guard's
// poll on line power (the benchmark's simulated day relies on it), and
// the defaults are the documented ones.
func TestWatchFlags(t *testing.T) {
	t.Parallel()
	var opts watchOptions
	fs, path, format, level := watchFlags(&opts)
	require.NoError(t, fs.Parse([]string{"-config", "lab.yaml", "-log-format", "json", "-log-level", "debug",
		"-ups-interval", "2ms", "-ddns-verify", "1h"}))
	assert.Equal(t, "lab.yaml", *path)
	assert.Equal(t, "json", *format)
	assert.Equal(t, slog.LevelDebug, *level)
	assert.Equal(t, 2*time.Millisecond, opts.Guard.Interval)
	assert.Equal(t, time.Hour, opts.DDNSVerify)
	assert.Equal(t, 5*time.Minute, opts.CheckInterval)
	assert.Equal(t, 5*time.Minute, opts.DDNSInterval)

	var def watchOptions
	fs, _, _, _ = watchFlags(&def)
	require.NoError(t, fs.Parse(nil))
	assert.Equal(t, 5*time.Second, def.Guard.Interval)
	assert.Zero(t, def.DDNSVerify, "never re-read by default")
}

// watch sets GOGC=50 unless the environment sets GOGC.
func TestWatchGC(t *testing.T) {
	t.Parallel()
	gc, ok := watchGC(func(string) string { return "" })
	assert.True(t, ok)
	assert.Equal(t, 50, gc)
	_, ok = watchGC(func(k string) string {
		if k == "GOGC" {
			return "200"
		}
		return ""
	})
	assert.False(t, ok, "GOGC in the environment decides")
}
