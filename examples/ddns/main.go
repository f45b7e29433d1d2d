// Command ddns keeps Cloudflare A records on the lab's public address.
//
//	CLOUDFLARE_API_TOKEN=… go run ./examples/ddns -zone thehomelab.site -names vpn
//
// The workflow itself is examples/internal/workflow/ddns.go.
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
	code := command.Main(ctx, command.DDNS(), os.Args[1:], os.Stdout, os.Stderr, os.Getenv)
	stop()
	os.Exit(code)
}
