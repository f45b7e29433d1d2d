package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/textproto"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/thehomelab/homelab/dns/dnstest"
	"github.com/thehomelab/homelab/examples/internal/command"
	"github.com/thehomelab/homelab/examples/internal/config"
	"github.com/thehomelab/homelab/examples/internal/lab"
	"github.com/thehomelab/homelab/examples/internal/workflow"
	"github.com/thehomelab/homelab/omv/omvtest"
	"github.com/thehomelab/homelab/proxmox"
	"github.com/thehomelab/homelab/proxmox/proxmoxtest"
	"github.com/thehomelab/homelab/routeros/routerostest"
	"github.com/thehomelab/homelab/secret"
	"github.com/thehomelab/homelab/ups"
	"github.com/thehomelab/homelab/ups/upstest"
)

// fakeAlerter captures the alerts.
type fakeAlerter struct {
	mu     sync.Mutex
	alerts []Alert
}

func (f *fakeAlerter) Alert(_ context.Context, a Alert) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.alerts = append(f.alerts, a)
	return nil
}

func (f *fakeAlerter) of(check string) []Alert {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []Alert
	for _, a := range f.alerts {
		if a.Check == check {
			out = append(out, a)
		}
	}
	return out
}

func (f *fakeAlerter) all() []Alert {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Alert(nil), f.alerts...)
}

// syncBuffer is a log sink safe for the watcher's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// fastWatch is the watcher's timings scaled from minutes to milliseconds.
var fastWatch = watchOptions{
	CheckInterval: 20 * time.Millisecond,
	CheckTimeout:  patience, // a check cut short would alert "could not be checked"
	DDNSInterval:  50 * time.Millisecond,
	Retry:         50 * time.Millisecond,
	// The lab's newest archives are from last night, 03:00: up to 45 h old.
	BackupMaxAge: 72 * time.Hour,
	Guard: workflow.PowerLossConfig{
		Policy:        ups.Policy{OnBatteryDelay: 50 * time.Millisecond, DeadTime: 2 * time.Second},
		Interval:      10 * time.Millisecond,
		AlertInterval: 10 * time.Millisecond,
	},
}

func TestWatchPowerCutAndDegradedArray(t *testing.T) {
	t.Parallel()
	l, c := startLabConfig(t)

	var logs syncBuffer
	fa := &fakeAlerter{}
	w := newWatcher(slog.New(slog.NewJSONHandler(&logs, nil)), fa, fastWatch)
	cy := countCycles(w)
	periodic := []string{"ddns", "raid", "isolation", "wireguard", "certificates", "backups"}
	cancel, done := startWatcher(t, w, c, nil, nil)
	defer func() { cancel(); <-done }()

	// Every check has run a few times and found the lab well: no alert.
	require.Eventually(t, func() bool {
		w.mu.Lock()
		defer w.mu.Unlock()
		for _, name := range []string{"ups", "ddns", "raid", "isolation", "wireguard", "certificates", "backups"} {
			if _, ok := w.states[name]; !ok {
				return false
			}
		}
		return true
	}, patience, 10*time.Millisecond)
	cy.more(t, nil, 3, periodic...)
	flushAlerts(t, w)
	assert.Empty(t, fa.all(), "the lab at start is well")

	// A disk drops out of the array: one alert, however many polls.
	require.NoError(t, l.NASServer.FailMember("md0", "sdb"))
	require.Eventually(t, func() bool { return len(fa.of("raid")) > 0 }, patience, 10*time.Millisecond, logs.String())

	// The power goes: the guard shuts the lab down, NAS last.
	l.UPSServer.Play(lab.UPSName,
		upstest.Step{At: 30 * time.Millisecond, Status: "OB DISCHRG", Vars: map[string]string{"battery.charge": "64", "battery.runtime": "540"}},
		upstest.Step{At: 200 * time.Millisecond, Status: "OB DISCHRG LB", Vars: map[string]string{"battery.charge": "18", "battery.runtime": "95"}},
	)
	require.Eventually(t, func() bool { return len(fa.of("ups")) > 0 }, patience, 10*time.Millisecond, logs.String())
	require.Eventually(t, func() bool { return l.ProxmoxServer.GuestStatus(100) == "stopped" }, patience, 10*time.Millisecond)
	// Polls go on; the states do not change, so no more alerts.
	cy.more(t, cy.snapshot(), 3, periodic...)
	flushAlerts(t, w)

	raid := fa.of("raid")
	require.Len(t, raid, 1, "%+v", fa.all())
	assert.Equal(t, StateProblem, raid[0].State)
	assert.Equal(t, StateOK, raid[0].Was)
	assert.Contains(t, strings.Join(raid[0].Problems, "\n"), "md0")
	upsAlerts := fa.of("ups")
	require.Len(t, upsAlerts, 1, "%+v", fa.all())
	assert.Equal(t, StateProblem, upsAlerts[0].State)
	assert.Contains(t, upsAlerts[0].Body(), "power lost")
	// The node is off now: the backup check, which asks it, may say once
	// that it could not check. Nothing else.
	others := 0
	for _, a := range fa.all() {
		switch a.Check {
		case "raid", "ups":
		case "backups":
			assert.Equal(t, StateUnchecked, a.State, "%+v", a)
			assert.Len(t, fa.of("backups"), 1, "%+v", fa.all())
		default:
			others++
		}
	}
	assert.Zero(t, others, "%+v", fa.all())

	for _, vmid := range []int{100, 101, 102} {
		assert.Equal(t, "stopped", l.ProxmoxServer.GuestStatus(vmid), "guest %d", vmid)
	}
	assert.True(t, l.UPSServer.FSDSet(lab.UPSName), "FSD forwarded to the other NUT clients")

	// DDNS moved the VPN record to the router's address meanwhile.
	recs := l.DNSServer.Records(lab.VPNName)
	require.Len(t, recs, 1)
	assert.Equal(t, routerostest.LabPublicIP, recs[0].Content)

	// Stopping is clean: run returns once ctx ends.
	cancel()
	select {
	case <-done:
	case <-time.After(patience):
		t.Fatal("watch did not stop")
	}
	assert.Contains(t, logs.String(), `"msg":"stopped"`)
}

func TestWatchReload(t *testing.T) {
	t.Parallel()
	l := startLab(t)
	path, env := labConfig(t, l)
	c, err := config.Read(path, config.Env(env))
	require.NoError(t, err)
	opts := fastWatch
	opts.CheckInterval = time.Hour
	w, logs, _ := newTestWatcher(opts)
	cy := countCycles(w)
	checks := []string{"raid", "isolation", "wireguard", "certificates", "backups"} // each runs once per start
	reload := make(chan struct{})
	loads := 0
	load := func() (*config.Config, error) {
		loads++
		if loads == 1 {
			return config.Read(path+".missing", config.Env(env))
		}
		return config.Read(path, config.Env(env))
	}
	cancel, done := startWatcher(t, w, c, reload, load)
	require.Eventually(t, func() bool { return strings.Contains(logs.String(), `msg="watching the UPS"`) }, patience, 10*time.Millisecond, logs.String())
	// Every check ran once under the first config before the reload: a
	// reload during a check's first run cancels it uncounted, and with an
	// hour's interval the second count below would never come (it flaked
	// so under load).
	cy.more(t, nil, 1, checks...)
	dialled := l.UPSServer.Accepted()
	reload <- struct{}{} // a config that does not read: the old one goes on
	reload <- struct{}{} // one that does: the components restart
	require.Eventually(t, func() bool { return strings.Contains(logs.String(), "config reloaded") }, patience, 10*time.Millisecond)
	// "watching" comes once the new components are started, after that
	// line; each check runs once as it starts, under both configs.
	require.Eventually(t, func() bool { return strings.Count(logs.String(), `msg=watching `) >= 2 }, patience, 10*time.Millisecond, logs.String())
	cy.more(t, nil, 2, checks...)
	assert.Contains(t, logs.String(), "reload failed, going on with the old config")
	assert.Equal(t, 2, strings.Count(logs.String(), `msg=watching `), logs.String())
	// The guard's settings did not change: it went on watching, its
	// outage clock and connections untouched (a new guard would have
	// dialled upsd by the time the restarted checks have run).
	assert.Equal(t, 1, strings.Count(logs.String(), `msg="watching the UPS"`), logs.String())
	assert.Equal(t, dialled, l.UPSServer.Accepted(), "the guard kept its upsd connection")
	cancel()
	<-done
}

func TestWatchUsage(t *testing.T) {
	t.Parallel()
	var out, errOut bytes.Buffer
	assert.Equal(t, command.ExitUsage, run(t.Context(), []string{"watch", "-log-format", "xml"}, &out, &errOut, noEnv))
	assert.Equal(t, command.ExitUsage, run(t.Context(), []string{"watch", "-log-level", "loud"}, &out, &errOut, noEnv))
	assert.Equal(t, command.ExitUsage, run(t.Context(), []string{"watch", "-config", "/nonexistent/homelab.yaml"}, &out, &errOut, noEnv))
	out.Reset()
	assert.Equal(t, command.ExitOK, run(t.Context(), []string{"watch", "-h"}, &out, &errOut, noEnv))
	assert.Contains(t, out.String(), "SIGHUP reloads")
}

func TestGuardKey(t *testing.T) {
	t.Parallel()
	l := startLab(t)
	path, env := labConfig(t, l)
	c, err := config.Read(path, config.Env(env))
	require.NoError(t, err)
	k := guardKey(c)
	require.NotEmpty(t, k)
	assert.NotContains(t, k, lab.UPSPassword)
	c2, err := config.Read(path, config.Env(env))
	require.NoError(t, err)
	assert.Equal(t, k, guardKey(c2), "the same settings: the guard goes on")
	c2.NUT.Password = secret.New("another")
	assert.NotEqual(t, k, guardKey(c2), "a new password: the guard restarts")
	c2.NUT = nil
	assert.Empty(t, guardKey(c2), "no UPS: no guard")
}

// smtpSink is a plain-text SMTP relay on the loopback (as a local
// postfix) that keeps the messages it is given (RFC 5321's minimum).
type smtpSink struct {
	l    net.Listener
	mu   sync.Mutex
	msgs []string
}

func startSMTPSink(t *testing.T) *smtpSink {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	s := &smtpSink{l: l}
	t.Cleanup(func() { _ = l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go s.serve(c)
		}
	}()
	return s
}

func (s *smtpSink) serve(c net.Conn) {
	defer c.Close()
	tp := textproto.NewConn(c)
	_ = tp.PrintfLine("220 sink ESMTP")
	for {
		line, err := tp.ReadLine()
		if err != nil {
			return
		}
		switch verb, _, _ := strings.Cut(strings.ToUpper(line), " "); verb {
		case "EHLO", "HELO":
			_ = tp.PrintfLine("250 sink")
		case "DATA":
			_ = tp.PrintfLine("354 go ahead")
			b, err := tp.ReadDotBytes()
			if err != nil {
				return
			}
			s.mu.Lock()
			s.msgs = append(s.msgs, string(b))
			s.mu.Unlock()
			_ = tp.PrintfLine("250 queued")
		case "QUIT":
			_ = tp.PrintfLine("221 bye")
			return
		default:
			_ = tp.PrintfLine("250 ok")
		}
	}
}

func (s *smtpSink) messages() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.msgs...)
}

// TestWatchCommand runs homelab watch as the service does: JSON logs, an
// alert mailed through the config's smtp, SIGHUP reloads without
// alerting again, the end of ctx (SIGTERM) stops it with exit 0.
func TestWatchCommand(t *testing.T) {
	l := startLab(t)
	path, env := labConfig(t, l)
	sink := startSMTPSink(t)
	host, port, err := net.SplitHostPort(sink.l.Addr().String())
	require.NoError(t, err)
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	require.NoError(t, err)
	_, err = fmt.Fprintf(f, "smtp:\n  host: %s\n  port: %s\n  from: lab@example.org\n  to: [admin@example.org]\n", host, port)
	require.NoError(t, err)
	require.NoError(t, f.Close())
	require.NoError(t, l.NASServer.FailMember("md0", "sdb"))

	var out, errOut syncBuffer
	ctx, cancel := context.WithCancel(t.Context())
	code := make(chan int, 1)
	go func() {
		code <- run(ctx, []string{"watch", "-config", path, "-log-format", "json", "-log-level", "debug", "-interval", "20ms", "-backup-max-age", "72h"}, &out, &errOut, env)
	}()
	require.Eventually(t, func() bool { return len(sink.messages()) > 0 }, patience, 10*time.Millisecond, errOut.String())
	require.NoError(t, syscall.Kill(os.Getpid(), syscall.SIGHUP))
	require.Eventually(t, func() bool { return strings.Contains(errOut.String(), `"msg":"config reloaded"`) }, patience, 10*time.Millisecond, errOut.String())
	// A few polls of the array after the reload (each logged at debug);
	// stopping then delivers whatever they queued before run returns.
	require.Eventually(t, func() bool {
		_, after, _ := strings.Cut(errOut.String(), `"msg":"config reloaded"`)
		n := 0
		for _, line := range strings.Split(after, "\n") {
			if strings.Contains(line, `"msg":"checked"`) && strings.Contains(line, `"check":"raid"`) {
				n++
			}
		}
		return n >= 3
	}, patience, 10*time.Millisecond, errOut.String())
	cancel()
	select {
	case c := <-code:
		assert.Equal(t, command.ExitOK, c)
	case <-time.After(patience):
		t.Fatal("watch did not stop")
	}

	msgs := sink.messages()
	require.Len(t, msgs, 1, "one alert for the degraded array, not one per poll or reload: %q", msgs)
	assert.Contains(t, msgs[0], "Subject: homelab: raid PROBLEM")
	assert.Contains(t, msgs[0], "md0")
	for _, line := range strings.Split(strings.TrimSpace(errOut.String()), "\n") {
		assert.True(t, json.Valid([]byte(line)), "not JSON: %s", line)
	}
	logs := errOut.String()
	assert.Contains(t, logs, `"msg":"stopped"`)
	assert.Contains(t, logs, `"level":"DEBUG"`, "-log-level debug shows the SDK's calls")
	for _, v := range []string{routerostest.DefaultPassword, lab.UPSPassword, omvtest.AdminPassword, proxmoxtest.TokenSecret} {
		assert.NotContains(t, logs, v)
	}
}

// TestWatchGuardNotReady: a guard that can no longer act (Proxmox refuses
// its token while it watches) is alerted once, and once more when it can
// act again.
func TestWatchGuardNotReady(t *testing.T) {
	t.Parallel()
	l, c := startLabConfig(t)
	c.NAS, c.NPM, c.Router, c.Cloudflare = nil, nil, nil, nil // only the guard

	opts := fastWatch
	// The periodic backup check, which asks Proxmox too, runs once: the
	// fake's request log below is the guard's.
	opts.CheckInterval = time.Hour
	// How often the guard checks again, and how long one check (a plan and
	// a Preflight) may take before it counts as failed: at 400 ms a loaded
	// race run failed one on its own. The waits below are on the checks
	// and events themselves, not on multiples of it.
	opts.Guard.CheckInterval = 2 * time.Second
	var mu sync.Mutex
	cannotAct := 0
	opts.Guard.OnEvent = func(e workflow.GuardEvent) { // after the watcher's own handling
		if e.Kind == workflow.GuardCannotAct {
			mu.Lock()
			cannotAct++
			mu.Unlock()
		}
	}
	refusals := func() int {
		mu.Lock()
		defer mu.Unlock()
		return cannotAct
	}
	w, logs, fa := newTestWatcher(opts)
	startWatcher(t, w, c, nil, nil)
	require.Eventually(t, func() bool { return strings.Contains(logs.String(), `msg="watching the UPS"`) }, patience, 10*time.Millisecond)
	// The monitor's Run checks once more as it starts (after the line):
	// the fault must reach the rechecks while it watches, not that one.
	require.Eventually(t, func() bool { return permissionReads(l.ProxmoxServer) >= 2 }, patience, 5*time.Millisecond, logs.String())
	flushAlerts(t, w)
	require.Empty(t, fa.all(), logs.String())

	l.ProxmoxServer.Inject(proxmoxtest.Fault{Status: 401, Reason: "authentication failure"})
	require.Eventually(t, func() bool { return len(fa.of("ups")) == 1 }, patience, 10*time.Millisecond, logs.String())
	// Refused twice more: no new alert.
	require.Eventually(t, func() bool { return refusals() >= 3 }, patience, 10*time.Millisecond, logs.String())
	flushAlerts(t, w)
	require.Len(t, fa.of("ups"), 1, "%+v", fa.of("ups"))
	l.ProxmoxServer.ClearFaults()
	require.Eventually(t, func() bool { return len(fa.of("ups")) == 2 }, patience, 10*time.Millisecond, logs.String())
	// Two more checks pass: no new alert. The first of them went to the
	// monitor a whole CheckInterval before the second was read.
	reads := permissionReads(l.ProxmoxServer)
	require.Eventually(t, func() bool { return permissionReads(l.ProxmoxServer) >= reads+2 }, patience, 5*time.Millisecond, logs.String())
	flushAlerts(t, w)

	got := fa.of("ups")
	require.Len(t, got, 2, "%+v", got)
	assert.Equal(t, StateUnchecked, got[0].State)
	assert.Contains(t, got[0].Err, "can no longer act")
	assert.Equal(t, StateOK, got[1].State)
	assert.Equal(t, "homelab: ups ok again", got[1].Subject())
}

// TestWatchGuardNotHeldBySlowChecks: the NAS, the proxy and the router
// answer slowly; the guard, on its own connections, still shuts the lab
// down within a few of its polls.
func TestWatchGuardNotHeldBySlowChecks(t *testing.T) {
	t.Parallel()
	l, c := startLabConfig(t)
	// Wide: under -race on a loaded machine the guard alone has taken over
	// 1 s (it flaked at 1 s, then at 3 s). The checks wait it out, never
	// cut short, so a guard held by them would take about as long.
	const slow = 10 * time.Second
	l.NASServer.SetLatency(slow)
	l.ProxyServer.SetLatency(slow)

	opts := fastWatch
	opts.CheckTimeout = 2 * slow
	w, logs, _ := newTestWatcher(opts)
	startWatcher(t, w, c, nil, nil)
	require.Eventually(t, func() bool { return strings.Contains(logs.String(), `msg="watching the UPS"`) }, patience, 10*time.Millisecond)
	// The monitor's own start check, before its first poll.
	require.Eventually(t, func() bool { return permissionReads(l.ProxmoxServer) >= 2 }, patience, 5*time.Millisecond, logs.String())

	start := time.Now()
	l.UPSServer.Play(lab.UPSName,
		upstest.Step{At: 10 * time.Millisecond, Status: "OB DISCHRG LB", Vars: map[string]string{"battery.charge": "18", "battery.runtime": "95"}},
	)
	require.Eventually(t, func() bool { return l.ProxmoxServer.GuestStatus(100) == "stopped" }, slow, 10*time.Millisecond, logs.String())
	took := time.Since(start)
	t.Logf("shut down %s after the power cut, the NAS and proxy answering in %s", took.Round(time.Millisecond), slow)
	assert.Less(t, took, slow/2)
	// The checks' logouts on the way out need not wait either.
	l.NASServer.SetLatency(0)
	l.ProxyServer.SetLatency(0)
}

// TestWatchDDNSFailing: Cloudflare failing is alerted once, however many
// cycles fail, and once more when DDNS works again.
func TestWatchDDNSFailing(t *testing.T) {
	t.Parallel()
	l, c := startLabConfig(t)
	c.NAS, c.NPM, c.NUT, c.Lab.Networks = nil, nil, nil, nil // DDNS and the router's WireGuard check
	l.DNSServer.Inject(dnstest.Fault{Kind: dnstest.Fail500})

	w, logs, fa := newTestWatcher(fastWatch)
	startWatcher(t, w, c, nil, nil)
	require.Eventually(t, func() bool { return strings.Count(logs.String(), "ddns cycle failed") >= 3 }, patience, 10*time.Millisecond)
	flushAlerts(t, w)
	got := fa.of("ddns")
	require.Len(t, got, 1, "%+v", got)
	assert.Equal(t, StateUnchecked, got[0].State)

	l.DNSServer.ClearFaults()
	require.Eventually(t, func() bool { return len(fa.of("ddns")) == 2 }, patience, 10*time.Millisecond)
	assert.Equal(t, StateOK, fa.of("ddns")[1].State)
	recs := l.DNSServer.Records(lab.VPNName)
	require.Len(t, recs, 1)
	assert.Equal(t, routerostest.LabPublicIP, recs[0].Content)
	flushAlerts(t, w)
	assert.Len(t, fa.all(), 2, "%+v", fa.all())
}

// TestWatchShutdownSurvivesStop: the service is stopped (SIGTERM: its ctx
// ends) right after the guard decided; the ordered shutdown goes on to its
// end and the watcher returns only then, every guest stopped.
func TestWatchShutdownSurvivesStop(t *testing.T) {
	t.Parallel()
	l, c := startLabConfig(t)
	c.NAS, c.NPM, c.Router, c.Cloudflare = nil, nil, nil, nil // only the guard

	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	opts := fastWatch
	decided := make(chan struct{})
	var events []workflow.GuardEvent // the guard's goroutine only, read after run returns
	opts.Guard.OnEvent = func(e workflow.GuardEvent) {
		events = append(events, e)
		if e.Kind == workflow.GuardDecided {
			// Each Proxmox call of the shutdown now outlasts the stop.
			l.ProxmoxServer.SetLatency(20 * time.Millisecond)
			cancel()
			close(decided)
		}
	}
	w, logs, _ := newTestWatcher(opts)
	done := make(chan struct{})
	go func() {
		defer close(done)
		w.run(ctx, c, nil, nil)
	}()
	require.Eventually(t, func() bool { return strings.Contains(logs.String(), `msg="watching the UPS"`) }, patience, 10*time.Millisecond)
	l.UPSServer.Play(lab.UPSName,
		upstest.Step{At: 10 * time.Millisecond, Status: "OB DISCHRG LB", Vars: map[string]string{"battery.charge": "18", "battery.runtime": "95"}},
	)
	select {
	case <-decided:
	case <-time.After(patience):
		t.Fatal("no decision: " + logs.String())
	}
	select {
	case <-done:
	case <-time.After(patience):
		t.Fatal("watch did not stop")
	}
	for _, vmid := range []int{100, 101, 102} {
		assert.Equal(t, "stopped", l.ProxmoxServer.GuestStatus(vmid), "guest %d: %s", vmid, logs.String())
	}
	assert.Contains(t, logs.String(), "done: 3 guests handled")
	var kinds []string
	for _, e := range events {
		kinds = append(kinds, e.Kind.String())
		assert.False(t, e.Time.IsZero())
		assert.NoError(t, e.Err)
	}
	assert.Equal(t, []string{"watching", "decided", "shut down"}, kinds)
	assert.True(t, events[len(events)-1].Decision.Shutdown)
}

// TestWatchBackupAge: a guest whose newest archive grows older than the
// limit is alerted once; a fresh archive makes it ok again.
func TestWatchBackupAge(t *testing.T) {
	t.Parallel()
	l, c := startLabConfig(t)
	c.NAS, c.NPM, c.Router, c.Cloudflare, c.NUT = nil, nil, nil, nil, nil // only the backup check

	// The limit is two hours past the lab's newest archive.
	vols, err := l.Proxmox.Backups.List(t.Context(), proxmoxtest.Node, "backups", proxmox.ListOptions{})
	require.NoError(t, err)
	require.NotEmpty(t, vols)
	var newest time.Time
	for _, v := range vols {
		if v.Created.After(newest) {
			newest = v.Created
		}
	}
	opts := fastWatch
	opts.BackupMaxAge = l.Now().Sub(newest) + 2*time.Hour
	opts.now = l.Now
	w, logs, fa := newTestWatcher(opts)
	cy := countCycles(w)
	startWatcher(t, w, c, nil, nil)
	cy.more(t, nil, 1, "backups")
	flushAlerts(t, w)
	assert.Empty(t, fa.all(), "last night's archives are within the limit")

	// A night without backups: every guest's newest archive is too old.
	l.AdvanceClock(3 * time.Hour)
	require.Eventually(t, func() bool { return len(fa.of("backups")) == 1 }, patience, 10*time.Millisecond, logs.String())
	cy.more(t, cy.snapshot(), 3, "backups") // polls go on: no new alert
	flushAlerts(t, w)
	got := fa.of("backups")
	require.Len(t, got, 1, "%+v", got)
	assert.Equal(t, StateProblem, got[0].State)
	require.Len(t, got[0].Problems, 3, "%q", got[0].Problems)
	assert.Contains(t, got[0].Problems[0], "guest 100: newest backup on backups is")

	// The backups ran again.
	for _, g := range []struct {
		vmid int
		typ  string
	}{{100, "qemu"}, {101, "lxc"}, {102, "qemu"}} {
		l.ProxmoxServer.AddBackup(proxmoxtest.Backup{Storage: "backups", VMID: g.vmid, Type: g.typ, Time: l.Now().Add(-time.Minute), Size: 3 << 30})
	}
	require.Eventually(t, func() bool { return len(fa.of("backups")) == 2 }, patience, 10*time.Millisecond, logs.String())
	assert.Equal(t, StateOK, fa.of("backups")[1].State)
	flushAlerts(t, w)
	assert.Len(t, fa.all(), 2, "%+v", fa.all())
}

// startLabConfig starts the embedded lab (stopped when the test ends) and
// reads the homelab.yaml describing it.
func startLabConfig(t *testing.T) (*lab.Lab, *config.Config) {
	t.Helper()
	l := startLab(t)
	path, env := labConfig(t, l)
	c, err := config.Read(path, config.Env(env))
	require.NoError(t, err)
	return l, c
}

// newTestWatcher is a watcher with opts that logs text to the buffer and
// alerts the fakeAlerter it returns.
func newTestWatcher(opts watchOptions) (*watcher, *syncBuffer, *fakeAlerter) {
	logs, fa := &syncBuffer{}, &fakeAlerter{}
	return newWatcher(slog.New(slog.NewTextHandler(logs, nil)), fa, opts), logs, fa
}

// startWatcher runs w.run(ctx, c, reload, load) in the background under a
// ctx that ends with the test or with cancel; done closes when run returns.
// The test's cleanup cancels and waits for run to return (before the lab,
// started earlier, is closed).
func startWatcher(t *testing.T, w *watcher, c *config.Config, reload <-chan struct{}, load func() (*config.Config, error)) (cancel context.CancelFunc, done <-chan struct{}) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	ch := make(chan struct{})
	go func() {
		defer close(ch)
		w.run(ctx, c, reload, load)
	}()
	t.Cleanup(func() { cancel(); <-ch })
	return cancel, ch
}

// patience bounds every wait for something the watcher does: generous, so
// a loaded race run (CI on two cores) only makes a test slower, never
// fail. A passing test returns as soon as the thing happened.
const patience = 20 * time.Second

// alerterFunc is an alerter made of a function.
type alerterFunc func(context.Context, Alert) error

func (f alerterFunc) Alert(ctx context.Context, a Alert) error { return f(ctx, a) }

// flushAlerts returns once every alert the watcher has queued so far has
// been delivered. Alerts go out one at a time in the order set queued
// them, so once a marker queued behind them has gone out, so have they:
// a test that then finds no alert knows none was queued, instead of
// having slept and hoped. The watcher must be running.
func flushAlerts(t *testing.T, w *watcher) {
	t.Helper()
	done := make(chan struct{})
	marker := queued{a: Alert{Check: "flush"}, to: alerterFunc(func(context.Context, Alert) error {
		close(done)
		return nil
	})}
	select {
	case w.queue <- marker:
	case <-time.After(patience):
		t.Fatal("the alert queue stayed full")
	}
	select {
	case <-done:
	case <-time.After(patience):
		t.Fatal("the queued alerts were not delivered")
	}
}

// cycles counts the runs of each check and DDNS cycle (watcher.cycled).
type cycles struct {
	mu sync.Mutex
	n  map[string]int
}

// countCycles makes w count its cycles; call it before w runs.
func countCycles(w *watcher) *cycles {
	cy := &cycles{n: map[string]int{}}
	w.cycled = func(name string) {
		cy.mu.Lock()
		defer cy.mu.Unlock()
		cy.n[name]++
	}
	return cy
}

func (cy *cycles) snapshot() map[string]int {
	cy.mu.Lock()
	defer cy.mu.Unlock()
	out := make(map[string]int, len(cy.n))
	for k, v := range cy.n {
		out[k] = v
	}
	return out
}

// more waits until each of names has run k more times than it had at
// from (a snapshot): polls that went on, counted rather than slept for.
func (cy *cycles) more(t *testing.T, from map[string]int, k int, names ...string) {
	t.Helper()
	require.Eventually(t, func() bool {
		now := cy.snapshot()
		for _, name := range names {
			if now[name] < from[name]+k {
				return false
			}
		}
		return true
	}, patience, 5*time.Millisecond, "cycles since %v: %v", from, cy.snapshot())
}

// permissionReads counts the GET /access/permissions the fake Proxmox
// answered: one per run of the guard's checks (Preflight), logged once
// answered, so a fault injected after the n-th read does not reach it.
func permissionReads(pv *proxmoxtest.Server) int {
	n := 0
	for _, r := range pv.Requests() {
		if r.Path == "/access/permissions" {
			n++
		}
	}
	return n
}

// A workflow line that never ends costs at most maxLogLine: the logWriter
// logs it cut instead of holding it.
func TestLogWriterEndlessLine(t *testing.T) {
	var out strings.Builder
	lw := &logWriter{log: slog.New(slog.NewTextHandler(&out, nil))}
	chunk := []byte(strings.Repeat("x", 4096))
	for range 1024 { // 4 MiB without a newline
		n, err := lw.Write(chunk)
		require.NoError(t, err)
		require.Equal(t, len(chunk), n)
		require.LessOrEqual(t, lw.buf.Len(), maxLogLine+len(chunk))
	}
	assert.Contains(t, out.String(), "truncated=")
	_, _ = lw.Write([]byte("tail\n"))
	assert.Contains(t, out.String(), "tail")
}
