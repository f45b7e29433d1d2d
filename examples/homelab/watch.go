package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/netip"
	"os"
	"os/signal"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/thehomelab/homelab/backup"
	"github.com/thehomelab/homelab/dns"
	"github.com/thehomelab/homelab/examples/internal/command"
	"github.com/thehomelab/homelab/examples/internal/config"
	"github.com/thehomelab/homelab/examples/internal/workflow"
	"github.com/thehomelab/homelab/proxmox"
	"github.com/thehomelab/homelab/routeros"
	"github.com/thehomelab/homelab/ups"
)

// Alert is one change of a watched thing's state: sent once when the state
// changes, never again while it stays.
type Alert struct {
	Check    string
	State    State
	Was      State
	Problems []string
	Err      string
	Time     time.Time
}

// Subject is the alert's one-line summary (the mail's subject).
func (a Alert) Subject() string {
	switch a.State {
	case StateOK:
		return fmt.Sprintf("homelab: %s ok again", a.Check)
	case StateProblem:
		return fmt.Sprintf("homelab: %s PROBLEM", a.Check)
	default:
		return fmt.Sprintf("homelab: %s could not be checked", a.Check)
	}
}

// Body is the alert's text (the mail's body).
func (a Alert) Body() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s (was %s) at %s\n", a.Check, a.State, a.Was, a.Time.Format(time.RFC3339))
	for _, p := range a.Problems {
		fmt.Fprintf(&b, "  ! %s\n", p)
	}
	if a.Err != "" {
		fmt.Fprintf(&b, "  ? %s\n", a.Err)
	}
	return b.String()
}

// alerter delivers alerts. Every alert is logged by the watcher whatever
// the alerter does.
type alerter interface {
	Alert(ctx context.Context, a Alert) error
}

// mailAlerter mails alerts through the backup package's SMTP notifier.
type mailAlerter struct{ n *backup.Notifier }

func (m mailAlerter) Alert(ctx context.Context, a Alert) error {
	return m.n.Send(ctx, a.Subject(), a.Body())
}

// newMailAlerter returns the alerter of the config's smtp section, nil if
// it has none. A relay on the loopback is spoken to in plain text (a local
// postfix), port 465 with implicit TLS, anything else with STARTTLS.
func newMailAlerter(s *config.SMTP, log *slog.Logger) alerter {
	if s == nil || s.Host == "" || len(s.To) == 0 {
		return nil
	}
	n := &backup.Notifier{From: s.From, To: s.To, User: s.User, Password: s.Password, Logger: log}
	n.Addr = s.Host
	if s.Port != 0 {
		n.Addr = net.JoinHostPort(s.Host, strconv.Itoa(s.Port))
	}
	switch ip, err := netip.ParseAddr(s.Host); {
	case s.Host == "localhost" || (err == nil && ip.IsLoopback()):
		n.Security = backup.SMTPPlainLoopback
	case s.Port == 465:
		n.Security = backup.SMTPImplicitTLS
	}
	if n.From == "" {
		n.From = "homelab@localhost"
	}
	return mailAlerter{n}
}

// watchOptions are the watcher's timings; zero values take the defaults.
type watchOptions struct {
	// CheckInterval is how often each periodic check runs.
	CheckInterval time.Duration
	// CheckTimeout bounds one run of one check.
	CheckTimeout time.Duration
	// DDNSInterval is the DDNS updater's interval.
	DDNSInterval time.Duration
	// DDNSVerify is how often DDNS re-reads Cloudflare while the address
	// is unchanged, to repair a record edited by hand; 0 never does, so a
	// quiet day costs no Cloudflare request.
	DDNSVerify time.Duration
	// Silent is how long a WireGuard peer may go without a handshake.
	Silent time.Duration
	// Guard holds the UPS guard's policy and polling; Shutdown and
	// ForwardFSD are set from the config.
	Guard workflow.PowerLossConfig
	// Retry is how long a failed component waits before it starts again.
	Retry time.Duration
	// BackupMaxAge is how old the newest archive of a guest may be.
	BackupMaxAge time.Duration
	// BackupStorage is the Proxmox storage holding the archives.
	BackupStorage string

	// now is the clock the backup ages are measured with (tests move
	// it); nil is time.Now.
	now func() time.Time
}

func (o watchOptions) withDefaults() watchOptions {
	if o.CheckInterval <= 0 {
		o.CheckInterval = 5 * time.Minute
	}
	if o.CheckTimeout <= 0 {
		o.CheckTimeout = 30 * time.Second
	}
	if o.DDNSInterval <= 0 {
		o.DDNSInterval = 5 * time.Minute
	}
	if o.Silent <= 0 {
		o.Silent = 72 * time.Hour
	}
	if o.Retry <= 0 {
		o.Retry = 30 * time.Second
	}
	if o.BackupMaxAge <= 0 {
		o.BackupMaxAge = 36 * time.Hour
	}
	if o.BackupStorage == "" {
		o.BackupStorage = "backups"
	}
	if o.now == nil {
		o.now = time.Now
	}
	return o
}

// watcher is homelab watch: the UPS guard, DDNS and the periodic checks,
// each in its own goroutine with its own connections.
type watcher struct {
	log   *slog.Logger
	alert alerter // nil: alerts are only logged
	// newAlerter, if set, makes the alerter from each config read (SIGHUP
	// may change smtp).
	newAlerter func(*config.Config) alerter
	opts       watchOptions

	mu     sync.Mutex
	states map[string]State // kept across reloads: a reload does not re-alert

	// queue holds the alerts to deliver: set never waits for a mail
	// server (the guard calls it while it watches).
	queue chan queued

	// cycled, if set, is called after each run of a check and each DDNS
	// cycle with its name (tests and the benchmark count them).
	cycled func(name string)
}

// queued is an alert and the alerter to deliver it with.
type queued struct {
	a  Alert
	to alerter
}

// alertQueue is how many alerts may wait for delivery; beyond, they are
// only logged.
const alertQueue = 64

func newWatcher(log *slog.Logger, a alerter, opts watchOptions) *watcher {
	return &watcher{log: log, alert: a, opts: opts.withDefaults(), states: map[string]State{}, queue: make(chan queued, alertQueue)}
}

// deliver sends the queued alerts, one at a time and in order, until the
// queue is closed and empty. An alert is sent even while stopping: it says
// what happened.
func (w *watcher) deliver(ctx context.Context) {
	for q := range w.queue {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), w.opts.CheckTimeout)
		if err := q.to.Alert(sctx, q.a); err != nil {
			w.log.Error("alert not sent", "check", q.a.Check, "error", err)
		}
		cancel()
	}
}

// set records check's state and, when it changed, logs and sends an alert.
// A check not seen before counts as ok: a problem at start is alerted,
// an ok start is not.
func (w *watcher) set(ctx context.Context, check string, st State, problems []string, err error) {
	w.mu.Lock()
	was, seen := w.states[check]
	if !seen {
		was = StateOK
	}
	w.states[check] = st
	to := w.alert
	w.mu.Unlock()
	if st == was {
		return
	}
	a := Alert{Check: check, State: st, Was: was, Problems: problems, Time: time.Now()}
	if err != nil {
		a.Err = err.Error()
	}
	level := slog.LevelWarn
	if st == StateOK {
		level = slog.LevelInfo
	}
	w.log.Log(ctx, level, "alert", "check", check, "state", st, "was", was, "problems", problems, "error", a.Err)
	if to == nil {
		return
	}
	select {
	case w.queue <- queued{a, to}:
	default:
		w.log.Error("alert not sent: too many waiting", "check", check)
	}
}

// run runs the components for c until ctx ends. A value on reload reads
// the config again with load; if it reads, the components restart on the
// new config, else the old one goes on and the error is logged. The UPS
// guard is not restarted by a reload that leaves its own settings as they
// were: an outage in progress keeps its clock and its connections. A
// watcher runs once.
func (w *watcher) run(ctx context.Context, c *config.Config, reload <-chan struct{}, load func() (*config.Config, error)) {
	delivered := make(chan struct{})
	go func() {
		defer close(delivered)
		w.deliver(ctx)
	}()
	var g guardRun
	defer func() {
		// Every component is stopped: no more alerts come.
		g.stop()
		close(w.queue)
		<-delivered
		w.log.Info("stopped")
	}()
	for {
		if w.newAlerter != nil {
			a := w.newAlerter(c)
			if a == nil {
				w.log.Warn("no smtp in the config: alerts are only logged")
			}
			w.mu.Lock()
			w.alert = a
			w.mu.Unlock()
		}
		w.startGuard(ctx, &g, c)
		cctx, cancel := context.WithCancel(ctx)
		var wg sync.WaitGroup
		w.start(cctx, &wg, c)
		w.log.Info("watching", "config", c.Path)
		for next := (*config.Config)(nil); next == nil; {
			select {
			case <-ctx.Done():
				cancel()
				wg.Wait()
				return
			case <-reload:
				nc, err := load()
				if err != nil {
					w.log.Error("reload failed, going on with the old config", "error", err)
					continue
				}
				next = nc
			}
			cancel()
			wg.Wait()
			c = next
			w.log.Info("config reloaded", "config", c.Path)
		}
	}
}

// guardRun is the running UPS guard and the settings it runs with.
type guardRun struct {
	key    string
	cancel context.CancelFunc
	done   chan struct{}
}

func (g *guardRun) stop() {
	if g.cancel != nil {
		g.cancel()
		<-g.done
		*g = guardRun{}
	}
}

// guardKey is what the guard depends on; "" when the config has no guard.
func guardKey(c *config.Config) string {
	n, p := c.NUT, c.Proxmox
	if n == nil || p == nil {
		return ""
	}
	// The secrets take part only as a hash, so the key never holds them.
	h := sha256.Sum256([]byte(n.Password.Reveal() + "\x00" + p.Token.Reveal()))
	return fmt.Sprintf("%q %q %q %t %q|%q %q %q|%q|%x", n.Address.Value, n.UPS, n.User, n.StartTLS, n.Fingerprint.Value,
		p.URL.Value, p.Fingerprint.Value, p.TokenID, c.Lab.NASGuest, h)
}

// startGuard starts the guard for c, unless it already runs with the same
// settings; a guard with other settings is stopped first.
func (w *watcher) startGuard(ctx context.Context, g *guardRun, c *config.Config) {
	key := guardKey(c)
	if g.cancel != nil && g.key == key {
		return
	}
	g.stop()
	if key == "" {
		w.log.Warn("no UPS guard: the config needs nut and proxmox")
		return
	}
	gctx, cancel := context.WithCancel(ctx)
	*g = guardRun{key: key, cancel: cancel, done: make(chan struct{})}
	go func(done chan struct{}) {
		defer close(done)
		w.guard(gctx, c)
	}(g.done)
}

// start starts every component but the guard (see startGuard) that the
// config has, each in its own goroutine.
func (w *watcher) start(ctx context.Context, wg *sync.WaitGroup, c *config.Config) {
	if c.Cloudflare != nil && c.Router != nil {
		wg.Go(func() { w.ddns(ctx, c) })
	}
	type periodic struct {
		name string
		run  func(context.Context) ([]string, error)
	}
	var checks []periodic
	if c.NAS != nil {
		checks = append(checks, periodic{"raid", func(ctx context.Context) ([]string, error) { return checkRAID(ctx, c) }})
	}
	if c.Router != nil {
		if len(isolationRules(c.Lab)) > 0 {
			checks = append(checks, periodic{"isolation", func(ctx context.Context) ([]string, error) { return checkIsolation(ctx, c) }})
		}
		checks = append(checks, periodic{"wireguard", func(ctx context.Context) ([]string, error) { return checkWireGuard(ctx, c, w.opts.Silent) }})
	}
	if c.Proxmox != nil {
		checks = append(checks, periodic{"backups", func(ctx context.Context) ([]string, error) {
			return checkBackups(ctx, c, w.opts.BackupStorage, w.opts.BackupMaxAge, w.opts.now())
		}})
	}
	if c.NPM != nil {
		checks = append(checks, periodic{"certificates", func(ctx context.Context) ([]string, error) { return checkCertificates(ctx, c) }})
	}
	for _, ch := range checks {
		wg.Go(func() { w.every(ctx, ch.name, ch.run) })
	}
}

// every runs one check now and then every CheckInterval until ctx ends,
// each run bounded by CheckTimeout. Checks do not wait for each other.
func (w *watcher) every(ctx context.Context, name string, run func(context.Context) ([]string, error)) {
	log := w.log.With("check", name)
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		cctx, cancel := context.WithTimeout(ctx, w.opts.CheckTimeout)
		start := time.Now()
		problems, err := run(cctx)
		cancel()
		if ctx.Err() != nil {
			return
		}
		st := StateOK
		switch {
		case err != nil:
			st = StateUnchecked
		case len(problems) > 0:
			st = StateProblem
		}
		// Every poll at Debug; a change of state is logged (and alerted)
		// by set.
		log.Debug("checked", "state", st, "problems", problems, "error", err, "elapsed", time.Since(start))
		w.set(ctx, name, st, problems, err)
		if w.cycled != nil {
			w.cycled(name)
		}
		t.Reset(w.opts.CheckInterval)
	}
}

// wait waits d or until ctx ends; it reports whether to go on.
func wait(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// maxLogLine caps the unfinished line a logWriter holds.
const maxLogLine = 64 << 10

// logWriter turns the lines a workflow prints into log records.
type logWriter struct {
	log *slog.Logger
	mu  sync.Mutex
	buf bytes.Buffer
}

func (lw *logWriter) Write(p []byte) (int, error) {
	lw.mu.Lock()
	defer lw.mu.Unlock()
	lw.buf.Write(p)
	for {
		line, err := lw.buf.ReadString('\n')
		if err != nil {
			if len(line) > maxLogLine {
				// The workflow prints what devices answered: a line
				// that never ends is logged cut, not held.
				lw.log.Info(line[:maxLogLine]+"…", "truncated", len(line))
				return len(p), nil
			}
			lw.buf.WriteString(line)
			return len(p), nil
		}
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		lw.log.Info(line)
	}
}

// guard runs the power-loss workflow with its own connections to the UPS
// and Proxmox, nothing shared with the checks. If it cannot start (UPS or
// Proxmox unreachable, a shutdown it may not do), it says so as the "ups"
// check's state and tries again. Once it has shut the lab down it stays
// down until ctx ends.
func (w *watcher) guard(ctx context.Context, c *config.Config) {
	log := w.log.With("component", "ups-guard")
	for {
		d, err := w.guardOnce(ctx, c, log)
		if ctx.Err() != nil {
			return
		}
		if err == nil && d.Shutdown {
			w.set(ctx, "ups", StateProblem, []string{fmt.Sprintf("power lost: shut down, %s, after %s on battery", d.Reason, d.OnBattery.Round(time.Millisecond))}, nil)
			log.Warn("guard done: the lab was shut down", "reason", d.Reason)
			<-ctx.Done()
			return
		}
		if err == nil {
			err = errors.New("the guard stopped without a decision")
		}
		log.Error("guard not running, retrying", "error", err, "retry", w.opts.Retry)
		w.set(ctx, "ups", StateUnchecked, nil, err)
		if !wait(ctx, w.opts.Retry) {
			return
		}
	}
}

func (w *watcher) guardOnce(ctx context.Context, c *config.Config, log *slog.Logger) (ups.Decision, error) {
	uc, err := dialUPS(ctx, c.NUT, log)
	if err != nil {
		return ups.Decision{}, err
	}
	defer uc.Close()
	pve, err := newProxmox(c.Proxmox, log)
	if err != nil {
		return ups.Decision{}, err
	}
	defer pve.Close()
	cfg := w.opts.Guard
	cfg.Shutdown = workflow.ShutdownConfig{Node: true}
	if c.Lab.NASGuest != "" {
		cfg.Shutdown.Last = []string{c.Lab.NASGuest}
	}
	// FSD tells the other NUT clients (the NAS) to go down too; only a
	// logged-in primary may set it.
	cfg.ForwardFSD = c.NUT.User != "" && !c.NUT.Password.IsZero()
	// The workflow's lines go to the log; its events change the guard's
	// state.
	lw := &logWriter{log: log}
	also := w.opts.Guard.OnEvent // a caller's own hook (tests)
	cfg.OnEvent = func(e workflow.GuardEvent) {
		if also != nil {
			defer also(e)
		}
		switch e.Kind {
		case workflow.GuardWatching, workflow.GuardOKAgain:
			w.set(ctx, "ups", StateOK, nil, nil)
		case workflow.GuardCannotAct:
			w.set(ctx, "ups", StateUnchecked, nil, fmt.Errorf("%w: %w", errGuardNotReady, e.Err))
		}
	}
	return workflow.PowerLoss(ctx, lw, uc.Device(upsName(c.NUT)), pve, cfg)
}

// errGuardNotReady is the ups state's error while the guard watches but
// could not shut the lab down; it wraps the cause.
var errGuardNotReady = errors.New("the guard can no longer act: it watches on, but could not shut the lab down now")

func upsName(n *config.NUT) string {
	if n.UPS == "" {
		return "ups"
	}
	return n.UPS
}

// ddns keeps the Cloudflare records on the router's PPPoE address. Its
// router connection is its own, dialled again after a failure.
func (w *watcher) ddns(ctx context.Context, c *config.Config) {
	log := w.log.With("component", "ddns")
	cf := c.Cloudflare
	if cf.Token.IsZero() {
		log.Error("no DDNS", "error", errNoSecret("Cloudflare"))
		return
	}
	var opts []dns.Option
	if cf.BaseURL.Value != "" {
		opts = append(opts, dns.WithBaseURL(cf.BaseURL.Value))
	}
	dc, err := dns.NewClient(cf.Token, append(opts, dns.WithLogger(log))...)
	if err != nil {
		log.Error("no DDNS", "error", err)
		return
	}
	defer dc.Close()
	src := &routerSource{c: c, log: log}
	defer src.close()
	u, err := dc.NewUpdater(dns.UpdaterConfig{Zone: cf.Zone, Names: cf.Names, IPv4: src.addr, VerifyEvery: verifyEvery(w.opts.DDNSVerify),
		OnEvent: func(e dns.Event) {
			if w.cycled != nil {
				defer w.cycled("ddns")
			}
			// A failing DDNS is the "ddns" check's unchecked state: alerted
			// once, and once more when it works again.
			switch e.Kind {
			case dns.EventChanged:
				for _, ch := range e.Result.Changes {
					log.Info("record changed", "change", ch.String())
				}
				w.set(ctx, "ddns", StateOK, nil, nil)
			case dns.EventError:
				log.Warn("ddns cycle failed", "error", e.Err, "next", e.Next)
				w.set(ctx, "ddns", StateUnchecked, nil, e.Err)
			default:
				w.set(ctx, "ddns", StateOK, nil, nil)
			}
		}})
	if err != nil {
		log.Error("no DDNS", "error", err)
		return
	}
	for {
		err := u.Run(ctx, w.opts.DDNSInterval)
		if ctx.Err() != nil {
			return
		}
		log.Error("ddns stopped, retrying", "error", err, "retry", w.opts.Retry)
		if !wait(ctx, w.opts.Retry) {
			return
		}
	}
}

// verifyEvery is the updater's VerifyEvery for -ddns-verify d: 0 (the
// default) never re-reads Cloudflare while the address is unchanged.
func verifyEvery(d time.Duration) time.Duration {
	if d <= 0 {
		return dns.NeverVerify
	}
	return d
}

// routerSource is the router's PPPoE address as a dns.Source, on one
// connection kept between cycles and dialled again after an error.
type routerSource struct {
	c   *config.Config
	log *slog.Logger
	rc  *routeros.Client
}

func (s *routerSource) addr(ctx context.Context) (netip.Addr, error) {
	if s.rc == nil {
		rc, err := dialRouter(ctx, s.c.Router, s.log)
		if err != nil {
			return netip.Addr{}, err
		}
		s.rc = rc
	}
	a, err := s.rc.WAN.PublicIP(ctx, wanInterface(s.c.Router))
	if err != nil {
		s.close()
	}
	return a, err
}

func (s *routerSource) close() {
	if s.rc != nil {
		_ = s.rc.Close()
		s.rc = nil
	}
}

func wanInterface(r *config.Router) string {
	if r.WANInterface == "" {
		return routeros.DefaultWANInterface
	}
	return r.WANInterface
}

// The periodic checks: each returns the problems found, or an error when
// it could not check.

func checkRAID(ctx context.Context, c *config.Config) ([]string, error) {
	oc, err := newOMV(c.NAS, command.Logger(ctx))
	if err != nil {
		return nil, err
	}
	defer oc.Close()
	arrays, err := oc.RAID.Health(ctx)
	if err != nil {
		return nil, err
	}
	var problems []string
	for _, a := range arrays {
		if !a.OK() {
			problems = append(problems, "raid "+a.String())
		}
	}
	disks, err := oc.Disks.SMART(ctx)
	if err != nil {
		return nil, err
	}
	for _, d := range disks {
		if !d.Good() {
			problems = append(problems, fmt.Sprintf("smart %s %s: %s", d.DeviceFile, d.Model, d.Status))
		}
	}
	return problems, nil
}

func checkIsolation(ctx context.Context, c *config.Config) ([]string, error) {
	rc, err := dialRouter(ctx, c.Router, command.Logger(ctx))
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	var problems []string
	for _, rule := range isolationRules(c.Lab) {
		rep, err := rc.Firewall.AuditIsolation(ctx, rule.from, rule.to)
		if err != nil {
			return nil, err
		}
		if !rep.Isolated {
			problems = append(problems, fmt.Sprintf("LEAK: %s can reach %s: %s", rule.label, rule.toLabel, rep.Reason))
		}
	}
	return problems, nil
}

// checkWireGuard finds enabled peers whose last handshake is older than
// silent. A peer that never shook hands is not counted: it may simply be
// a device not used yet.
func checkWireGuard(ctx context.Context, c *config.Config, silent time.Duration) ([]string, error) {
	rc, err := dialRouter(ctx, c.Router, command.Logger(ctx))
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	peers, err := rc.WireGuard.Peers(ctx, c.Router.WireGuardInterface)
	if err != nil {
		return nil, err
	}
	var problems []string
	for _, p := range peers {
		if !p.Disabled && p.LastHandshake > silent {
			problems = append(problems, fmt.Sprintf("peer %s silent for %s", p.Name, p.LastHandshake.Round(time.Minute)))
		}
	}
	return problems, nil
}

// checkBackups finds the guests whose newest archive on storage is older
// than maxAge at now. The guests are those with an archive there: one
// never backed up is not this check's business (the backup plan's).
func checkBackups(ctx context.Context, c *config.Config, storage string, maxAge time.Duration, now time.Time) ([]string, error) {
	pve, err := newProxmox(c.Proxmox, command.Logger(ctx))
	if err != nil {
		return nil, err
	}
	defer pve.Close()
	node := c.Lab.Node
	if node == "" {
		nodes, err := pve.Nodes.List(ctx)
		if err != nil {
			return nil, err
		}
		if len(nodes) == 0 {
			return nil, errors.New("backups: the cluster lists no node")
		}
		node = nodes[0].Name
	}
	vols, err := pve.Backups.List(ctx, node, storage, proxmox.ListOptions{})
	if err != nil {
		return nil, err
	}
	newest := map[proxmox.VMID]time.Time{}
	for _, v := range vols {
		if v.Created.After(newest[v.VMID]) {
			newest[v.VMID] = v.Created
		}
	}
	vmids := slices.Sorted(maps.Keys(newest))
	var problems []string
	for _, id := range vmids {
		if age := now.Sub(newest[id]); age > maxAge {
			problems = append(problems, fmt.Sprintf("guest %d: newest backup on %s is %s old (limit %s), from %s",
				id, storage, age.Round(time.Minute), maxAge, newest[id].Format(time.RFC3339)))
		}
	}
	return problems, nil
}

func checkCertificates(ctx context.Context, c *config.Config) ([]string, error) {
	nc, err := newNPM(c.NPM, command.Logger(ctx))
	if err != nil {
		return nil, err
	}
	defer nc.Close()
	certs, err := nc.Certificates.List(ctx)
	if err != nil {
		return nil, err
	}
	var problems []string
	now := time.Now()
	for _, ct := range certs {
		name := ct.NiceName
		if name == "" {
			name = strings.Join(ct.Domains, ",")
		}
		switch left := ct.ExpiresOn.Sub(now); {
		case ct.ExpiresOn.IsZero():
		case left <= 0:
			problems = append(problems, fmt.Sprintf("certificate %s EXPIRED on %s", name, ct.ExpiresOn.Format(time.DateOnly)))
		case left < certWarn:
			problems = append(problems, fmt.Sprintf("certificate %s expires in %d days", name, int(left.Hours()/24)))
		}
	}
	return problems, nil
}

func watchUsage(w io.Writer, fs *flag.FlagSet) {
	fmt.Fprintln(w, "usage: homelab watch [-config FILE] [-log-format text|json] [-log-level info] [-interval 5m]")
	fmt.Fprintln(w, "  the long-running service: the UPS guard (shuts the lab down when the power is not coming back),")
	fmt.Fprintln(w, "  DDNS on the router's address, and periodic checks (RAID/SMART, isolation, certificate expiry,")
	fmt.Fprintln(w, "  silent WireGuard peers, backup age) alerting by mail (smtp in the config) when a check's state changes.")
	fmt.Fprintln(w, "  SIGHUP reloads the config, SIGTERM or SIGINT stops. See homelab-watch.service for systemd.")
	fs.SetOutput(w)
	fs.PrintDefaults()
}

// watchFlags is watch's flag set, filling opts.
func watchFlags(opts *watchOptions) (fs *flag.FlagSet, path, format *string, level *slog.Level) {
	fs = flag.NewFlagSet("watch", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	path = fs.String("config", "", "the config file (default: $HOMELAB_CONFIG, ./homelab.yaml, ~/.config/homelab/homelab.yaml)")
	format = fs.String("log-format", "text", "log format on stderr: text or json")
	level = new(slog.Level)
	fs.TextVar(level, "log-level", slog.LevelInfo, "lowest `level` logged: debug (every SDK call, secrets redacted), info, warn, error")
	fs.DurationVar(&opts.CheckInterval, "interval", 5*time.Minute, "how often the periodic checks run")
	fs.DurationVar(&opts.DDNSInterval, "ddns-interval", 5*time.Minute, "how often DDNS asks the router for its address")
	// 0 turns re-verification off: an offDuration, so checkWatchDurations
	// lets it through.
	fs.Var((*offDuration)(&opts.DDNSVerify), "ddns-verify", "how often DDNS re-reads Cloudflare while the address is unchanged, to repair hand edits (a `duration`; 0: never; Cloudflare is asked only when the address changes)")
	fs.DurationVar(&opts.Guard.Interval, "ups-interval", 5*time.Second, "how often the UPS guard polls NUT on line power (on battery every 2s, or this if shorter)")
	fs.DurationVar(&opts.Silent, "wireguard-silent", 72*time.Hour, "how long a WireGuard peer may go without a handshake")
	fs.DurationVar(&opts.BackupMaxAge, "backup-max-age", 36*time.Hour, "how old a guest's newest backup may be")
	fs.StringVar(&opts.BackupStorage, "backup-storage", "backups", "the Proxmox storage holding the backups")
	return fs, path, format, level
}

// watchGC is the GOGC homelab watch sets: watchGCPercent unless the
// environment has GOGC (then ok is false: the runtime already follows it).
func watchGC(env command.Env) (percent int, ok bool) {
	if env("GOGC") != "" {
		return 0, false
	}
	return watchGCPercent, true
}

func runWatch(ctx context.Context, args []string, out, errOut io.Writer, env command.Env) int {
	var opts watchOptions
	fs, path, format, levelp := watchFlags(&opts)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			watchUsage(out, fs)
			return command.ExitOK
		}
		fmt.Fprintln(errOut, "homelab watch:", err)
		watchUsage(errOut, fs)
		return command.ExitUsage
	}
	if fs.NArg() > 0 || (*format != "text" && *format != "json") {
		watchUsage(errOut, fs)
		return command.ExitUsage
	}
	if err := checkWatchDurations(fs); err != nil {
		fmt.Fprintln(errOut, "homelab watch:", err)
		return command.ExitUsage
	}
	ho := &slog.HandlerOptions{Level: *levelp}
	var h slog.Handler = slog.NewTextHandler(errOut, ho)
	if *format == "json" {
		h = slog.NewJSONHandler(errOut, ho)
	}
	log := slog.New(h)
	// The SDK clients of the checks log through the same handler.
	ctx = command.WithLogger(ctx, log)
	load := func() (*config.Config, error) { return config.Load(*path, config.Env(env)) }
	c, err := load()
	if err != nil {
		fmt.Fprintln(errOut, "homelab watch:", err)
		return command.ExitUsage
	}
	for _, n := range c.Notes {
		log.Warn(n)
	}
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	reload := make(chan struct{})
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
				select {
				case reload <- struct{}{}:
				case <-ctx.Done():
					return
				}
			}
		}
	}()
	if gc, ok := watchGC(env); ok {
		// A service on a small box for months: a heap goal of half the
		// live heap instead of all of it (about 2 MB less RSS in
		// BenchmarkWatchProcess, at a few GC cycles more per poll).
		// GOGC in the environment still decides.
		debug.SetGCPercent(gc)
	}
	w := newWatcher(log, nil, opts)
	w.newAlerter = func(c *config.Config) alerter { return newMailAlerter(c.SMTP, log) }
	w.run(ctx, c, reload, load)
	return command.ExitOK
}

// offDuration is a duration flag for which 0 is allowed: it turns the
// work off. checkWatchDurations refuses 0 for every other duration flag;
// the exemption is declared where the flag is defined (fs.Var with an
// offDuration), so a new flag cannot slip through by a name left out of
// a list.
type offDuration time.Duration

func (d *offDuration) String() string { return time.Duration(*d).String() }

// Set parses a time.Duration, as flag.Duration does.
func (d *offDuration) Set(s string) error {
	v, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	*d = offDuration(v)
	return nil
}

// Get returns the time.Duration (flag.Getter), so checkWatchDurations
// still refuses a negative one.
func (d *offDuration) Get() any { return time.Duration(*d) }

// zeroIsOff marks a duration flag whose 0 means off.
func (*offDuration) zeroIsOff() {}

// checkWatchDurations refuses a duration flag that is not positive (0 is
// allowed for a flag defined as an offDuration, such as -ddns-verify:
// never): a negative interval would otherwise become the default without
// a word, or stop the guard at run time.
func checkWatchDurations(fs *flag.FlagSet) error {
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		g, ok := f.Value.(flag.Getter)
		if !ok {
			return
		}
		d, ok := g.Get().(time.Duration)
		if !ok || err != nil {
			return
		}
		_, zeroOff := f.Value.(interface{ zeroIsOff() })
		if d < 0 || (d == 0 && !zeroOff) {
			err = fmt.Errorf("-%s %s: want a positive duration", f.Name, d)
		}
	})
	return err
}

// watchGCPercent is homelab watch's GOGC unless the environment sets one.
const watchGCPercent = 50
