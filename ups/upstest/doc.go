// Package upstest is an in-process NUT server (upsd look-alike) for tests,
// shaped like net/http/httptest and like every fake of the SDK: NewServer
// starts it on 127.0.0.1:0 (Start also closes it in t.Cleanup), Addr tells
// where, Requests returns what it read, SetLatency slows it, Inject makes it
// misbehave (a Fault: hang, close mid-reply, garbage, a huge line, refuse,
// an endless list; Times limits it), Close stops it.
//
// It speaks the NUT network protocol (RFC 9271) from its own state: several
// UPSes with variables, writable variables with types, enums and ranges,
// instant commands, users with upsd.users-style permissions, the FSD latch,
// TRACKING, driver states (connected, WAIT, driver down, stale data) and
// scripted status timelines driven by an injectable clock; the idle cutoff
// (upsd: 60 s) is configurable.
//
// It builds every reply from its own types and never imports the ups
// package, so a client bug cannot pass by agreeing with itself.
package upstest
