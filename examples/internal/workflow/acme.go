package workflow

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/thehomelab/homelab/dns"
)

// Waiter is a story writer that can show what a workflow waits for (a
// changing line on a terminal, a plain line now and then elsewhere) until
// stop is called. A workflow given one uses it around waits with no
// measure.
type Waiter interface {
	Waiting(what string) (stop func())
}

// waiting shows what through w when w is a Waiter.
func waiting(w io.Writer, what string) (stop func()) {
	if wt, ok := w.(Waiter); ok {
		return wt.Waiting(what)
	}
	return func() {}
}

// ACMEPresent publishes the DNS-01 TXT records for domain (one per value:
// a wildcard and its apex share the name) and waits until Cloudflare lists
// them all, so the CA can be told to validate. poll is how often Cloudflare
// is asked; 0 means 2 s.
func ACMEPresent(ctx context.Context, w io.Writer, c *dns.Client, zone, domain string, poll time.Duration, values ...string) error {
	z, err := c.Zone(ctx, zone)
	if err != nil {
		return fmt.Errorf("acme: %w", err)
	}
	ch, err := c.PresentChallenge(ctx, z, domain, values...)
	if err != nil {
		return fmt.Errorf("acme: %w", err)
	}
	say(w, "presented %d TXT record(s) on %s", len(values), ch.Name())
	stop := waiting(w, "waiting until Cloudflare lists every value on "+ch.Name())
	err = ch.Wait(ctx, poll)
	stop()
	if err != nil {
		return fmt.Errorf("acme: wait for %s: %w", ch.Name(), err)
	}
	say(w, "Cloudflare lists every value: the CA may validate %s now", domain)
	return nil
}

// ACMECleanUp deletes the DNS-01 TXT records for domain holding values.
// It runs in another process than ACMEPresent (ACME clients call a hook
// twice), so it finds the records again with dns.Client.CleanUpChallenge:
// only TXT records carrying dns.ACMEComment are deleted (checked on each
// record, since Cloudflare's comment filter ignores case), never one
// somebody else made. Records already gone count as deleted.
func ACMECleanUp(ctx context.Context, w io.Writer, c *dns.Client, zone, domain string, values ...string) error {
	z, err := c.Zone(ctx, zone)
	if err != nil {
		return fmt.Errorf("acme: %w", err)
	}
	name := z.FQDN(dns.ChallengeName(domain))
	deleted, err := c.CleanUpChallenge(ctx, z, domain, values...)
	say(w, "cleaned up %d TXT record(s) on %s", deleted, name)
	if err != nil {
		return fmt.Errorf("acme: %w", err)
	}
	return nil
}
