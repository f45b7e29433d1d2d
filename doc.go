// Package homelab is a Go SDK that automates a residential lab end to end.
// This root package holds only documentation: the map below says which
// package drives which device.
//
// # The lab
//
//	Device                          Package    Main operations
//	------------------------------  ---------  ----------------------------------------------
//	MikroTik hAP ax², RouterOS 7     routeros   public IP of pppoe-out1, DHCP leases, address
//	  (API 8728 / API-SSL 8729)                lists, firewall audit (Guest 10.1.1.0/24 must
//	                                           not reach LAN 192.168.1.0/24), WireGuard peers
//	                                           on 192.168.100.0/24, config export
//	Proxmox VE node proxmox1         proxmox    cluster inventory, guest lifecycle, ordered
//	                                           shutdown and start-up, disk passthrough by
//	                                           /dev/disk/by-id, LXC "docker", CIFS storage,
//	                                           vzdump and backup volumes, tasks
//	OpenMediaVault 6/7/8 (VM "nas")  omv        JSON-RPC /rpc.php: RAID 1 health from mdstat and
//	                                           mdadm --detail, SMART, shared folders, SMB
//	                                           shares backups/documents/media, users, quotas,
//	                                           SMB audit over the wire
//	Nginx Proxy Manager              npm        proxy host per app (nextcloud.thehomelab.site →
//	                                           internal address), Let's Encrypt certificates
//	                                           by Cloudflare DNS challenge, access lists
//	UPS PowerWalker VI 1000 STL      ups        NUT client (RFC 9271), monitor, shutdown policy
//	  served by NUT upsd
//	Cloudflare zone thehomelab.site  dns        records, DDNS of vpn.thehomelab.site to the
//	                                           router's public IP, ACME DNS-01 TXT records
//	Backups (vzdump → SMB share)     backup     per-guest vzdump to the "backups" CIFS storage,
//	                                           the two-step NAS dump, Proxmox's prune rules,
//	                                           rclone off-site, verified restores, mailed report
//
// Each device package is a typed client, importable on its own, and ships an
// in-process fake on the real wire protocol in a sibling package
// (routeros/routerostest, proxmox/proxmoxtest, omv/omvtest, npm/npmtest,
// ups/upstest, dns/dnstest) for use in your own tests.
//
// # How the packages compose
//
// A package never imports a sibling (backup may import proxmox). Workflows
// that span devices live in examples/ and join packages through small
// function types the consuming package declares:
//
//   - DDNS: the router's PPPoE address (routeros, c.WAN.PublicIP) is a
//     dns.Source for a dns.Updater, keeping the A record of
//     vpn.thehomelab.site on it (examples/ddns).
//   - Power loss: a ups.Monitor decision calls the proxmox ordered shutdown:
//     guests in reverse start order, the NAS last, then the node
//     (examples/powerloss).
//   - Apps: npm exposes each app behind the proxy with a Let's Encrypt
//     certificate that NPM obtains by Cloudflare DNS challenge
//     (examples/expose); examples/acme answers DNS-01 challenges for other
//     ACME clients through the dns package.
//
// examples/homelab is a thin CLI over these workflows; `go run
// ./examples/homelab demo` runs all of them against the fakes.
//
// # How every package works
//
// The seven packages speak one vocabulary: learn it once in one package and
// guess it right in the next.
//
// Construction. HTTP APIs are NewClient(baseURL, opts...), socket protocols
// Dial(ctx, addr, opts...) or NewClient(conn, opts...). Options are WithX
// functions that validate and return an error; a nil option is skipped.
// WithCredentials(user, secret.Secret) is the login everywhere (proxmox also
// takes WithAPIToken), WithTOTP the second factor, WithTimeout bounds a call
// whose context has no deadline (30 s, retries included), WithRetries and
// WithPollInterval(min, max) exist wherever HTTP retries or background work
// is polled. Default ports and paths are filled in. A constructor fails at
// once when what it needs is missing.
//
//	c, err := proxmox.NewClient("https://pve.lan:8006",
//		proxmox.WithAPIToken("root@pam!sdk", secret.New(token)),
//		proxmox.WithFingerprint("sha256:AA:BB:…"))
//
// Secrets. Every package takes a secret.Secret; it prints REDACTED through
// fmt, slog and JSON.
//
// Idempotent calls. c.<Service>.Ensure(ctx, spec) reads, compares, changes
// only what differs and returns a result carrying the resource as it ends
// up, an Action (Unchanged, Created, Updated, Deleted) and Changes, each of
// which prints as one human line:
//
//	res, err := c.ProxyHosts.Ensure(ctx, npm.ProxyHostSpec{…})
//	if res.Changed() { for _, ch := range res.Changes { fmt.Println(ch) } }
//
// Plans. PlanX(ctx, …) reads and changes nothing and returns a value that
// prints; Apply(ctx, plan, …) executes it. A dry run is a plan printed and
// not applied. Run(ctx, …) is only for loops that end with ctx:
//
//	plan, err := c.Power.PlanShutdown(ctx, proxmox.PlanOptions{…})
//	fmt.Print(plan)
//	res, err := c.Power.Apply(ctx, plan, proxmox.ApplyOptions{OnEvent: show})
//
// Background work. StartX(ctx, …) returns a handle whose Wait(ctx) polls
// with a timer and reports the work's failure as an error, and whose
// Log(ctx) streams its log lines; X(ctx, …) is Start then Wait:
//
//	dump, err := c.Backups.StartVzdump(ctx, []proxmox.VMID{101}, opts)
//	for line, err := range dump.Log(ctx) { … }
//	err = dump.Wait(ctx)
//
// Events. Long work reports through a config field OnEvent func(Event);
// an Event has a Kind (with String), a Time, and Err when it reports a
// failure.
//
// Errors. Every package has one *Error (Op, Code, Message, StatusCode where
// HTTP) whose text starts with the package name, and the same class
// sentinels: ErrNotFound, ErrAuth, ErrPermission, ErrConflict, ErrInvalid,
// ErrUnavailable, ErrClosed, plus a few of its own that a user acts on:
//
//	if errors.Is(err, proxmox.ErrPermission) { … }
//	var pe *proxmox.Error
//	if errors.As(err, &pe) { log.Print(pe.StatusCode, pe.Message) }
//
// Fakes. Each device package has an in-process fake of its wire protocol
// (routerostest, proxmoxtest, omvtest, npmtest, upstest, dnstest) with one
// harness: NewServer(opts...), Start(t, opts...) closing at the end of the
// test, URL or Addr(), Requests(), SetLatency(d) and Inject(fault).
//
// # Conventions
//
// Every call that does I/O takes a context.Context first and honours its
// deadline down to the socket. Clients are safe for concurrent use. TLS is
// always verified; self-signed certificates are trusted by pinning their
// SHA-256 fingerprint. Every read from a device is bounded.
package homelab
