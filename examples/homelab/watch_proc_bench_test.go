package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/thehomelab/homelab/examples/internal/lab"
)

// BenchmarkWatchProcess measures the watcher alone: the homelab binary is
// built into a temporary directory and runs `homelab watch` as a
// subprocess against the embedded lab, which runs in the benchmark's
// process, with 10 ms intervals (DDNS and checks) for procRun. It reports
// the subprocess's VmRSS a moment after start (rss-start-MB, once every
// check ran at least once) and at the end (rss-end-MB), and the log lines
// it wrote, and the requests the router, NAS and Proxmox fakes saw in
// between (the checks run silently while nothing changes). It asserts
// only that those are not zero, nothing about memory. Linux only (/proc).
//
//	go test -run '^$' -bench BenchmarkWatchProcess -benchtime=1x ./examples/homelab/
func BenchmarkWatchProcess(b *testing.B) {
	if _, err := os.Stat("/proc/self/status"); err != nil {
		b.Skip("no /proc")
	}
	bin := filepath.Join(b.TempDir(), "homelab")
	build := exec.Command("go", "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		b.Fatalf("go build: %v\n%s", err, out)
	}
	for b.Loop() {
		watchProcess(b, bin)
	}
}

// procRun is how long the subprocess watches: ~10 ms cycles, so a few
// hundred of each.
const procRun = 4 * time.Second

func watchProcess(b *testing.B, bin string) {
	l, err := lab.Start(b.Context())
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	l.SetRequestLimit(1 << 30) // count what the watcher sent in the window
	path, env := labConfig(b, l)
	cmd := exec.Command(bin, "watch", "-config", path, "-interval", "10ms", "-ddns-interval", "10ms")
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
	stop := func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	}

	wait := func(d time.Duration) {
		select {
		case err := <-exited:
			b.Fatalf("homelab watch exited: %v\n%s", err, stderr.String())
		case <-time.After(d):
		}
	}
	wait(500 * time.Millisecond)
	rss0, t0 := procRSS(b, cmd.Process.Pid), time.Now()
	wait(procRun)
	rss1, t1 := procRSS(b, cmd.Process.Pid), time.Now()
	stop()
	lines := strings.Count(stderr.String(), "\n")

	b.ReportMetric(rss0/1e6, "rss-start-MB")
	b.ReportMetric(rss1/1e6, "rss-end-MB")
	in := func(t time.Time) bool { return t.After(t0) && t.Before(t1) }
	var router, nas, pve int
	for _, r := range l.RouterServer.Requests() {
		if in(r.Time) {
			router++
		}
	}
	for _, r := range l.NASServer.Requests() {
		if in(r.Time) {
			nas++
		}
	}
	for _, r := range l.ProxmoxServer.Requests() {
		if in(r.Time) {
			pve++
		}
	}
	if router == 0 || nas == 0 || pve == 0 {
		b.Errorf("the watcher sent router %d, NAS %d, Proxmox %d requests in %s; is it running its checks?", router, nas, pve, t1.Sub(t0))
	}
	b.ReportMetric(float64(lines), "log-lines")
	b.ReportMetric(float64(router), "router-req")
	b.ReportMetric(float64(nas), "nas-req")
	b.ReportMetric(float64(pve), "pve-req")
	b.Logf("homelab watch (pid %d) at 10 ms intervals for %s: VmRSS %.1f → %.1f MB; requests meanwhile: router %d, NAS %d, Proxmox %d; %d log lines",
		cmd.Process.Pid, procRun, rss0/1e6, rss1/1e6, router, nas, pve, lines)
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
