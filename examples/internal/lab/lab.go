// Package lab starts the embedded homelab: every device fake of the SDK on
// 127.0.0.1, seeded like the lab in the README, with a client of each
// package connected to it. homelab demo and the examples' tests run the
// workflows against it; nothing leaves the machine.
package lab

import (
	"context"
	"fmt"
	"io"
	"sync/atomic"

	"github.com/thehomelab/homelab/dns"
	"github.com/thehomelab/homelab/dns/dnstest"
	"github.com/thehomelab/homelab/npm"
	"github.com/thehomelab/homelab/npm/npmtest"
	"github.com/thehomelab/homelab/omv"
	"github.com/thehomelab/homelab/omv/omvtest"
	"github.com/thehomelab/homelab/proxmox"
	"github.com/thehomelab/homelab/proxmox/proxmoxtest"
	"github.com/thehomelab/homelab/routeros"
	"github.com/thehomelab/homelab/routeros/routerostest"
	"github.com/thehomelab/homelab/ups"
	"github.com/thehomelab/homelab/ups/upstest"
)

// Zone is the lab's Cloudflare zone.
const Zone = dnstest.SeedZone

// VPNName is the record the DDNS workflow keeps on the router's address.
const VPNName = "vpn." + Zone

// StaleVPNAddr is what the VPN record holds when the lab starts: the
// address of yesterday's PPPoE session (today's is
// routerostest.LabPublicIP).
const StaleVPNAddr = "203.0.113.10"

// Lab is the running embedded lab. Close it when done.
type Lab struct {
	// Router is a client of the fake MikroTik, RouterServer the fake.
	Router       *routeros.Client
	RouterServer *routerostest.Server
	// Proxmox is a client of the fake Proxmox VE, ProxmoxServer the fake.
	Proxmox       *proxmox.Client
	ProxmoxServer *proxmoxtest.Server
	// Node is the Proxmox node's shell for the backup's two-step copy, an
	// in-process double coupled to ProxmoxServer's storages.
	Node *Node
	// DNS is a client of the fake Cloudflare API, DNSServer the fake.
	DNS       *dns.Client
	DNSServer *dnstest.Server
	// NAS is a client of the fake OpenMediaVault, NASServer the fake.
	NAS       *omv.Client
	NASServer *omvtest.Server
	// Proxy is a client of the fake Nginx Proxy Manager, ProxyServer the
	// fake.
	Proxy       *npm.Client
	ProxyServer *npmtest.Server

	// UPS is the lab UPS on a client of the fake NUT server, UPSServer
	// the fake.
	UPS       *ups.Device
	UPSServer *upstest.Server

	closers     []func()
	clockOffset atomic.Int64
}

// Start starts every fake and connects a client to each. On error nothing
// is left running.
func Start(ctx context.Context) (_ *Lab, err error) {
	l := &Lab{}
	defer func() {
		if err != nil {
			l.Close()
		}
	}()
	for _, start := range []func(context.Context) error{l.startRouter, l.startDNS, l.startProxmox, l.startNAS, l.startProxy, l.startUPS} {
		if err := start(ctx); err != nil {
			return nil, err
		}
	}
	l.SetRequestLimit(RequestLimit)
	return l, nil
}

// RequestLimit is how many of their most recent requests the lab's fakes
// keep: enough for a test or a demo to look back, bounded so that a lab
// serving homelab watch for days does not grow.
const RequestLimit = 1000

// SetRequestLimit sets how many of their most recent requests every fake
// keeps (0 or less: fakeserver.DefaultLogLimit, 10,000).
func (l *Lab) SetRequestLimit(n int) {
	l.RouterServer.SetRequestLimit(n)
	l.DNSServer.SetRequestLimit(n)
	l.ProxmoxServer.SetRequestLimit(n)
	l.NASServer.SetRequestLimit(n)
	l.ProxyServer.SetRequestLimit(n)
	l.UPSServer.SetRequestLimit(n)
}

// Close stops every client and fake, newest first. It is idempotent.
func (l *Lab) Close() {
	for i := len(l.closers) - 1; i >= 0; i-- {
		l.closers[i]()
	}
	l.closers = nil
}

// Describe prints where each fake listens and which protocol it speaks.
func (l *Lab) Describe(w io.Writer) {
	row := func(device, fake, where string) {
		fmt.Fprintf(w, "   %-10s %-13s %s\n", device, fake, where)
	}
	if l.RouterServer != nil {
		row("router", "routerostest", l.RouterServer.Addr()+" (RouterOS API)")
	}
	if l.DNSServer != nil {
		row("cloudflare", "dnstest", l.DNSServer.BaseURL())
	}
	if l.ProxmoxServer != nil {
		row("proxmox", "proxmoxtest", l.ProxmoxServer.URL+" (self-signed, pinned)")
	}
	if l.Node != nil {
		row("pve shell", "lab.Node", "in-process (dd, sha256sum, zstd -t … for the backup's copy on the node)")
	}
	if l.NASServer != nil {
		row("nas", "omvtest", l.NASServer.URL+"/rpc.php")
	}
	if l.ProxyServer != nil {
		row("proxy", "npmtest", l.ProxyServer.URL)
	}
	if l.UPSServer != nil {
		row("ups", "upstest", l.UPSServer.Addr()+" (NUT)")
	}
}
