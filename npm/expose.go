package npm

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/thehomelab/homelab/secret"
)

// App is a web application to publish under its own FQDN.
type App struct {
	FQDN          string // e.g. "nextcloud.thehomelab.site"
	ForwardScheme string // "http" or "https"; empty: http for a new host, an existing host's kept
	ForwardHost   string // e.g. "nextcloud" or "192.168.1.4"
	ForwardPort   int
	Websockets    bool
	HTTP2         bool
	HSTS          bool
	BlockExploits bool
	// AccessListID restricts the app; 0 leaves it public.
	AccessListID AccessListID
	// CloudflareToken issues a certificate by DNS challenge when no
	// existing certificate (such as a wildcard) covers FQDN.
	CloudflareToken secret.Secret
	// Email is the Let's Encrypt account address for NPM ≤2.12.
	Email string
	// MinValidity is how long a reused certificate must still be valid;
	// 0 means 7 days.
	MinValidity time.Duration
}

// ExposeResult reports what Expose did, in the shape of every Ensure
// result: the proxy host as it ends up, what was done to it and which
// fields changed, plus the certificate serving it.
type ExposeResult struct {
	ProxyHost ProxyHost
	// Action is what was done to the proxy host.
	Action Action
	// Changes lists the host's changed fields, and a "certificate" line
	// when one was issued.
	Changes     []Change
	Certificate Certificate
	// CertificateCreated is set when Expose issued the certificate.
	CertificateCreated bool
}

// Changed reports whether the call changed anything on the server.
func (r ExposeResult) Changed() bool {
	return r.Action != Unchanged || len(r.Changes) > 0 || r.CertificateCreated
}

// Expose publishes app over HTTPS: it reuses a certificate that covers the
// FQDN (a wildcard will do) or issues one by Cloudflare DNS challenge, then
// ensures the proxy host with SSL forced and the requested options, the
// certificate attached by id. Running it again changes nothing. When it
// fails it leaves nothing half-made: a host it created is deleted, a
// certificate it issued is deleted, and an existing host whose new config
// nginx rejected gets its previous settings back.
//
// NPM API: GET /nginx/certificates, POST /nginx/certificates,
// GET /nginx/proxy-hosts, POST|PUT /nginx/proxy-hosts[/{id}]
func (c *Client) Expose(ctx context.Context, app App) (ExposeResult, error) {
	ctx, short, cancel := c.boundIssue(ctx)
	defer cancel()
	// The first request shows whether the server answers at all: a silent
	// one costs WithTimeout, not the issuance's bound.
	if _, err := c.features(short); err != nil {
		return ExposeResult{}, opErr("expose "+app.FQDN, err)
	}
	op := "expose " + app.FQDN
	if app.FQDN == "" || app.ForwardHost == "" || app.ForwardPort < 1 || app.ForwardPort > 65535 {
		return ExposeResult{}, opErr(op, fmt.Errorf("fqdn, forward host and port are required: %w", ErrInvalid))
	}
	minValid := app.MinValidity
	if minValid == 0 {
		minValid = 7 * 24 * time.Hour
	}
	var res ExposeResult
	f, err := c.features(ctx)
	if err != nil {
		return res, opErr(op, err)
	}
	certs, err := c.Certificates.List(ctx)
	if err != nil {
		return res, err
	}
	hosts, err := c.ProxyHosts.List(ctx, ListOptions{Expand: []string{ExpandCertificate, ExpandAccessList}})
	if err != nil {
		return res, err
	}
	prev, existed, err := match(hosts, []string{app.FQDN})
	if err != nil {
		return res, opErr(op, err)
	}
	until := c.now().Add(minValid)
	// Keep the host's current certificate while it is good, so two
	// covering certificates never make the host flip between them.
	cert, ok := Certificate{}, false
	if existed {
		for _, x := range certs {
			if x.ID == prev.CertificateID && x.Covers(app.FQDN) && x.ExpiresOn.After(until) {
				cert, ok = x, true
			}
		}
	}
	if !ok {
		cert, ok = covering(certs, app.FQDN, until)
	}
	if !ok {
		if app.CloudflareToken.IsZero() {
			return res, opErr(op, fmt.Errorf("no certificate covers %s and no cloudflare token was given to issue one: %w", app.FQDN, ErrInvalid))
		}
		cert, err = c.Certificates.CreateLetsEncrypt(ctx, LetsEncryptRequest{Domains: []string{app.FQDN}, CloudflareToken: app.CloudflareToken, Email: app.Email})
		if err != nil {
			return res, err
		}
		res.CertificateCreated = true
	}
	res.Certificate = cert
	// The spec names what App models (an exposed app is enabled); the rest
	// of an existing host (advanced config, locations, caching,
	// trust_forwarded_proto, HSTS for subdomains while HSTS stays on, its
	// other domains) is kept as it is.
	spec := ProxyHostSpec{
		Domains: []string{app.FQDN}, ForwardScheme: app.ForwardScheme, ForwardHost: app.ForwardHost, ForwardPort: app.ForwardPort,
		CertificateID: cert.ID, SSLForced: true, HSTSEnabled: app.HSTS, HTTP2Support: app.HTTP2,
		BlockExploits: app.BlockExploits, AllowWebsocketUpgrade: app.Websockets, AccessListID: app.AccessListID,
	}
	if existed {
		spec.Domains = prev.Domains
		spec.HSTSSubdomains = prev.HSTSSubdomains && app.HSTS
	}
	r, err := c.ProxyHosts.ensureOne(ctx, "ensure proxy host "+app.FQDN, f, hosts, spec)
	res.ProxyHost, res.Action, res.Changes = r.ProxyHost, r.Action, r.Changes
	if res.CertificateCreated {
		res.Changes = append(res.Changes, Change{Field: "certificate", New: "issued " + cert.NiceName})
	}
	if err == nil {
		return res, nil
	}
	// Undo with a context that outlives a cancelled ctx, bounded.
	uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	switch {
	case !existed && r.ProxyHost.ID != 0:
		if derr := c.ProxyHosts.Delete(uctx, r.ProxyHost.ID); derr != nil {
			err = errors.Join(err, derr)
		}
	case !existed && refusedBeforeInsert(err):
		// Nothing was stored; a host found now by the domain would be
		// someone else's (a concurrent create is what "already in use"
		// may mean).
	case !existed:
		// The create failed, but NPM may have stored the row anyway (a
		// failing first nginx test answers 500 after the insert): find it
		// by domain and remove it.
		hs, lerr := c.ProxyHosts.List(uctx, ListOptions{})
		if lerr != nil {
			err = errors.Join(err, errorf(op, "look for a half-created host: %w", lerr))
			break
		}
		if h, ok, _ := match(hs, spec.Domains); ok {
			if derr := c.ProxyHosts.Delete(uctx, h.ID); derr != nil {
				err = errors.Join(err, derr)
			}
		}
	case existed && r.Action == Updated:
		if rerr := c.restore(uctx, op, prev, f); rerr != nil {
			err = errors.Join(err, rerr)
		}
	}
	if cerr := c.undoCert(uctx, &res); cerr != nil {
		err = errors.Join(err, cerr)
	}
	return res, err
}

// refusedBeforeInsert reports answers NPM gives before it stores a row:
// validation and duplicate-domain failures (400) and permission failures.
func refusedBeforeInsert(err error) bool {
	var ae *Error
	return errors.As(err, &ae) && ae.StatusCode == http.StatusBadRequest || errors.Is(err, ErrPermission)
}

// restore puts an existing host's previous settings (and disabled state)
// back after a failed change.
func (c *Client) restore(ctx context.Context, op string, prev ProxyHost, f features) error {
	spec := ProxyHostSpec{
		Domains: prev.Domains, ForwardScheme: prev.ForwardScheme, ForwardHost: prev.ForwardHost, ForwardPort: prev.ForwardPort,
		CertificateID: prev.CertificateID, SSLForced: prev.SSLForced, HSTSEnabled: prev.HSTSEnabled, HSTSSubdomains: prev.HSTSSubdomains,
		HTTP2Support: prev.HTTP2Support, BlockExploits: prev.BlockExploits, CachingEnabled: Ptr(prev.CachingEnabled),
		AllowWebsocketUpgrade: prev.AllowWebsocketUpgrade, TrustForwardedProto: Ptr(prev.TrustForwardedProto),
		AccessListID: prev.AccessListID, AdvancedConfig: Ptr(prev.AdvancedConfig), Locations: nonNil(prev.Locations), Disabled: !prev.Enabled,
	}
	rop := "restore proxy host " + prev.ID.String()
	cur, err := c.ProxyHosts.get(ctx, op+": "+rop, prev.ID)
	if err != nil {
		return err
	}
	var errs []error
	if u, changes := diff(cur, spec.normalized(), f); len(changes) > 0 {
		if body, berr := u.body(f); berr == nil {
			// A previous config nginx already rejected is restored as it
			// was; that is not a failure of the undo.
			wasOffline := prev.NginxOnline != nil && !*prev.NginxOnline
			if _, perr := c.ProxyHosts.put(ctx, op+": "+rop, prev.ID, body); perr != nil && !(wasOffline && errors.Is(perr, ErrNginx)) {
				errs = append(errs, perr)
			}
		}
	}
	if !prev.Enabled && cur.Enabled {
		if derr := c.ProxyHosts.Disable(ctx, prev.ID); derr != nil {
			errs = append(errs, derr)
		}
	}
	return errors.Join(errs...)
}

// undoCert deletes a certificate this Expose issued.
func (c *Client) undoCert(ctx context.Context, res *ExposeResult) error {
	if !res.CertificateCreated {
		return nil
	}
	if err := c.Certificates.Delete(ctx, res.Certificate.ID); err != nil {
		return err
	}
	res.CertificateCreated = false
	res.Certificate = Certificate{}
	return nil
}

// nonNil returns ls, or an empty non-nil slice: "no locations", as opposed
// to "leave the locations".
func nonNil(ls []Location) []Location {
	if ls == nil {
		return []Location{}
	}
	return ls
}
