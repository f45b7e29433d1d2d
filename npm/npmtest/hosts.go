package npmtest

import (
	"fmt"
	"maps"
	"net/http"
	"sort"
	"strings"
	"time"
)

const (
	kindProxy       = "proxy_hosts"
	kindRedirection = "redirection_hosts"
	kindDead        = "dead_hosts"
	kindStream      = "streams"
)

// objType is the audit-log and nginx name of a kind.
var objType = map[string]string{kindProxy: "proxy-host", kindRedirection: "redirection-host", kindDead: "dead-host", kindStream: "stream"}
var nginxKind = map[string]string{kindProxy: "proxy_host", kindRedirection: "redirection_host", kindDead: "dead_host", kindStream: "stream"}

type table struct {
	kind string
	seq  int
	rows map[int]*row
}

// row is a stored host or stream: the columns as validated Go values
// (string, int, bool, []any, map[string]any) plus bookkeeping.
type row struct {
	id       int
	owner    int
	created  time.Time
	modified time.Time
	deleted  bool
	cols     map[string]any
}

func sslCols() map[string]*node {
	return map[string]*node{
		"certificate_id": intOrNew(), "ssl_forced": boolean(), "hsts_enabled": boolean(),
		"hsts_subdomains": boolean(), "http2_support": boolean(),
	}
}

func withSSL(m map[string]*node) map[string]*node {
	maps.Copy(m, sslCols())
	return m
}

var locationSchema = obj(map[string]*node{
	"id": {typ: "any"}, "path": strN(1, 0), "forward_scheme": enum("http", "https"), "forward_host": strN(1, 255),
	"forward_port": integer(1, 65535), "forward_path": str(), "advanced_config": str(),
}, "path", "forward_scheme", "forward_host", "forward_port")

// schemaFor returns the create or update body schema of a kind for the
// server's version.
func (s *Server) schemaFor(kind string, create bool) *node {
	var props map[string]*node
	var req []string
	switch kind {
	case kindProxy:
		props = withSSL(map[string]*node{
			"domain_names": hostDomains(), "forward_scheme": enum("http", "https"), "forward_host": strN(1, 255),
			"forward_port": integer(1, 65535), "block_exploits": boolean(), "caching_enabled": boolean(),
			"allow_websocket_upgrade": boolean(), "access_list_id": integer(0, 1<<31-1), "advanced_config": str(),
			"enabled": boolean(), "meta": anyObj(), "locations": arr(locationSchema),
		})
		if s.ver.atLeast(2, 14, 0) {
			props["trust_forwarded_proto"] = boolean()
		}
		req = []string{"domain_names", "forward_scheme", "forward_host", "forward_port"}
	case kindRedirection:
		props = withSSL(map[string]*node{
			"domain_names": hostDomains(), "forward_scheme": enum("auto", "http", "https"), "forward_http_code": integer(300, 308),
			"forward_domain_name": {typ: "string", pattern: pat(`^(?:[^.*]+\.?)+[^.]$`)}, "preserve_path": boolean(),
			"block_exploits": boolean(), "advanced_config": str(), "meta": anyObj(),
		})
		if !create {
			props["enabled"] = boolean()
		}
		req = []string{"domain_names", "forward_scheme", "forward_http_code", "forward_domain_name"}
	case kindDead:
		props = withSSL(map[string]*node{"domain_names": hostDomains(), "advanced_config": str(), "meta": anyObj(), "enabled": boolean()})
		req = []string{"domain_names"}
	case kindStream:
		props = map[string]*node{
			"incoming_port": integer(1, 65535), "forwarding_host": {typ: "string", pattern: pat(`^[A-Za-z0-9.:\-\[\]]+$`)},
			"forwarding_port": integer(1, 65535), "tcp_forwarding": boolean(), "udp_forwarding": boolean(),
			"certificate_id": intOrNew(), "meta": anyObj(), "enabled": boolean(),
		}
		if create {
			props["domain_names"] = domains()
		}
		req = []string{"incoming_port", "forwarding_host", "forwarding_port"}
	}
	n := obj(props)
	if create {
		n.required = req
	} else {
		n.minProps = 1
	}
	return n
}

// defaults are the stored values of omitted columns.
func (s *Server) defaults(kind string) map[string]any {
	ssl := map[string]any{"certificate_id": 0, "ssl_forced": false, "hsts_enabled": false, "hsts_subdomains": false, "http2_support": false}
	var m map[string]any
	switch kind {
	case kindProxy:
		m = map[string]any{"forward_scheme": "http", "block_exploits": false, "caching_enabled": false, "allow_websocket_upgrade": false,
			"access_list_id": 0, "advanced_config": "", "enabled": true, "meta": map[string]any{}, "locations": nil}
		if s.ver.atLeast(2, 14, 0) {
			m["trust_forwarded_proto"] = false
		}
	case kindRedirection:
		scheme := "http"
		if s.ver.atLeast(2, 13, 3) {
			scheme = "auto"
		}
		m = map[string]any{"forward_scheme": scheme, "preserve_path": false, "block_exploits": false, "advanced_config": "", "enabled": true, "meta": map[string]any{}}
	case kindDead:
		m = map[string]any{"advanced_config": "", "enabled": true, "meta": map[string]any{}}
	case kindStream:
		return map[string]any{"tcp_forwarding": false, "udp_forwarding": false, "certificate_id": 0, "enabled": true, "meta": map[string]any{}}
	}
	maps.Copy(m, ssl)
	return m
}

// normalize applies the server's rewrites: sorted domains and consistent
// SSL/HSTS flags.
func normalize(kind string, c map[string]any) {
	if d, ok := c["domain_names"].([]any); ok {
		sort.Slice(d, func(i, j int) bool { return fmt.Sprint(d[i]) < fmt.Sprint(d[j]) })
	}
	if kind == kindStream {
		return
	}
	if id, _ := c["certificate_id"].(int); id == 0 {
		c["ssl_forced"], c["http2_support"] = false, false
	}
	if b, _ := c["ssl_forced"].(bool); !b {
		c["hsts_enabled"] = false
	}
	if b, _ := c["hsts_enabled"].(bool); !b {
		c["hsts_subdomains"] = false
	}
}

func strs(v any) []string {
	a, _ := v.([]any)
	out := make([]string, 0, len(a))
	for _, x := range a {
		out = append(out, fmt.Sprint(x))
	}
	return out
}

// domainInUseLocked checks names against every live proxy, redirection and
// 404 host, case-insensitively, skipping the row (kind, self).
func (s *Server) domainInUseLocked(names []string, kind string, self int) *apiError {
	for _, n := range names {
		for _, k := range []string{kindProxy, kindRedirection, kindDead} {
			for id, r := range s.tables[k].rows {
				if r.deleted || (k == kind && id == self) {
					continue
				}
				for _, d := range strs(r.cols["domain_names"]) {
					if strings.EqualFold(d, n) {
						return errf(400, "%s is already in use", n)
					}
				}
			}
		}
	}
	return nil
}

// runNginxLocked simulates `nginx -t` for an enabled row and records the
// result in meta.
func (s *Server) runNginxLocked(kind string, r *row) {
	if on, _ := r.cols["enabled"].(bool); !on {
		return
	}
	cfg := s.nginxConfig(kind, r)
	meta := map[string]any{}
	if m, ok := r.cols["meta"].(map[string]any); ok {
		meta = maps.Clone(m)
	}
	meta["nginx_online"], meta["nginx_err"] = true, nil
	if s.nginxHook != nil {
		if err := s.nginxHook(cfg); err != nil {
			meta["nginx_online"], meta["nginx_err"] = false, err.Error()
		}
	}
	r.cols["meta"] = meta
}

func (s *Server) nginxConfig(kind string, r *row) NginxConfig {
	cfg := NginxConfig{Kind: nginxKind[kind], ID: r.id, Domains: strs(r.cols["domain_names"])}
	cfg.AdvancedConfig, _ = r.cols["advanced_config"].(string)
	if kind == kindStream {
		cfg.ForwardHost, _ = r.cols["forwarding_host"].(string)
		cfg.ForwardPort, _ = r.cols["forwarding_port"].(int)
	} else {
		cfg.ForwardHost, _ = r.cols["forward_host"].(string)
		cfg.ForwardPort, _ = r.cols["forward_port"].(int)
	}
	return cfg
}

func (s *Server) expandNames(kind string) []string {
	switch kind {
	case kindProxy:
		return []string{"owner", "certificate", "access_list", "access_list.items", "access_list.clients"}
	}
	return []string{"owner", "certificate"}
}

// renderRowLocked writes a row as the API shows it.
func (s *Server) renderRowLocked(kind string, r *row, exp map[string]bool) map[string]any {
	out := map[string]any{"id": r.id, "created_on": s.date(r.created), "modified_on": s.date(r.modified), "owner_user_id": r.owner}
	for k, v := range r.cols {
		if b, ok := v.(bool); ok {
			out[k] = s.bool(b)
		} else {
			out[k] = v
		}
	}
	if kind == kindStream {
		delete(out, "domain_names")
	}
	if exp["owner"] {
		if u := s.users[r.owner]; u != nil {
			out["owner"] = s.renderUser(u)
		}
	}
	if exp["certificate"] {
		out["certificate"] = nil
		if id, _ := r.cols["certificate_id"].(int); id > 0 {
			if c := s.certs[id]; c != nil && !c.deleted {
				cm := s.renderCertLocked(c, nil)
				cm["meta"] = map[string]any{}
				out["certificate"] = cm
			}
		}
	}
	if exp["access_list"] || exp["access_list.items"] || exp["access_list.clients"] {
		out["access_list"] = nil
		if id, _ := r.cols["access_list_id"].(int); id > 0 {
			if a := s.acls[id]; a != nil && !a.deleted {
				out["access_list"] = s.renderACLLocked(a, map[string]bool{"items": exp["access_list.items"], "clients": exp["access_list.clients"]})
			}
		}
	}
	return out
}

func (s *Server) getHost(kind string) handler {
	return func(c *call) (int, any, *apiError) {
		id, e := pathID(c)
		if e != nil {
			return 0, nil, e
		}
		exp, e := parseExpand(c.r, s.expandNames(kind)...)
		if e != nil {
			return 0, nil, e
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		row, e := s.findLocked(kind, c.u, id)
		if e != nil {
			return 0, nil, e
		}
		return 200, s.renderRowLocked(kind, row, exp), nil
	}
}

func (s *Server) deleteHost(kind string) handler {
	return func(c *call) (int, any, *apiError) {
		id, e := pathID(c)
		if e != nil {
			return 0, nil, e
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		row, e := s.findLocked(kind, c.u, id)
		if e != nil {
			return 0, nil, e
		}
		row.deleted = true
		s.auditLocked(c.u, objType[kind], id, "deleted", s.renderRowLocked(kind, row, nil))
		return 200, true, nil
	}
}

// toggleHost answers POST …/{id}/enable and …/disable.
func (s *Server) toggleHost(kind string, on bool) handler {
	verb := "disable"
	if on {
		verb = "enable"
	}
	return func(c *call) (int, any, *apiError) {
		id, e := pathID(c)
		if e != nil {
			return 0, nil, e
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		row, e := s.findLocked(kind, c.u, id)
		if e != nil {
			return 0, nil, e
		}
		noun := "Host"
		if kind == kindStream {
			noun = "Stream"
		}
		if cur, _ := row.cols["enabled"].(bool); cur == on {
			return 0, nil, errf(400, "%s is already %sd", noun, verb)
		}
		row.cols["enabled"] = on
		row.modified = s.now()
		if on {
			s.runNginxLocked(kind, row)
		}
		s.auditLocked(c.u, objType[kind], id, verb+"d", map[string]any{})
		return 200, true, nil
	}
}

func (s *Server) findLocked(kind string, u *user, id int) (*row, *apiError) {
	r := s.tables[kind].rows[id]
	if r == nil || r.deleted || !u.sees(r.owner) {
		return nil, errf(404, "Not Found - %d", id)
	}
	return r, nil
}

func (s *Server) listHosts(kind string) handler {
	return func(c *call) (int, any, *apiError) { return s.listHostsOf(c.r, c.u, kind) }
}

func (s *Server) listHostsOf(r *http.Request, u *user, kind string) (int, any, *apiError) {
	exp, e := parseExpand(r, s.expandNames(kind)...)
	if e != nil {
		return 0, nil, e
	}
	q := strings.ToLower(r.URL.Query().Get("query"))
	s.mu.Lock()
	defer s.mu.Unlock()
	var rows []*row
	for _, id := range sortedKeys(s.tables[kind].rows) {
		row := s.tables[kind].rows[id]
		if row.deleted || !u.sees(row.owner) {
			continue
		}
		if q != "" && !strings.Contains(strings.ToLower(strings.Join(strs(row.cols["domain_names"]), ",")), q) {
			continue
		}
		rows = append(rows, row)
	}
	if kind == kindStream {
		sort.SliceStable(rows, func(i, j int) bool { return rows[i].cols["incoming_port"].(int) < rows[j].cols["incoming_port"].(int) })
	} else {
		sort.SliceStable(rows, func(i, j int) bool {
			return strings.Join(strs(rows[i].cols["domain_names"]), ",") < strings.Join(strs(rows[j].cols["domain_names"]), ",")
		})
	}
	out := make([]any, 0, len(rows))
	for _, row := range rows {
		out = append(out, s.renderRowLocked(kind, row, exp))
	}
	return 200, out, nil
}

func (s *Server) createHost(kind string) handler {
	return func(c *call) (int, any, *apiError) { return s.createHostOf(c.r, c.u, kind) }
}

func (s *Server) createHostOf(r *http.Request, u *user, kind string) (int, any, *apiError) {
	b, e := s.readValid(r, s.schemaFor(kind, true))
	if e != nil {
		return 0, nil, e
	}
	s.mu.Lock()
	if kind != kindStream {
		if e := s.domainInUseLocked(strs(b["domain_names"]), kind, 0); e != nil {
			s.mu.Unlock()
			return 0, nil, e
		}
	}
	t := s.tables[kind]
	t.seq++
	now := s.now()
	row := &row{id: t.seq, owner: u.id, created: now, modified: now, cols: s.defaults(kind)}
	newCert := b["certificate_id"] == "new"
	for k, v := range b {
		if k == "domain_names" && kind == kindStream {
			continue
		}
		row.cols[k] = v
	}
	// Upstream drops certificate_id "new" before the SSL/HSTS rewrite, so
	// the host loses ssl_forced and http2_support: one more reason for
	// clients to attach certificates by id.
	if newCert {
		row.cols["certificate_id"] = 0
	}
	normalize(kind, row.cols)
	t.rows[row.id] = row
	if s.pretestHook != nil {
		if err := s.pretestHook(s.nginxConfig(kind, row)); err != nil {
			s.auditLocked(u, objType[kind], row.id, "created", map[string]any{})
			s.mu.Unlock()
			return 0, nil, &apiError{status: 500, msg: "Internal Error", debug: map[string]any{"previous": map[string]any{"message": err.Error()}}}
		}
	}
	// The create answer is built before nginx runs: no nginx keys.
	resp := s.renderRowLocked(kind, row, map[string]bool{"owner": true, "certificate": true, "access_list": true, "access_list.items": true, "access_list.clients": true})
	s.runNginxLocked(kind, row)
	s.auditLocked(u, objType[kind], row.id, "created", resp)
	s.mu.Unlock()
	if newCert {
		// Upstream order: the host exists first; a failed issuance leaves
		// it with certificate 0 and returns the error.
		meta, _ := b["meta"].(map[string]any)
		c, e := s.issue(r.Context(), u, strs(b["domain_names"]), meta)
		if e != nil {
			return 0, nil, e
		}
		s.mu.Lock()
		row.cols["certificate_id"] = c
		normalize(kind, row.cols)
		resp = s.renderRowLocked(kind, row, map[string]bool{"owner": true, "certificate": true})
		s.mu.Unlock()
	}
	return 201, resp, nil
}

func (s *Server) updateHost(kind string) handler {
	return func(c *call) (int, any, *apiError) {
		id, e := pathID(c)
		if e != nil {
			return 0, nil, e
		}
		return s.updateHostOf(c.r, c.u, kind, id)
	}
}

func (s *Server) updateHostOf(r *http.Request, u *user, kind string, id int) (int, any, *apiError) {
	b, e := s.readValid(r, s.schemaFor(kind, false))
	if e != nil {
		return 0, nil, e
	}
	s.mu.Lock()
	row, e := s.findLocked(kind, u, id)
	if e != nil {
		s.mu.Unlock()
		return 0, nil, e
	}
	if d, ok := b["domain_names"]; ok && kind != kindStream {
		if e := s.domainInUseLocked(strs(d), kind, id); e != nil {
			s.mu.Unlock()
			return 0, nil, e
		}
	}
	if b["certificate_id"] == "new" {
		// Upstream issues the certificate first (domains from the body or
		// the row, meta merged), then patches the host with its id.
		ds := strs(row.cols["domain_names"])
		if d, ok := b["domain_names"]; ok {
			ds = strs(d)
		}
		meta := map[string]any{}
		if m, ok := row.cols["meta"].(map[string]any); ok {
			maps.Copy(meta, m)
		}
		if m, ok := b["meta"].(map[string]any); ok {
			maps.Copy(meta, m)
		}
		s.mu.Unlock()
		cid, e := s.issue(r.Context(), u, ds, meta)
		if e != nil {
			return 0, nil, e
		}
		s.mu.Lock()
		if row, e = s.findLocked(kind, u, id); e != nil {
			s.mu.Unlock()
			return 0, nil, e
		}
		b["certificate_id"] = cid
	}
	defer s.mu.Unlock()
	// Upstream renders a 404 host's nginx config from the row as it was
	// before the update (issue #5806, open in 2.15.1): nginx keeps
	// serving, and judges, the previous settings.
	before := s.preUpdateRow(kind, row)
	for k, v := range b {
		// A sent meta replaces the stored one; the nginx keys are
		// recomputed below.
		row.cols[k] = v
	}
	normalize(kind, row.cols)
	row.modified = s.now()
	if before != nil {
		before.cols["enabled"] = row.cols["enabled"]
		s.runNginxLocked(kind, before)
		meta := map[string]any{}
		if m, ok := row.cols["meta"].(map[string]any); ok {
			meta = maps.Clone(m)
		}
		if bm, ok := before.cols["meta"].(map[string]any); ok {
			meta["nginx_online"], meta["nginx_err"] = bm["nginx_online"], bm["nginx_err"]
		}
		row.cols["meta"] = meta
	} else {
		s.runNginxLocked(kind, row)
	}
	resp := s.renderRowLocked(kind, row, map[string]bool{"owner": true, "certificate": true, "access_list": true, "access_list.items": true, "access_list.clients": true})
	s.auditLocked(u, objType[kind], id, "updated", b)
	return 200, resp, nil
}

// preUpdateRow is the copy of a 404 host's row that upstream renders
// nginx from on update (issue #5806), or nil for the other kinds.
func (s *Server) preUpdateRow(kind string, r *row) *row {
	if kind != kindDead {
		return nil
	}
	return &row{id: r.id, cols: maps.Clone(r.cols)}
}

// HostInfo is what tests can inspect about a stored host.
type HostInfo struct {
	Kind    string
	ID      int
	Domains []string
	Enabled bool
	// Meta is the stored meta object, including anything a client sent
	// (upstream keeps DNS credentials sent with certificate_id "new").
	Meta map[string]any
}

// Hosts lists the live rows of a kind ("proxy_hosts", "redirection_hosts",
// "dead_hosts", "streams"), for assertions such as "no orphan host".
func (s *Server) Hosts(kind string) []HostInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tables[kind]
	if t == nil {
		return nil
	}
	var out []HostInfo
	for _, id := range sortedKeys(t.rows) {
		r := t.rows[id]
		if r.deleted {
			continue
		}
		meta, _ := r.cols["meta"].(map[string]any)
		on, _ := r.cols["enabled"].(bool)
		out = append(out, HostInfo{Kind: kind, ID: id, Domains: strs(r.cols["domain_names"]), Enabled: on, Meta: maps.Clone(meta)})
	}
	return out
}
