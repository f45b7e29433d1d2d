package dnstest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/thehomelab/homelab/internal/fakeserver"
)

// SeedZone is the zone every new Server holds.
const SeedZone = "thehomelab.site"

// SeedToken is the API token every new Server accepts, with every
// permission on every zone.
const SeedToken = "dnstest-token-0000000000000000000000000"

// Endpoints, as Request.Endpoint names them: method and path template
// below /client/v4.
const (
	EndpointVerifyToken = "GET /user/tokens/verify"
	// EndpointVerifyAccountToken verifies account-owned tokens.
	EndpointVerifyAccountToken = "GET /accounts/{account_id}/tokens/verify"
	EndpointListZones          = "GET /zones"
	EndpointListRecords        = "GET /zones/{zone_id}/dns_records"
	EndpointGetRecord          = "GET /zones/{zone_id}/dns_records/{id}"
	EndpointCreateRecord       = "POST /zones/{zone_id}/dns_records"
	EndpointPatchRecord        = "PATCH /zones/{zone_id}/dns_records/{id}"
	EndpointPutRecord          = "PUT /zones/{zone_id}/dns_records/{id}"
	EndpointDeleteRecord       = "DELETE /zones/{zone_id}/dns_records/{id}"
)

const apiPrefix = "/client/v4"

// Permission is a Cloudflare API token permission group, in the spelling of
// token policies.
type Permission string

// The permissions the fake checks.
const (
	ZoneRead Permission = "#zone:read"
	DNSRead  Permission = "#dns_records:read"
	DNSEdit  Permission = "#dns_records:edit"
)

// Token is an API token the fake accepts.
type Token struct {
	// Value is the bearer secret.
	Value string
	// ID is reported by tokens/verify; empty means one is generated.
	ID string
	// Status is "active" (the default when empty), "disabled" or "expired".
	Status string
	// Permissions the token grants; DNSEdit implies DNSRead.
	Permissions []Permission
	// Zones limits the token to these zone names; empty means all zones.
	Zones []string
	// Account, when set, makes the token account-owned: like Cloudflare,
	// user/tokens/verify then rejects it and only
	// accounts/{Account}/tokens/verify accepts it.
	Account string
}

// Zone is a zone in the fake. AddZone fills the account, type and dates.
type Zone struct {
	ID     string
	Name   string
	Status string
	// Type is "full" (the default when empty), "partial", "secondary" or
	// "internal".
	Type string
	// AccountID and AccountName are the owning account.
	AccountID   string
	AccountName string
	CreatedOn   time.Time
}

// SeedAccountID and SeedAccountName are the account every zone AddZone
// creates belongs to.
const (
	SeedAccountID   = "a0000000000000000000000000000001"
	SeedAccountName = "Homelab"
)

// Record is a DNS record in the fake, in wire terms (TTL in seconds, 1 is
// automatic).
type Record struct {
	ID       string
	ZoneID   string
	ZoneName string
	Type     string
	Name     string
	Content  string
	TTL      int
	Proxied  bool
	Comment  string
	Tags     []string
	// Settings are the record's settings (ipv4_only, ipv6_only,
	// flatten_cname); unset ones are false.
	Settings          map[string]bool
	CreatedOn         time.Time
	ModifiedOn        time.Time
	CommentModifiedOn time.Time
	TagsModifiedOn    time.Time
}

// FaultKind is a failure the fake can inject.
type FaultKind int

// Fault kinds.
const (
	// Fail500 answers 500 with an error envelope.
	Fail500 FaultKind = iota + 1
	// FailSuccessFalse answers 200 with "success": false (and does nothing).
	FailSuccessFalse
	// FailDrop closes the connection without answering.
	FailDrop
	// Fail429 answers 429 with Retry-After.
	Fail429
)

// Fault injects failures on requests matching Endpoint (one of the
// Endpoint constants; empty matches every request). The first Skip matching
// requests pass, the next Times fail (0 means every one after Skip, until
// ClearFaults). Skip counts every matching request, even one an earlier
// fault answered, so faults injected together fail the requests each one
// names. A faulted request changes nothing.
type Fault struct {
	// Endpoint is an Endpoint constant, or "" for every request.
	Endpoint string
	// Kind is the failure.
	Kind FaultKind
	// Skip and Times select which matching requests fail.
	Skip  int
	Times int
	// RetryAfter is sent with Fail429; zero means 1 s.
	RetryAfter time.Duration
}

// Request is one request the fake received, in arrival order.
type Request struct {
	// Method is the HTTP method.
	Method string
	// Path is the URL path as sent, e.g.
	// "/client/v4/zones/…/dns_records".
	Path string
	// Query is the raw query string.
	Query string
	// Endpoint is the Endpoint constant the request was routed to ("" for
	// an unknown route).
	Endpoint string
	// Time is when it arrived.
	Time time.Time
}

// Option configures a Server.
type Option func(*Server)

// WithLatency delays every answer by d (see SetLatency).
func WithLatency(d time.Duration) Option { return func(s *Server) { s.latency.Set(d) } }

// WithRateLimit starts the server with a rate limiter (see SetRateLimit).
func WithRateLimit(limit int, window time.Duration) Option {
	return func(s *Server) { s.rlLimit, s.rlWindow, s.rlStart = limit, window, s.now() }
}

// WithMaxPerPage caps per_page on list calls (see SetMaxPerPage).
func WithMaxPerPage(n int) Option { return func(s *Server) { s.maxPage = max(n, 1) } }

// Server is a fake Cloudflare API. Its methods are safe for concurrent use.
type Server struct {
	// URL is the server's root, e.g. http://127.0.0.1:1234; the API lives
	// under URL + "/client/v4" (see BaseURL).
	URL string

	srv *httptest.Server

	log     fakeserver.Log[Request]
	faults  fakeserver.Faults[Fault]
	latency fakeserver.Latency

	mu       sync.Mutex
	zones    []Zone
	records  []Record
	tokens   map[string]Token
	seq      int
	rlLimit  int
	rlWindow time.Duration
	rlStart  time.Time
	rlUsed   int
	maxPage  int
	now      func() time.Time
}

// NewServer starts a fake on 127.0.0.1, seeded with SeedZone (and its apex
// A record 198.51.100.7, proxied) and SeedToken. Close it when done. Like
// httptest.NewServer it panics if it cannot listen.
func NewServer(opts ...Option) *Server {
	s := &Server{
		tokens:  map[string]Token{},
		maxPage: 5000,
		now:     time.Now,
	}
	for _, o := range opts {
		if o != nil {
			o(s)
		}
	}
	s.AddToken(Token{Value: SeedToken, ID: "seedtoken", Permissions: []Permission{ZoneRead, DNSRead, DNSEdit}})
	s.AddZone(SeedZone)
	s.AddRecord(Record{ZoneName: SeedZone, Type: "A", Name: SeedZone, Content: "198.51.100.7", TTL: 1, Proxied: true, Comment: "reverse proxy"})

	mux := http.NewServeMux()
	handle := func(endpoint string, h func(w http.ResponseWriter, r *http.Request, tok Token)) {
		method, path, _ := strings.Cut(endpoint, " ")
		mux.HandleFunc(method+" "+apiPrefix+path, func(w http.ResponseWriter, r *http.Request) {
			s.serve(endpoint, w, r, h)
		})
	}
	handle(EndpointVerifyToken, s.verifyToken)
	handle(EndpointVerifyAccountToken, s.verifyAccountToken)
	handle(EndpointListZones, s.listZones)
	handle(EndpointListRecords, s.listRecords)
	handle(EndpointGetRecord, s.getRecord)
	handle(EndpointCreateRecord, s.createRecord)
	handle(EndpointPatchRecord, s.patchRecord)
	handle(EndpointPutRecord, s.putRecord)
	handle(EndpointDeleteRecord, s.deleteRecord)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.record("", r)
		writeErr(w, http.StatusBadRequest, 7000, "No route for that URI")
	})

	srv, _, err := fakeserver.NewHTTP(mux, false)
	if err != nil {
		panic("dnstest: " + err.Error())
	}
	s.srv = srv
	s.URL = srv.URL
	return s
}

// Start is NewServer for a test: the server is closed in tb.Cleanup.
func Start(tb testing.TB, opts ...Option) *Server {
	tb.Helper()
	s := NewServer(opts...)
	tb.Cleanup(s.Close)
	return s
}

// BaseURL is the API base, URL + "/client/v4".
func (s *Server) BaseURL() string { return s.URL + apiPrefix }

// Close shuts the server down and waits for its requests to finish. It is
// idempotent.
func (s *Server) Close() {
	s.mu.Lock()
	srv := s.srv
	s.srv = nil
	s.mu.Unlock()
	if srv != nil {
		srv.CloseClientConnections()
		srv.Close()
	}
}

// AddToken makes the fake accept a token.
func (s *Server) AddToken(t Token) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if t.ID == "" {
		t.ID = s.nextID()
	}
	if t.Status == "" {
		t.Status = "active"
	}
	s.tokens[t.Value] = t
}

// AddZone adds an active zone and returns it.
func (s *Server) AddZone(name string) Zone {
	s.mu.Lock()
	defer s.mu.Unlock()
	z := Zone{ID: s.nextID(), Name: strings.ToLower(name), Status: "active", Type: "full",
		AccountID: SeedAccountID, AccountName: SeedAccountName, CreatedOn: s.now().UTC()}
	s.zones = append(s.zones, z)
	return z
}

// Zone returns the zone with the given name.
func (s *Server) Zone(name string) (Zone, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, z := range s.zones {
		if z.Name == strings.ToLower(name) {
			return z, true
		}
	}
	return Zone{}, false
}

// AddRecord stores a record as is (no validation), filling ID, ZoneID
// (from ZoneName) and timestamps when empty, and returns it.
func (s *Server) AddRecord(r Record) Record {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, z := range s.zones {
		if z.Name == r.ZoneName || z.ID == r.ZoneID {
			r.ZoneID, r.ZoneName = z.ID, z.Name
		}
	}
	if r.ID == "" {
		r.ID = s.nextID()
	}
	if r.TTL == 0 {
		r.TTL = 1
	}
	if r.CreatedOn.IsZero() {
		r.CreatedOn = s.now().UTC()
		r.ModifiedOn = r.CreatedOn
	}
	if r.Comment != "" && r.CommentModifiedOn.IsZero() {
		r.CommentModifiedOn = r.ModifiedOn
	}
	if len(r.Tags) > 0 && r.TagsModifiedOn.IsZero() {
		r.TagsModifiedOn = r.ModifiedOn
	}
	r.Tags = slices.Clone(r.Tags)
	r.Settings = maps.Clone(r.Settings)
	s.records = append(s.records, r)
	return r
}

// SetRecord overwrites the stored record with r.ID (as a dashboard edit
// would) and reports whether it existed.
func (s *Server) SetRecord(r Record) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range s.records {
		if s.records[i].ID == r.ID {
			r.ZoneID, r.ZoneName = s.records[i].ZoneID, s.records[i].ZoneName
			r.Tags = slices.Clone(r.Tags)
			r.Settings = maps.Clone(r.Settings)
			r.ModifiedOn = s.now().UTC()
			s.records[i] = r
			return true
		}
	}
	return false
}

// RemoveRecord deletes the record with id (as a dashboard edit would) and
// reports whether it existed.
func (s *Server) RemoveRecord(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range s.records {
		if s.records[i].ID == id {
			s.records = slices.Delete(s.records, i, i+1)
			return true
		}
	}
	return false
}

// Records returns a copy of the records with the given name (every record
// when name is empty), in creation order.
func (s *Server) Records(name string) []Record {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Record
	for _, r := range s.records {
		if name == "" || r.Name == strings.ToLower(name) {
			r.Tags = slices.Clone(r.Tags)
			r.Settings = maps.Clone(r.Settings)
			out = append(out, r)
		}
	}
	return out
}

// Requests returns a copy of every request received so far, in arrival
// order, including those answered with an injected fault or 429. Count one
// endpoint by filtering on Request.Endpoint.
//
// The server keeps the most recent requests: fakeserver.DefaultLogLimit
// (10,000) unless SetRequestLimit says otherwise, so a long demo does not
// grow without bound; the fakes are meant for tests and demos.
func (s *Server) Requests() []Request { return s.log.All() }

// SetRequestLimit sets how many of the most recent requests Requests
// keeps (0 or less: fakeserver.DefaultLogLimit, 10,000); a benchmark that
// counts round trips over many iterations raises it.
func (s *Server) SetRequestLimit(n int) { s.log.SetLimit(n) }

// ResetRequests forgets the requests received so far.
func (s *Server) ResetRequests() { s.log.Reset() }

// SetLatency delays every answer by d (0 turns it off).
func (s *Server) SetLatency(d time.Duration) { s.latency.Set(d) }

// SetRateLimit lets limit requests through per window and answers the
// rest with 429 and a Retry-After of the time left in the window, as
// Cloudflare does (1,200 per 5 minutes). limit 0 turns the limiter off.
func (s *Server) SetRateLimit(limit int, window time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rlLimit, s.rlWindow, s.rlStart, s.rlUsed = limit, window, s.now(), 0
}

// SetMaxPerPage caps per_page on list calls (Cloudflare allows up to 5000
// for DNS records); tests lower it to exercise pagination.
func (s *Server) SetMaxPerPage(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.maxPage = max(n, 1)
}

// Inject adds a fault. Faults are checked in the order added.
func (s *Server) Inject(f Fault) { s.faults.AddAfter(f, f.Skip, f.Times) }

// ClearFaults removes every injected fault.
func (s *Server) ClearFaults() { s.faults.Clear() }

func (s *Server) record(endpoint string, r *http.Request) {
	s.log.Add(Request{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Endpoint: endpoint, Time: s.now()})
}

func (s *Server) nextID() string {
	s.seq++
	return fmt.Sprintf("%032x", 0xd0e5000+s.seq)
}

// serve runs the per-request pipeline: count, latency, faults, rate
// limit, authentication, handler.
func (s *Server) serve(endpoint string, w http.ResponseWriter, r *http.Request, h func(http.ResponseWriter, *http.Request, Token)) {
	s.record(endpoint, r)
	hit, faulted := s.faults.Take(func(f Fault) bool { return f.Endpoint == "" || f.Endpoint == endpoint })
	s.mu.Lock()
	limited, retry := false, time.Duration(0)
	if !faulted && s.rlLimit > 0 {
		now := s.now()
		if now.Sub(s.rlStart) >= s.rlWindow {
			s.rlStart, s.rlUsed = now, 0
		}
		s.rlUsed++
		if s.rlUsed > s.rlLimit {
			limited, retry = true, s.rlWindow-now.Sub(s.rlStart)
		}
	}
	s.mu.Unlock()

	// The body is read first (as much as readBody reads) so that a
	// client giving up during the delay is noticed.
	s.latency.WaitRequest(r, 1<<20)
	if r.Context().Err() != nil {
		return
	}
	if faulted {
		switch hit.Kind {
		case Fail500:
			writeErr(w, http.StatusInternalServerError, 10002, "Internal server error (injected)")
		case FailSuccessFalse:
			writeJSON(w, http.StatusOK, envelope{Success: false, Errors: []info{{Code: 10001, Message: "Request failed (injected)"}}, Messages: []info{}})
		case FailDrop:
			if hj, ok := w.(http.Hijacker); ok {
				if conn, _, err := hj.Hijack(); err == nil {
					_ = conn.Close()
					return
				}
			}
			writeErr(w, http.StatusInternalServerError, 10002, "Internal server error (injected drop)")
		case Fail429:
			ra := hit.RetryAfter
			if ra <= 0 {
				ra = time.Second
			}
			write429(w, ra)
		}
		return
	}
	if limited {
		write429(w, retry)
		return
	}
	tok, ok := s.auth(w, r, endpoint)
	if !ok {
		return
	}
	h(w, r, tok)
}

func write429(w http.ResponseWriter, d time.Duration) {
	secs := int((d + time.Second - 1) / time.Second)
	if secs < 1 {
		secs = 1
	}
	w.Header().Set("Retry-After", strconv.Itoa(secs))
	writeErr(w, http.StatusTooManyRequests, 971, "Please wait and consider throttling your request speed")
}

func (s *Server) auth(w http.ResponseWriter, r *http.Request, endpoint string) (Token, bool) {
	h := r.Header.Get("Authorization")
	v, ok := strings.CutPrefix(h, "Bearer ")
	if !ok || v == "" {
		writeErrs(w, http.StatusBadRequest, info{Code: 6003, Message: "Invalid request headers"}, info{Code: 6111, Message: "Invalid format for Authorization header"})
		return Token{}, false
	}
	s.mu.Lock()
	tok, ok := s.tokens[v]
	s.mu.Unlock()
	if !ok {
		if endpoint == EndpointVerifyToken {
			writeErr(w, http.StatusUnauthorized, 1000, "Invalid API Token")
		} else {
			writeErr(w, http.StatusUnauthorized, 10000, "Authentication error")
		}
		return Token{}, false
	}
	if endpoint == EndpointVerifyToken && tok.Account != "" {
		writeErr(w, http.StatusUnauthorized, 1000, "Invalid API Token")
		return Token{}, false
	}
	if tok.Status != "active" && endpoint != EndpointVerifyToken && endpoint != EndpointVerifyAccountToken {
		writeErr(w, http.StatusUnauthorized, 10000, "Authentication error")
		return Token{}, false
	}
	return tok, true
}

func (t Token) has(p Permission, zone string) bool {
	if len(t.Zones) > 0 && !slices.Contains(t.Zones, zone) {
		return false
	}
	if slices.Contains(t.Permissions, p) {
		return true
	}
	return p == DNSRead && slices.Contains(t.Permissions, DNSEdit)
}

func (t Token) seesZone(zone string) bool {
	return t.has(ZoneRead, zone) || t.has(DNSRead, zone)
}

// wire types, defined here on purpose (see package doc).

type info struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

type resultInfo struct {
	Page       int `json:"page"`
	PerPage    int `json:"per_page"`
	Count      int `json:"count"`
	TotalCount int `json:"total_count"`
	TotalPages int `json:"total_pages"`
}

type envelope struct {
	Success    bool        `json:"success"`
	Errors     []info      `json:"errors"`
	Messages   []info      `json:"messages"`
	Result     any         `json:"result"`
	ResultInfo *resultInfo `json:"result_info,omitempty"`
}

// wireZone is a zone as GET /zones answers it: the fields Cloudflare's
// API reference marks as returned (cloudflare-go v6.10.0 zones/zone.go
// Zone, ZoneAccount, ZoneMeta, ZoneOwner, ZonePlan), with the values of a
// free-plan zone fully set up on Cloudflare's name servers.
type wireZone struct {
	ID                  string      `json:"id"`
	Name                string      `json:"name"`
	Status              string      `json:"status"`
	Paused              bool        `json:"paused"`
	Type                string      `json:"type"`
	DevelopmentMode     int         `json:"development_mode"`
	NameServers         []string    `json:"name_servers"`
	OriginalNameServers []string    `json:"original_name_servers"`
	OriginalRegistrar   *string     `json:"original_registrar"`
	OriginalDNSHost     *string     `json:"original_dnshost"`
	CreatedOn           time.Time   `json:"created_on"`
	ModifiedOn          time.Time   `json:"modified_on"`
	ActivatedOn         *time.Time  `json:"activated_on"`
	Meta                wireMeta    `json:"meta"`
	Owner               wireOwner   `json:"owner"`
	Account             wireAccount `json:"account"`
	Tenant              wireAccount `json:"tenant"`
	TenantUnit          wireUnit    `json:"tenant_unit"`
	Permissions         []string    `json:"permissions"`
	Plan                wirePlan    `json:"plan"`
}

type wireMeta struct {
	Step                   int  `json:"step"`
	CustomCertificateQuota int  `json:"custom_certificate_quota"`
	PageRuleQuota          int  `json:"page_rule_quota"`
	PhishingDetected       bool `json:"phishing_detected"`
	CDNOnly                bool `json:"cdn_only"`
	DNSOnly                bool `json:"dns_only"`
	FoundationDNS          bool `json:"foundation_dns"`
}

type wireOwner struct {
	ID   *string `json:"id"`
	Name *string `json:"name"`
	Type string  `json:"type"`
}

type wireAccount struct {
	ID   *string `json:"id"`
	Name *string `json:"name"`
}

type wireUnit struct {
	ID *string `json:"id"`
}

type wirePlan struct {
	ID                string  `json:"id"`
	Name              string  `json:"name"`
	Price             float64 `json:"price"`
	Currency          string  `json:"currency"`
	Frequency         string  `json:"frequency"`
	IsSubscribed      bool    `json:"is_subscribed"`
	CanSubscribe      bool    `json:"can_subscribe"`
	LegacyID          string  `json:"legacy_id"`
	LegacyDiscount    bool    `json:"legacy_discount"`
	ExternallyManaged bool    `json:"externally_managed"`
}

func zoneToWire(z Zone) wireZone {
	acctID, acctName := z.AccountID, z.AccountName
	w := wireZone{
		ID: z.ID, Name: z.Name, Status: z.Status, Type: zoneType(z),
		NameServers:         []string{"ada.ns.cloudflare.com", "bob.ns.cloudflare.com"},
		OriginalNameServers: []string{},
		CreatedOn:           z.CreatedOn, ModifiedOn: z.CreatedOn,
		Meta:        wireMeta{Step: 2, CustomCertificateQuota: 0, PageRuleQuota: 3},
		Owner:       wireOwner{ID: &acctID, Name: &acctName, Type: "organization"},
		Account:     wireAccount{ID: &acctID, Name: &acctName},
		Permissions: []string{"#dns_records:edit", "#dns_records:read", "#zone:read"},
		Plan: wirePlan{ID: "0feeeeeeeeeeeeeeeeeeeeeeeeeeeeee", Name: "Free Website", Currency: "USD",
			IsSubscribed: true, CanSubscribe: false, LegacyID: "free"},
	}
	if z.Status == "active" {
		at := z.CreatedOn
		w.ActivatedOn = &at
	}
	return w
}

// wireRecord is a record as Cloudflare answers it: the fields of the API
// reference's record response (cloudflare-go v6.10.0 dns/record.go
// RecordResponse). comment_modified_on and tags_modified_on are omitted
// when there is no comment or tag, as the reference says.
type wireRecord struct {
	ID                string          `json:"id"`
	Name              string          `json:"name"`
	Type              string          `json:"type"`
	Content           string          `json:"content"`
	Proxiable         bool            `json:"proxiable"`
	Proxied           bool            `json:"proxied"`
	TTL               int             `json:"ttl"`
	Settings          map[string]bool `json:"settings"`
	Meta              map[string]any  `json:"meta"`
	Comment           *string         `json:"comment"`
	Tags              []string        `json:"tags"`
	CreatedOn         time.Time       `json:"created_on"`
	ModifiedOn        time.Time       `json:"modified_on"`
	CommentModifiedOn *time.Time      `json:"comment_modified_on,omitempty"`
	TagsModifiedOn    *time.Time      `json:"tags_modified_on,omitempty"`
}

func toWire(r Record) wireRecord {
	w := wireRecord{
		ID: r.ID, Name: r.Name, Type: r.Type,
		Content: r.Content, Proxiable: proxiable(r.Type), Proxied: r.Proxied, TTL: r.TTL,
		Settings: map[string]bool{}, Meta: map[string]any{},
		Tags: slices.Clone(r.Tags), CreatedOn: r.CreatedOn, ModifiedOn: r.ModifiedOn,
	}
	for k, v := range r.Settings {
		w.Settings[k] = v
	}
	if w.Tags == nil {
		w.Tags = []string{}
	}
	if r.Comment != "" && !r.CommentModifiedOn.IsZero() {
		t := r.CommentModifiedOn
		w.CommentModifiedOn = &t
	}
	if len(r.Tags) > 0 && !r.TagsModifiedOn.IsZero() {
		t := r.TagsModifiedOn
		w.TagsModifiedOn = &t
	}
	if r.Comment != "" {
		c := r.Comment
		w.Comment = &c
	}
	return w
}

func proxiable(typ string) bool { return typ == "A" || typ == "AAAA" || typ == "CNAME" }

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cf-Ray", "0000000000000000-TST")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeErr(w http.ResponseWriter, status, code int, msg string) {
	writeErrs(w, status, info{Code: code, Message: msg})
}

func writeErrs(w http.ResponseWriter, status int, errs ...info) {
	writeJSON(w, status, envelope{Success: false, Errors: errs, Messages: []info{}})
}

func writeOK(w http.ResponseWriter, status int, result any, ri *resultInfo) {
	writeJSON(w, status, envelope{Success: true, Errors: []info{}, Messages: []info{}, Result: result, ResultInfo: ri})
}

func (s *Server) verifyToken(w http.ResponseWriter, r *http.Request, tok Token) {
	writeJSON(w, http.StatusOK, envelope{
		Success: true, Errors: []info{},
		Messages: []info{{Code: 10000, Message: "This API Token is valid and active"}},
		Result:   map[string]any{"id": tok.ID, "status": tok.Status},
	})
}

func (s *Server) verifyAccountToken(w http.ResponseWriter, r *http.Request, tok Token) {
	if tok.Account == "" || tok.Account != r.PathValue("account_id") {
		writeErr(w, http.StatusUnauthorized, 1000, "Invalid API Token")
		return
	}
	s.verifyToken(w, r, tok)
}

// writePage parses page/per_page, slices items accordingly and writes the
// envelope with result_info; an empty page is written as [] (Cloudflare
// never answers null for a list).
func writePage[T any](s *Server, w http.ResponseWriter, r *http.Request, items []T) {
	q := r.URL.Query()
	p, pp := 1, 100
	if v := q.Get("page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			writeErr(w, http.StatusBadRequest, 1004, "page must be a positive integer")
			return
		}
		p = n
	}
	if v := q.Get("per_page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			writeErr(w, http.StatusBadRequest, 1004, "per_page must be a positive integer")
			return
		}
		pp = n
	}
	s.mu.Lock()
	if pp > s.maxPage {
		pp = s.maxPage
	}
	s.mu.Unlock()
	total := len(items)
	pages := (total + pp - 1) / pp
	lo := min((p-1)*pp, total)
	hi := min(lo+pp, total)
	out := append([]T{}, items[lo:hi]...)
	writeOK(w, http.StatusOK, out, &resultInfo{Page: p, PerPage: pp, Count: len(out), TotalCount: total, TotalPages: pages})
}

func (s *Server) listZones(w http.ResponseWriter, r *http.Request, tok Token) {
	if !slices.ContainsFunc(tok.Permissions, func(p Permission) bool { return p == ZoneRead || p == DNSRead || p == DNSEdit }) {
		// Cloudflare refuses the listing outright (code 0) rather than
		// answering an empty list when the token holds no zone permission.
		writeErr(w, http.StatusForbidden, 0, "Actor 'com.cloudflare.api.token."+tok.ID+"' requires permission 'com.cloudflare.api.account.zone.list' to list zones")
		return
	}
	pred, order, err := zoneFilter(r.URL.Query())
	if err != nil {
		writeErr(w, http.StatusBadRequest, 1004, err.Error())
		return
	}
	s.mu.Lock()
	var match []Zone
	for _, z := range s.zones {
		if pred(z) && tok.seesZone(z.Name) {
			match = append(match, z)
		}
	}
	s.mu.Unlock()
	if order != nil {
		slices.SortStableFunc(match, order)
	}
	zs := make([]wireZone, 0, len(match))
	for _, z := range match {
		zs = append(zs, zoneToWire(z))
	}
	writePage(s, w, r, zs)
}

// zoneFor resolves {zone_id} and checks the permission.
func (s *Server) zoneFor(w http.ResponseWriter, r *http.Request, tok Token, p Permission) (Zone, bool) {
	id := r.PathValue("zone_id")
	s.mu.Lock()
	var z Zone
	found := false
	for _, zz := range s.zones {
		if zz.ID == id {
			z, found = zz, true
		}
	}
	s.mu.Unlock()
	if !found {
		writeErr(w, http.StatusBadRequest, 1003, "Invalid or missing zone id.")
		return Zone{}, false
	}
	if !tok.has(p, z.Name) {
		writeErr(w, http.StatusForbidden, 9109, "Unauthorized to access requested resource")
		return Zone{}, false
	}
	return z, true
}

func (s *Server) listRecords(w http.ResponseWriter, r *http.Request, tok Token) {
	z, ok := s.zoneFor(w, r, tok, DNSRead)
	if !ok {
		return
	}
	pred, order, err := recordFilter(r.URL.Query())
	if err != nil {
		writeErr(w, http.StatusBadRequest, 1004, err.Error())
		return
	}
	s.mu.Lock()
	var match []Record
	for _, rec := range s.records {
		if rec.ZoneID == z.ID && pred(rec) {
			match = append(match, rec)
		}
	}
	s.mu.Unlock()
	if order != nil {
		slices.SortStableFunc(match, order)
	}
	rs := make([]wireRecord, 0, len(match))
	for _, rec := range match {
		rs = append(rs, toWire(rec))
	}
	writePage(s, w, r, rs)
}

// find returns the index of the record; -1 writes 81044.
func (s *Server) find(w http.ResponseWriter, z Zone, id string) int {
	for i, rec := range s.records {
		if rec.ID == id && rec.ZoneID == z.ID {
			return i
		}
	}
	writeErr(w, http.StatusNotFound, 81044, "Record does not exist.")
	return -1
}

func (s *Server) getRecord(w http.ResponseWriter, r *http.Request, tok Token) {
	z, ok := s.zoneFor(w, r, tok, DNSRead)
	if !ok {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	i := s.find(w, z, r.PathValue("id"))
	if i < 0 {
		return
	}
	writeOK(w, http.StatusOK, toWire(s.records[i]), nil)
}

// body is a request body; a present key with null differs from an absent
// key, as in Cloudflare's PATCH.
type body map[string]json.RawMessage

func readBody(w http.ResponseWriter, r *http.Request) (body, bool) {
	b, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		writeErr(w, http.StatusBadRequest, 9207, "Request body is invalid.")
		return nil, false
	}
	var m body
	if err := json.Unmarshal(b, &m); err != nil || m == nil {
		writeErr(w, http.StatusBadRequest, 9207, "Request body is invalid.")
		return nil, false
	}
	return m, true
}

func (b body) str(k string) (string, bool, error) {
	raw, ok := b[k]
	if !ok || bytes.Equal(raw, []byte("null")) {
		return "", ok, nil
	}
	var s string
	err := json.Unmarshal(raw, &s)
	return s, true, err
}

// apply overlays the body on rec (absent keys keep their value, null
// clears) and validates the result.
func (s *Server) apply(rec Record, b body, z Zone) (Record, *info) {
	bad := func(code int, msg string) (Record, *info) { return Record{}, &info{Code: code, Message: msg} }
	oldComment, oldTags := rec.Comment, slices.Clone(rec.Tags)
	if v, ok, err := b.str("type"); err != nil {
		return bad(9207, "Request body is invalid.")
	} else if ok {
		rec.Type = strings.ToUpper(v)
	}
	if v, ok, err := b.str("name"); err != nil {
		return bad(9207, "Request body is invalid.")
	} else if ok {
		rec.Name = fqdn(v, z.Name)
	}
	if v, ok, err := b.str("content"); err != nil {
		return bad(9207, "Request body is invalid.")
	} else if ok {
		rec.Content = v
	}
	if v, ok, err := b.str("comment"); err != nil {
		return bad(9207, "Request body is invalid.")
	} else if ok {
		rec.Comment = v
	}
	if raw, ok := b["ttl"]; ok {
		if bytes.Equal(raw, []byte("null")) {
			rec.TTL = 1
		} else if err := json.Unmarshal(raw, &rec.TTL); err != nil {
			return bad(9207, "Request body is invalid.")
		}
	}
	if raw, ok := b["proxied"]; ok {
		if bytes.Equal(raw, []byte("null")) {
			rec.Proxied = false
		} else if err := json.Unmarshal(raw, &rec.Proxied); err != nil {
			return bad(9207, "Request body is invalid.")
		}
	}
	if raw, ok := b["settings"]; ok {
		// Cloudflare's record settings (API reference: ipv4_only and
		// ipv6_only on A, AAAA and CNAME; flatten_cname on CNAME); the
		// keys sent replace theirs, the others are kept.
		var m map[string]bool
		if !bytes.Equal(raw, []byte("null")) {
			if err := json.Unmarshal(raw, &m); err != nil {
				return bad(9207, "Request body is invalid.")
			}
		}
		merged := maps.Clone(rec.Settings)
		if merged == nil {
			merged = map[string]bool{}
		}
		for k, v := range m {
			switch {
			case (k == "ipv4_only" || k == "ipv6_only") && proxiable(rec.Type),
				k == "flatten_cname" && rec.Type == "CNAME":
				merged[k] = v
			default:
				return bad(9207, "Setting "+k+" is not valid for a "+rec.Type+" record.")
			}
		}
		rec.Settings = merged
	}
	if raw, ok := b["tags"]; ok {
		rec.Tags = nil
		if !bytes.Equal(raw, []byte("null")) {
			if err := json.Unmarshal(raw, &rec.Tags); err != nil {
				return bad(9207, "Request body is invalid.")
			}
		}
	}
	if rec.TTL == 0 {
		rec.TTL = 1
	}
	switch {
	case rec.Type == "":
		return bad(9000, "DNS record type is invalid.")
	case rec.Name == "" || (rec.Name != z.Name && !strings.HasSuffix(rec.Name, "."+z.Name)):
		return bad(9007, "Name is invalid or not within the zone.")
	case rec.Content == "":
		return bad(9005, "Content for "+rec.Type+" record is invalid.")
	case rec.TTL != 1 && (rec.TTL < 60 || rec.TTL > 86400):
		return bad(9021, "Invalid TTL. Must be between 60 and 86400 seconds, or 1 for Automatic.")
	case rec.Proxied && !proxiable(rec.Type):
		return bad(9004, "This record type cannot be proxied.")
	case strings.ContainsAny(rec.Comment, "\r\n"):
		return bad(9102, "Comment must not contain line breaks.")
	}
	switch rec.Type {
	case "A", "AAAA":
		a, err := netip.ParseAddr(rec.Content)
		if err != nil || a.Zone() != "" || (rec.Type == "A") != a.Is4() {
			fam := "IPv4"
			if rec.Type == "AAAA" {
				fam = "IPv6"
			}
			return bad(9005, "Content for "+rec.Type+" record is invalid. Must be a valid "+fam+" address.")
		}
		rec.Content = a.String()
	}
	if rec.Proxied {
		rec.TTL = 1
	}
	now := s.now().UTC()
	if rec.Comment != oldComment {
		rec.CommentModifiedOn = now
	}
	if !slices.Equal(rec.Tags, oldTags) {
		rec.TagsModifiedOn = now
	}
	return rec, nil
}

func fqdn(name, zone string) string {
	name = strings.TrimSuffix(strings.ToLower(name), ".")
	switch {
	case name == "@" || name == zone:
		return zone
	case strings.HasSuffix(name, "."+zone):
		return name
	}
	return name + "." + zone
}

// clash reports a conflict of rec with other records of its zone, except
// the record with id skip.
func (s *Server) clash(rec Record, skip string) *info {
	for _, o := range s.records {
		if o.ZoneID != rec.ZoneID || o.ID == skip || o.Name != rec.Name {
			continue
		}
		switch {
		case rec.Type == "CNAME" && (o.Type == "A" || o.Type == "AAAA" || o.Type == "CNAME"):
			return &info{Code: 81053, Message: "An A, AAAA, or CNAME record with that host already exists."}
		case (rec.Type == "A" || rec.Type == "AAAA") && o.Type == "CNAME":
			return &info{Code: 81054, Message: "A CNAME record with that host already exists."}
		case o.Type == rec.Type && o.Content == rec.Content:
			if o.TTL == rec.TTL && o.Proxied == rec.Proxied {
				return &info{Code: 81058, Message: "An identical record already exists."}
			}
			return &info{Code: 81057, Message: "Record already exists."}
		}
	}
	return nil
}

func (s *Server) createRecord(w http.ResponseWriter, r *http.Request, tok Token) {
	z, ok := s.zoneFor(w, r, tok, DNSEdit)
	if !ok {
		return
	}
	b, ok := readBody(w, r)
	if !ok {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rec, e := s.apply(Record{ZoneID: z.ID, ZoneName: z.Name}, b, z)
	if e == nil {
		e = s.clash(rec, "")
	}
	if e != nil {
		writeErrs(w, http.StatusBadRequest, *e)
		return
	}
	rec.ID = s.nextID()
	rec.CreatedOn = s.now().UTC()
	rec.ModifiedOn = rec.CreatedOn
	s.records = append(s.records, rec)
	writeOK(w, http.StatusOK, toWire(rec), nil)
}

func (s *Server) update(w http.ResponseWriter, r *http.Request, tok Token, put bool) {
	z, ok := s.zoneFor(w, r, tok, DNSEdit)
	if !ok {
		return
	}
	b, ok := readBody(w, r)
	if !ok {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	i := s.find(w, z, r.PathValue("id"))
	if i < 0 {
		return
	}
	base := s.records[i]
	if put {
		// PUT overwrites: every optional field not sent is reset.
		base = Record{ID: base.ID, ZoneID: base.ZoneID, ZoneName: base.ZoneName, CreatedOn: base.CreatedOn}
	}
	rec, e := s.apply(base, b, z)
	if e == nil {
		e = s.clash(rec, rec.ID)
	}
	if e != nil {
		writeErrs(w, http.StatusBadRequest, *e)
		return
	}
	rec.ModifiedOn = s.now().UTC()
	s.records[i] = rec
	writeOK(w, http.StatusOK, toWire(rec), nil)
}

func (s *Server) patchRecord(w http.ResponseWriter, r *http.Request, tok Token) {
	s.update(w, r, tok, false)
}

func (s *Server) putRecord(w http.ResponseWriter, r *http.Request, tok Token) {
	s.update(w, r, tok, true)
}

func (s *Server) deleteRecord(w http.ResponseWriter, r *http.Request, tok Token) {
	z, ok := s.zoneFor(w, r, tok, DNSEdit)
	if !ok {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	i := s.find(w, z, r.PathValue("id"))
	if i < 0 {
		return
	}
	id := s.records[i].ID
	s.records = slices.Delete(s.records, i, i+1)
	writeOK(w, http.StatusOK, map[string]string{"id": id}, nil)
}
