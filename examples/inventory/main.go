// Command inventory lists the Proxmox VE cluster: nodes, guests and storage,
// from one API call.
//
//	PROXMOX_TOKEN_ID=root@pam!homelab PROXMOX_TOKEN_SECRET=… go run ./examples/inventory \
//	    -proxmox https://192.168.1.2:8006 -proxmox-fingerprint AA:BB:…
//
// The workflow itself is examples/internal/workflow/proxmox.go.
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
	code := command.Main(ctx, command.Inventory(), os.Args[1:], os.Stdout, os.Stderr, os.Getenv)
	stop()
	os.Exit(code)
}
