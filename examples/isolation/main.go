// Command isolation audits the router's firewall: can the guest network open
// connections to the LAN? It names the rule that decides and exits 1 on a
// leak, so it fits a cron job.
//
//	ROUTEROS_PASSWORD=… go run ./examples/isolation -router 192.168.1.1:8728 -from 10.1.1.0/24 -to 192.168.1.0/24
//
// The workflow itself is examples/internal/workflow/router.go.
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
	code := command.Main(ctx, command.Isolation(), os.Args[1:], os.Stdout, os.Stderr, os.Getenv)
	stop()
	os.Exit(code)
}
