// Package dns manages a Cloudflare DNS zone: typed records, token checks,
// ACME DNS-01 challenge records, and a DDNS Updater that keeps A/AAAA
// records on the current public address at (almost) no API cost.
//
// The client is built on github.com/cloudflare/cloudflare-go v0.119.0, kept
// behind one file (cloudflare.go) so a move to the generated SDK line
// touches nothing else. Everything v0 gets wrong is fixed below that seam:
// "success": false on a 2xx answer is an error, a 429 becomes
// ErrRateLimited with its Retry-After, Cloudflare's error codes and
// messages are kept in *Error, records are only ever PATCHed (never PUT,
// which wipes comment, tags and TTL) and a PATCH always carries the
// record's current tags (v0 would send "tags": null).
//
// # Construction and errors
//
// NewClient(secret.New(token), opts...) refuses an empty token. Options are
// the SDK's: WithTimeout (30 s per call whose context has no deadline,
// retries included), WithRetries (3), WithLogger, WithHTTPClient, plus
// WithBaseURL and WithRateLimit. A nil option is skipped. Every error is or
// wraps an *Error (Op, StatusCode, Code, Message, Err) with one "dns: "
// prefix; match its class with errors.Is against ErrNotFound, ErrAuth,
// ErrPermission, ErrConflict, ErrInvalid, ErrUnavailable and ErrClosed, or
// the package's own ErrRateLimited, ErrZoneNotFound, ErrAmbiguousZone,
// ErrBadAddress, ErrUnmanaged and ErrTooLarge.
//
// # DDNS
//
// Updater.PlanUpdate returns an UpdatePlan that changes nothing and prints
// (a dry run); Updater.Apply executes it and returns an UpdateResult
// (Action, Changes, Changed); Updater.Update is the two in one cycle, and
// Updater.Run loops until its context ends, reporting every cycle to
// UpdaterConfig.OnEvent.
//
// The DDNS Updater only touches records that carry its managed comment; a
// record of the same name without it is reported and left alone unless the
// name is explicitly adopted. It remembers what it published, so a cycle in
// which the address did not change makes no Cloudflare request at all; it
// re-reads the zone at a slow cadence (and on Recheck) to repair manual
// edits, and on a change it sends one list and one PATCH per record.
// Updater.State and Updater.Restore carry that memory across restarts.
//
// Addresses from a source are checked before anything is published:
// private, CGNAT (100.64.0.0/10), loopback, link-local, unspecified,
// multicast and reserved addresses are refused with ErrBadAddress.
//
// The sibling package dnstest is an in-process fake of the Cloudflare API
// for tests and examples.
package dns
