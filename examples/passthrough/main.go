// Command passthrough passes host disks through to a VM by their stable
// /dev/disk/by-id path, found from the serial number. Disks already attached
// are left alone; the node's own disks are refused.
//
//	PROXMOX_TOKEN_ID=… PROXMOX_TOKEN_SECRET=… PROXMOX_ROOT_PASSWORD=… go run ./examples/passthrough \
//	    -proxmox https://192.168.1.2:8006 -vm nas -disks S6PNNS0T100001,S6PNNS0T100002
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
	code := command.Main(ctx, command.Passthrough(), os.Args[1:], os.Stdout, os.Stderr, os.Getenv)
	stop()
	os.Exit(code)
}
