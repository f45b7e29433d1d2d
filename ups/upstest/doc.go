// Package upstest is an in-process NUT server (upsd look-alike) for tests,
// shaped like net/http/httptest: NewServer starts it on 127.0.0.1:0, Addr
// tells where, Close stops it.
//
// It speaks the NUT network protocol (RFC 9271) from its own state: several
// UPSes with variables, writable variables with types, enums and ranges,
// instant commands, users with upsd.users-style permissions, the FSD latch,
// TRACKING, driver states (connected, WAIT, driver down, stale data) and
// scripted status timelines driven by an injectable clock. Fault knobs inject
// latency, hangs, dropped connections, replies cut mid-list, garbage lines and
// oversized lines; the idle cutoff (upsd: 60 s) is configurable.
//
// It builds every reply from its own types and never imports the ups
// package, so a client bug cannot pass by agreeing with itself.
package upstest
