package workflow

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/thehomelab/homelab/npm"
)

// ExposeConfig describes a web app to publish behind Nginx Proxy Manager.
type ExposeConfig struct {
	// App is passed to npm.Client.Expose.
	App npm.App
	// Twice runs Expose a second time to show that it changes nothing.
	Twice bool
}

// Expose publishes a web app over HTTPS behind Nginx Proxy Manager: a
// certificate that covers the FQDN is reused (the lab's wildcard) or one is
// issued by Cloudflare DNS challenge, and the proxy host is created or
// brought in line with SSL forced.
func Expose(ctx context.Context, w io.Writer, c *npm.Client, cfg ExposeConfig) error {
	app := cfg.App
	runs := 1
	if cfg.Twice {
		runs = 2
	}
	for run := 1; run <= runs; run++ {
		r, err := c.Expose(ctx, app)
		if err != nil {
			return fmt.Errorf("expose %s: %w", app.FQDN, err)
		}
		cert := "reused"
		if r.CertificateCreated {
			cert = "issued by DNS challenge"
		}
		switch r.Action {
		case npm.Unchanged:
			say(w, "https://%s already proxied as wanted: nothing changed", app.FQDN)
			continue
		case npm.Created:
			say(w, "proxy host %d created: https://%s -> %s://%s:%d", r.ProxyHost.ID, app.FQDN, r.ProxyHost.ForwardScheme, app.ForwardHost, app.ForwardPort)
		default:
			say(w, "proxy host %d %s: https://%s -> %s://%s:%d", r.ProxyHost.ID, r.Action, app.FQDN, r.ProxyHost.ForwardScheme, app.ForwardHost, app.ForwardPort)
			for _, ch := range r.Changes {
				say(w, "  %s", ch)
			}
		}
		say(w, "certificate %q (%s), valid until %s", r.Certificate.NiceName, cert, r.Certificate.ExpiresOn.Format("2006-01-02"))
		say(w, "%s", hostFeatures(r.ProxyHost))
	}
	return nil
}

// hostFeatures says in words what the proxy host does for its clients.
func hostFeatures(h npm.ProxyHost) string {
	var on, off []string
	for _, f := range []struct {
		set  bool
		what string
	}{
		{h.SSLForced, "redirects http to https"},
		{h.HTTP2Support, "serves HTTP/2"},
		{h.HSTSEnabled, "sends HSTS"},
		{h.AllowWebsocketUpgrade, "passes websockets"},
	} {
		if f.set {
			on = append(on, f.what)
		} else {
			off = append(off, f.what)
		}
	}
	s := "the host " + strings.Join(on, ", ")
	if len(on) == 0 {
		s = "the host has no extra feature"
	}
	if len(off) > 0 {
		s += "; it does not " + strings.Join(off, ", ")
	}
	return s
}
