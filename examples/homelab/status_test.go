package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/thehomelab/homelab/dns/dnstest"
	"github.com/thehomelab/homelab/examples/internal/command"
	"github.com/thehomelab/homelab/examples/internal/config"
	"github.com/thehomelab/homelab/examples/internal/lab"
	"github.com/thehomelab/homelab/npm/npmtest"
	"github.com/thehomelab/homelab/omv/omvtest"
	"github.com/thehomelab/homelab/proxmox/proxmoxtest"
	"github.com/thehomelab/homelab/routeros/routerostest"
)

// labConfig writes a homelab.yaml describing the embedded lab and returns
// its path and the environment holding the secrets.
func labConfig(t testing.TB, l *lab.Lab) (string, command.Env) {
	t.Helper()
	yaml := fmt.Sprintf(`router:
  address: %s
  user: %s
proxmox:
  url: %s
  fingerprint: %s
  token_id: %s
nas:
  url: %s
  user: %s
npm:
  url: %s
  user: %s
nut:
  address: %s
  ups: %s
  user: %s
cloudflare:
  zone: %s
  names: [%s]
  base_url: %s
lab:
  node: proxmox1
  nas_guest: nas
  guests: [docker]
  shares: [backups, documents, media]
  networks:
    lan: 192.168.1.0/24
    vpn: 192.168.100.0/24
    guest: 10.1.1.0/24
`, l.RouterServer.Addr(), routerostest.DefaultUser,
		l.ProxmoxServer.URL, l.ProxmoxServer.Fingerprint(), proxmoxtest.TokenID,
		l.NASServer.URL, omvtest.AdminUser,
		l.ProxyServer.URL, npmtest.AdminEmail,
		l.UPSServer.Addr(), lab.UPSName, lab.UPSUser,
		lab.Zone, lab.VPNName, l.DNSServer.URL)
	p := filepath.Join(t.TempDir(), "homelab.yaml")
	require.NoError(t, os.WriteFile(p, []byte(yaml), 0o600))
	secrets := map[string]string{
		"ROUTEROS_PASSWORD":    routerostest.DefaultPassword,
		"PROXMOX_TOKEN_SECRET": proxmoxtest.TokenSecret,
		"OMV_PASSWORD":         omvtest.AdminPassword,
		"NPM_PASSWORD":         npmtest.AdminPassword,
		"NUT_PASSWORD":         lab.UPSPassword,
		"CLOUDFLARE_API_TOKEN": dnstest.SeedToken,
	}
	return p, func(k string) string { return secrets[k] }
}

func statusJSON(t *testing.T, args []string, env command.Env) (int, Report, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(t.Context(), append([]string{"status", "--json"}, args...), &out, &errOut, env)
	var rep Report
	require.NoError(t, json.Unmarshal(out.Bytes(), &rep), "stdout: %s\nstderr: %s", out.String(), errOut.String())
	assert.Equal(t, code, rep.Exit)
	return code, rep, out.String()
}

func section(t *testing.T, rep Report, name string) Section {
	t.Helper()
	for _, s := range rep.Sections {
		if s.Name == name {
			return s
		}
	}
	t.Fatalf("no section %s in %+v", name, rep.Sections)
	return Section{}
}

func TestStatusJSONOnTheLab(t *testing.T) {
	t.Parallel()
	l := startLab(t)
	cfg, env := labConfig(t, l)

	// The lab starts with yesterday's address on the VPN record: drift.
	code, rep, raw := statusJSON(t, []string{"-config", cfg}, env)
	t.Log(raw)
	assert.Equal(t, command.ExitProblem, code)
	var names []string
	for _, s := range rep.Sections {
		names = append(names, s.Name)
	}
	assert.Equal(t, []string{"router", "dns", "proxmox", "nas", "proxy", "ups"}, names)
	for _, s := range rep.Sections {
		if s.Name != "dns" {
			assert.Equal(t, StateOK, s.State, "%s: %+v", s.Name, s)
		}
	}
	dnsSec := section(t, rep, "dns")
	assert.Equal(t, StateProblem, dnsSec.State)
	assert.Contains(t, strings.Join(dnsSec.Problems, "\n"), "DRIFT: "+lab.VPNName+" A "+lab.StaleVPNAddr+", the router has "+routerostest.LabPublicIP)

	router := strings.Join(section(t, rep, "router").Lines, "\n")
	assert.Contains(t, router, "wan       "+routerostest.LabPublicIP+" on pppoe-out1")
	assert.Contains(t, router, "isolation guest 10.1.1.0/24 cannot reach lan 192.168.1.0/24")
	assert.Contains(t, router, "handshake")
	pve := strings.Join(section(t, rep, "proxmox").Lines, "\n")
	assert.Contains(t, pve, "node  proxmox1 online")
	assert.Regexp(t, `qemu +100 nas +running`, pve)
	nas := strings.Join(section(t, rep, "nas").Lines, "\n")
	assert.Contains(t, nas, "raid  md0")
	assert.Contains(t, nas, "share backups, documents, media")
	assert.Contains(t, nas, "quota user docker on /dev/md0: 0 B used of 200.0 GiB")
	assert.Contains(t, strings.Join(section(t, rep, "proxy").Lines, "\n"), "certificate until")
	assert.Contains(t, strings.Join(section(t, rep, "ups").Lines, "\n"), "status OL")

	// A secret never appears in the output.
	for _, v := range []string{routerostest.DefaultPassword, proxmoxtest.TokenSecret, omvtest.AdminPassword, npmtest.AdminPassword, lab.UPSPassword, dnstest.SeedToken} {
		assert.NotContains(t, raw, v)
	}

	// The record fixed: all well.
	recs := l.DNSServer.Records(lab.VPNName)
	require.Len(t, recs, 1)
	recs[0].Content = routerostest.LabPublicIP
	require.True(t, l.DNSServer.SetRecord(recs[0]))
	code, rep, raw = statusJSON(t, []string{"-config", cfg}, env)
	assert.Equal(t, command.ExitOK, code, raw)
	assert.Contains(t, section(t, rep, "dns").Lines, lab.VPNName+" A "+routerostest.LabPublicIP+": matches the router")

	// The UPS's upsd gone: that section cannot be checked, the rest is
	// still shown.
	l.UPSServer.Close()
	code, rep, raw = statusJSON(t, []string{"-config", cfg}, env)
	assert.Equal(t, command.ExitUnchecked, code, raw)
	assert.Equal(t, StateUnchecked, section(t, rep, "ups").State)
	assert.NotEmpty(t, section(t, rep, "ups").Error)
	assert.Equal(t, StateOK, section(t, rep, "nas").State)

	// Credentials refused: unchecked, and the secret is not in the error.
	wrong := func(k string) string {
		if k == "NPM_PASSWORD" {
			return "wrong-password-xyz"
		}
		return env(k)
	}
	code, rep, raw = statusJSON(t, []string{"-config", cfg}, wrong)
	assert.Equal(t, command.ExitUnchecked, code, raw)
	proxy := section(t, rep, "proxy")
	assert.Equal(t, StateUnchecked, proxy.State)
	assert.NotEmpty(t, proxy.Error)
	assert.NotContains(t, raw, "wrong-password-xyz")
}

// TestStatusSilentDevice: a router that accepts and never answers is shown
// as unchecked after the per-device timeout, and the other sections are
// printed before it.
func TestStatusSilentDevice(t *testing.T) {
	t.Parallel()
	l := startLab(t)
	cfg, env := labConfig(t, l)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { _ = c.Close() })
		}
	}()
	data, err := os.ReadFile(cfg)
	require.NoError(t, err)
	data = []byte(strings.Replace(string(data), l.RouterServer.Addr(), ln.Addr().String(), 1))
	require.NoError(t, os.WriteFile(cfg, data, 0o600))

	// The timeout is every device's: the answering ones must be done well
	// within it even in a loaded race run (at 500 ms they all timed out
	// there), while the silent one is given up at it, not later.
	const timeout = 5 * time.Second
	var out, errOut bytes.Buffer
	start := time.Now()
	code := run(t.Context(), []string{"status", "-config", cfg, "-timeout", timeout.String()}, &out, &errOut, env)
	elapsed := time.Since(start)
	t.Log("\n" + out.String())
	assert.Equal(t, command.ExitUnchecked, code, errOut.String())
	assert.Less(t, elapsed, 2*timeout)
	screen := out.String()
	assert.Contains(t, screen, "router ("+ln.Addr().String()+"): UNCHECKED")
	assert.Contains(t, screen, "no answer within "+timeout.String())
	assert.Contains(t, screen, lab.VPNName+" A "+lab.StaleVPNAddr+" (router's address unknown: not compared)")
	// Shown as soon as known: the NAS before the router that timed out.
	assert.Less(t, strings.Index(screen, "\nnas ("), strings.Index(screen, "\nrouter ("))
	assert.Contains(t, screen, "NOT EVERYTHING COULD BE CHECKED")
}

// BenchmarkStatus: every fake answers each request 50 ms late. Gathered
// concurrently, status takes about as long as its slowest device; asked one
// after another (the naive way) it takes the sum.
func BenchmarkStatus(b *testing.B) {
	l := startLab(b)
	const latency = 50 * time.Millisecond
	l.RouterServer.SetLatency(latency)
	l.DNSServer.SetLatency(latency)
	l.ProxmoxServer.SetLatency(latency)
	l.NASServer.SetLatency(latency)
	l.ProxyServer.SetLatency(latency)
	l.UPSServer.SetLatency(latency)
	path, env := labConfig(b, l)
	c, err := config.Read(path, config.Env(env))
	require.NoError(b, err)

	b.Run("concurrent", func(b *testing.B) {
		var slowest, sum, shown time.Duration
		for b.Loop() {
			rep := gather(b.Context(), c, time.Minute, nil)
			shown += rep.Elapsed
			require.NotEqual(b, command.ExitUnchecked, rep.Exit, "%+v", rep)
			for _, s := range rep.Sections {
				sum += s.Elapsed
				slowest = max(slowest, s.Elapsed)
			}
		}
		b.ReportMetric(float64(sum.Milliseconds())/float64(b.N), "ms-sum-of-devices/op")
		b.ReportMetric(float64(slowest.Milliseconds()), "ms-slowest-device")
		// Until the last section is shown; ms/op adds the logouts after.
		b.ReportMetric(float64(shown.Milliseconds())/float64(b.N), "ms-to-screen/op")
		b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/op")
	})
	b.Run("sequential", func(b *testing.B) {
		for b.Loop() {
			for _, ch := range checks(c) {
				var s Section
				require.NoError(b, ch.run(b.Context(), &s))
				for _, f := range s.closers {
					_ = f()
				}
			}
		}
		b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/op")
	})
}

// -h prints the usage once, on stdout; a wrong flag prints the error and
// the usage once, on stderr.
func TestStatusUsageOnce(t *testing.T) {
	t.Parallel()
	var out, errOut bytes.Buffer
	require.Equal(t, command.ExitOK, run(t.Context(), []string{"status", "-h"}, &out, &errOut, noEnv))
	assert.Equal(t, 1, strings.Count(out.String(), "usage: homelab status"), out.String())
	assert.Empty(t, errOut.String())

	out.Reset()
	require.Equal(t, command.ExitUsage, run(t.Context(), []string{"status", "-bogus"}, &out, &errOut, noEnv))
	assert.Equal(t, 1, strings.Count(errOut.String(), "usage: homelab status"), errOut.String())
	assert.Contains(t, errOut.String(), "flag provided but not defined: -bogus")
	assert.Empty(t, out.String())
}
