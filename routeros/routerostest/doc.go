// Package routerostest is an in-process fake MikroTik router speaking the
// RouterOS API wire protocol on 127.0.0.1, for tests of code that uses
// package routeros — or any other RouterOS API client.
//
// Like net/http/httptest, NewServer (or Start in tests) returns a running
// Server; Addr gives the address to dial (WithTLS serves API-SSL with a
// self-signed certificate; Fingerprint is what a client pins), Pipe an
// in-memory connection, and Close stops it. The server
// decodes words with its own codec (all five length prefixes, sentences,
// .tag, queries with the full stack machine, .proplist, count-only), checks
// the /login credentials, hands out "*HEX" ids that are never reused and
// keeps a table per menu seeded with the homelab lab: LAN 192.168.1.0/24,
// Guest 10.1.1.0/24 with a forward drop rule towards the LAN, WireGuard
// 192.168.100.0/24 on wireguard1 with two peers, pppoe-out1 with a public
// /32, DHCP leases, address lists, interface lists LAN and WAN with their
// members, a DDNS script and its scheduler entry.
//
// The menus include /interface (every interface, whatever its kind),
// /interface/list and its members, /ip/service (the fixed service list),
// /user (whose rows are the logins), the IPv4 and IPv6 firewall filters and
// address lists. Filter rules take the matchers RouterOS 7 takes, negated
// with "!" where it allows (the defconf rule set loads whole), and refuse
// what it refuses: an unknown action, interface or list, ports without a
// port protocol, a jump without a target. ddns-enabled is yes/no/auto from
// 7.17. SetPublicAddress changes the pppoe-out1 address as the ISP does.
//
// Unknown commands and bad values are answered with !trap and !done as the
// router does; filter rules keep their order (add appends, place-before
// inserts, move reorders) and print log and log-prefix like the router; listen, print follow and pppoe monitor stream until /cancel.
// WithVersion switches version-dependent behaviour (!empty from 7.18,
// WireGuard field names). Requests returns every sentence received and
// Inject arms failures (Times: how often; ClearFaults disarms them): dropped connections (after N sentences or mid
// word), stalls, !fatal, traps on the Nth command, corrupt length prefixes,
// unknown reply words, wrong tags, duplicate !done and extra delay.
// SetLoginMode makes /login hang, fail or use the pre-6.43 challenge;
// WithReadOnlyUser adds a user without the write policy; WithLatency
// delays every reply like a slow network, so pipelined commands overlap.
//
// The package does not import routeros: it builds the wire data from its
// own types, so a client bug cannot pass by agreeing with itself.
package routerostest
