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
//	Backups (vzdump → SMB share)     backup     (not built yet) per-guest vzdump to the "backups"
//	                                           CIFS storage, the two-step NAS dump, prune
//	                                           rules, rclone off-site; proxmox already has the
//	                                           vzdump, volume and prune primitives
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
// # Conventions
//
// Every call that does I/O takes a context.Context first and honours its
// deadline down to the socket. Clients are safe for concurrent use. TLS is
// always verified; self-signed certificates are trusted by pinning their
// SHA-256 fingerprint. Credentials are held in a Secret type that prints
// REDACTED. Errors are typed per package and match sentinels such as
// ErrNotFound and ErrAuth with errors.Is.
package homelab
