// Package routeros is a typed client for MikroTik RouterOS 7 over the API
// protocol (TCP 8728, API-SSL 8729), built for the homelab's hAP ax².
//
// It builds on github.com/go-routeros/routeros/v3 for request encoding but
// owns the net.Conn: every read and write, login included, runs under the
// call's context deadline (go-routeros ignores contexts in sync mode and its
// login can hang forever), replies are decoded with a length cap, and any
// read error, malformed reply or !fatal closes the connection and is
// reported as ErrConnection. Every read is bounded: a word
// (WithMaxWordSize), a sentence (WithMaxSentenceSize) and a whole reply
// (WithMaxReplySize); going over fails with ErrTooLarge. A client made by
// Dial redials on its next call and repeats a read-only call once when a
// connection it had used before turns out dead (a router reboot); writes
// are never repeated.
//
// A *Client is safe for concurrent use. Calls are serialised over one
// connection; independent commands of one operation (an address-list sync,
// adding many peers) are pipelined with .tag words and each reply is
// checked, so they cost one round trip instead of one per command.
// go-routeros' async mode is not used (tag race #33, cancel-kills-all #34).
//
// Typed services group the menus: System (resource, identity, clock,
// export, backup), WAN (PPPoE public IP and status, /ip/cloud with its
// three-valued ddns-enabled), IP (addresses, routes), DHCP (leases),
// Firewall (address lists and EnsureAddressList, filter rules to read, add,
// set, move, enable, disable and remove, and the isolation audit of the
// forward and input chains in IPv4 and IPv6), WireGuard (interfaces, peers
// with the v7 client fields, keys, Onboard) and Scripts (scripts,
// scheduler). Run is the escape
// hatch for any other command; Listen streams a menu's changes on a
// connection of its own.
//
// Construction follows the SDK's vocabulary: Dial(ctx, addr, opts...) with
// WithCredentials (required), WithTLS, WithFingerprint or WithRootCAs,
// WithTimeout (30 s by default), WithLogger and WithOnEvent; a missing port
// is 8728, or 8729 with TLS; nil options are skipped. Idempotent calls
// (WireGuard.EnsurePeer, Firewall.EnsureAddressList) return a result with
// Action, Changes and Changed().
//
// Errors are *Error values (Op, Command, Code = the !trap category,
// Message, Err): they match the SDK's class sentinels ErrNotFound, ErrAuth,
// ErrPermission, ErrConflict, ErrInvalid, ErrUnavailable and ErrClosed with
// errors.Is, and this package's own ErrUnknownCommand, ErrInterrupted,
// ErrConnection, ErrFatal and ErrTooLarge; errors.As reaches the details
// and, for a pinned certificate that did not match, the
// FingerprintMismatchError. Passwords and keys are secret.Secret values and
// never appear in errors or logs.
//
// Package routerostest provides an in-process fake router for tests.
package routeros
