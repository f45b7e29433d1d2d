// Command powerloss guards the lab against a power cut: it watches the UPS
// through NUT's upsd and, once the policy decides the battery will not last
// (low battery, charge or runtime below a floor, too long on battery, or a
// UPS gone silent while on battery), shuts the Proxmox guests down in
// reverse startup order with the NAS last, then the node. -drill goes the
// whole way and changes nothing. It refuses to start when it could not
// act (Proxmox does not answer with the token; with -fsd, the NUT user may
// not act as primary), and warns while it watches if that changes.
//
//	PROXMOX_TOKEN_ID=… PROXMOX_TOKEN_SECRET=… NUT_USER=upsmon NUT_PASSWORD=… \
//	    go run ./examples/powerloss -ups ups@192.168.1.2 -proxmox https://192.168.1.2:8006 -last nas -fsd
//
// With TLS on upsd (CERTFILE in upsd.conf), add -nut-starttls, or pin its
// certificate with -nut-fingerprint sha256:….
//
// The workflow itself is examples/internal/workflow/ups.go.
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
	code := command.Main(ctx, command.PowerLoss(), os.Args[1:], os.Stdout, os.Stderr, os.Getenv)
	stop()
	os.Exit(code)
}
