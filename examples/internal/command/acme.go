package command

import (
	"context"
	"io"
	"strings"

	"github.com/thehomelab/homelab/dns"
	"github.com/thehomelab/homelab/examples/internal/workflow"
	"github.com/thehomelab/homelab/secret"
)

// ACME is an ACME DNS-01 hook: it presents and cleans up the TXT records a
// CA checks, in the shape of lego's exec provider
// (EXEC_PATH=… lego --dns exec …), which calls it with
// "present <fqdn> <value>" and later "cleanup <fqdn> <value>".
func ACME() Command {
	return Command{
		Name:    "acme",
		Summary: "ACME DNS-01 hook: present or clean up a challenge TXT record",
		Run:     runACME,
	}
}

func runACME(ctx context.Context, out, errOut io.Writer, args []string, env Env) error {
	fs := newFlags("acme", out, errOut, env, "acme [-zone Z] present|cleanup DOMAIN VALUE...\n"+
		"  or, from lego with EXEC_MODE=RAW: present|cleanup -- DOMAIN TOKEN KEYAUTH\n"+
		"  DOMAIN may be the domain (*.thehomelab.site) or the record name (_acme-challenge.thehomelab.site.)\n"+
		"  env CLOUDFLARE_API_TOKEN: API token with Zone:Read and DNS:Edit on the zone")
	zone := fs.String("zone", "thehomelab.site", "Cloudflare zone")
	every := fs.Duration("poll", 0, "how often to ask Cloudflare while waiting (0: 2s)")
	api := fs.String("cloudflare", dns.DefaultBaseURL, "Cloudflare API base URL")
	if err := parsePositional(fs, args); err != nil {
		return err
	}
	if fs.NArg() < 3 {
		return usageError("want present|cleanup DOMAIN VALUE..., got %q", fs.Args())
	}
	verb, domain, values := fs.Arg(0), challengeDomain(fs.Arg(1)), fs.Args()[2:]
	if verb != "present" && verb != "cleanup" {
		return usageError("unknown action %q, want present or cleanup", verb)
	}
	if fs.Arg(1) == "--" {
		// lego's exec provider in RAW mode (EXEC_MODE=RAW) passes
		// "present -- DOMAIN TOKEN KEYAUTH" (providers/dns/exec/exec.go,
		// Present): the record's value is the key authorization's digest.
		if fs.NArg() != 5 {
			return usageError("want present|cleanup -- DOMAIN TOKEN KEYAUTH (lego's RAW mode), got %q", fs.Args())
		}
		domain, values = challengeDomain(fs.Arg(2)), []string{dns.ChallengeValue(fs.Arg(4))}
	}
	token, err := need(fs.getenv, "CLOUDFLARE_API_TOKEN", "a Cloudflare API token")
	if err != nil {
		return err
	}
	c, err := dns.NewClient(secret.New(token), dns.WithBaseURL(*api), dns.WithLogger(Logger(ctx)))
	if err != nil {
		return clientError(err, dns.ErrInvalid)
	}
	defer c.Close()
	if verb == "present" {
		// lego's exec provider logs the hook's output line by line
		// (providers/dns/exec/exec.go run, since v4.17.0): elsewhere
		// than a terminal the wait shows as plain lines now and then.
		return workflow.ACMEPresent(ctx, newProgress(out), c, *zone, domain, *every, values...)
	}
	return workflow.ACMECleanUp(ctx, out, c, *zone, domain, values...)
}

// challengeDomain accepts what lego's exec provider passes (the record
// name, with a trailing dot) as well as the domain itself.
func challengeDomain(s string) string {
	s = strings.TrimSuffix(strings.TrimSpace(s), ".")
	return strings.TrimPrefix(s, "_acme-challenge.")
}
