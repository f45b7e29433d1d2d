// Command shutdown shuts the Proxmox guests down in order: reverse startup
// order, the guests named by -last (the NAS) at the very end, then
// optionally the node. Without -yes it only prints the plan.
//
//	PROXMOX_TOKEN_ID=… PROXMOX_TOKEN_SECRET=… go run ./examples/shutdown -last nas -node        # dry run
//	PROXMOX_TOKEN_ID=… PROXMOX_TOKEN_SECRET=… go run ./examples/shutdown -last nas -node -yes   # for real
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
	code := command.Main(ctx, command.Shutdown(), os.Args[1:], os.Stdout, os.Stderr, os.Getenv)
	stop()
	os.Exit(code)
}
