package npm

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"time"
)

// Relation names accepted by ?expand= on host lists.
const (
	ExpandOwner       = "owner"
	ExpandCertificate = "certificate"
	ExpandAccessList  = "access_list"
)

// ListOptions filter and enrich a list call.
type ListOptions struct {
	// Query is a substring matched by the server (SQL LIKE) against the
	// domain names (or name, for access lists).
	Query string
	// Expand names relations to embed, e.g. ExpandCertificate.
	Expand []string
}

func (o ListOptions) values() url.Values {
	q := url.Values{}
	if o.Query != "" {
		q.Set("query", o.Query)
	}
	if len(o.Expand) > 0 {
		q.Set("expand", strings.Join(o.Expand, ","))
	}
	return q
}

// Location is a custom location block of a proxy host.
type Location struct {
	Path           string // e.g. "/api"
	ForwardScheme  string // "http" or "https"
	ForwardHost    string
	ForwardPort    int
	ForwardPath    string
	AdvancedConfig string
}

// ProxyHost is a proxy host as the server stores it.
type ProxyHost struct {
	ID                    ProxyHostID
	CreatedOn, ModifiedOn time.Time
	OwnerUserID           UserID
	Domains               []string // sorted by the server
	ForwardScheme         string   // "http" or "https"
	ForwardHost           string
	ForwardPort           int
	CertificateID         CertificateID // 0: no certificate
	SSLForced             bool
	HSTSEnabled           bool
	HSTSSubdomains        bool
	HTTP2Support          bool
	BlockExploits         bool
	CachingEnabled        bool
	AllowWebsocketUpgrade bool
	TrustForwardedProto   bool         // NPM 2.14+
	AccessListID          AccessListID // 0: public
	AdvancedConfig        string
	Enabled               bool
	Locations             []Location
	// NginxOnline is the result of the server's last `nginx -t` for this
	// host; nil when the answer did not say (create answers never do).
	NginxOnline *bool
	// NginxErr is nginx's complaint when NginxOnline is false.
	NginxErr string
	// Certificate and AccessList are set when the list or get expanded
	// them.
	Certificate *Certificate
	AccessList  *AccessList
}

type wireLocation struct {
	Path           string  `json:"path"`
	ForwardScheme  string  `json:"forward_scheme"`
	ForwardHost    string  `json:"forward_host"`
	ForwardPort    flexInt `json:"forward_port"`
	ForwardPath    string  `json:"forward_path"`
	AdvancedConfig string  `json:"advanced_config"`
}

type wireHostMeta struct {
	NginxOnline *flexBool `json:"nginx_online"`
	NginxErr    *string   `json:"nginx_err"`
}

type wireProxyHost struct {
	ID                    flexInt         `json:"id"`
	CreatedOn             flexTime        `json:"created_on"`
	ModifiedOn            flexTime        `json:"modified_on"`
	OwnerUserID           flexInt         `json:"owner_user_id"`
	DomainNames           []string        `json:"domain_names"`
	ForwardScheme         string          `json:"forward_scheme"`
	ForwardHost           string          `json:"forward_host"`
	ForwardPort           flexInt         `json:"forward_port"`
	CertificateID         flexInt         `json:"certificate_id"`
	SSLForced             flexBool        `json:"ssl_forced"`
	HSTSEnabled           flexBool        `json:"hsts_enabled"`
	HSTSSubdomains        flexBool        `json:"hsts_subdomains"`
	HTTP2Support          flexBool        `json:"http2_support"`
	BlockExploits         flexBool        `json:"block_exploits"`
	CachingEnabled        flexBool        `json:"caching_enabled"`
	AllowWebsocketUpgrade flexBool        `json:"allow_websocket_upgrade"`
	TrustForwardedProto   flexBool        `json:"trust_forwarded_proto"`
	AccessListID          flexInt         `json:"access_list_id"`
	AdvancedConfig        string          `json:"advanced_config"`
	Enabled               *flexBool       `json:"enabled"`
	Locations             []wireLocation  `json:"locations"`
	Meta                  json.RawMessage `json:"meta"`
	Certificate           json.RawMessage `json:"certificate"`
	AccessList            json.RawMessage `json:"access_list"`
}

// decodeProxyHost converts one wire object. Host meta may hold a DNS
// provider token (certificate_id "new" flows store it there); only the
// nginx keys are read, so it never reaches a Go value.
func decodeProxyHost(data []byte) (ProxyHost, error) {
	var w wireProxyHost
	if err := json.Unmarshal(data, &w); err != nil {
		return ProxyHost{}, err
	}
	return w.host()
}

func (w wireProxyHost) host() (ProxyHost, error) {
	h := ProxyHost{
		ID: ProxyHostID(w.ID), CreatedOn: time.Time(w.CreatedOn), ModifiedOn: time.Time(w.ModifiedOn),
		OwnerUserID: UserID(w.OwnerUserID), Domains: w.DomainNames, ForwardScheme: w.ForwardScheme,
		ForwardHost: w.ForwardHost, ForwardPort: int(w.ForwardPort), CertificateID: CertificateID(w.CertificateID),
		SSLForced: bool(w.SSLForced), HSTSEnabled: bool(w.HSTSEnabled), HSTSSubdomains: bool(w.HSTSSubdomains),
		HTTP2Support: bool(w.HTTP2Support), BlockExploits: bool(w.BlockExploits), CachingEnabled: bool(w.CachingEnabled),
		AllowWebsocketUpgrade: bool(w.AllowWebsocketUpgrade), TrustForwardedProto: bool(w.TrustForwardedProto),
		AccessListID: AccessListID(w.AccessListID), AdvancedConfig: w.AdvancedConfig, Enabled: true,
	}
	if w.Enabled != nil {
		h.Enabled = bool(*w.Enabled)
	}
	for _, l := range w.Locations {
		h.Locations = append(h.Locations, Location{l.Path, l.ForwardScheme, l.ForwardHost, int(l.ForwardPort), l.ForwardPath, l.AdvancedConfig})
	}
	h.NginxOnline, h.NginxErr = decodeNginx(w.Meta)
	if isObject(w.Certificate) {
		c, err := decodeCertificate(w.Certificate)
		if err != nil {
			return ProxyHost{}, fmt.Errorf("certificate: %w", err)
		}
		h.Certificate = &c
	}
	if isObject(w.AccessList) {
		a, err := decodeAccessList(w.AccessList)
		if err != nil {
			return ProxyHost{}, fmt.Errorf("access_list: %w", err)
		}
		h.AccessList = &a
	}
	return h, nil
}

func decodeNginx(meta json.RawMessage) (*bool, string) {
	if !isObject(meta) {
		return nil, ""
	}
	var m wireHostMeta
	if json.Unmarshal(meta, &m) != nil || m.NginxOnline == nil {
		return nil, ""
	}
	on := bool(*m.NginxOnline)
	e := ""
	if m.NginxErr != nil {
		e = *m.NginxErr
	}
	return &on, e
}

func isObject(raw json.RawMessage) bool {
	for _, b := range raw {
		switch b {
		case ' ', '\t', '\r', '\n':
			continue
		case '{':
			return true
		}
		return false
	}
	return false
}

// decodeList decodes a bare JSON array element by element.
func decodeList[T any](data []byte, one func([]byte) (T, error)) ([]T, error) {
	var raw []json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, err
	}
	out := make([]T, 0, len(raw))
	for i, r := range raw {
		v, err := one(r)
		if err != nil {
			return nil, fmt.Errorf("item %d: %w", i, err)
		}
		out = append(out, v)
	}
	return out, nil
}

// rawAnswer collects an answer for a custom decoder.
type rawAnswer []byte

func (r *rawAnswer) UnmarshalJSON(b []byte) error { *r = append((*r)[:0], b...); return nil }

// ProxyHostSpec is the desired state of a proxy host: what Create sends and
// what ProxyHosts.Ensure converges to. Its zero values are the server's
// defaults (http, no certificate, every option off, enabled).
type ProxyHostSpec struct {
	Domains               []string
	ForwardScheme         string // "http" (default) or "https"
	ForwardHost           string
	ForwardPort           int
	CertificateID         CertificateID
	SSLForced             bool
	HSTSEnabled           bool
	HSTSSubdomains        bool
	HTTP2Support          bool
	BlockExploits         bool
	CachingEnabled        bool
	AllowWebsocketUpgrade bool
	TrustForwardedProto   bool // needs NPM 2.14+
	AccessListID          AccessListID
	AdvancedConfig        string
	Locations             []Location
	Disabled              bool
}

// normalized applies the rewrites the server makes on save, so a spec can
// be compared with what the server stores: domains sorted; no certificate
// means no forced SSL and no HTTP/2; no forced SSL means no HSTS; no HSTS
// means no HSTS for subdomains.
func (s ProxyHostSpec) normalized() ProxyHostSpec {
	s.Domains = slices.Clone(s.Domains)
	for i, d := range s.Domains {
		s.Domains[i] = strings.TrimSpace(d)
	}
	sort.Strings(s.Domains)
	if s.ForwardScheme == "" {
		s.ForwardScheme = "http"
	}
	if s.CertificateID == 0 {
		s.SSLForced, s.HTTP2Support = false, false
	}
	if !s.SSLForced {
		s.HSTSEnabled = false
	}
	if !s.HSTSEnabled {
		s.HSTSSubdomains = false
	}
	return s
}

func (s ProxyHostSpec) check(f features) error {
	if len(s.Domains) == 0 {
		return fmt.Errorf("no domain names: %w", ErrInvalid)
	}
	if s.ForwardHost == "" || s.ForwardPort < 1 || s.ForwardPort > 65535 {
		return fmt.Errorf("forward host and port 1-65535 are required: %w", ErrInvalid)
	}
	if s.TrustForwardedProto && !f.trustForwardedProto() {
		return fmt.Errorf("trust_forwarded_proto needs npm 2.14 or newer (server runs %s): %w", f.v, ErrUnsupported)
	}
	return nil
}

func locationsBody(ls []Location) []map[string]any {
	out := make([]map[string]any, 0, len(ls))
	for _, l := range ls {
		scheme := l.ForwardScheme
		if scheme == "" {
			scheme = "http"
		}
		m := map[string]any{"path": l.Path, "forward_scheme": scheme, "forward_host": l.ForwardHost, "forward_port": l.ForwardPort}
		if l.ForwardPath != "" {
			m["forward_path"] = l.ForwardPath
		}
		if l.AdvancedConfig != "" {
			m["advanced_config"] = l.AdvancedConfig
		}
		out = append(out, m)
	}
	return out
}

// createBody is the POST body: every field the spec sets, nothing
// read-only, trust_forwarded_proto only for servers that know it.
func (s ProxyHostSpec) createBody(f features) map[string]any {
	s = s.normalized()
	b := map[string]any{
		"domain_names":            s.Domains,
		"forward_scheme":          s.ForwardScheme,
		"forward_host":            s.ForwardHost,
		"forward_port":            s.ForwardPort,
		"certificate_id":          int(s.CertificateID),
		"ssl_forced":              s.SSLForced,
		"hsts_enabled":            s.HSTSEnabled,
		"hsts_subdomains":         s.HSTSSubdomains,
		"http2_support":           s.HTTP2Support,
		"block_exploits":          s.BlockExploits,
		"caching_enabled":         s.CachingEnabled,
		"allow_websocket_upgrade": s.AllowWebsocketUpgrade,
		"access_list_id":          int(s.AccessListID),
		"advanced_config":         s.AdvancedConfig,
		"enabled":                 !s.Disabled,
		"meta":                    map[string]any{},
	}
	if len(s.Locations) > 0 {
		b["locations"] = locationsBody(s.Locations)
	}
	if f.trustForwardedProto() {
		b["trust_forwarded_proto"] = s.TrustForwardedProto
	}
	return b
}

// Ptr returns a pointer to v, for the optional fields of update structs.
func Ptr[T any](v T) *T { return &v }

// ProxyHostUpdate is a partial update: nil fields keep their value. The
// enabled state is changed with Enable and Disable, which (unlike a PUT)
// rewrite the nginx config.
type ProxyHostUpdate struct {
	Domains               []string
	ForwardScheme         *string
	ForwardHost           *string
	ForwardPort           *int
	CertificateID         *CertificateID
	SSLForced             *bool
	HSTSEnabled           *bool
	HSTSSubdomains        *bool
	HTTP2Support          *bool
	BlockExploits         *bool
	CachingEnabled        *bool
	AllowWebsocketUpgrade *bool
	TrustForwardedProto   *bool // needs NPM 2.14+
	AccessListID          *AccessListID
	AdvancedConfig        *string
	Locations             *[]Location
}

func (u ProxyHostUpdate) body(f features) (map[string]any, error) {
	b := map[string]any{}
	if u.Domains != nil {
		d := slices.Clone(u.Domains)
		sort.Strings(d)
		b["domain_names"] = d
	}
	put := func(k string, p any) {
		switch v := p.(type) {
		case *string:
			if v != nil {
				b[k] = *v
			}
		case *int:
			if v != nil {
				b[k] = *v
			}
		case *CertificateID:
			if v != nil {
				b[k] = int(*v)
			}
		case *AccessListID:
			if v != nil {
				b[k] = int(*v)
			}
		case *bool:
			if v != nil {
				b[k] = *v
			}
		}
	}
	put("forward_scheme", u.ForwardScheme)
	put("forward_host", u.ForwardHost)
	put("forward_port", u.ForwardPort)
	put("certificate_id", u.CertificateID)
	put("ssl_forced", u.SSLForced)
	put("hsts_enabled", u.HSTSEnabled)
	put("hsts_subdomains", u.HSTSSubdomains)
	put("http2_support", u.HTTP2Support)
	put("block_exploits", u.BlockExploits)
	put("caching_enabled", u.CachingEnabled)
	put("allow_websocket_upgrade", u.AllowWebsocketUpgrade)
	put("access_list_id", u.AccessListID)
	put("advanced_config", u.AdvancedConfig)
	if u.TrustForwardedProto != nil {
		if !f.trustForwardedProto() {
			return nil, fmt.Errorf("trust_forwarded_proto needs npm 2.14 or newer (server runs %s): %w", f.v, ErrUnsupported)
		}
		b["trust_forwarded_proto"] = *u.TrustForwardedProto
	}
	if u.Locations != nil {
		b["locations"] = locationsBody(*u.Locations)
	}
	if len(b) == 0 {
		return nil, fmt.Errorf("empty update: %w", ErrInvalid)
	}
	return b, nil
}

// ProxyHostsService manages proxy hosts. Get it from Client.ProxyHosts.
type ProxyHostsService struct{ c *Client }

// List returns the proxy hosts the user can see, sorted by domain.
//
// NPM API: GET /nginx/proxy-hosts?expand=…&query=…
func (s *ProxyHostsService) List(ctx context.Context, opts ListOptions) ([]ProxyHost, error) {
	var raw rawAnswer
	op := "list proxy hosts"
	if err := s.c.do(ctx, request{op: op, method: http.MethodGet, path: "/nginx/proxy-hosts", query: opts.values(), out: &raw}); err != nil {
		return nil, err
	}
	hs, err := decodeList(raw, decodeProxyHost)
	if err != nil {
		return nil, errorf(op, "decode answer: %w", err)
	}
	return hs, nil
}

// Get returns one proxy host.
//
// NPM API: GET /nginx/proxy-hosts/{id}?expand=…
func (s *ProxyHostsService) Get(ctx context.Context, id ProxyHostID, expand ...string) (ProxyHost, error) {
	return s.get(ctx, "get proxy host "+id.String(), id, expand...)
}

func (s *ProxyHostsService) get(ctx context.Context, op string, id ProxyHostID, expand ...string) (ProxyHost, error) {
	var raw rawAnswer
	q := ListOptions{Expand: expand}.values()
	if err := s.c.do(ctx, request{op: op, method: http.MethodGet, path: "/nginx/proxy-hosts/" + id.String(), query: q, out: &raw}); err != nil {
		return ProxyHost{}, err
	}
	h, err := decodeProxyHost(raw)
	if err != nil {
		return ProxyHost{}, errorf(op, "decode answer: %w", err)
	}
	return h, nil
}

// Create adds a proxy host, then reads it back: the create answer is built
// before nginx runs, so only the read shows whether nginx accepted the
// config. When it did not, the host exists and a *NginxError (ErrNginx) is
// returned with it. Attach certificates by id (create them first with
// Certificates); this client never sends certificate_id "new".
//
// NPM API: POST /nginx/proxy-hosts, then GET /nginx/proxy-hosts/{id}
func (s *ProxyHostsService) Create(ctx context.Context, spec ProxyHostSpec) (ProxyHost, error) {
	op := "create proxy host " + strings.Join(spec.Domains, ",")
	f, err := s.c.features(ctx)
	if err != nil {
		return ProxyHost{}, opErr(op, err)
	}
	if err := spec.check(f); err != nil {
		return ProxyHost{}, opErr(op, err)
	}
	var raw rawAnswer
	if err := s.c.do(ctx, request{op: op, method: http.MethodPost, path: "/nginx/proxy-hosts", body: spec.createBody(f), out: &raw}); err != nil {
		return ProxyHost{}, err
	}
	h, err := decodeProxyHost(raw)
	if err != nil {
		return ProxyHost{}, errorf(op, "decode answer: %w", err)
	}
	rb, err := s.readBack(ctx, op, h.ID)
	if rb.ID == 0 {
		rb = h
	}
	return rb, err
}

// readBack fetches the host after a write and turns nginx_online=false into
// an error.
func (s *ProxyHostsService) readBack(ctx context.Context, op string, id ProxyHostID) (ProxyHost, error) {
	h, err := s.get(ctx, op+": read back", id, ExpandCertificate, ExpandAccessList)
	if err != nil {
		return h, err
	}
	return h, nginxErr(op, int(h.ID), h.Enabled, h.NginxOnline, h.NginxErr)
}

func nginxErr(op string, id int, enabled bool, online *bool, msg string) error {
	if enabled && online != nil && !*online {
		return &Error{Op: op, Err: &NginxError{HostID: id, Message: msg}}
	}
	return nil
}

// Update changes the fields set in u and leaves the others. Read-only
// fields are never sent. The answer of an enabled host carries the nginx
// result; when nginx rejected the config a *NginxError is returned with
// the updated host.
//
// NPM API: PUT /nginx/proxy-hosts/{id}
func (s *ProxyHostsService) Update(ctx context.Context, id ProxyHostID, u ProxyHostUpdate) (ProxyHost, error) {
	op := "update proxy host " + id.String()
	f, err := s.c.features(ctx)
	if err != nil {
		return ProxyHost{}, opErr(op, err)
	}
	body, err := u.body(f)
	if err != nil {
		return ProxyHost{}, opErr(op, err)
	}
	return s.put(ctx, op, id, body)
}

func (s *ProxyHostsService) put(ctx context.Context, op string, id ProxyHostID, body map[string]any) (ProxyHost, error) {
	var raw rawAnswer
	if err := s.c.do(ctx, request{op: op, method: http.MethodPut, path: "/nginx/proxy-hosts/" + id.String(), body: body, out: &raw}); err != nil {
		return ProxyHost{}, err
	}
	h, err := decodeProxyHost(raw)
	if err != nil {
		return ProxyHost{}, errorf(op, "decode answer: %w", err)
	}
	if h.Enabled && h.NginxOnline == nil {
		return s.readBack(ctx, op, id)
	}
	return h, nginxErr(op, int(h.ID), h.Enabled, h.NginxOnline, h.NginxErr)
}

// Delete removes a proxy host (the server keeps a soft-deleted row; the id
// is never reused).
//
// NPM API: DELETE /nginx/proxy-hosts/{id}
func (s *ProxyHostsService) Delete(ctx context.Context, id ProxyHostID) error {
	return s.c.do(ctx, request{op: "delete proxy host " + id.String(), method: http.MethodDelete, path: "/nginx/proxy-hosts/" + id.String()})
}

// Enable turns a host on and checks that nginx accepted its config. A host
// that is already enabled gives an error matching ErrConflict.
//
// NPM API: POST /nginx/proxy-hosts/{id}/enable
func (s *ProxyHostsService) Enable(ctx context.Context, id ProxyHostID) (ProxyHost, error) {
	op := "enable proxy host " + id.String()
	if err := s.c.do(ctx, request{op: op, method: http.MethodPost, path: "/nginx/proxy-hosts/" + id.String() + "/enable"}); err != nil {
		return ProxyHost{}, err
	}
	return s.readBack(ctx, op, id)
}

// Disable turns a host off. A host that is already disabled gives an error
// matching ErrConflict.
//
// NPM API: POST /nginx/proxy-hosts/{id}/disable
func (s *ProxyHostsService) Disable(ctx context.Context, id ProxyHostID) error {
	op := "disable proxy host " + id.String()
	return s.c.do(ctx, request{op: op, method: http.MethodPost, path: "/nginx/proxy-hosts/" + id.String() + "/disable"})
}
