package main

import (
	"bytes"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/thehomelab/homelab/dns/dnstest"
	"github.com/thehomelab/homelab/examples/internal/lab"
	"github.com/thehomelab/homelab/routeros/routerostest"
)

// startLab starts the embedded lab and stops it when the test ends.
func startLab(t testing.TB) *lab.Lab {
	t.Helper()
	l, err := lab.Start(t.Context())
	require.NoError(t, err)
	t.Cleanup(l.Close)
	return l
}

func noEnv(string) string { return "" }

func TestDemo(t *testing.T) {
	t.Parallel()
	l := startLab(t)
	var out bytes.Buffer
	require.NoError(t, demo(t.Context(), &out, l, demoSteps()), out.String())
	story := out.String()
	t.Log("\n" + story)

	// DDNS: the record moved from yesterday's address to the router's
	// PPPoE address, and the second cycle made no request.
	assert.Contains(t, story, "router pppoe-out1 reports "+routerostest.LabPublicIP)
	assert.Contains(t, story, "update vpn.thehomelab.site A 203.0.113.10 -> "+routerostest.LabPublicIP)
	assert.Contains(t, story, "Cloudflare now holds vpn.thehomelab.site A "+routerostest.LabPublicIP)
	assert.Contains(t, story, "second cycle: address unchanged, nothing sent to Cloudflare")
	recs := l.DNSServer.Records(lab.VPNName)
	require.Len(t, recs, 1)
	// Then the ISP moved the router to another address and the record
	// followed: a second PATCH, and nothing else.
	assert.Contains(t, story, "update vpn.thehomelab.site A "+routerostest.LabPublicIP+" -> "+ispAddress)
	assert.Equal(t, ispAddress, recs[0].Content)
	assert.Equal(t, 2, dnsRequests(l.DNSServer, dnstest.EndpointPatchRecord))

	// ACME: the challenge was listed, then removed again.
	assert.Contains(t, story, "presented 1 TXT record(s) on _acme-challenge.thehomelab.site")
	assert.Contains(t, story, "cleaned up 1 TXT record(s) on _acme-challenge.thehomelab.site")
	assert.Empty(t, l.DNSServer.Records("_acme-challenge.thehomelab.site"))
	assert.Equal(t, 1, dnsRequests(l.DNSServer, dnstest.EndpointCreateRecord))

	// WireGuard: one new peer, the config shown without keys, the second
	// onboarding refused.
	assert.Contains(t, story, "peer phone-anna added on wireguard1 with address 192.168.100.")
	assert.Contains(t, story, "AllowedIPs = 192.168.1.0/24, 192.168.100.0/24")
	assert.Contains(t, story, "phone-anna is already a peer: refused")
	assert.NotContains(t, story, "Key =")
	peers, err := l.Router.WireGuard.Peers(t.Context(), "wireguard1")
	require.NoError(t, err)
	n := 0
	for _, p := range peers {
		if p.Name == "phone-anna" {
			n++
			assert.True(t, p.HasPresharedKey)
		}
	}
	assert.Equal(t, 1, n, "phone-anna peers")

	// Isolation: isolated, the leak caught, isolated again.
	assert.Equal(t, 2, strings.Count(story, `10.1.1.0/24 cannot reach 192.168.1.0/24: rule *15 "guest isolation" (drop) decides`))
	assert.Contains(t, story, "LEAK: 10.1.1.0/24 can reach 192.168.1.0/24")

	// Inventory and passthrough: three guests, both SSDs on the NAS VM by
	// id, the second round a no-op.
	assert.Contains(t, story, "vm  100 nas")
	assert.Contains(t, story, "ct  101 docker")
	assert.Contains(t, story, "attached to vm 100 on proxmox1 as scsi1")
	assert.Equal(t, 2, strings.Count(story, "already on vm 100 on proxmox1"))
	assert.Contains(t, l.ProxmoxServer.GuestConfig(100)["scsi1"], "/dev/disk/by-id/ata-Samsung_SSD_870_EVO_2TB_S6PNNS0T100001")

	// NAS health: healthy, then the failed disk is caught, then healthy
	// again after the rebuild.
	assert.Equal(t, 2, strings.Count(story, "raid:  md0 raid1 clean"))
	assert.Contains(t, story, "raid:  md0 raid1 degraded (missing slot 1, faulty /dev/sdb)")
	assert.Contains(t, story, "UNHEALTHY: array md0")

	// Share: created once, then left alone.
	assert.Contains(t, story, "changed: user anna, shared folder photos, privileges of anna on photos, smb share photos, quota of anna = 100 GiB")
	assert.Contains(t, story, "share photos for anna already as wanted: nothing changed")
	assert.Contains(t, l.NASServer.ExportedShares(), "photos")
	assert.NotContains(t, story, "correct horse")

	// Expose: the proxy host was created with the wildcard certificate,
	// the second run left it alone.
	assert.Contains(t, story, "created: https://status.thehomelab.site -> http://uptime-kuma:3001")
	assert.Contains(t, story, `certificate "*.thehomelab.site, thehomelab.site" (reused)`)
	assert.Contains(t, story, "https://status.thehomelab.site already proxied as wanted: nothing changed")
	assert.Len(t, l.ProxyServer.Certificates(), 1, "no certificate may be issued")

	// Backup night: the NAS in two steps (it serves the share), copied on
	// the node and verified, its local copy deleted; retention pruned two
	// old archives of each guest, as the node's own prune agreed.
	night := story[strings.Index(story, "== Backup night"):]
	night = night[:strings.Index(night, "-- drill:")]
	assert.Contains(t, night, "100: two-step: it serves storage backups: its address 192.168.88.10 is the share's server")
	assert.Contains(t, night, "100    nas            proxmox1  two-step  local → backups")
	assert.Contains(t, night, "guest 100: copy on the share verified (size, SHA-256, zstd -t)")
	assert.Contains(t, night, "report: backup OK: 3 guests")
	// What retention removes depends on the weekday (the lab's nine nights
	// end yesterday): the plan says it, the night does it, at least one.
	for _, g := range []struct {
		vmid       int
		name, kind string
	}{{100, "nas", "vm"}, {101, "docker", "ct"}, {102, "homeassistant", "vm"}} {
		m := regexp.MustCompile(fmt.Sprintf(`\n   %d +%s +proxmox1 +\S+ +.+? +keep-daily=7,keep-weekly=4,keep-monthly=6 +(\d) +ok\n`, g.vmid, g.name)).FindStringSubmatch(night)
		require.NotNil(t, m, "plan row of %d", g.vmid)
		removes, _ := strconv.Atoi(m[1])
		assert.GreaterOrEqual(t, removes, 1)
		assert.Contains(t, night, fmt.Sprintf("guest %d: retention removed %d old archive(s)", g.vmid, removes))
		assert.Contains(t, night, fmt.Sprintf("; %d archive(s) kept, %d pruned", 10-removes, removes))
		assert.Len(t, backupsOf(l, "backups", g.vmid), 10-removes, "9 old + tonight's, pruned")
	}
	assert.Regexp(t, `100 \(nas\) dumped locally, copied to backups as vzdump-qemu-100-\S+\.vma\.zst, verified \(sha256 [0-9a-f]{12}…\); `, night)
	assert.Regexp(t, `101 \(docker\) dumped straight to backups as vzdump-lxc-101-\S+\.tar\.zst; `, night)
	assert.NotContains(t, night, "FAILED")
	local := backupsOf(l, "local", 100)
	require.Len(t, local, 1, "only the drill's archive stays local")
	ran := map[string]bool{}
	for _, c := range l.Node.Commands() {
		ran[c[0]] = true
	}
	for _, cmd := range []string{"test", "stat", "df", "dd", "sha256sum", "zstd", "mv", "rm"} {
		assert.True(t, ran[cmd], "the copy ran %s on the node", cmd)
	}
	// The drill: the flipped byte is caught by the SHA-256 comparison, the
	// NAS is FAILED in the report and its local archive kept.
	drill := story[strings.Index(story, "-- drill: an hour later"):]
	drill = drill[:strings.Index(drill, "\n==")]
	assert.Contains(t, drill, "report: backup FAILED: 1 of 1 guest failed")
	assert.Regexp(t, `100 \(nas\) FAILED: .*sha-256 of the copy [0-9a-f]{64} differs from the source's [0-9a-f]{64}: verification failed; tonight's archive is kept as local:backup/vzdump-qemu-100-`, drill)
	assert.Contains(t, drill, "caught: the copy's SHA-256 differs; "+strings.TrimPrefix(local[0], "local:backup/")+" stays on local storage")
	file, ok := l.Node.File("/var/lib/vz/dump/" + strings.TrimPrefix(local[0], "local:backup/"))
	assert.True(t, ok, "the local archive is on the node")
	assert.Len(t, file, lab.ArchiveSize)
	for _, v := range backupsOf(l, "backups", 100) {
		assert.NotEqual(t, strings.TrimPrefix(local[0], "local:"), strings.TrimPrefix(v, "backups:"), "the corrupt copy is not on the share")
	}

	// Shutdown plan: the NAS in the last group, then the node; a dry run
	// stops nothing.
	plan := story[strings.Index(story, "shutdown plan:"):]
	assert.Less(t, strings.Index(plan, "(homeassistant)"), strings.Index(plan, "last: vm 100 on proxmox1 (nas)"))
	assert.Less(t, strings.Index(plan, "(docker)"), strings.Index(plan, "last: vm 100 on proxmox1 (nas)"))
	assert.Less(t, strings.Index(plan, "(nas)"), strings.Index(plan, "then shut down node proxmox1"))
	assert.Contains(t, plan, "dry run: nothing was stopped")

	// Power loss: the outage is noticed, low battery decides, the guests
	// go down in order with the NAS last, then the node; FSD is forwarded.
	loss := story[strings.Index(story, "== Power loss"):]
	for _, want := range []string{"event: ONBATT (OB DISCHRG", "event: LOWBATT (OB DISCHRG LB)", "decision: shut down, on battery with low battery (OB LB)", "forced shutdown (FSD) set on the UPS"} {
		assert.Contains(t, loss, want)
	}
	ha, docker, nas := strings.Index(loss, "(homeassistant): shut down"), strings.Index(loss, "(docker): shut down"), strings.Index(loss, "(nas): shut down")
	node := strings.Index(loss, "node proxmox1: shutting down")
	require.True(t, ha > 0 && docker > 0 && nas > 0 && node > 0, loss)
	assert.Less(t, ha, nas)
	assert.Less(t, docker, nas)
	assert.Less(t, nas, node)
	for _, id := range []int{100, 101, 102} {
		assert.Equal(t, "stopped", l.ProxmoxServer.GuestStatus(id))
	}
	assert.False(t, l.ProxmoxServer.NodeOnline("proxmox1"))
	assert.True(t, l.UPSServer.FSDSet(lab.UPSName))
	assert.NotContains(t, story, lab.UPSPassword)

	assert.Contains(t, story, "12 workflows, 0 failed")

	// The story reads as prose: no Go values printed as they are, no
	// reason said twice, and a disk pulled out of the NAS is gone from it.
	assert.NotContains(t, story, ": true")
	assert.NotContains(t, story, ": false")
	assert.NotContains(t, story, "low battery: on battery with low battery")
	rebuilt := story[strings.Index(story, "sdb pulled out"):]
	rebuilt = rebuilt[:strings.Index(rebuilt, "\n==")]
	assert.NotContains(t, rebuilt, "sdb GOOD", "a pulled disk is not listed")
	assert.Contains(t, rebuilt, "sdc GOOD")
	assert.NotContains(t, strings.Replace(story, drill, "", 1), "FAILED", "only the backup drill fails")
}

// backupsOf lists the fake's archives of guest vmid on storage.
func backupsOf(l *lab.Lab, storage string, vmid int) []string {
	var out []string
	for _, v := range l.ProxmoxServer.Backups(storage) {
		if strings.Contains(v, fmt.Sprintf("-%d-", vmid)) {
			out = append(out, v)
		}
	}
	return out
}

// Running the workflows again on the same lab changes nothing.
func TestDemoStepsAreIdempotent(t *testing.T) {
	t.Parallel()
	l := startLab(t)
	steps := map[string]demoStep{}
	for _, s := range demoSteps() {
		steps[s.name] = s
	}
	for _, name := range []string{"ddns", "passthrough", "share", "expose"} {
		require.NoError(t, steps[name].run(t.Context(), &bytes.Buffer{}, l), name)
	}
	patches := dnsRequests(l.DNSServer, dnstest.EndpointPatchRecord)
	_, nasWrites := l.NASServer.Calls()

	var out bytes.Buffer
	for _, name := range []string{"ddns", "passthrough", "share", "expose"} {
		require.NoError(t, steps[name].run(t.Context(), &out, l), name)
	}
	assert.Contains(t, out.String(), "records already hold "+ispAddress+": nothing to change")
	assert.Contains(t, out.String(), "share photos for anna already as wanted: nothing changed")
	assert.Contains(t, out.String(), "https://status.thehomelab.site already proxied as wanted: nothing changed")
	assert.NotContains(t, out.String(), "created")
	assert.NotContains(t, out.String(), "attached to")
	assert.Equal(t, patches, dnsRequests(l.DNSServer, dnstest.EndpointPatchRecord), "second DDNS wrote to the zone")
	_, nasWrites2 := l.NASServer.Calls()
	assert.Equal(t, nasWrites, nasWrites2, "second share wrote to the NAS")
}

// A workflow that fails says so, the others still run, and the demo fails.
func TestDemoReportsFailures(t *testing.T) {
	t.Parallel()
	l := startLab(t)
	l.NASServer.Close() // the NAS is gone
	var out bytes.Buffer
	err := demo(t.Context(), &out, l, demoSteps())
	require.Error(t, err)
	assert.ErrorContains(t, err, "nas-health:")
	assert.ErrorContains(t, err, "share:")
	story := out.String()
	t.Log("\n" + story)
	assert.Equal(t, 2, strings.Count(story, "   FAILED: "), story)
	assert.Contains(t, story, "12 workflows, 2 failed")
	assert.NotContains(t, story, "healthy\n")
	assert.Contains(t, story, "Cloudflare now holds vpn.thehomelab.site A "+routerostest.LabPublicIP)
	assert.Contains(t, story, "node proxmox1: shutting down")
}

func TestRun(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		args   []string
		code   int
		out    string // substring of stdout
		errOut string // substring of stderr
	}{
		{name: "no command", args: nil, code: 2, errOut: "usage: homelab"},
		{name: "help", args: []string{"help"}, code: 0, out: "demo"},
		{name: "unknown", args: []string{"frobnicate"}, code: 2, errOut: `unknown command "frobnicate"`},
		{name: "demo unknown workflow", args: []string{"demo", "now"}, code: 2, errOut: `no workflow "now"; there are: ddns acme`},
		{name: "demo one workflow", args: []string{"demo", "isolation"}, code: 0, out: "1 workflows, 0 failed"},
		{name: "demo", args: []string{"demo"}, code: 0, out: "0 failed"},
		{name: "ddns help", args: []string{"ddns", "-h"}, code: 0, out: "CLOUDFLARE_API_TOKEN"},
		{name: "ddns bad flag", args: []string{"ddns", "-nope"}, code: 2, errOut: "usage"},
		{name: "acme help", args: []string{"acme", "-h"}, code: 0, out: "present|cleanup"},
		{name: "nas-health without password", args: []string{"nas-health"}, code: 2, errOut: "set OMV_PASSWORD"},
		{name: "expose usage", args: []string{"expose", "-fqdn", "x.thehomelab.site"}, code: 2, errOut: "-fqdn and -to"},
		{name: "wireguard usage", args: []string{"wireguard", "-name", "phone"}, code: 2, errOut: "shown only once"},
		{name: "isolation without password", args: []string{"isolation"}, code: 2, errOut: "set ROUTEROS_PASSWORD"},
		{name: "passthrough usage", args: []string{"passthrough"}, code: 2, errOut: "-disks"},
		{name: "powerloss usage", args: []string{"powerloss", "-ups", "nohost"}, code: 2, errOut: "name@host"},
		{name: "shutdown without token", args: []string{"shutdown"}, code: 2, errOut: "set PROXMOX_TOKEN_ID"},
		{name: "backup usage", args: []string{"backup", "-guests", "nas"}, code: 2, errOut: "-guests: not a VMID"},
		{name: "backup without token", args: []string{"backup"}, code: 2, errOut: "set PROXMOX_TOKEN_ID"},
		{name: "backup help", args: []string{"backup", "-h"}, code: 0, out: "SSH_KEY_FILE"},
		{name: "share usage", args: []string{"share"}, code: 2, errOut: "-name and -owner"},
		{name: "ddns without token", args: []string{"ddns", "-ip", "198.51.100.20"}, code: 2, errOut: "set CLOUDFLARE_API_TOKEN"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var out, errOut bytes.Buffer
			code := run(t.Context(), tt.args, &out, &errOut, noEnv)
			assert.Equal(t, tt.code, code, "stdout:\n%s\nstderr:\n%s", out.String(), errOut.String())
			assert.Contains(t, out.String(), tt.out)
			assert.Contains(t, errOut.String(), tt.errOut)
			if tt.code == 0 {
				assert.Empty(t, strings.TrimSpace(errOut.String()))
			}
		})
	}
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
