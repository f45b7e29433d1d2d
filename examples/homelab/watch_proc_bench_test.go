package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/thehomelab/homelab/examples/internal/lab"
	"github.com/thehomelab/homelab/routeros/routerostest"
	"github.com/thehomelab/homelab/ups/upstest"
)

// Issue 17's budget for the service: RSS at most 20 MB, and flat.
const (
	rssBudget = 20e6
	rssDrift  = 1e6 // how much the RSS may grow from the start of the day to its end
)

// A day of the service at its default intervals: the UPS guard polls
// every 5 s, DDNS and each check run every 5 minutes.
const (
	dayPolls  = 24 * 60 * 60 / 5
	dayChecks = 24 * 60 / 5
)

// BenchmarkWatchProcess measures the watcher alone, as it is installed:
// the homelab binary is built the way the README builds the service
// (CGO_ENABLED=0, a static binary) and runs `homelab watch` as a
// subprocess against the embedded lab, which runs in the benchmark's
// process. A simulated day is a day's work compressed in time: the guard
// polls NUT every 2 ms and DDNS and the checks run every 10 ms until the
// UPS fake has answered a day of polls (17,280) and the router, NAS,
// Proxmox and NPM fakes have each answered a day of check cycles (288
// requests since the start of the day: DDNS and every check ask their
// device at least once a cycle); then the power goes. It reports and
// asserts what issue 17 asks of the service:
//
//   - rss-start-MB, rss-max-MB, rss-end-MB: the subprocess's VmRSS once
//     every component ran, the highest seen (sampled every 250 ms) and at
//     the end of the day: at most 20 MB, and the end within 1 MB of the
//     start;
//   - cf-req-unchanged: Cloudflare requests after the first DDNS cycle
//     (the router's address never changes): 0;
//   - ups-decision-polls: ups.status polls from the power cut to the
//     first shutdown request Proxmox sees: at most 1.
//
// Linux only (/proc). One iteration is one day (about a minute):
//
//	go test -run '^$' -bench BenchmarkWatchProcess -benchtime=1x ./examples/homelab/
func BenchmarkWatchProcess(b *testing.B) {
	if _, err := os.Stat("/proc/self/status"); err != nil {
		b.Skip("no /proc")
	}
	bin := filepath.Join(b.TempDir(), "homelab")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		b.Fatalf("go build: %v\n%s", err, out)
	}
	for b.Loop() {
		watchProcess(b, bin)
	}
}

func watchProcess(b *testing.B, bin string) {
	l, err := lab.Start(b.Context())
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	l.SetRequestLimit(1 << 30) // count everything the watcher sent
	path, env := labConfig(b, l)
	cmd := exec.Command(bin, "watch", "-config", path, "-interval", "10ms", "-ddns-interval", "10ms", "-ups-interval", "2ms")
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + b.TempDir()}
	for _, k := range []string{"ROUTEROS_PASSWORD", "PROXMOX_TOKEN_SECRET", "OMV_PASSWORD", "NPM_PASSWORD", "NUT_PASSWORD", "CLOUDFLARE_API_TOKEN"} {
		cmd.Env = append(cmd.Env, k+"="+env(k))
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	}()
	tick := func() {
		select {
		case err := <-exited:
			b.Fatalf("homelab watch exited: %v\n%s", err, stderr.String())
		case <-time.After(250 * time.Millisecond):
		}
	}
	pid := cmd.Process.Pid

	// The start of the day: every device was asked and DDNS published
	// the router's address.
	published := func() bool {
		recs := l.DNSServer.Records(lab.VPNName)
		return len(recs) == 1 && recs[0].Content == routerostest.LabPublicIP
	}
	for !published() || len(l.RouterServer.Requests()) == 0 || len(l.NASServer.Requests()) == 0 ||
		len(l.ProxmoxServer.Requests()) == 0 || len(l.ProxyServer.Requests()) == 0 {
		tick()
	}
	tick()
	rss0, t0 := procRSS(b, pid), time.Now()
	cf0 := len(l.DNSServer.Requests())
	// Requests each checked device answered so far; the logs only grow
	// (no limit, no reset), so a count minus its start is the day's.
	devices := []struct {
		name  string
		count func() int
		start int
	}{
		{name: "router", count: func() int { return len(l.RouterServer.Requests()) }},
		{name: "NAS", count: func() int { return len(l.NASServer.Requests()) }},
		{name: "Proxmox", count: func() int { return len(l.ProxmoxServer.Requests()) }},
		{name: "NPM", count: func() int { return len(l.ProxyServer.Requests()) }},
	}
	for i := range devices {
		devices[i].start = devices[i].count()
	}
	// short names a device that has not yet answered a day of cycles.
	short := func() string {
		for _, d := range devices {
			if n := d.count() - d.start; n < dayChecks {
				return fmt.Sprintf("%s %d requests", d.name, n)
			}
		}
		return ""
	}

	// The day: until the guard polled a day's worth and every device was
	// asked a day's cycles.
	rssMax := rss0
	polls := func(from, to time.Time) int {
		n := 0
		for _, r := range l.UPSServer.Requests() {
			if r.Method == "GET" && len(r.Args) == 3 && r.Args[2] == "ups.status" && !r.Time.Before(from) && !r.Time.After(to) {
				n++
			}
		}
		return n
	}
	deadline := time.Now().Add(5 * time.Minute)
	for polls(t0, time.Now()) < dayPolls || short() != "" {
		if time.Now().After(deadline) {
			b.Fatalf("not a day's work in 5 minutes: %d polls; %s", polls(t0, time.Now()), short())
		}
		tick()
		rssMax = max(rssMax, procRSS(b, pid))
	}
	rss1, t1 := procRSS(b, pid), time.Now()
	rssMax = max(rssMax, rss1)
	dayPolled := polls(t0, t1)
	cfUnchanged := len(l.DNSServer.Requests()) - cf0

	// The power goes: low battery at once.
	cut := time.Now()
	l.UPSServer.Play(lab.UPSName, upstest.Step{Status: "OB DISCHRG LB", Vars: map[string]string{"battery.charge": "18", "battery.runtime": "95"}})
	var shutdownAt time.Time
	for shutdownAt.IsZero() {
		if time.Since(cut) > 30*time.Second {
			b.Fatalf("no shutdown 30 s after the power cut\n%s", tail(stderr.String(), 20))
		}
		tick()
		for _, r := range l.ProxmoxServer.Requests() {
			if r.Method == "POST" && r.Time.After(cut) {
				shutdownAt = r.Time
				break
			}
		}
	}
	decision := polls(cut, shutdownAt)

	b.ReportMetric(rss0/1e6, "rss-start-MB")
	b.ReportMetric(rssMax/1e6, "rss-max-MB")
	b.ReportMetric(rss1/1e6, "rss-end-MB")
	b.ReportMetric(float64(cfUnchanged), "cf-req-unchanged")
	b.ReportMetric(float64(decision), "ups-decision-polls")
	b.ReportMetric(t1.Sub(t0).Seconds(), "day-s")
	b.Logf("homelab watch (pid %d), a simulated day in %s: %d UPS polls, router %d, NAS %d, Proxmox %d, NPM %d requests; "+
		"VmRSS %.1f MB at the start, %.1f MB at most, %.1f MB at the end; %d Cloudflare requests with the address unchanged; "+
		"shutdown %d poll(s) and %s after the power cut",
		pid, t1.Sub(t0).Round(time.Millisecond), dayPolled, len(l.RouterServer.Requests()), len(l.NASServer.Requests()),
		len(l.ProxmoxServer.Requests()), len(l.ProxyServer.Requests()), rss0/1e6, rssMax/1e6, rss1/1e6, cfUnchanged,
		decision, shutdownAt.Sub(cut).Round(time.Millisecond))

	if rssMax > rssBudget {
		b.Errorf("VmRSS reached %.1f MB, want at most %.0f MB", rssMax/1e6, rssBudget/1e6)
	}
	if rss1-rss0 > rssDrift {
		b.Errorf("VmRSS grew from %.1f to %.1f MB over the day, want within %.0f MB", rss0/1e6, rss1/1e6, rssDrift/1e6)
	}
	if cfUnchanged != 0 {
		var eps []string
		for _, r := range l.DNSServer.Requests()[cf0:] {
			eps = append(eps, r.Time.Sub(t0).String()+" "+r.Endpoint)
		}
		b.Errorf("%d Cloudflare requests while the address was unchanged, want 0: %s (all: %d)", cfUnchanged, strings.Join(eps, ", "), len(l.DNSServer.Requests()))
	}
	if decision > 1 {
		b.Errorf("shutdown after %d polls on battery, want at most 1", decision)
	}
}

// tail returns the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// procRSS reads VmRSS of a process from /proc, in bytes.
func procRSS(b *testing.B, pid int) float64 {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		b.Fatalf("VmRSS of %d: %v", pid, err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
			if err != nil {
				b.Fatalf("VmRSS: %v", err)
			}
			return kb * 1024
		}
	}
	b.Fatalf("no VmRSS in /proc/%d/status", pid)
	return 0
}
