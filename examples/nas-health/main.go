// Command nas-health checks the OpenMediaVault NAS: RAID arrays, SMART and
// filesystem usage. It exits 1 when something needs a person, so it fits a
// cron job or a monitoring check.
//
//	OMV_PASSWORD=… go run ./examples/nas-health -nas https://nas.lan -nas-fingerprint AA:BB:…
//
// The workflow itself is examples/internal/workflow/nas.go.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/thehomelab/homelab/examples/internal/command"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := command.Main(ctx, command.NASHealth(), os.Args[1:], os.Stdout, os.Stderr, os.Getenv)
	stop()
	os.Exit(code)
}
