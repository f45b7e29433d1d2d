package workflow

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/thehomelab/homelab/dns"
)

// DDNSConfig says which records follow which address.
type DDNSConfig struct {
	// Zone is the Cloudflare zone, e.g. "thehomelab.site".
	Zone string
	// Names are the record names kept on the address, relative to Zone or
	// fully qualified.
	Names []string
	// Source reports the public IPv4 address, e.g. the router's PPPoE address.
	Source dns.Source
	// SourceName says where the address comes from, for the story
	// ("router pppoe-out1").
	SourceName string
	// DryRun only prints the plan.
	DryRun bool
	// ShowSecondCycle runs a second cycle after a change, to show that an
	// unchanged address costs no Cloudflare request (the demo's lesson;
	// the real command runs one cycle).
	ShowSecondCycle bool
}

// DDNS keeps the A records of cfg.Names on the address cfg.Source reports:
// it prints the plan and applies it; with ShowSecondCycle it then runs a
// second cycle to show that an
// unchanged address costs no Cloudflare request.
func DDNS(ctx context.Context, w io.Writer, c *dns.Client, cfg DDNSConfig) error {
	if cfg.Source == nil {
		return errors.New("ddns: no address source")
	}
	src := cfg.SourceName
	if src == "" {
		src = "source"
	}
	u, err := c.NewUpdater(dns.UpdaterConfig{Zone: cfg.Zone, Names: cfg.Names, IPv4: cfg.Source})
	if err != nil {
		return err
	}
	p, err := u.PlanUpdate(ctx)
	if err != nil {
		return err
	}
	say(w, "%s reports %s", src, p.IPv4)
	for _, r := range p.Unmanaged {
		say(w, "left alone (no managed comment): %s", r)
	}
	if !p.Changed() {
		say(w, "records already hold %s: nothing to change", p.IPv4)
		return nil
	}
	for _, ch := range p.Changes {
		say(w, "plan: %s", ch)
	}
	if cfg.DryRun {
		say(w, "dry run: nothing changed")
		return nil
	}
	res, err := u.Apply(ctx, p)
	if err != nil {
		return err
	}
	say(w, "applied %d change(s)", len(res.Changes))
	if err := showRecords(ctx, w, c, cfg); err != nil {
		return err
	}
	if !cfg.ShowSecondCycle {
		return nil
	}
	res, err = u.Update(ctx)
	if err != nil {
		return fmt.Errorf("second cycle: %w", err)
	}
	switch {
	case res.Changed():
		say(w, "second cycle changed %d records (the address moved meanwhile)", len(res.Changes))
	case !res.Checked:
		say(w, "second cycle: address unchanged, nothing sent to Cloudflare")
	default:
		say(w, "second cycle: records verified, nothing to change")
	}
	return nil
}

// showRecords reads the A records of cfg.Names back from Cloudflare.
func showRecords(ctx context.Context, w io.Writer, c *dns.Client, cfg DDNSConfig) error {
	z, err := c.Zone(ctx, cfg.Zone)
	if err != nil {
		return fmt.Errorf("ddns: %w", err)
	}
	for _, n := range cfg.Names {
		recs, err := c.ListRecords(ctx, z, dns.RecordFilter{Type: dns.TypeA, Name: n})
		if err != nil {
			return fmt.Errorf("ddns: read back: %w", err)
		}
		for _, r := range recs {
			say(w, "Cloudflare now holds %s", r)
		}
	}
	return nil
}

// DDNSWatch keeps the records on the address until ctx ends, checking every
// interval (the Updater jitters it and backs off on errors). A cycle in
// which the address did not change sends nothing to Cloudflare and prints
// nothing; changes and errors are printed as they happen.
func DDNSWatch(ctx context.Context, w io.Writer, c *dns.Client, cfg DDNSConfig, interval time.Duration) error {
	if cfg.Source == nil {
		return errors.New("ddns: no address source")
	}
	u, err := c.NewUpdater(dns.UpdaterConfig{Zone: cfg.Zone, Names: cfg.Names, IPv4: cfg.Source,
		OnEvent: func(e dns.Event) {
			switch e.Kind {
			case dns.EventChanged:
				for _, ch := range e.Result.Changes {
					say(w, "%s %s", e.Time.Format(time.RFC3339), ch)
				}
			case dns.EventError:
				say(w, "%s error (next try in %s): %v", e.Time.Format(time.RFC3339), e.Next.Round(time.Second), e.Err)
			}
		}})
	if err != nil {
		return fmt.Errorf("ddns: %w", err)
	}
	say(w, "checking every %s; Ctrl-C stops", interval)
	if err := u.Run(ctx, interval); err != nil && !errors.Is(err, context.Canceled) {
		return fmt.Errorf("ddns: %w", err)
	}
	return nil
}
