// Package routeros is a typed client for MikroTik RouterOS 7 over the API
// protocol (TCP 8728, API-SSL 8729), built for the homelab's hAP ax².
//
// It builds on github.com/go-routeros/routeros/v3 for request encoding but
// owns the net.Conn: every read and write, login included, runs under the
// call's context deadline (go-routeros ignores contexts in sync mode and its
// login can hang forever), replies are decoded with a length cap, and any
// read error, malformed reply or !fatal closes the connection and is
// reported as ErrConnection. A client made by Dial redials on its next call
// and repeats a read-only call once when a connection it had used before
// turns out dead (a router reboot); writes are never repeated.
//
// A *Client is safe for concurrent use. Calls are serialised over one
// connection; independent commands of one operation (an address-list sync,
// adding many peers) are pipelined with .tag words and each reply is
// checked, so they cost one round trip instead of one per command.
// go-routeros' async mode is not used (tag race #33, cancel-kills-all #34).
//
// Typed services group the menus: System (resource, identity, clock,
// export, backup), WAN (PPPoE public IP and status, /ip/cloud), IP
// (addresses, routes), DHCP (leases), Firewall (address lists and their
// sync, filter rules, the guest isolation audit), WireGuard (interfaces,
// peers, keys, Onboard) and Scripts (scripts, scheduler). Run is the escape
// hatch for any other command; Listen streams a menu's changes on a
// connection of its own.
//
// Errors are *Error values: a !trap keeps its category and message and
// matches ErrNotFound, ErrInvalid, ErrConflict… with errors.Is; a refused
// login matches ErrAuth, !fatal ErrFatal. Passwords and keys are Secrets
// and never appear in errors or logs.
//
// Package routerostest provides an in-process fake router for tests.
package routeros
