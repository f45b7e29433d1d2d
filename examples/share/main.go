// Command share makes sure an SMB share exists on the OpenMediaVault NAS for
// its owner: account, shared folder, privileges, share settings and quota.
// Running it again changes nothing.
//
//	OMV_PASSWORD=… SHARE_OWNER_PASSWORD=… go run ./examples/share \
//	    -nas https://nas.lan -name photos -owner anna -quota-gib 100
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
	code := command.Main(ctx, command.Share(), os.Args[1:], os.Stdout, os.Stderr, os.Getenv)
	stop()
	os.Exit(code)
}
