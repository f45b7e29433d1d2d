// Command acme is an ACME DNS-01 hook for Cloudflare: it presents the TXT
// record a CA checks, waits until Cloudflare lists it, and cleans it up
// afterwards. It has the calling convention of lego's exec provider:
//
//	CLOUDFLARE_API_TOKEN=… EXEC_PATH=$(go env GOPATH)/bin/acme \
//	    lego --dns exec --domains '*.thehomelab.site' run
//
// or by hand:
//
//	acme present '*.thehomelab.site' <value>
//	acme cleanup '*.thehomelab.site' <value>
//
// The workflow itself is examples/internal/workflow/acme.go.
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
	code := command.Main(ctx, command.ACME(), os.Args[1:], os.Stdout, os.Stderr, os.Getenv)
	stop()
	os.Exit(code)
}
