// Package workflow holds the homelab's workflows, one function each, written
// against the SDK's typed clients and an io.Writer for the story they tell.
//
// A workflow never dials anything itself: the caller hands it connected
// clients, so the same code runs against real devices (examples/<workflow>
// and the homelab CLI's subcommands) and against the embedded lab of fakes
// (homelab demo). Composition of packages happens here, through the small
// function types the consuming package declares, e.g. a router's PPPoE
// address plugged in as a dns.Source.
package workflow
