package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/thehomelab/homelab/dns"
	"github.com/thehomelab/homelab/examples/internal/command"
	"github.com/thehomelab/homelab/examples/internal/config"
	"github.com/thehomelab/homelab/npm"
	"github.com/thehomelab/homelab/proxmox"
	"github.com/thehomelab/homelab/ups"
)

// State is a section's verdict.
type State string

// The verdicts, best first. A section is unchecked when its device could
// not be asked (unreachable, refused, timed out, no credentials).
const (
	StateOK        State = "ok"
	StateProblem   State = "problem"
	StateUnchecked State = "unchecked"
)

// Section is what status learned about one device.
type Section struct {
	Name     string        `json:"name"`
	Device   string        `json:"device"`
	State    State         `json:"state"`
	Lines    []string      `json:"lines,omitempty"`
	Problems []string      `json:"problems,omitempty"`
	Error    string        `json:"error,omitempty"`
	Elapsed  time.Duration `json:"elapsed_ns"`

	// closers run after the section is shown: a logout to a device gone
	// silent must not hold up the screen.
	closers []func() error
}

// closeLater registers a client's Close to run once the section is out.
func (s *Section) closeLater(f func() error) { s.closers = append(s.closers, f) }

func (s *Section) say(format string, args ...any) {
	s.Lines = append(s.Lines, fmt.Sprintf(format, args...))
}

func (s *Section) problem(format string, args ...any) {
	s.Problems = append(s.Problems, fmt.Sprintf(format, args...))
}

// Report is homelab status --json.
type Report struct {
	Config   string        `json:"config"`
	Time     time.Time     `json:"time"`
	Sections []Section     `json:"sections"`
	Exit     int           `json:"exit"`
	Elapsed  time.Duration `json:"elapsed_ns"`
}

// check gathers one section. It returns an error when the device could
// not be asked; problems found go into s.
type check struct {
	name, device string
	run          func(ctx context.Context, s *Section) error
}

// defaultStatusTimeout bounds each device's check.
const defaultStatusTimeout = 10 * time.Second

// certWarn is how close to expiry a proxy certificate is a problem.
const certWarn = 14 * 24 * time.Hour

func runStatus(ctx context.Context, args []string, out, errOut io.Writer, env command.Env) int {
	fs := flag.NewFlagSet("status", flag.ContinueOnError)
	// Parse prints nothing itself: the usage goes once, to stdout for
	// -h and to stderr after an error.
	fs.SetOutput(io.Discard)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: homelab status [-config FILE] [-json] [-timeout 10s]")
		fmt.Fprintln(fs.Output(), "  the whole lab on one screen, each device asked at once and shown as soon as it answers")
		fmt.Fprintln(fs.Output(), "  exit 0 all well, 1 a problem found, 2 config error, 3 something could not be checked")
		fs.PrintDefaults()
	}
	path := fs.String("config", "", "the config file (default: $HOMELAB_CONFIG, ./homelab.yaml, ~/.config/homelab/homelab.yaml)")
	asJSON := fs.Bool("json", false, "print one JSON document for scripts instead of the screen")
	timeout := fs.Duration("timeout", defaultStatusTimeout, "how long each device may take")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(out)
			fs.Usage()
			return command.ExitOK
		}
		fmt.Fprintln(errOut, "homelab status:", err)
		fs.SetOutput(errOut)
		fs.Usage()
		return command.ExitUsage
	}
	if fs.NArg() > 0 || *timeout <= 0 {
		fs.SetOutput(errOut)
		fs.Usage()
		return command.ExitUsage
	}
	c, err := config.Load(*path, config.Env(env))
	if err != nil {
		fmt.Fprintln(errOut, "homelab status:", err)
		return command.ExitUsage
	}
	var show func(Section)
	if !*asJSON {
		fmt.Fprintf(out, "homelab status (%s)\n", c.Path)
		show = func(s Section) { printSection(out, s) }
	}
	rep := gather(ctx, c, *timeout, show)
	if *asJSON {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		_ = enc.Encode(rep)
	} else {
		fmt.Fprintf(out, "%s in %s\n", verdict(rep.Exit), rep.Elapsed.Round(time.Millisecond))
	}
	return rep.Exit
}

func verdict(code int) string {
	switch code {
	case command.ExitOK:
		return "all well"
	case command.ExitProblem:
		return "PROBLEMS FOUND"
	default:
		return "NOT EVERYTHING COULD BE CHECKED"
	}
}

func printSection(w io.Writer, s Section) {
	mark := map[State]string{StateOK: "ok", StateProblem: "PROBLEM", StateUnchecked: "UNCHECKED"}[s.State]
	fmt.Fprintf(w, "\n%s (%s): %s\n", s.Name, s.Device, mark)
	for _, l := range s.Lines {
		fmt.Fprintf(w, "  %s\n", l)
	}
	for _, p := range s.Problems {
		fmt.Fprintf(w, "  ! %s\n", p)
	}
	if s.Error != "" {
		fmt.Fprintf(w, "  ? %s\n", s.Error)
	}
}

// gather runs every configured check at once, each bounded by timeout,
// calls show (if not nil) with each section as it completes, and returns
// the report with the sections in a fixed order.
func gather(ctx context.Context, c *config.Config, timeout time.Duration, show func(Section)) Report {
	start := time.Now()
	checks := checks(c)
	results := make(chan Section, len(checks))
	for _, ch := range checks {
		go func() {
			s := Section{Name: ch.name, Device: ch.device}
			cctx, cancel := context.WithTimeout(ctx, timeout)
			t0 := time.Now()
			err := ch.run(cctx, &s)
			s.Elapsed = time.Since(t0)
			// The SDKs put the deadline on the socket too, which may fire
			// a moment before cctx's own timer.
			if err != nil && ctx.Err() == nil && (cctx.Err() != nil ||
				errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded)) {
				err = fmt.Errorf("no answer within %s (%w)", timeout, err)
			}
			cancel()
			switch {
			case err != nil:
				s.State, s.Error = StateUnchecked, err.Error()
			case len(s.Problems) > 0:
				s.State = StateProblem
			default:
				s.State = StateOK
			}
			results <- s
		}()
	}
	rep := Report{Config: c.Path, Time: start.UTC()}
	var closing sync.WaitGroup
	// Clients log out after everything is shown, bounded by each SDK's own
	// close timeout.
	defer closing.Wait()
	for range checks {
		s := <-results
		for _, f := range s.closers {
			closing.Go(func() { _ = f() })
		}
		if show != nil {
			show(s)
		}
		rep.Sections = append(rep.Sections, s)
	}
	order := func(name string) int {
		return slices.IndexFunc(checks, func(ch check) bool { return ch.name == name })
	}
	slices.SortFunc(rep.Sections, func(a, b Section) int { return order(a.Name) - order(b.Name) })
	rep.Exit = command.ExitOK
	for _, s := range rep.Sections {
		switch {
		case s.State == StateProblem:
			rep.Exit = command.ExitProblem
		case s.State == StateUnchecked && rep.Exit == command.ExitOK:
			rep.Exit = command.ExitUnchecked
		}
	}
	rep.Elapsed = time.Since(start)
	return rep
}

// wanResult hands the router's public address to the DNS check, which
// fetches the records meanwhile and compares once both are known.
type wanResult struct {
	done chan struct{}
	addr netip.Addr
	err  error
}

func (w *wanResult) set(a netip.Addr, err error) {
	w.addr, w.err = a, err
	close(w.done)
}

// checks returns the checks the config asks for. The router check always
// settles wan, even when it fails early, so that the DNS check never
// waits on it longer than the router's own timeout.
func checks(c *config.Config) []check {
	var out []check
	wan := &wanResult{done: make(chan struct{})}
	if c.Router != nil {
		out = append(out, check{"router", c.Router.Address.Value, func(ctx context.Context, s *Section) error {
			return checkRouter(ctx, c, wan, s)
		}})
	} else {
		wan.set(netip.Addr{}, errors.New("no router in the config"))
	}
	if c.Cloudflare != nil {
		out = append(out, check{"dns", c.Cloudflare.Zone, func(ctx context.Context, s *Section) error {
			return checkDNS(ctx, c.Cloudflare, wan, s)
		}})
	}
	if c.Proxmox != nil {
		out = append(out, check{"proxmox", c.Proxmox.URL.Value, func(ctx context.Context, s *Section) error {
			return checkProxmox(ctx, c, s)
		}})
	}
	if c.NAS != nil {
		out = append(out, check{"nas", c.NAS.URL.Value, func(ctx context.Context, s *Section) error {
			return checkNAS(ctx, c, s)
		}})
	}
	if c.NPM != nil {
		out = append(out, check{"proxy", c.NPM.URL.Value, func(ctx context.Context, s *Section) error {
			return checkProxy(ctx, c.NPM, s)
		}})
	}
	if c.NUT != nil {
		out = append(out, check{"ups", c.NUT.UPS + "@" + c.NUT.Address.Value, func(ctx context.Context, s *Section) error {
			return checkUPS(ctx, c.NUT, s)
		}})
	}
	return out
}

// errNoSecret says a device's secret was found nowhere.
func errNoSecret(dev string) error {
	return fmt.Errorf("no credentials for %s: see homelab config check", dev)
}

func checkRouter(ctx context.Context, c *config.Config, wan *wanResult, s *Section) (err error) {
	settled := false
	defer func() {
		if !settled {
			wan.set(netip.Addr{}, fmt.Errorf("router: %v", err))
		}
	}()
	r := c.Router
	rc, err := dialRouter(ctx, r, command.Logger(ctx))
	if err != nil {
		return err
	}
	s.closeLater(rc.Close)
	iface := wanInterface(r)
	ip, err := rc.WAN.PublicIP(ctx, iface)
	wan.set(ip, err)
	settled = true
	if err != nil {
		return err
	}
	s.say("wan       %s on %s", ip, iface)
	peers, err := rc.WireGuard.Peers(ctx, r.WireGuardInterface)
	if err != nil {
		return err
	}
	for _, p := range peers {
		hs := "never"
		if p.LastHandshake > 0 {
			hs = p.LastHandshake.Round(time.Second).String() + " ago"
		}
		state := ""
		if p.Disabled {
			state = " (disabled)"
		}
		s.say("peer      %-16s %-22s handshake %s%s", p.Name, prefixes(p.AllowedAddress), hs, state)
	}
	if len(peers) == 0 {
		s.say("peer      none")
	}
	for _, rule := range isolationRules(c.Lab) {
		rep, err := rc.Firewall.AuditIsolation(ctx, rule.from, rule.to)
		if err != nil {
			return err
		}
		if rep.Isolated {
			by := "the chain's default"
			if rep.Rule != nil {
				by = fmt.Sprintf("rule %s %q", rep.Rule.ID, rep.Rule.Comment)
			}
			s.say("isolation %s cannot reach %s (%s)", rule.label, rule.toLabel, by)
		} else {
			s.problem("LEAK: %s can reach %s: %s", rule.label, rule.toLabel, rep.Reason)
		}
	}
	return nil
}

func prefixes(ps []netip.Prefix) string {
	var out []string
	for _, p := range ps {
		out = append(out, p.String())
	}
	return strings.Join(out, ",")
}

type isolation struct {
	from, to       netip.Prefix
	label, toLabel string
}

// isolationRules are lab.isolate, or guest -> lan when both networks are
// named and no rule is given.
func isolationRules(l config.Lab) []isolation {
	rules := l.Isolate
	if len(rules) == 0 {
		_, g := l.Networks["guest"]
		_, n := l.Networks["lan"]
		if g && n {
			rules = []string{"guest -> lan"}
		}
	}
	var out []isolation
	for _, r := range rules {
		from, to, _ := strings.Cut(r, "->")
		from, to = strings.TrimSpace(from), strings.TrimSpace(to)
		out = append(out, isolation{from: l.Networks[from].Prefix, to: l.Networks[to].Prefix,
			label:   fmt.Sprintf("%s %s", from, l.Networks[from].Prefix),
			toLabel: fmt.Sprintf("%s %s", to, l.Networks[to].Prefix)})
	}
	return out
}

func checkDNS(ctx context.Context, cf *config.Cloudflare, wan *wanResult, s *Section) error {
	if cf.Token.IsZero() {
		return errNoSecret("Cloudflare")
	}
	var opts []dns.Option
	if cf.BaseURL.Value != "" {
		opts = append(opts, dns.WithBaseURL(cf.BaseURL.Value))
	}
	dc, err := dns.NewClient(cf.Token, append(opts, dns.WithLogger(command.Logger(ctx)))...)
	if err != nil {
		return err
	}
	s.closeLater(dc.Close)
	z, err := dc.Zone(ctx, cf.Zone)
	if err != nil {
		return err
	}
	records := map[string][]dns.Record{}
	for _, n := range cf.Names {
		recs, err := dc.ListRecords(ctx, z, dns.RecordFilter{Type: dns.TypeA, Name: n})
		if err != nil {
			return err
		}
		records[n] = recs
	}
	wanAddr, wanErr := netip.Addr{}, error(nil)
	select {
	case <-wan.done:
		wanAddr, wanErr = wan.addr, wan.err
	case <-ctx.Done():
		// Show the records anyway; the router's section says why.
		wanErr = errors.New("the router did not answer in time")
	}
	for _, n := range cf.Names {
		recs := records[n]
		if len(recs) == 0 {
			s.problem("%s has no A record", n)
			continue
		}
		for _, r := range recs {
			switch {
			case wanErr != nil:
				s.say("%s A %s (router's address unknown: not compared)", n, r.Content)
			case r.Addr == wanAddr:
				s.say("%s A %s: matches the router", n, r.Content)
			default:
				s.problem("DRIFT: %s A %s, the router has %s", n, r.Content, wanAddr)
			}
		}
	}
	if wanErr != nil && len(s.Problems) == 0 {
		return fmt.Errorf("could not compare with the router: %v", wanErr)
	}
	return nil
}

func checkProxmox(ctx context.Context, c *config.Config, s *Section) error {
	pc, err := newProxmox(c.Proxmox, command.Logger(ctx))
	if err != nil {
		return err
	}
	s.closeLater(pc.Close)
	inv, err := pc.Inventory(ctx)
	if err != nil {
		return err
	}
	for _, n := range inv.Nodes {
		line := fmt.Sprintf("node  %s %s, up %s, cpu %.0f%%, mem %s of %s", n.Name, n.Status,
			n.Uptime.Round(time.Minute), n.CPU*100, gib(int64(n.Mem)), gib(int64(n.MaxMem)))
		if !n.Online() {
			s.problem("%s", line)
		} else {
			s.say("%s", line)
		}
	}
	if c.Lab.Node != "" && !slices.ContainsFunc(inv.Nodes, func(n proxmox.Node) bool { return n.Name == c.Lab.Node }) {
		s.problem("node %s is not in the cluster", c.Lab.Node)
	}
	want := c.Lab.Guests
	if c.Lab.NASGuest != "" {
		want = append([]string{c.Lab.NASGuest}, want...)
	}
	for _, g := range inv.Guests {
		if g.Template {
			continue
		}
		s.say("%-4s %4d %-14s %s", g.Type, g.VMID, g.Name, g.Status)
	}
	for _, name := range want {
		i := slices.IndexFunc(inv.Guests, func(g proxmox.Guest) bool { return g.Name == name })
		switch {
		case i < 0:
			s.problem("guest %s not found", name)
		case !inv.Guests[i].Running():
			s.problem("guest %s is %s", name, inv.Guests[i].Status)
		}
	}
	return nil
}

func checkNAS(ctx context.Context, c *config.Config, s *Section) error {
	oc, err := newOMV(c.NAS, command.Logger(ctx))
	if err != nil {
		return err
	}
	s.closeLater(oc.Close)
	arrays, err := oc.RAID.Health(ctx)
	if err != nil {
		return err
	}
	for _, a := range arrays {
		if a.OK() {
			s.say("raid  %s", a)
		} else {
			s.problem("raid  %s", a)
		}
	}
	disks, err := oc.Disks.SMART(ctx)
	if err != nil {
		return err
	}
	var verdicts []string
	for _, d := range disks {
		verdicts = append(verdicts, strings.TrimPrefix(d.DeviceFile, "/dev/")+" "+d.Status)
		if !d.Good() {
			s.problem("smart %s %s: %s", d.DeviceFile, d.Model, d.Status)
		}
	}
	if len(verdicts) > 0 {
		s.say("smart %s", strings.Join(verdicts, ", "))
	}
	fss, err := oc.Filesystems.List(ctx)
	if err != nil {
		return err
	}
	for _, f := range fss {
		line := fmt.Sprintf("fs    %s %s on %s, %d%% of %s used", f.DeviceFile, f.Type, f.MountPoint, f.Percentage, gib(f.Size))
		switch {
		case !f.Mounted:
			s.problem("fs    %s %s NOT MOUNTED", f.DeviceFile, f.Type)
		case f.Percentage >= 90:
			s.problem("%s", line)
		default:
			s.say("%s", line)
		}
	}
	for _, f := range fss {
		if !f.Mounted || f.UUID == "" {
			continue
		}
		quotas, err := oc.Quotas.Get(ctx, f.UUID)
		if err != nil {
			return err
		}
		for _, q := range quotas {
			if q.HardLimit > 0 {
				s.say("quota %s %s on %s: %s used of %s", q.Type, q.Name, f.DeviceFile, q.Used, gib(q.HardLimit))
			}
		}
	}
	folders, err := oc.SharedFolders.List(ctx)
	if err != nil {
		return err
	}
	var names []string
	for _, f := range folders {
		names = append(names, f.Name)
	}
	if len(names) > 0 {
		s.say("share %s", strings.Join(names, ", "))
	}
	for _, want := range c.Lab.Shares {
		if !slices.Contains(names, want) {
			s.problem("share %s is missing", want)
		}
	}
	return nil
}

func checkProxy(ctx context.Context, n *config.NPM, s *Section) error {
	nc, err := newNPM(n, command.Logger(ctx))
	if err != nil {
		return err
	}
	s.closeLater(nc.Close)
	hosts, err := nc.ProxyHosts.List(ctx, npm.ListOptions{})
	if err != nil {
		return err
	}
	certs, err := nc.Certificates.List(ctx)
	if err != nil {
		return err
	}
	byID := map[npm.CertificateID]npm.Certificate{}
	for _, c := range certs {
		byID[c.ID] = c
	}
	now := time.Now()
	for _, h := range hosts {
		line := fmt.Sprintf("%-28s -> %s://%s:%d", strings.Join(h.Domains, ","), h.ForwardScheme, h.ForwardHost, h.ForwardPort)
		if !h.Enabled {
			line += " (disabled)"
		}
		if h.CertificateID == 0 {
			s.say("%s, no certificate", line)
			continue
		}
		c, ok := byID[h.CertificateID]
		switch left := c.ExpiresOn.Sub(now); {
		case !ok:
			s.problem("%s, certificate %d not found", line, h.CertificateID)
		case left <= 0:
			s.problem("%s, certificate EXPIRED on %s", line, c.ExpiresOn.Format(time.DateOnly))
		case left < certWarn:
			s.problem("%s, certificate expires in %d days", line, int(left.Hours()/24))
		default:
			s.say("%s, certificate until %s", line, c.ExpiresOn.Format(time.DateOnly))
		}
	}
	if len(hosts) == 0 {
		s.say("no proxy hosts")
	}
	return nil
}

func checkUPS(ctx context.Context, n *config.NUT, s *Section) error {
	uc, err := dialUPS(ctx, n, command.Logger(ctx))
	if err != nil {
		return err
	}
	s.closeLater(uc.Close)
	snap, err := uc.Device(upsName(n)).Snapshot(ctx)
	if err != nil {
		return err
	}
	line := fmt.Sprintf("status %s", snap.Status)
	if v, ok := snap.Charge.Get(); ok {
		line += fmt.Sprintf(", charge %.0f%%", v)
	}
	if v, ok := snap.Runtime.Get(); ok {
		line += fmt.Sprintf(", runtime %s", v.Round(time.Second))
	}
	if v, ok := snap.Load.Get(); ok {
		line += fmt.Sprintf(", load %.0f%%", v)
	}
	st := snap.Status
	if st.Has(ups.OnBattery) || st.Has(ups.LowBattery) || st.Has(ups.ReplaceBattery) || st.Has(ups.Overloaded) || st.Has(ups.ForcedShutdown) || !st.Has(ups.OnLine) {
		s.problem("%s", line)
	} else {
		s.say("%s", line)
	}
	return nil
}

func gib(b int64) string {
	return fmt.Sprintf("%.1f GiB", float64(b)/(1<<30))
}
