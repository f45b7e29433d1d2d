// Command expose publishes a web app over HTTPS behind Nginx Proxy Manager:
// it reuses a certificate covering the name (a wildcard) or has NPM issue
// one by Cloudflare DNS challenge, then creates or corrects the proxy host.
// Running it again changes nothing.
//
//	NPM_EMAIL=… NPM_PASSWORD=… go run ./examples/expose \
//	    -npm http://192.168.1.5:81/api -fqdn status.thehomelab.site -to uptime-kuma:3001 -websockets
//
// The workflow itself is examples/internal/workflow/expose.go.
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
	code := command.Main(ctx, command.Expose(), os.Args[1:], os.Stdout, os.Stderr, os.Getenv)
	stop()
	os.Exit(code)
}
