package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/thehomelab/homelab/backup"
	"github.com/thehomelab/homelab/examples/internal/lab"
	"github.com/thehomelab/homelab/examples/internal/workflow"
	"github.com/thehomelab/homelab/npm"
	"github.com/thehomelab/homelab/omv"
	"github.com/thehomelab/homelab/routeros"
	"github.com/thehomelab/homelab/routeros/routerostest"
	"github.com/thehomelab/homelab/secret"
	"github.com/thehomelab/homelab/ups"
	"github.com/thehomelab/homelab/ups/upstest"
)

// demoTimeout bounds the whole demo: the fakes answer in milliseconds, so
// anything slower is a hang worth reporting.
const demoTimeout = 30 * time.Second

// A demoStep runs one workflow against the lab and tells its story.
type demoStep struct {
	name string
	run  func(ctx context.Context, w io.Writer, l *lab.Lab) error
}

// demoSteps are the workflows of the demo, in the order they run: the
// power loss last, because it shuts the lab's Proxmox node down.
func demoSteps() []demoStep {
	return []demoStep{
		{"ddns", demoDDNS},
		{"acme", demoACME},
		{"wireguard", demoWireGuard},
		{"isolation", demoIsolation},
		{"inventory", demoInventory},
		{"passthrough", demoPassthrough},
		{"nas-health", demoNASHealth},
		{"share", demoShare},
		{"expose", demoExpose},
		{"backup", demoBackup},
		{"shutdown", demoShutdownPlan},
		{"powerloss", demoPowerLoss},
	}
}

// stepNames returns the names of the demo's workflows.
func stepNames() []string { return names(demoSteps()) }

func names(steps []demoStep) []string {
	var out []string
	for _, s := range steps {
		out = append(out, s.name)
	}
	return out
}

// pickSteps returns the demo steps named in picked, in demo order; none
// means all of them.
func pickSteps(picked []string) ([]demoStep, error) {
	all := demoSteps()
	if len(picked) == 0 {
		return all, nil
	}
	want := map[string]bool{}
	for _, n := range picked {
		if !slices.Contains(stepNames(), n) {
			return nil, fmt.Errorf("no workflow %q; there are: %s", n, strings.Join(stepNames(), " "))
		}
		want[n] = true
	}
	var steps []demoStep
	for _, s := range all {
		if want[s.name] {
			steps = append(steps, s)
		}
	}
	return steps, nil
}

// runDemo starts the embedded lab, runs the steps against it and stops it.
func runDemo(ctx context.Context, w io.Writer, steps []demoStep) error {
	ctx, cancel := context.WithTimeout(ctx, demoTimeout)
	defer cancel()
	l, err := lab.Start(ctx)
	if err != nil {
		return err
	}
	defer l.Close()
	return demo(ctx, w, l, steps)
}

// demo runs the steps' workflows against the lab l. A failed workflow is
// reported and the others still run.
func demo(ctx context.Context, w io.Writer, l *lab.Lab, steps []demoStep) error {
	start := time.Now()
	what := "every workflow"
	if len(steps) < len(demoSteps()) {
		what = strings.Join(names(steps), ", ")
	}
	fmt.Fprintf(w, "homelab demo: %s against an embedded lab of fakes on 127.0.0.1\n", what)
	l.Describe(w)
	var errs []error
	for _, s := range steps {
		if err := s.run(ctx, w, l); err != nil {
			fmt.Fprintf(w, "   FAILED: %v\n", err)
			errs = append(errs, fmt.Errorf("%s: %w", s.name, err))
		}
	}
	fmt.Fprintf(w, "\n%d workflows, %d failed, %s\n", len(steps), len(errs), time.Since(start).Round(time.Millisecond))
	if len(errs) == 0 {
		fmt.Fprint(w, nextSteps)
	}
	return errors.Join(errs...)
}

// nextSteps ends a demo that went well: the same workflows on real devices.
const nextSteps = `
Next, the same workflows against your own devices (each command's -h lists its flags and the
environment variables it reads; credentials come from the environment, never from flags):
   homelab isolation -router 192.168.1.1         is the guest network cut off from the LAN?
   homelab nas-health -nas https://nas.lan       RAID, SMART and filesystems, exit 1 on a problem
   homelab inventory -proxmox https://pve.lan:8006
   homelab backup -proxmox https://pve.lan:8006   tonight's backup plan; -yes runs it, -mail sends the report
   homelab shutdown -proxmox https://pve.lan:8006 -dry-run
   homelab ddns -zone example.org -names vpn -dry-run
The programs in examples/ are the same workflows, one small program each, to copy.
`

// ispAddress is the address the ISP hands the router on a PPPoE reconnect
// in the DDNS drill.
const ispAddress = "203.0.113.77"

func demoDDNS(ctx context.Context, w io.Writer, l *lab.Lab) error {
	workflow.Title(w, "DDNS: %s follows the router's public address", lab.VPNName)
	cfg := workflow.DDNSConfig{
		Zone:            lab.Zone,
		Names:           []string{"vpn"},
		Source:          workflow.RouterPublicIP(l.Router, routeros.DefaultWANInterface),
		SourceName:      "router " + routeros.DefaultWANInterface,
		ShowSecondCycle: true,
	}
	if err := workflow.DDNS(ctx, w, l.DNS, cfg); err != nil {
		return err
	}
	fmt.Fprintf(w, "   -- drill: the PPPoE link reconnects and the ISP hands out %s\n", ispAddress)
	if err := l.RouterServer.SetPublicAddress(ispAddress); err != nil {
		return err
	}
	return workflow.DDNS(ctx, w, l.DNS, cfg)
}

func demoACME(ctx context.Context, w io.Writer, l *lab.Lab) error {
	domain := "*." + lab.Zone
	workflow.Title(w, "ACME DNS-01: a challenge for %s, presented and cleaned up", domain)
	// In production the value is the key authorization digest the CA hands
	// the ACME client; any text serves the demo.
	const value = "demo-key-authorization-digest"
	if err := workflow.ACMEPresent(ctx, w, l.DNS, lab.Zone, domain, 10*time.Millisecond, value); err != nil {
		return err
	}
	return workflow.ACMECleanUp(ctx, w, l.DNS, lab.Zone, domain, value)
}

func demoWireGuard(ctx context.Context, w io.Writer, l *lab.Lab) error {
	workflow.Title(w, "WireGuard: onboard anna's phone (split tunnel to LAN and VPN)")
	cfg := workflow.WireGuardConfig{
		Name: "phone-anna",
		Options: routeros.OnboardOptions{AllowedIPs: []netip.Prefix{
			netip.MustParsePrefix("192.168.1.0/24"), netip.MustParsePrefix("192.168.100.0/24"),
		}},
	}
	if _, err := workflow.WireGuard(ctx, w, l.Router, cfg); err != nil {
		return err
	}
	fmt.Fprintln(w, "   -- onboarding the same phone again")
	_, err := workflow.WireGuard(ctx, w, l.Router, cfg)
	if !errors.Is(err, routeros.ErrConflict) {
		return fmt.Errorf("a second onboarding was not refused: %v", err)
	}
	return nil
}

func demoIsolation(ctx context.Context, w io.Writer, l *lab.Lab) error {
	guest, lan := netip.MustParsePrefix(routerostest.LabGuest), netip.MustParsePrefix(routerostest.LabLAN)
	workflow.Title(w, "Guest isolation: can the guest Wi-Fi reach the LAN?")
	if _, err := workflow.Isolation(ctx, w, l.Router, guest, lan); err != nil {
		return err
	}
	fmt.Fprintln(w, "   -- drill: somebody disables the rule on the router")
	if err := setGuestRule(l.RouterServer, true); err != nil {
		return err
	}
	_, err := workflow.Isolation(ctx, w, l.Router, guest, lan)
	if !errors.Is(err, workflow.ErrNotIsolated) {
		return fmt.Errorf("the leak went unnoticed: %v", err)
	}
	fmt.Fprintln(w, "   -- the rule is enabled again")
	if err := setGuestRule(l.RouterServer, false); err != nil {
		return err
	}
	_, err = workflow.Isolation(ctx, w, l.Router, guest, lan)
	return err
}

func demoInventory(ctx context.Context, w io.Writer, l *lab.Lab) error {
	workflow.Title(w, "Inventory: the Proxmox node, its guests and storage")
	_, err := workflow.Inventory(ctx, w, l.Proxmox)
	return err
}

func demoPassthrough(ctx context.Context, w io.Writer, l *lab.Lab) error {
	workflow.Title(w, "Passthrough: the two SSDs to the nas VM by serial, twice")
	for range 2 {
		if err := workflow.Passthrough(ctx, w, l.Proxmox, "nas", lab.NASDisks); err != nil {
			return err
		}
	}
	return nil
}

func demoNASHealth(ctx context.Context, w io.Writer, l *lab.Lab) error {
	workflow.Title(w, "NAS health: RAID, SMART and filesystems of the OpenMediaVault VM")
	if err := workflow.NASHealth(ctx, w, l.NAS, 0); err != nil {
		return err
	}

	fmt.Fprintln(w, "   -- drill: the fake NAS fails /dev/sdb (mdadm --fail)")
	if err := l.NASServer.FailMember("md0", "sdb"); err != nil {
		return err
	}
	err := workflow.NASHealth(ctx, w, l.NAS, 0)
	if !errors.Is(err, workflow.ErrUnhealthy) {
		return fmt.Errorf("the failed disk went unnoticed: %v", err)
	}

	fmt.Fprintln(w, "   -- drill: sdb pulled out, a new SSD sdc plugged in and added, the rebuild runs to the end")
	if err := replaceDisk(l.NASServer); err != nil {
		return err
	}
	return workflow.NASHealth(ctx, w, l.NAS, 0)
}

func demoShare(ctx context.Context, w io.Writer, l *lab.Lab) error {
	workflow.Title(w, "Share: a photos share for anna with a 100 GiB quota, ensured twice")
	return workflow.Share(ctx, w, l.NAS, workflow.ShareConfig{
		Spec: omv.ShareSpec{
			Name:  "photos",
			Owner: omv.UserSpec{Name: "anna", Password: secret.New("correct horse battery staple")},
			Quota: 100 << 30,
			SMB:   omv.SMBShareOptions{RecycleBin: true},
		},
		Twice: true,
	})
}

func demoExpose(ctx context.Context, w io.Writer, l *lab.Lab) error {
	workflow.Title(w, "Expose: Uptime Kuma as https://status.%s behind Nginx Proxy Manager, twice", lab.Zone)
	return workflow.Expose(ctx, w, l.Proxy, workflow.ExposeConfig{
		App: npm.App{
			FQDN: "status." + lab.Zone, ForwardHost: "uptime-kuma", ForwardPort: 3001,
			Websockets: true, HTTP2: true, HSTS: true, BlockExploits: true,
		},
		Twice: true,
	})
}

func demoBackup(ctx context.Context, w io.Writer, l *lab.Lab) error {
	workflow.Title(w, "Backup night: every guest to the NAS share, the NAS itself in two steps, retention")
	cfg := workflow.BackupConfig{
		Config: backup.Config{Client: l.Proxmox, Storage: "backups", Location: time.UTC, Now: l.Now,
			// The fake's tasks end at once; a real share takes seconds to
			// come back after the NAS's snapshot.
			PollInterval: time.Millisecond},
		Apply: true,
		// The node's shell is the lab's in-process double: no sshd, no zstd.
		Connect: func(context.Context, string) (backup.Runner, error) { return l.Node, nil },
	}
	report, err := workflow.Backup(ctx, w, cfg)
	if err != nil {
		return err
	}
	nas, ok := guestReport(report, 100)
	if !ok || !nas.Verified || nas.Method != backup.TwoStep {
		return fmt.Errorf("the NAS was not copied to the share and verified")
	}

	fmt.Fprintln(w, "   -- drill: an hour later the NAS is backed up again, and the share flips a byte of the copy")
	l.AdvanceClock(time.Hour)
	l.Node.CorruptNextCopy()
	cfg.Config.Guests = []int{100}
	report, err = workflow.Backup(ctx, w, cfg)
	if !errors.Is(err, workflow.ErrProblem) || !errors.Is(err, backup.ErrVerify) {
		return fmt.Errorf("the corrupted copy went unnoticed: %v", err)
	}
	nas, _ = guestReport(report, 100)
	local := strings.TrimPrefix(nas.Archive, "local:backup/")
	if nas.Storage != "local" || !slices.Contains(l.ProxmoxServer.Backups("local"), nas.Archive) {
		return fmt.Errorf("the local archive of the failed copy is gone: %q", nas.Archive)
	}
	fmt.Fprintf(w, "   caught: the copy's SHA-256 differs; %s stays on local storage for the next night\n", local)
	return nil
}

// guestReport returns the report of guest vmid.
func guestReport(r backup.Report, vmid int) (backup.GuestReport, bool) {
	for _, g := range r.Guests {
		if g.VMID == vmid {
			return g, true
		}
	}
	return backup.GuestReport{}, false
}

func demoShutdownPlan(ctx context.Context, w io.Writer, l *lab.Lab) error {
	workflow.Title(w, "Ordered shutdown, dry run: the NAS last, then the node")
	return workflow.Shutdown(ctx, w, l.Proxmox, workflow.ShutdownConfig{Last: []string{"nas"}, Node: true, DryRun: true})
}

func demoPowerLoss(ctx context.Context, w io.Writer, l *lab.Lab) error {
	workflow.Title(w, "Power loss: the UPS runs down, the guests go down in order, the NAS last, then the node")
	// The fake UPS replays an outage: on battery after 30 ms, low battery
	// after 200 ms. The policy and polling are scaled down from seconds to
	// milliseconds so the demo does not wait for a real battery.
	fmt.Fprintln(w, "   -- drill: the fake UPS loses mains power, then its battery runs low")
	l.UPSServer.Play(lab.UPSName,
		upstest.Step{At: 30 * time.Millisecond, Status: "OB DISCHRG", Vars: map[string]string{"battery.charge": "64", "battery.runtime": "540"}},
		upstest.Step{At: 200 * time.Millisecond, Status: "OB DISCHRG LB", Vars: map[string]string{"battery.charge": "18", "battery.runtime": "95"}},
	)
	d, err := workflow.PowerLoss(ctx, w, l.UPS, l.Proxmox, workflow.PowerLossConfig{
		Policy:        ups.Policy{OnBatteryDelay: 50 * time.Millisecond, DeadTime: 2 * time.Second},
		Interval:      10 * time.Millisecond,
		AlertInterval: 10 * time.Millisecond,
		Shutdown:      workflow.ShutdownConfig{Last: []string{"nas"}, Node: true},
		ForwardFSD:    true,
	})
	if err != nil {
		return err
	}
	if !d.Shutdown {
		return fmt.Errorf("no shutdown decided")
	}
	if !l.UPSServer.FSDSet(lab.UPSName) {
		return fmt.Errorf("forced shutdown (FSD) was not set on the UPS")
	}
	fmt.Fprintln(w, "   forced shutdown (FSD) set on the UPS: the other NUT clients shut down too")
	return nil
}
