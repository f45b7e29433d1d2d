package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"time"

	"github.com/thehomelab/homelab/dns"
	"github.com/thehomelab/homelab/examples/internal/lab"
	"github.com/thehomelab/homelab/examples/internal/workflow"
)

// demoTimeout bounds the whole demo: the fakes answer in milliseconds, so
// anything slower is a hang worth reporting.
const demoTimeout = 30 * time.Second

// runDemo starts the embedded lab, runs the demo against it and stops it.
func runDemo(ctx context.Context, w io.Writer) error {
	ctx, cancel := context.WithTimeout(ctx, demoTimeout)
	defer cancel()
	l, err := lab.Start(ctx)
	if err != nil {
		return err
	}
	defer l.Close()
	return demo(ctx, w, l)
}

// demo runs every workflow against the lab l. A failed workflow is reported
// and the others still run.
func demo(ctx context.Context, w io.Writer, l *lab.Lab) error {
	start := time.Now()
	fmt.Fprintln(w, "homelab demo: every workflow against an embedded lab of fakes on 127.0.0.1")

	var errs []error
	steps := 0
	step := func(name string, run func() error) {
		steps++
		if err := run(); err != nil {
			fmt.Fprintf(w, "   FAILED: %v\n", err)
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
		}
	}

	step("ddns", func() error {
		workflow.Title(w, "DDNS: %s follows the public address", lab.VPNName)
		stand := netip.MustParseAddr("198.51.100.20")
		return workflow.DDNS(ctx, w, l.DNS, workflow.DDNSConfig{
			Zone:       lab.Zone,
			Names:      []string{"vpn"},
			Source:     dns.StaticSource(stand),
			SourceName: "static source (stand-in for the router)",
		})
	})

	step("acme", func() error {
		domain := "*." + lab.Zone
		workflow.Title(w, "ACME DNS-01: a challenge for %s, presented and cleaned up", domain)
		// In production the value is the key authorization digest the CA
		// hands the ACME client; any text serves the demo.
		const value = "demo-key-authorization-digest"
		if err := workflow.ACMEPresent(ctx, w, l.DNS, lab.Zone, domain, 10*time.Millisecond, value); err != nil {
			return err
		}
		return workflow.ACMECleanUp(ctx, w, l.DNS, lab.Zone, domain, value)
	})

	fmt.Fprintf(w, "\n%d workflows, %d failed, %s\n", steps, len(errs), time.Since(start).Round(time.Millisecond))
	return errors.Join(errs...)
}
