// Command wireguard onboards a VPN client on the MikroTik router: it
// generates the client's keys and a preshared key, adds the peer with the
// next free tunnel address, and writes the wg-quick config and its QR code
// for the WireGuard app.
//
//	ROUTEROS_PASSWORD=… go run ./examples/wireguard -router 192.168.1.1:8728 \
//	    -name phone-anna -qr phone-anna.png -allowed 192.168.1.0/24,192.168.100.0/24
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
	code := command.Main(ctx, command.WireGuard(), os.Args[1:], os.Stdout, os.Stderr, os.Getenv)
	stop()
	os.Exit(code)
}
