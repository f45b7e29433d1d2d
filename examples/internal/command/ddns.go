package command

import (
	"context"
	"io"
	"net/netip"

	"github.com/thehomelab/homelab/dns"
	"github.com/thehomelab/homelab/examples/internal/workflow"
	"github.com/thehomelab/homelab/routeros"
	"github.com/thehomelab/homelab/secret"
)

// DDNS keeps Cloudflare A records on the public address.
func DDNS() Command {
	return Command{
		Name:    "ddns",
		Summary: "keep Cloudflare A records on the public address",
		Run:     runDDNS,
	}
}

func runDDNS(ctx context.Context, out, errOut io.Writer, args []string, env Env) error {
	fs := newFlags("ddns", out, errOut, env, "ddns [-zone Z] [-names vpn,home] [-from router|echo] [-router ADDR] [-ip ADDR] [-dry-run | -watch 5m]\n"+
		"  env CLOUDFLARE_API_TOKEN: API token with Zone:Read and DNS:Edit on the zone\n"+routerEnvHelp+" (with -from router)")
	r := addRouterFlags(fs)
	from := fs.String("from", "router", "where the public address comes from: router (its PPPoE interface) or echo (a web service)")
	wan := fs.String("wan", routeros.DefaultWANInterface, "the router's WAN interface")
	zone := fs.String("zone", "thehomelab.site", "Cloudflare zone")
	names := fs.String("names", "vpn", "comma-separated record names to keep on the address")
	ip := fs.String("ip", "", "publish this address instead of asking a service")
	echo := fs.String("echo", "https://api.ipify.org", "\"what is my IP\" service asked with -from echo")
	dryRun := fs.Bool("dry-run", false, "only print what would change")
	watch := fs.Duration("watch", 0, "keep running, checking every interval (e.g. 5m); 0 runs once")
	api := fs.String("cloudflare", dns.DefaultBaseURL, "Cloudflare API base URL")
	if err := parse(fs, args); err != nil {
		return err
	}
	cfg := workflow.DDNSConfig{Zone: *zone, Names: list(*names), DryRun: *dryRun}
	if len(cfg.Names) == 0 {
		return usageError("-names is empty")
	}
	if *watch < 0 || (*watch > 0 && *dryRun) {
		return usageError("-watch takes a positive interval and no -dry-run")
	}
	var static netip.Addr
	if *ip != "" {
		a, err := netip.ParseAddr(*ip)
		if err != nil {
			return usageError("-ip: %v", err)
		}
		static = a
	} else if *from != "router" && *from != "echo" {
		return usageError("-from must be router or echo")
	}
	token, err := need(fs.getenv, "CLOUDFLARE_API_TOKEN", "a Cloudflare API token")
	if err != nil {
		return err
	}
	switch {
	case static.IsValid():
		cfg.Source, cfg.SourceName = dns.StaticSource(static), "-ip"
	case *from == "echo":
		cfg.Source, cfg.SourceName = dns.EchoSource(*echo, dns.IPv4, nil), *echo
	default:
		rc, err := r.dial(ctx)
		if err != nil {
			return err
		}
		defer rc.Close()
		cfg.Source, cfg.SourceName = workflow.RouterPublicIP(rc, *wan), "router "+*wan
	}
	c, err := dns.NewClient(secret.New(token), dns.WithBaseURL(*api), dns.WithLogger(Logger(ctx)))
	if err != nil {
		return clientError(err, dns.ErrInvalid)
	}
	defer c.Close()
	workflow.Title(out, "DDNS: %v in %s follow the public address", cfg.Names, cfg.Zone)
	if *watch > 0 {
		return workflow.DDNSWatch(ctx, out, c, cfg, *watch)
	}
	return workflow.DDNS(ctx, out, c, cfg)
}
