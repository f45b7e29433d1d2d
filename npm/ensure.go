package npm

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Action says what an Ensure call did.
type Action int

// Actions reported by Ensure calls. The zero value is Unchanged.
const (
	Unchanged Action = iota
	Created
	Updated
	Deleted
)

// String returns "unchanged", "created", "updated" or "deleted".
func (a Action) String() string {
	switch a {
	case Unchanged:
		return "unchanged"
	case Created:
		return "created"
	case Updated:
		return "updated"
	case Deleted:
		return "deleted"
	}
	return "Action(" + strconv.Itoa(int(a)) + ")"
}

// Change is one field an Ensure call changed.
type Change struct {
	Field    string // wire name, e.g. "forward_port"
	Old, New string
}

// String formats the change as one line: "field: old → new", or "field:
// new" when there was nothing before.
func (c Change) String() string {
	if c.Old == "" {
		return fmt.Sprintf("%s: %s", c.Field, c.New)
	}
	return fmt.Sprintf("%s: %s → %s", c.Field, c.Old, c.New)
}

// ProxyHostResult reports one ProxyHosts.Ensure call: the host as it ends
// up, what was done and which fields changed.
type ProxyHostResult struct {
	ProxyHost ProxyHost
	Action    Action
	Changes   []Change
}

// Changed reports whether the call changed anything on the server.
func (r ProxyHostResult) Changed() bool { return r.Action != Unchanged || len(r.Changes) > 0 }

// Ensure makes the proxy host serving spec.Domains look like spec.
// It finds the host by its domain set (case-insensitive, in any order), or
// the single host sharing a domain with it; creates it when there is none;
// otherwise sends only the fields that differ and flips the enabled state
// with Enable/Disable. The spec is compared after the server's own
// rewrites (sorted domains, SSL/HSTS flags cleared without a certificate),
// so an unchanged host costs one request and a second run changes nothing.
// A host whose nginx config is rejected yields a *NginxError (ErrNginx).
//
// NPM API: GET /nginx/proxy-hosts?expand=certificate,access_list, then
// POST or PUT /nginx/proxy-hosts[/{id}] as needed.
func (s *ProxyHostsService) Ensure(ctx context.Context, spec ProxyHostSpec) (ProxyHostResult, error) {
	ctx, cancel := s.c.bound(ctx)
	defer cancel()
	op := "ensure proxy host " + strings.Join(spec.Domains, ",")
	f, err := s.c.features(ctx)
	if err != nil {
		return ProxyHostResult{}, opErr(op, err)
	}
	if err := spec.check(f); err != nil {
		return ProxyHostResult{}, opErr(op, err)
	}
	hosts, err := s.List(ctx, ListOptions{Expand: []string{ExpandCertificate, ExpandAccessList}})
	if err != nil {
		return ProxyHostResult{}, err
	}
	return s.ensureOne(ctx, op, f, hosts, spec)
}

// EnsureAll ensures many hosts with one list request: unchanged
// hosts cost nothing more. It stops at the first error and returns the
// results so far.
//
// NPM API: GET /nginx/proxy-hosts?expand=certificate,access_list, then
// writes only for hosts that differ.
func (s *ProxyHostsService) EnsureAll(ctx context.Context, specs []ProxyHostSpec) ([]ProxyHostResult, error) {
	ctx, cancel := s.c.bound(ctx)
	defer cancel()
	op := "ensure proxy hosts"
	f, err := s.c.features(ctx)
	if err != nil {
		return nil, opErr(op, err)
	}
	for _, sp := range specs {
		if err := sp.check(f); err != nil {
			return nil, opErr(op+" "+strings.Join(sp.Domains, ","), err)
		}
	}
	hosts, err := s.List(ctx, ListOptions{Expand: []string{ExpandCertificate, ExpandAccessList}})
	if err != nil {
		return nil, err
	}
	out := make([]ProxyHostResult, 0, len(specs))
	for _, sp := range specs {
		r, err := s.ensureOne(ctx, "ensure proxy host "+strings.Join(sp.Domains, ","), f, hosts, sp)
		out = append(out, r)
		if err != nil {
			return out, err
		}
	}
	return out, nil
}

func domainKey(ds []string) []string {
	k := make([]string, 0, len(ds))
	for _, d := range ds {
		k = append(k, strings.ToLower(strings.TrimSpace(d)))
	}
	slices.Sort(k)
	return slices.Compact(k)
}

// match finds the host for a domain set: the exact set first, else the one
// host sharing a name with it.
func match(hosts []ProxyHost, domains []string) (ProxyHost, bool, error) {
	want := domainKey(domains)
	var overlap []ProxyHost
	for _, h := range hosts {
		have := domainKey(h.Domains)
		if slices.Equal(have, want) {
			return h, true, nil
		}
		for _, d := range have {
			if slices.Contains(want, d) {
				overlap = append(overlap, h)
				break
			}
		}
	}
	switch len(overlap) {
	case 0:
		return ProxyHost{}, false, nil
	case 1:
		return overlap[0], true, nil
	}
	return ProxyHost{}, false, fmt.Errorf("domains %s are spread over %d proxy hosts: %w", strings.Join(domains, ","), len(overlap), ErrConflict)
}

func (s *ProxyHostsService) ensureOne(ctx context.Context, op string, f features, hosts []ProxyHost, spec ProxyHostSpec) (ProxyHostResult, error) {
	want := spec.normalized()
	cur, found, err := match(hosts, want.Domains)
	if err != nil {
		return ProxyHostResult{}, opErr(op, err)
	}
	if !found {
		h, err := s.Create(ctx, spec)
		return ProxyHostResult{ProxyHost: h, Action: Created}, err
	}
	u, changes := diff(cur, want, f)
	res := ProxyHostResult{ProxyHost: cur, Action: Unchanged, Changes: changes}
	if len(changes) == 0 {
		return res, nginxErr(op, int(cur.ID), cur.Enabled, cur.NginxOnline, cur.NginxErr)
	}
	res.Action = Updated
	// Only the enabled state may differ, which goes through Enable or
	// Disable below: then there is no field to PUT.
	onlyState := len(changes) == 1 && changes[0].Field == "enabled"
	if !onlyState {
		body, err := u.body(f)
		if err != nil {
			return res, opErr(op, err)
		}
		h, err := s.put(ctx, op, cur.ID, body)
		res.ProxyHost = h
		if err != nil && !errors.Is(err, ErrNginx) {
			return res, err
		}
		if err != nil && cur.Enabled == !want.Disabled {
			return res, err
		}
	}
	switch {
	case want.Disabled && cur.Enabled:
		if err := s.Disable(ctx, cur.ID); err != nil {
			return res, err
		}
		res.ProxyHost.Enabled = false
	case !want.Disabled && !cur.Enabled:
		h, err := s.Enable(ctx, cur.ID)
		res.ProxyHost = h
		if err != nil {
			return res, err
		}
	}
	return res, nil
}

// diff lists what differs between the stored host and the normalised spec
// and builds the partial update that fixes it.
func diff(h ProxyHost, w ProxyHostSpec, f features) (ProxyHostUpdate, []Change) {
	var u ProxyHostUpdate
	var cs []Change
	add := func(field string, old, new any) {
		cs = append(cs, Change{Field: field, Old: fmt.Sprint(old), New: fmt.Sprint(new)})
	}
	if !slices.Equal(domainKey(h.Domains), domainKey(w.Domains)) {
		u.Domains = w.Domains
		add("domain_names", strings.Join(h.Domains, ","), strings.Join(w.Domains, ","))
	}
	setIf(&cs, "forward_scheme", h.ForwardScheme, w.ForwardScheme, &u.ForwardScheme)
	setIf(&cs, "forward_host", h.ForwardHost, w.ForwardHost, &u.ForwardHost)
	setIf(&cs, "forward_port", h.ForwardPort, w.ForwardPort, &u.ForwardPort)
	setIf(&cs, "certificate_id", h.CertificateID, w.CertificateID, &u.CertificateID)
	setIf(&cs, "ssl_forced", h.SSLForced, w.SSLForced, &u.SSLForced)
	setIf(&cs, "hsts_enabled", h.HSTSEnabled, w.HSTSEnabled, &u.HSTSEnabled)
	setIf(&cs, "hsts_subdomains", h.HSTSSubdomains, w.HSTSSubdomains, &u.HSTSSubdomains)
	setIf(&cs, "http2_support", h.HTTP2Support, w.HTTP2Support, &u.HTTP2Support)
	setIf(&cs, "block_exploits", h.BlockExploits, w.BlockExploits, &u.BlockExploits)
	setIf(&cs, "caching_enabled", h.CachingEnabled, w.CachingEnabled, &u.CachingEnabled)
	setIf(&cs, "allow_websocket_upgrade", h.AllowWebsocketUpgrade, w.AllowWebsocketUpgrade, &u.AllowWebsocketUpgrade)
	if f.trustForwardedProto() {
		setIf(&cs, "trust_forwarded_proto", h.TrustForwardedProto, w.TrustForwardedProto, &u.TrustForwardedProto)
	}
	setIf(&cs, "access_list_id", h.AccessListID, w.AccessListID, &u.AccessListID)
	setIf(&cs, "advanced_config", h.AdvancedConfig, w.AdvancedConfig, &u.AdvancedConfig)
	if !equalLocations(h.Locations, w.Locations) {
		ls := slices.Clone(w.Locations)
		if ls == nil {
			ls = []Location{}
		}
		u.Locations = &ls
		add("locations", len(h.Locations), len(w.Locations))
	}
	if h.Enabled == w.Disabled {
		add("enabled", h.Enabled, !w.Disabled)
	}
	return u, cs
}

// setIf records a change and sets the update field when old and new
// differ.
func setIf[T comparable](cs *[]Change, field string, old, new T, dst **T) {
	if old != new {
		*dst = Ptr(new)
		*cs = append(*cs, Change{Field: field, Old: fmt.Sprint(old), New: fmt.Sprint(new)})
	}
}

func equalLocations(a, b []Location) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		x, y := a[i], b[i]
		if x.ForwardScheme == "" {
			x.ForwardScheme = "http"
		}
		if y.ForwardScheme == "" {
			y.ForwardScheme = "http"
		}
		if x != y {
			return false
		}
	}
	return true
}
