package proxmoxtest

import (
	"bufio"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/thehomelab/homelab/internal/fakeserver"
)

// Default credentials of a new Server.
const (
	// TokenID and TokenSecret form a valid API token for root@pam.
	TokenID     = "root@pam!sdk"
	TokenSecret = "5f0e6a8c-1d2b-4c3e-9f70-abcdefabcdef"
	// RootUser and RootPassword log in by ticket as root@pam.
	RootUser     = "root@pam"
	RootPassword = "root-secret"
	// Node is the name of the seeded node.
	Node = "proxmox1"
)

// Server is an in-process Proxmox VE API over TLS on 127.0.0.1. It speaks
// the real wire protocol (envelopes, reason phrases, UPIDs, 1/0 booleans)
// and validates every request against the PVE 9 API schema. All methods
// are safe for concurrent use.
type Server struct {
	// URL is the base URL, e.g. "https://127.0.0.1:41234" (clients add
	// "/api2/json").
	URL string

	srv       *httptest.Server
	fp        string
	schema    schema
	key       []byte
	closeOnce sync.Once
	latency   fakeserver.Latency
	log       fakeserver.Log[Request]
	faults    fakeserver.Faults[injected]

	mu        sync.Mutex
	clock     func() time.Time
	loc       *time.Location
	mode      string
	version   string
	delay401  bool
	users     map[string]*user
	tokens    map[string]string
	denied    map[string]map[string]bool
	acl       map[string]map[string][]string // identity → path → privileges (access.go)
	nodes     map[string]*node
	guests    map[int]*guest
	storages  map[string]*storage
	tasks     map[string]*task
	taskOrder []string
	pid       uint32
	noise     bool
	mountErr  string
	taskDelay time.Duration
	hold      bool
	emptyLab  bool
	backupErr map[int]string
	agentDown map[int]bool // restore.go: guest agents that do not answer
	jobs      map[string]map[string]string
	jobSeq    int
}

type user struct {
	password string
	totp     string
}

// Option configures a Server.
type Option func(*Server)

// WithClock replaces time.Now for tickets, task start times, backup
// names and prune buckets. Tasks finish when this clock passes their end.
func WithClock(now func() time.Time) Option { return func(s *Server) { s.clock = now } }

// WithLocation sets the node's time zone (default UTC), used for backup
// names and prune buckets.
func WithLocation(loc *time.Location) Option { return func(s *Server) { s.loc = loc } }

// WithMode selects the error body shape: "pve9" (default) adds "message"
// to JSON error bodies, "pve8" sends only the reason phrase.
func WithMode(mode string) Option { return func(s *Server) { s.mode = mode } }

// WithVersion sets the PVE version the fake plays ("8.1.4"; default
// "9.0.3"): GET /version reports it, and parameters newer than it are
// refused as the older schema would.
func WithVersion(v string) Option { return func(s *Server) { s.version = v } }

// SetVersion changes the PVE version the fake plays, as an upgrade would.
func (s *Server) SetVersion(v string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.version = v
}

// WithoutLab starts with no nodes, guests, storages or disks.
func WithoutLab() Option { return func(s *Server) { s.nodes = map[string]*node{}; s.emptyLab = true } }

// NewServer starts a fake PVE seeded with the lab (see Seed) unless
// WithoutLab is given. Close it when done. Like httptest.NewServer it
// panics only if it cannot listen on 127.0.0.1.
func NewServer(opts ...Option) *Server {
	s := &Server{
		clock:    time.Now,
		loc:      time.UTC,
		mode:     "pve9",
		version:  "9.0.3",
		users:    map[string]*user{RootUser: {password: RootPassword}},
		tokens:   map[string]string{TokenID: TokenSecret},
		denied:   map[string]map[string]bool{},
		nodes:    map[string]*node{},
		guests:   map[int]*guest{},
		storages: map[string]*storage{},
		tasks:    map[string]*task{},
		pid:      0x1A2B0,
		key:      []byte("proxmoxtest-ticket-key"),
	}
	for _, o := range opts {
		if o != nil {
			o(s)
		}
	}
	sc, err := loadSchema()
	if err != nil {
		panic(err) // embedded data; cannot happen in a released build
	}
	s.schema = sc
	srv, fp, err := fakeserver.NewHTTP(s.handler(), true)
	if err != nil {
		panic("proxmoxtest: " + err.Error())
	}
	s.srv = srv
	s.URL = srv.URL
	s.fp = strings.TrimPrefix(fp, "sha256:")
	if !s.emptyLab {
		s.seed()
	}
	return s
}

// Start is NewServer for a test: the server closes in tb.Cleanup.
func Start(tb testing.TB, opts ...Option) *Server {
	tb.Helper()
	s := NewServer(opts...)
	tb.Cleanup(s.Close)
	return s
}

// Close shuts the server down and waits for in-flight requests. It is
// idempotent.
func (s *Server) Close() { s.closeOnce.Do(s.srv.Close) }

// Certificate returns the server's leaf certificate.
func (s *Server) Certificate() *x509.Certificate { return s.srv.Certificate() }

// CertPool returns a pool trusting the server's certificate.
func (s *Server) CertPool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(s.srv.Certificate())
	return p
}

// Fingerprint is the SHA-256 fingerprint of the certificate in PVE's
// format ("AB:CD:…"), the same value GET /nodes reports as ssl_fingerprint.
func (s *Server) Fingerprint() string { return s.fp }

// AddToken accepts another API token; id is "user@realm!name".
func (s *Server) AddToken(id, secret string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokens[id] = secret
}

// AddUser accepts a password login; a non-empty totp makes the login
// ask for that code as second factor.
func (s *Server) AddUser(name, password, totp string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.users[name] = &user{password: password, totp: totp}
}

// Deny removes a privilege (e.g. "VM.PowerMgmt", "Datastore.Allocate",
// "Sys.PowerMgmt", "Sys.Audit") from an identity (user or token id), so
// calls needing it get 403 "Permission check failed (<path>, <priv>)".
func (s *Server) Deny(identity, priv string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.denied[identity] == nil {
		s.denied[identity] = map[string]bool{}
	}
	s.denied[identity][priv] = true
}

// RevokeTickets invalidates every ticket and CSRF token issued so far, as
// a restarted cluster with a new key would.
func (s *Server) RevokeTickets() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.key = append(s.key, 'x')
}

// SetLatency delays every response by d; zero removes the delay.
func (s *Server) SetLatency(d time.Duration) { s.latency.Set(d) }

// SetUnauthorizedDelay turns on PVE's 3 s delay of every 401 reply.
func (s *Server) SetUnauthorizedDelay(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.delay401 = on
}

// SetTypeNoise makes replies use PVE's historical loose types: vmid and
// memory as strings in listings.
func (s *Server) SetTypeNoise(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.noise = on
}

// Request is one request the server received.
type Request struct {
	Method string
	Path   string // below /api2/json
	// Params holds query and body parameters; password values are
	// replaced by "REDACTED".
	Params   url.Values
	Identity string // token id or user; empty when unauthenticated
	Time     time.Time
	// RawQuery is the query string exactly as sent.
	RawQuery string
}

// Requests returns a copy of the requests received so far, in order.
//
// The server keeps the most recent requests: fakeserver.DefaultLogLimit
// (10,000) unless SetRequestLimit says otherwise, so a long demo does not
// grow without bound; the fakes are meant for tests and demos.
func (s *Server) Requests() []Request { return s.log.All() }

// SetRequestLimit sets how many of the most recent requests Requests
// keeps (0 or less: fakeserver.DefaultLogLimit, 10,000); a benchmark that
// counts round trips over many iterations raises it.
func (s *Server) SetRequestLimit(n int) { s.log.SetLimit(n) }

// ResetRequests forgets the recorded requests.
func (s *Server) ResetRequests() { s.log.Reset() }

// Fault describes an injected failure.
type Fault struct {
	// Method limits the fault to one HTTP method; empty means any.
	Method string
	// Path is a regular expression matched against the path below
	// /api2/json ("^/nodes/proxmox1/"); empty means every path. A Path
	// that does not compile is matched as a literal substring.
	Path string
	// Status and Reason form the reply (e.g. 596 "Connection timed out");
	// Status 0 with Drop false and Delay > 0 only delays.
	Status int
	Reason string
	// Drop closes the connection without a reply.
	Drop bool
	// Delay waits before replying (or before the fault).
	Delay time.Duration
	// Times limits how many requests the fault hits; 0 means every one
	// until ClearFaults.
	Times int
	// Body, with Status 200, replaces the reply body (malformed JSON,
	// {"data":null} …); with another status it is the error body.
	Body string
}

// Common faults; set Method and Path to aim them.
var (
	// Unreachable595 is pveproxy failing to connect to another node.
	Unreachable595 = Fault{Status: 595, Reason: "Errors during connection establishment, proxy handshake: Connection refused"}
	// Timeout596 is pveproxy's 30 s proxy timeout.
	Timeout596 = Fault{Status: 596, Reason: "Errors during TLS negotiation, request sending and header processing: Connection timed out"}
)

type injected struct {
	f  Fault
	re *regexp.Regexp
}

// Inject queues f for the requests it matches, in the order faults were
// injected: the first matching fault answers.
func (s *Server) Inject(f Fault) {
	re, err := regexp.Compile(f.Path)
	if err != nil {
		re = regexp.MustCompile(regexp.QuoteMeta(f.Path))
	}
	s.faults.Add(injected{f: f, re: re}, f.Times)
}

// ClearFaults removes every injected fault.
func (s *Server) ClearFaults() { s.faults.Clear() }

// apiError is a PVE error reply.
type apiError struct {
	status int
	msg    string
	errors map[string]string
}

func (e *apiError) Error() string { return e.msg }

func errf(status int, format string, args ...any) *apiError {
	return &apiError{status: status, msg: fmt.Sprintf(format, args...)}
}

func paramErr(errs map[string]string) *apiError {
	return &apiError{status: 400, msg: "Parameter verification failed.", errors: errs}
}

// reqCtx is a parsed request.
type reqCtx struct {
	perr     *apiError // from parsing the parameters
	method   string
	path     string
	p        map[string]value
	pp       map[string]string // path params
	identity string            // token id or user
	token    bool
	root     bool // literal root@pam by ticket
	reply    reply
}

func (r *reqCtx) str(k string) string { return r.p[k].s }
func (r *reqCtx) has(k string) bool   { _, ok := r.p[k]; return ok }
func (r *reqCtx) boolean(k string, def bool) bool {
	v, ok := r.p[k]
	if !ok {
		return def
	}
	return v.s == "1" || v.s == "true"
}
func (r *reqCtx) integer(k string, def int) int {
	v, ok := r.p[k]
	if !ok {
		return def
	}
	n, err := strconv.Atoi(strings.TrimPrefix(v.s, "+"))
	if err != nil {
		return def
	}
	return n
}

type reqCtxKey struct{}

// reply is what a route answered.
type reply struct {
	data  any
	total int
	err   *apiError
}

// handler is the fake's front: latency, the request log and injected
// faults, then an http.ServeMux with one method+path pattern per route.
func (s *Server) handler() http.Handler {
	mux := http.NewServeMux()
	for _, rt := range append(append(append(s.routes(), s.haRoutes()...), s.permsRoutes()...), s.extractConfigRoutes()...) {
		for _, key := range rt.keys {
			method, tmpl, _ := strings.Cut(key, " ")
			pattern := method + " /api2/json" + strings.Replace(tmpl, "{volume}", "{volume...}", 1)
			h := rt.h
			mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
				rc := r.Context().Value(reqCtxKey{}).(*reqCtx)
				d, total, err := s.dispatch(r, rc, method, tmpl, h)
				rc.reply = reply{data: d, total: total, err: err}
			})
		}
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		rc := r.Context().Value(reqCtxKey{}).(*reqCtx)
		if !strings.HasPrefix(r.URL.Path, "/api2/json/") {
			rc.reply = reply{err: &apiError{status: 404, msg: "Not Found"}}
			return
		}
		// PVE's router answers 501 for a path or method it has no handler for
		rc.reply = reply{err: errf(501, "Method '%s %s' not implemented", rc.method, rc.path)}
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The body is read first (as much as parseParams reads) so that a
		// client giving up during the delay is noticed.
		s.latency.WaitRequest(r, 1<<20)
		if r.Context().Err() != nil {
			return
		}
		path := strings.TrimPrefix(r.URL.Path, "/api2/json")
		p, perr := parseParams(r)
		rec := Request{Method: r.Method, Path: path, Params: url.Values{}, Time: time.Now(), RawQuery: r.URL.RawQuery}
		for k, v := range p {
			if k == "password" || strings.Contains(k, "secret") {
				rec.Params.Set(k, "REDACTED")
			} else {
				rec.Params.Set(k, v.s)
			}
		}
		if s.fault(w, r, path, rec) {
			return
		}
		rc := &reqCtx{method: r.Method, path: path, p: p, perr: perr}
		mux.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), reqCtxKey{}, rc)))
		rec.Identity = rc.identity
		s.log.Add(rec)
		s.write(w, r, rc.reply)
	})
}

// fault answers with the first injected fault matching the request, and
// reports whether it did.
func (s *Server) fault(w http.ResponseWriter, r *http.Request, path string, rec Request) bool {
	hit, ok := s.faults.Take(func(f injected) bool {
		return (f.f.Method == "" || f.f.Method == r.Method) && f.re.MatchString(path)
	})
	if !ok {
		return false
	}
	f := hit.f
	if f.Delay > 0 {
		t := time.NewTimer(f.Delay)
		select {
		case <-r.Context().Done():
			t.Stop()
			return true
		case <-t.C:
		}
	}
	switch {
	case f.Drop:
		s.log.Add(rec)
		if hj, ok := w.(http.Hijacker); ok {
			if c, _, err := hj.Hijack(); err == nil {
				c.Close()
			}
		}
		return true
	case f.Status == 200:
		s.log.Add(rec)
		w.Header().Set("Content-Type", "application/json;charset=UTF-8")
		w.WriteHeader(200)
		_, _ = w.Write([]byte(f.Body))
		return true
	case f.Status != 0:
		s.log.Add(rec)
		writeRaw(w, f.Status, f.Reason, "application/json", []byte(f.Body))
		return true
	}
	return false // a delay only
}

func (s *Server) write(w http.ResponseWriter, r *http.Request, rep reply) {
	s.mu.Lock()
	mode, delay := s.mode, s.delay401
	s.mu.Unlock()
	if rep.err != nil {
		if rep.err.status == 401 && delay {
			// pveproxy delays every 401 by 3 s (PVE/APIServer/AnyEvent.pm)
			t := time.NewTimer(3 * time.Second)
			select {
			case <-r.Context().Done():
			case <-t.C:
			}
			t.Stop()
		}
		writeError(w, rep.err, mode)
		return
	}
	env := map[string]any{"data": rep.data}
	if rep.total >= 0 {
		env["total"] = rep.total
	}
	b, _ := json.Marshal(env)
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(200)
	_, _ = w.Write(b)
}

func parseParams(r *http.Request) (map[string]value, *apiError) {
	p := map[string]value{}
	for k, vs := range r.URL.Query() {
		p[k] = value{s: strings.Join(vs, "\x00")}
	}
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if len(body) == 0 {
		return p, nil
	}
	if r.Method == http.MethodGet || r.Method == http.MethodDelete {
		return p, errf(501, "Unexpected content for method '%s'", r.Method)
	}
	ct := r.Header.Get("Content-Type")
	switch {
	case strings.HasPrefix(ct, "application/json"):
		var m map[string]any
		if err := json.Unmarshal(body, &m); err != nil {
			return p, errf(500, "malformed JSON string")
		}
		for k, v := range m {
			switch x := v.(type) {
			case bool:
				s := "0"
				if x {
					s = "1"
				}
				p[k] = value{s: s, json: true, kind: 'b'}
			case float64:
				p[k] = value{s: strconv.FormatFloat(x, 'f', -1, 64), json: true, kind: 'n'}
			case string:
				p[k] = value{s: x, json: true, kind: 's'}
			case []any:
				var parts []string
				for _, e := range x {
					parts = append(parts, fmt.Sprint(e))
				}
				p[k] = value{s: strings.Join(parts, ","), json: true, kind: 's'}
			case nil:
			default:
				b, _ := json.Marshal(x)
				p[k] = value{s: string(b), json: true, kind: 's'}
			}
		}
	default:
		q, err := url.ParseQuery(string(body))
		if err != nil {
			return p, errf(400, "malformed form body")
		}
		for k, vs := range q {
			p[k] = value{s: strings.Join(vs, "\x00")}
		}
	}
	return p, nil
}

// writeError sends PVE's error shape: the message as reason phrase, an
// envelope with "errors" for 400 and, in pve9 mode, "message".
func writeError(w http.ResponseWriter, e *apiError, mode string) {
	var body []byte
	switch e.status {
	case 401:
		if e.msg == "authentication failure" {
			body = envError(e, mode)
		}
	case 595, 596:
	default:
		body = envError(e, mode)
	}
	reason := e.msg
	if i := strings.IndexByte(reason, '\n'); i >= 0 {
		reason = reason[:i]
	}
	writeRaw(w, e.status, reason, "application/json;charset=UTF-8", body)
}

func envError(e *apiError, mode string) []byte {
	env := map[string]any{"data": nil}
	if e.errors != nil {
		env["errors"] = e.errors
	}
	if mode != "pve8" {
		env["message"] = e.msg + "\n"
	}
	b, _ := json.Marshal(env)
	return b
}

// writeRaw writes a response with a custom reason phrase, which
// net/http's ResponseWriter cannot do, by taking over the connection.
func writeRaw(w http.ResponseWriter, status int, reason, ctype string, body []byte) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		w.WriteHeader(status)
		_, _ = w.Write(body)
		return
	}
	conn, buf, err := hj.Hijack()
	if err != nil {
		return
	}
	defer conn.Close()
	reason = strings.Map(func(r rune) rune {
		if r == '\r' || r == '\n' {
			return ' '
		}
		return r
	}, reason)
	bw := bufio.NewWriter(conn)
	_ = buf
	fmt.Fprintf(bw, "HTTP/1.1 %03d %s\r\nContent-Type: %s\r\nContent-Length: %d\r\nConnection: close\r\n\r\n", status, reason, ctype, len(body))
	_, _ = bw.Write(body)
	_ = bw.Flush()
}

// authenticate resolves the identity of a request.
func (s *Server) authenticate(r *http.Request, rc *reqCtx) *apiError {
	h := r.Header.Get("Authorization")
	if strings.HasPrefix(h, "PVEAPIToken") {
		v := strings.TrimPrefix(h, "PVEAPIToken")
		if v == "" || (v[0] != '=' && v[0] != ' ') {
			return errf(401, "Authentication failed!")
		}
		v, _ = url.PathUnescape(v[1:])
		i := strings.LastIndexByte(v, '=')
		if i <= 0 {
			return errf(401, "Authentication failed!")
		}
		id, sec := v[:i], v[i+1:]
		s.mu.Lock()
		want, ok := s.tokens[id]
		s.mu.Unlock()
		if !ok || !hmac.Equal([]byte(want), []byte(sec)) {
			return errf(401, "Authentication failed!")
		}
		rc.identity, rc.token = id, true
		return nil
	}
	var ticket string
	if c, err := r.Cookie("PVEAuthCookie"); err == nil {
		ticket = c.Value
		if u, err := url.PathUnescape(ticket); err == nil {
			ticket = u
		}
	} else if strings.HasPrefix(h, "PVEAuthCookie=") {
		ticket = strings.TrimPrefix(h, "PVEAuthCookie=")
	}
	if ticket == "" {
		return errf(401, "No ticket")
	}
	u, ok := s.verifyTicket(ticket)
	if !ok {
		return errf(401, "Authentication failed!")
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		if !s.verifyCSRF(r.Header.Get("CSRFPreventionToken"), u) {
			return errf(401, "Permission denied - invalid csrf token")
		}
	}
	rc.identity = u
	rc.root = u == RootUser
	return nil
}

func (s *Server) sign(parts ...string) string {
	s.mu.Lock()
	key := s.key
	s.mu.Unlock()
	m := hmac.New(sha256.New, key)
	m.Write([]byte(strings.Join(parts, "\x00")))
	return base64.RawStdEncoding.EncodeToString(m.Sum(nil))
}

func (s *Server) now() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.clock()
}

func (s *Server) makeTicket(u string) (string, string) {
	ts := fmt.Sprintf("%08X", s.now().Unix())
	return "PVE:" + u + ":" + ts + "::" + s.sign("ticket", u, ts), ts + ":" + s.sign("csrf", u, ts)
}

func (s *Server) verifyTicket(t string) (string, bool) {
	parts := strings.Split(t, ":")
	if len(parts) != 5 || parts[0] != "PVE" || parts[3] != "" {
		return "", false
	}
	u, ts, sig := parts[1], parts[2], parts[4]
	if !hmac.Equal([]byte(sig), []byte(s.sign("ticket", u, ts))) {
		return "", false
	}
	n, err := strconv.ParseInt(ts, 16, 64)
	if err != nil {
		return "", false
	}
	age := s.now().Sub(time.Unix(n, 0))
	if age < -5*time.Minute || age > 2*time.Hour {
		return "", false
	}
	return u, true
}

func (s *Server) verifyCSRF(tok, u string) bool {
	ts, sig, ok := strings.Cut(tok, ":")
	if !ok || !hmac.Equal([]byte(sig), []byte(s.sign("csrf", u, ts))) {
		return false
	}
	// like the ticket, a CSRF token is good for 2 h (PVE::Ticket)
	n, err := strconv.ParseInt(ts, 16, 64)
	if err != nil {
		return false
	}
	age := s.now().Sub(time.Unix(n, 0))
	return age >= -5*time.Minute && age <= 2*time.Hour
}

// On returns a copy of f aimed at one method (empty: any) and the paths
// matching the regular expression path, for Inject.
func (f Fault) On(method, path string) Fault {
	f.Method, f.Path = method, path
	return f
}
