package npm

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"time"
)

// crud holds the calls redirection hosts, dead hosts and streams share.
type crud[T any, I ~int] struct {
	c      *Client
	path   string
	noun   string
	decode func([]byte) (T, error)
	nginx  func(T) nginxState
}

// nginxState is what a host answer says about its last `nginx -t`.
type nginxState struct {
	id      int
	enabled bool
	online  *bool
	msg     string
}

// check turns nginx_online=false of an enabled host into a *NginxError.
func (n nginxState) check(op string) error { return nginxErr(op, n.id, n.enabled, n.online, n.msg) }

// written checks a write's answer for nginx's verdict. Create answers are
// built before nginx runs and carry no verdict, so the host is read back
// (as for any enabled answer without one).
func (r crud[T, I]) written(ctx context.Context, op string, id I, v T) (T, error) {
	st := r.nginx(v)
	if st.enabled && st.online == nil {
		rb, err := r.one(ctx, request{op: op + ": read back", method: http.MethodGet, path: r.path + "/" + strconv.Itoa(int(id))})
		if err != nil {
			return v, err
		}
		v, st = rb, r.nginx(rb)
	}
	return v, st.check(op)
}

func (r crud[T, I]) one(ctx context.Context, q request) (T, error) {
	var raw rawAnswer
	var zero T
	q.out = &raw
	if err := r.c.do(ctx, q); err != nil {
		return zero, err
	}
	v, err := r.decode(raw)
	if err != nil {
		return zero, errorf(q.op, "decode answer: %w", err)
	}
	return v, nil
}

func (r crud[T, I]) list(ctx context.Context, opts ListOptions) ([]T, error) {
	var raw rawAnswer
	op := "list " + r.noun + "s"
	if err := r.c.do(ctx, request{op: op, method: http.MethodGet, path: r.path, query: opts.values(), out: &raw}); err != nil {
		return nil, err
	}
	vs, err := decodeList(raw, r.decode)
	if err != nil {
		return nil, errorf(op, "decode answer: %w", err)
	}
	return vs, nil
}

func (r crud[T, I]) get(ctx context.Context, id I) (T, error) {
	return r.one(ctx, request{op: "get " + r.noun + " " + strconv.Itoa(int(id)), method: http.MethodGet, path: r.path + "/" + strconv.Itoa(int(id))})
}

func (r crud[T, I]) create(ctx context.Context, body map[string]any) (T, error) {
	op := "create " + r.noun
	v, err := r.one(ctx, request{op: op, method: http.MethodPost, path: r.path, body: body})
	if err != nil {
		return v, err
	}
	return r.written(ctx, op, I(r.nginx(v).id), v)
}

func (r crud[T, I]) update(ctx context.Context, id I, body map[string]any) (T, error) {
	op := "update " + r.noun + " " + strconv.Itoa(int(id))
	v, err := r.one(ctx, request{op: op, method: http.MethodPut, path: r.path + "/" + strconv.Itoa(int(id)), body: body})
	if err != nil {
		return v, err
	}
	return r.written(ctx, op, id, v)
}

func (r crud[T, I]) delete(ctx context.Context, id I) error {
	return r.c.do(ctx, request{op: "delete " + r.noun + " " + strconv.Itoa(int(id)), method: http.MethodDelete, path: r.path + "/" + strconv.Itoa(int(id))})
}

// toggle enables or disables; enabling writes the nginx config, so the
// host is read back for nginx's verdict.
func (r crud[T, I]) toggle(ctx context.Context, id I, on bool) error {
	verb := "disable"
	if on {
		verb = "enable"
	}
	op := verb + " " + r.noun + " " + strconv.Itoa(int(id))
	if err := r.c.do(ctx, request{op: op, method: http.MethodPost, path: r.path + "/" + strconv.Itoa(int(id)) + "/" + verb}); err != nil || !on {
		return err
	}
	rb, err := r.one(ctx, request{op: op + ": read back", method: http.MethodGet, path: r.path + "/" + strconv.Itoa(int(id))})
	if err != nil {
		return err
	}
	return r.nginx(rb).check(op)
}

func sortedDomains(ds []string) []string {
	d := slices.Clone(ds)
	if d == nil {
		d = []string{}
	}
	sort.Strings(d)
	return d
}

// HostSSL are the TLS settings redirection and 404 hosts share with proxy
// hosts. The server clears SSLForced and HTTP2Support without a
// certificate, HSTSEnabled without SSLForced, HSTSSubdomains without HSTS.
type HostSSL struct {
	CertificateID  CertificateID
	SSLForced      bool
	HSTSEnabled    bool
	HSTSSubdomains bool
	HTTP2Support   bool
}

func (s HostSSL) put(b map[string]any) {
	b["certificate_id"] = int(s.CertificateID)
	b["ssl_forced"] = s.SSLForced
	b["hsts_enabled"] = s.HSTSEnabled
	b["hsts_subdomains"] = s.HSTSSubdomains
	b["http2_support"] = s.HTTP2Support
}

type wireHostSSL struct {
	CertificateID  flexInt  `json:"certificate_id"`
	SSLForced      flexBool `json:"ssl_forced"`
	HSTSEnabled    flexBool `json:"hsts_enabled"`
	HSTSSubdomains flexBool `json:"hsts_subdomains"`
	HTTP2Support   flexBool `json:"http2_support"`
}

func (w wireHostSSL) ssl() HostSSL {
	return HostSSL{CertificateID(w.CertificateID), bool(w.SSLForced), bool(w.HSTSEnabled), bool(w.HSTSSubdomains), bool(w.HTTP2Support)}
}

type wireCommon struct {
	ID          flexInt         `json:"id"`
	CreatedOn   flexTime        `json:"created_on"`
	ModifiedOn  flexTime        `json:"modified_on"`
	OwnerUserID flexInt         `json:"owner_user_id"`
	Enabled     *flexBool       `json:"enabled"`
	Meta        json.RawMessage `json:"meta"`
}

func (w wireCommon) enabled() bool { return w.Enabled == nil || bool(*w.Enabled) }

// RedirectionHost answers every request for its domains with a redirect.
type RedirectionHost struct {
	ID                    RedirectionHostID
	CreatedOn, ModifiedOn time.Time
	OwnerUserID           UserID
	RedirectionHostSpec
	Enabled     bool
	NginxOnline *bool
	NginxErr    string
}

// RedirectionHostSpec is what Create and Update send.
type RedirectionHostSpec struct {
	Domains           []string
	ForwardScheme     string // "auto" (default), "http" or "https"
	ForwardHTTPCode   int    // 300–308; 0 means 301
	ForwardDomainName string
	PreservePath      bool
	BlockExploits     bool
	AdvancedConfig    string
	HostSSL
}

func (s RedirectionHostSpec) body() map[string]any {
	if s.ForwardScheme == "" {
		s.ForwardScheme = "auto"
	}
	if s.ForwardHTTPCode == 0 {
		s.ForwardHTTPCode = 301
	}
	b := map[string]any{
		"domain_names": sortedDomains(s.Domains), "forward_scheme": s.ForwardScheme, "forward_http_code": s.ForwardHTTPCode,
		"forward_domain_name": s.ForwardDomainName, "preserve_path": s.PreservePath, "block_exploits": s.BlockExploits,
		"advanced_config": s.AdvancedConfig, "meta": map[string]any{},
	}
	s.HostSSL.put(b)
	return b
}

func decodeRedirectionHost(data []byte) (RedirectionHost, error) {
	var w struct {
		wireCommon
		wireHostSSL
		DomainNames       []string `json:"domain_names"`
		ForwardScheme     string   `json:"forward_scheme"`
		ForwardHTTPCode   flexInt  `json:"forward_http_code"`
		ForwardDomainName string   `json:"forward_domain_name"`
		PreservePath      flexBool `json:"preserve_path"`
		BlockExploits     flexBool `json:"block_exploits"`
		AdvancedConfig    string   `json:"advanced_config"`
	}
	if err := json.Unmarshal(data, &w); err != nil {
		return RedirectionHost{}, err
	}
	h := RedirectionHost{
		ID: RedirectionHostID(w.ID), CreatedOn: time.Time(w.CreatedOn), ModifiedOn: time.Time(w.ModifiedOn), OwnerUserID: UserID(w.OwnerUserID),
		RedirectionHostSpec: RedirectionHostSpec{
			Domains: w.DomainNames, ForwardScheme: w.ForwardScheme, ForwardHTTPCode: int(w.ForwardHTTPCode),
			ForwardDomainName: w.ForwardDomainName, PreservePath: bool(w.PreservePath), BlockExploits: bool(w.BlockExploits),
			AdvancedConfig: w.AdvancedConfig, HostSSL: w.ssl(),
		},
		Enabled: w.enabled(),
	}
	h.NginxOnline, h.NginxErr = decodeNginx(w.Meta)
	return h, nil
}

// RedirectionHostsService manages redirection hosts. Get it from
// Client.RedirectionHosts.
type RedirectionHostsService struct{ c *Client }

func (s *RedirectionHostsService) crud() crud[RedirectionHost, RedirectionHostID] {
	return crud[RedirectionHost, RedirectionHostID]{s.c, "/nginx/redirection-hosts", "redirection host", decodeRedirectionHost,
		func(h RedirectionHost) nginxState { return nginxState{int(h.ID), h.Enabled, h.NginxOnline, h.NginxErr} }}
}

// List returns the redirection hosts.
//
// NPM API: GET /nginx/redirection-hosts
func (s *RedirectionHostsService) List(ctx context.Context, opts ListOptions) ([]RedirectionHost, error) {
	return s.crud().list(ctx, opts)
}

// Get returns one redirection host.
//
// NPM API: GET /nginx/redirection-hosts/{id}
func (s *RedirectionHostsService) Get(ctx context.Context, id RedirectionHostID) (RedirectionHost, error) {
	return s.crud().get(ctx, id)
}

// Create adds a redirection host (enabled; the server refuses "enabled" on
// create).
// When nginx rejects the generated config the host exists and a
// *NginxError (ErrNginx) is returned with it (the create answer does not
// say, so the host is read back).
//
// NPM API: POST /nginx/redirection-hosts, then GET /nginx/redirection-hosts/{id}
func (s *RedirectionHostsService) Create(ctx context.Context, spec RedirectionHostSpec) (RedirectionHost, error) {
	return s.crud().create(ctx, spec.body())
}

// Update replaces the host's settings with spec.
// When nginx rejects the new config a *NginxError (ErrNginx) is returned
// with the host.
//
// NPM API: PUT /nginx/redirection-hosts/{id}
func (s *RedirectionHostsService) Update(ctx context.Context, id RedirectionHostID, spec RedirectionHostSpec) (RedirectionHost, error) {
	return s.crud().update(ctx, id, spec.body())
}

// Delete removes a redirection host.
//
// NPM API: DELETE /nginx/redirection-hosts/{id}
func (s *RedirectionHostsService) Delete(ctx context.Context, id RedirectionHostID) error {
	return s.crud().delete(ctx, id)
}

// Enable turns a redirection host on (ErrConflict if it already is).
// A *NginxError (ErrNginx) reports a config nginx rejected (the host is
// read back for the verdict).
//
// NPM API: POST /nginx/redirection-hosts/{id}/enable, then GET /nginx/redirection-hosts/{id}
func (s *RedirectionHostsService) Enable(ctx context.Context, id RedirectionHostID) error {
	return s.crud().toggle(ctx, id, true)
}

// Disable turns a redirection host off (ErrConflict if it already is).
//
// NPM API: POST /nginx/redirection-hosts/{id}/disable
func (s *RedirectionHostsService) Disable(ctx context.Context, id RedirectionHostID) error {
	return s.crud().toggle(ctx, id, false)
}

// DeadHost (a "404 host") answers every request for its domains with 404.
type DeadHost struct {
	ID                    DeadHostID
	CreatedOn, ModifiedOn time.Time
	OwnerUserID           UserID
	DeadHostSpec
	Enabled     bool
	NginxOnline *bool
	NginxErr    string
}

// DeadHostSpec is what Create and Update send.
type DeadHostSpec struct {
	Domains        []string
	AdvancedConfig string
	HostSSL
}

func (s DeadHostSpec) body() map[string]any {
	b := map[string]any{"domain_names": sortedDomains(s.Domains), "advanced_config": s.AdvancedConfig, "meta": map[string]any{}}
	s.HostSSL.put(b)
	return b
}

func decodeDeadHost(data []byte) (DeadHost, error) {
	var w struct {
		wireCommon
		wireHostSSL
		DomainNames    []string `json:"domain_names"`
		AdvancedConfig string   `json:"advanced_config"`
	}
	if err := json.Unmarshal(data, &w); err != nil {
		return DeadHost{}, err
	}
	h := DeadHost{
		ID: DeadHostID(w.ID), CreatedOn: time.Time(w.CreatedOn), ModifiedOn: time.Time(w.ModifiedOn), OwnerUserID: UserID(w.OwnerUserID),
		DeadHostSpec: DeadHostSpec{Domains: w.DomainNames, AdvancedConfig: w.AdvancedConfig, HostSSL: w.ssl()},
		Enabled:      w.enabled(),
	}
	h.NginxOnline, h.NginxErr = decodeNginx(w.Meta)
	return h, nil
}

// DeadHostsService manages 404 hosts. Get it from Client.DeadHosts.
type DeadHostsService struct{ c *Client }

func (s *DeadHostsService) crud() crud[DeadHost, DeadHostID] {
	return crud[DeadHost, DeadHostID]{s.c, "/nginx/dead-hosts", "404 host", decodeDeadHost,
		func(h DeadHost) nginxState { return nginxState{int(h.ID), h.Enabled, h.NginxOnline, h.NginxErr} }}
}

// List returns the 404 hosts.
//
// NPM API: GET /nginx/dead-hosts
func (s *DeadHostsService) List(ctx context.Context, opts ListOptions) ([]DeadHost, error) {
	return s.crud().list(ctx, opts)
}

// Get returns one 404 host.
//
// NPM API: GET /nginx/dead-hosts/{id}
func (s *DeadHostsService) Get(ctx context.Context, id DeadHostID) (DeadHost, error) {
	return s.crud().get(ctx, id)
}

// Create adds a 404 host.
// When nginx rejects the generated config the host exists and a
// *NginxError (ErrNginx) is returned with it (the create answer does not
// say, so the host is read back).
//
// NPM API: POST /nginx/dead-hosts, then GET /nginx/dead-hosts/{id}
func (s *DeadHostsService) Create(ctx context.Context, spec DeadHostSpec) (DeadHost, error) {
	return s.crud().create(ctx, spec.body())
}

// Update replaces the host's settings with spec.
// When nginx rejects the new config a *NginxError (ErrNginx) is returned
// with the host. NPM renders a 404 host's nginx config from the row as it
// was before the update (upstream issue #5806, open in 2.15.1), so nginx
// would keep serving, and judging, the old settings: Update sends the PUT
// twice, the second one making the stored settings live.
//
// NPM API: PUT /nginx/dead-hosts/{id} (twice)
func (s *DeadHostsService) Update(ctx context.Context, id DeadHostID, spec DeadHostSpec) (DeadHost, error) {
	body := spec.body()
	r := s.crud()
	if _, err := r.one(ctx, request{op: "update 404 host " + id.String(), method: http.MethodPut, path: r.path + "/" + id.String(), body: body}); err != nil {
		return DeadHost{}, err
	}
	return r.update(ctx, id, body)
}

// Delete removes a 404 host.
//
// NPM API: DELETE /nginx/dead-hosts/{id}
func (s *DeadHostsService) Delete(ctx context.Context, id DeadHostID) error {
	return s.crud().delete(ctx, id)
}

// Enable turns a 404 host on (ErrConflict if it already is).
// A *NginxError (ErrNginx) reports a config nginx rejected (the host is
// read back for the verdict).
//
// NPM API: POST /nginx/dead-hosts/{id}/enable, then GET /nginx/dead-hosts/{id}
func (s *DeadHostsService) Enable(ctx context.Context, id DeadHostID) error {
	return s.crud().toggle(ctx, id, true)
}

// Disable turns a 404 host off (ErrConflict if it already is).
//
// NPM API: POST /nginx/dead-hosts/{id}/disable
func (s *DeadHostsService) Disable(ctx context.Context, id DeadHostID) error {
	return s.crud().toggle(ctx, id, false)
}

// Stream forwards a TCP and/or UDP port.
type Stream struct {
	ID                    StreamID
	CreatedOn, ModifiedOn time.Time
	OwnerUserID           UserID
	StreamSpec
	Enabled     bool
	NginxOnline *bool
	NginxErr    string
}

// StreamSpec is what Create and Update send. The server does not check
// for port clashes; they show up as NginxOnline=false.
type StreamSpec struct {
	IncomingPort   int
	ForwardingHost string // host name, IPv4 or IPv6
	ForwardingPort int
	TCP, UDP       bool
	CertificateID  CertificateID // TLS termination (2.12.3+)
}

func (s StreamSpec) body() map[string]any {
	return map[string]any{
		"incoming_port": s.IncomingPort, "forwarding_host": s.ForwardingHost, "forwarding_port": s.ForwardingPort,
		"tcp_forwarding": s.TCP, "udp_forwarding": s.UDP, "certificate_id": int(s.CertificateID), "meta": map[string]any{},
	}
}

func decodeStream(data []byte) (Stream, error) {
	var w struct {
		wireCommon
		IncomingPort   flexInt  `json:"incoming_port"`
		ForwardingHost string   `json:"forwarding_host"`
		ForwardingPort flexInt  `json:"forwarding_port"`
		TCP            flexBool `json:"tcp_forwarding"`
		UDP            flexBool `json:"udp_forwarding"`
		CertificateID  flexInt  `json:"certificate_id"`
	}
	if err := json.Unmarshal(data, &w); err != nil {
		return Stream{}, err
	}
	s := Stream{
		ID: StreamID(w.ID), CreatedOn: time.Time(w.CreatedOn), ModifiedOn: time.Time(w.ModifiedOn), OwnerUserID: UserID(w.OwnerUserID),
		StreamSpec: StreamSpec{int(w.IncomingPort), w.ForwardingHost, int(w.ForwardingPort), bool(w.TCP), bool(w.UDP), CertificateID(w.CertificateID)},
		Enabled:    w.enabled(),
	}
	s.NginxOnline, s.NginxErr = decodeNginx(w.Meta)
	return s, nil
}

// StreamsService manages streams. Get it from Client.Streams.
type StreamsService struct{ c *Client }

func (s *StreamsService) crud() crud[Stream, StreamID] {
	return crud[Stream, StreamID]{s.c, "/nginx/streams", "stream", decodeStream,
		func(h Stream) nginxState { return nginxState{int(h.ID), h.Enabled, h.NginxOnline, h.NginxErr} }}
}

// List returns the streams.
//
// NPM API: GET /nginx/streams
func (s *StreamsService) List(ctx context.Context) ([]Stream, error) {
	return s.crud().list(ctx, ListOptions{})
}

// Get returns one stream.
//
// NPM API: GET /nginx/streams/{id}
func (s *StreamsService) Get(ctx context.Context, id StreamID) (Stream, error) {
	return s.crud().get(ctx, id)
}

// Create adds a stream.
// When nginx rejects the generated config the host exists and a
// *NginxError (ErrNginx) is returned with it (the create answer does not
// say, so the host is read back).
//
// NPM API: POST /nginx/streams, then GET /nginx/streams/{id}
func (s *StreamsService) Create(ctx context.Context, spec StreamSpec) (Stream, error) {
	return s.crud().create(ctx, spec.body())
}

// Update replaces the stream's settings with spec.
// When nginx rejects the new config a *NginxError (ErrNginx) is returned
// with the host.
//
// NPM API: PUT /nginx/streams/{id}
func (s *StreamsService) Update(ctx context.Context, id StreamID, spec StreamSpec) (Stream, error) {
	return s.crud().update(ctx, id, spec.body())
}

// Delete removes a stream.
//
// NPM API: DELETE /nginx/streams/{id}
func (s *StreamsService) Delete(ctx context.Context, id StreamID) error {
	return s.crud().delete(ctx, id)
}

// Enable turns a stream on (ErrConflict if it already is).
// A *NginxError (ErrNginx) reports a config nginx rejected (the host is
// read back for the verdict).
//
// NPM API: POST /nginx/streams/{id}/enable, then GET /nginx/streams/{id}
func (s *StreamsService) Enable(ctx context.Context, id StreamID) error {
	return s.crud().toggle(ctx, id, true)
}

// Disable turns a stream off (ErrConflict if it already is).
//
// NPM API: POST /nginx/streams/{id}/disable
func (s *StreamsService) Disable(ctx context.Context, id StreamID) error {
	return s.crud().toggle(ctx, id, false)
}
