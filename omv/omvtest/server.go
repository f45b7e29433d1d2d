package omvtest

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/thehomelab/homelab/internal/fakeserver"
	"github.com/thehomelab/homelab/internal/poll"
)

// Version selects which OMV release the fake behaves like.
type Version int

// Versions with different wire behaviour.
const (
	// V6 is OMV 6.3: cookie X-OPENMEDIAVAULT-SESSIONID, login reply
	// {authenticated, username, permissions}, RAID service RaidMgmt, params required.
	V6 Version = iota
	// V7 is OMV 7.x: cookie OPENMEDIAVAULT-SESSIONID or header
	// X-OPENMEDIAVAULT-SESSIONID, login reply adds sessionid, RAID service MdMgmt.
	V7
	// V85 is OMV 8.5: login reply {username, status, permissions, sessionid}.
	V85
)

// String returns the version string System.getInformation reports.
func (v Version) String() string {
	switch v {
	case V6:
		return "6.3.13-1 (Shaitan)"
	case V7:
		return "7.7.24-7 (Sandworm)"
	case V85:
		return "8.5.7-1 (Synchrony)"
	}
	return "unknown"
}

// Seed credentials and identifiers of the seeded NAS.
const (
	AdminUser       = "admin"
	AdminPassword   = "openmediavault"
	ProxmoxPassword = "proxmox-secret"
	DockerPassword  = "docker-secret"
	// FilesystemUUID is the ext4 filesystem on /dev/md0.
	FilesystemUUID = "5f3c1a2b-8d4e-4f6a-9b7c-0d1e2f3a4b5c"
	// MountPointUUID is the mount-point config object of that filesystem.
	MountPointUUID = "0b1c2d3e-4f50-4617-8293-a4b5c6d7e8f9"
	// NewObjectUUID is OMV's sentinel UUID that creates objects.
	NewObjectUUID = "fa4b1c66-ef79-11e5-87a0-0002b3a176b4"
)

// Server is a fake OMV host. Its methods are safe for concurrent use.
type Server struct {
	// URL is the base URL (http://127.0.0.1:port); the endpoint is URL + "/rpc.php".
	URL string
	srv *httptest.Server
	fp  string

	closeOnce sync.Once
	lat       fakeserver.Latency
	reqs      fakeserver.Log[Request]
	faults    fakeserver.Faults[Fault]

	mu           sync.Mutex
	tls          bool
	version      Version
	now          time.Time
	clock        func() time.Time
	idle         time.Duration
	legacyCodes  bool
	raidPlugin   bool
	sessions     map[string]*session
	latency      map[string]time.Duration // per method, over lat; a map: an entry of 0 (no delay) differs from none
	expireBefore map[string]bool
	calls        map[string]int
	total        int
	writes       int
	loginMails   int
	jobFail      string
	challenge    map[string]bool
	jobLines     []string
	m            *model
	snap         *model // state at the first change after the last apply
	dirty        map[string]bool
	jobs         map[string]*job
	seq          int
}

type session struct {
	id         string
	user       string
	role       string
	lastAccess time.Time
	ua         string
}

// Option configures a Server.
type Option func(*Server)

// WithVersion makes the server behave like the given OMV version (default V6).
func WithVersion(v Version) Option { return func(s *Server) { s.version = v } }

// WithClock replaces the built-in fake clock (which starts at
// 2026-01-02 03:04:05 UTC and moves only with Advance) with now, e.g. a
// test's own fake clock. Idle expiry and RAID sync progress follow it.
func WithClock(now func() time.Time) Option {
	return func(s *Server) {
		if now != nil {
			s.clock = now
		}
	}
}

// WithTLS serves HTTPS with httptest's self-signed certificate; see
// Certificate for pinning it.
func WithTLS() Option { return func(s *Server) { s.tls = true } }

// NewServer starts a seeded fake OMV on 127.0.0.1. Close it when done. It
// panics only if it cannot listen, as httptest.NewServer does.
func NewServer(opts ...Option) *Server {
	s := &Server{
		now:          time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
		idle:         5 * time.Minute,
		raidPlugin:   true,
		sessions:     map[string]*session{},
		latency:      map[string]time.Duration{},
		expireBefore: map[string]bool{},
		challenge:    map[string]bool{},
		calls:        map[string]int{},
		dirty:        map[string]bool{},
		jobs:         map[string]*job{},
		// Config.applyChangesBg writes no output: callMethodBg stores the
		// JSON of applyChanges' result, null, i.e. "". It runs a few polls.
		jobLines: []string{"", "", ""},
	}
	for _, o := range opts {
		if o != nil {
			o(s)
		}
	}
	s.m = seed(s.clockNow())
	// rpc.php is the one endpoint (fact sheet §1.1): POST everywhere, GET
	// with query parameters on 7.x and later (rpc/proxy/json.inc).
	mux := http.NewServeMux()
	mux.HandleFunc("POST /rpc.php", s.handle)
	mux.HandleFunc("GET /rpc.php", s.handle)
	srv, fp, err := fakeserver.NewHTTP(mux, s.tls)
	if err != nil {
		panic("omvtest: " + err.Error())
	}
	s.srv, s.fp = srv, fp
	s.URL = s.srv.URL
	return s
}

// Start is NewServer for a test: the server closes in tb.Cleanup.
func Start(tb testing.TB, opts ...Option) *Server {
	tb.Helper()
	s := NewServer(opts...)
	tb.Cleanup(s.Close)
	return s
}

// Close shuts the server down. It is idempotent.
func (s *Server) Close() { s.closeOnce.Do(s.srv.Close) }

// Fingerprint returns the "sha256:AA:…" pin of a WithTLS server's
// certificate ("" otherwise).
func (s *Server) Fingerprint() string { return s.fp }

// Request is one HTTP request that reached the server.
type Request struct {
	Method string // HTTP method: POST, or GET on 7.x and later
	Path   string // "/rpc.php"
	RPC    string // "Service.method" as the client sent it
	Time   time.Time
}

// Requests returns a copy of the requests received so far, oldest first.
//
// The server keeps the most recent requests: fakeserver.DefaultLogLimit
// (10,000) unless SetRequestLimit says otherwise, so a long demo does not
// grow without bound; the fakes are meant for tests and demos.
func (s *Server) Requests() []Request { return s.reqs.All() }

// SetRequestLimit sets how many of the most recent requests Requests
// keeps (0 or less: fakeserver.DefaultLogLimit, 10,000); a benchmark that
// counts round trips over many iterations raises it.
func (s *Server) SetRequestLimit(n int) { s.reqs.SetLimit(n) }

// Fault makes calls fail. A Status of 504 answers like nginx's fastcgi
// timeout (an HTML body) after the call ran, as on a real OMV whose PHP
// kept running; any other status answers OMV's error envelope with
// Message without running the call.
type Fault struct {
	// RPC is the "Service.method" to fail (case-insensitive); "" or "*"
	// fails every call.
	RPC     string
	Status  int
	Message string
	// Times is how many calls fail; 0 means every call until ClearFaults.
	Times int
}

// Inject adds a fault rule; the first matching rule answers a call.
func (s *Server) Inject(f Fault) { s.faults.Add(f, f.Times) }

// ClearFaults removes every fault rule.
func (s *Server) ClearFaults() { s.faults.Clear() }

// Certificate returns the TLS certificate of a WithTLS server (nil otherwise).
func (s *Server) Certificate() *x509.Certificate {
	if !s.tls {
		return nil
	}
	return s.srv.Certificate()
}

// Client returns an *http.Client for the server.
func (s *Server) Client() *http.Client { return s.srv.Client() }

// Now returns the server's clock.
func (s *Server) Now() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.clockNow()
}

func (s *Server) clockNow() time.Time {
	if s.clock != nil {
		return s.clock()
	}
	return s.now
}

// Advance moves the built-in fake clock forward: sessions idle out, RAID
// syncs progress. It has no effect on a clock set with WithClock.
func (s *Server) Advance(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.now = s.now.Add(d)
	s.m.tickRAID(s.clockNow())
}

// SetIdleTimeout sets OMV's auto-logout (default 5 min; 0 = never).
func (s *Server) SetIdleTimeout(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.idle = d
}

// SetLegacyCodes makes session errors carry OMV 4.x codes 5000/5001.
func (s *Server) SetLegacyCodes(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.legacyCodes = on
}

// SetRAIDPlugin installs or removes openmediavault-md (7.x+): without it
// MdMgmt answers 404.
func (s *Server) SetRAIDPlugin(installed bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.raidPlugin = installed
}

// SetLatency delays every call by d.
func (s *Server) SetLatency(d time.Duration) { s.lat.Set(d) }

// SetMethodLatency delays every call of method ("Service.method") by d,
// instead of the SetLatency delay.
func (s *Server) SetMethodLatency(method string, d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.latency[strings.ToLower(method)] = d
}

// FailJobs makes background jobs started from now on fail with msg
// ("" to succeed again).
func (s *Server) FailJobs(msg string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.jobFail = msg
}

// RequireChallenge makes logins of user answer "challengeRequired" (a
// second factor, 8.5+ only); this fake does not implement Session.verify.
func (s *Server) RequireChallenge(user string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.challenge[user] = true
}

// ExpireSessions destroys all sessions, as an idle timeout would.
func (s *Server) ExpireSessions() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sessions = map[string]*session{}
}

// SessionIDs returns the ids of the live sessions (to check that a client
// never prints or logs them).
func (s *Server) SessionIDs() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, 0, len(s.sessions))
	for id := range s.sessions {
		out = append(out, id)
	}
	sort.Strings(out)
	return out
}

// ExpireBefore destroys all sessions just before the next call of method
// ("Service.method"), as an idle timeout would in the middle of a
// sequence of calls; that call then gets 401 "Session not authenticated.".
func (s *Server) ExpireBefore(method string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.expireBefore[strings.ToLower(method)] = true
}

// Calls returns how many RPC calls reached the server (all methods, login
// included) and how many of them were writes.
func (s *Server) Calls() (total, writes int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.total, s.writes
}

// MethodCalls returns the number of calls per "Service.method".
func (s *Server) MethodCalls() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]int, len(s.calls))
	for k, v := range s.calls {
		out[k] = v
	}
	return out
}

// ResetCalls zeroes the call counters.
func (s *Server) ResetCalls() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls, s.total, s.writes = map[string]int{}, 0, 0
}

// LoginMails counts logins without the login-marker cookie (each would
// make a real OMV e-mail the user).
func (s *Server) LoginMails() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.loginMails
}

// Sessions returns the number of live sessions.
func (s *Server) Sessions() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.sessions)
}

// DirtyModules returns the sorted pending modules.
func (s *Server) DirtyModules() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.dirtyList()
}

func (s *Server) dirtyList() []string {
	out := make([]string, 0, len(s.dirty))
	for k := range s.dirty {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// AddUser creates a user directly (as if made on the console). admin puts
// it into openmediavault-admin.
func (s *Server) AddUser(name, password string, admin bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := &user{name: name, password: password, uid: 1000 + len(s.m.users), groups: []string{"users"}, sshkeys: []string{}}
	if admin {
		u.groups = append(u.groups, "openmediavault-admin")
	}
	s.m.users[name] = u
}

// rpcError is an OMV exception with its HTTP status.
type rpcError struct {
	status int
	msg    string
}

func (e *rpcError) Error() string { return e.msg }

func errf(status int, format string, a ...any) *rpcError {
	return &rpcError{status: status, msg: fmt.Sprintf(format, a...)}
}

func (s *Server) cookieName() string {
	if s.version == V6 {
		return "X-OPENMEDIAVAULT-SESSIONID"
	}
	return "OPENMEDIAVAULT-SESSIONID"
}

func (s *Server) markerName(user string) string {
	h := sha256.Sum256([]byte(user))
	if s.version == V6 {
		return "X-OPENMEDIAVAULT-LOGIN-" + hex.EncodeToString(h[:8])
	}
	return "OPENMEDIAVAULT-LOGIN-" + hex.EncodeToString(h[:8])
}

func newID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

type request struct {
	Service string          `json:"service"`
	Method  string          `json:"method"`
	Params  json.RawMessage `json:"params"`
	Options *struct {
		UpdateLastAccess *bool `json:"updatelastaccess"`
	} `json:"options"`
}

func (s *Server) handle(w http.ResponseWriter, r *http.Request) {
	var body []byte
	var err error
	s.mu.Lock()
	v := s.version
	s.mu.Unlock()
	switch {
	case r.Method == http.MethodPost:
		body, err = io.ReadAll(io.LimitReader(r.Body, 8<<20))
		if err != nil {
			return
		}
	case r.Method == http.MethodGet && v != V6:
		q := r.URL.Query()
		env := map[string]any{"service": q.Get("service"), "method": q.Get("method"), "params": q.Get("params")}
		body, _ = json.Marshal(env)
	default:
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	var raw map[string]json.RawMessage
	if json.Unmarshal(body, &raw) != nil || raw == nil {
		s.writeErr(w, errf(500, "Failed to get the RPC parameters."))
		return
	}
	var req request
	_ = json.Unmarshal(body, &req)
	for _, k := range []string{"service", "method"} {
		if _, ok := raw[k]; !ok {
			s.writeErr(w, errf(500, ": Missing 'required' attribute '%s'.", k))
			return
		}
	}
	if _, ok := raw["params"]; !ok && v == V6 {
		s.writeErr(w, errf(500, ": Missing 'required' attribute 'params'."))
		return
	}
	var params any
	if len(req.Params) > 0 {
		_ = json.Unmarshal(req.Params, &params)
	}
	if ps, ok := params.(string); ok && v != V6 {
		var p any
		if ps == "" || json.Unmarshal([]byte(ps), &p) != nil {
			p = []any{}
		}
		params = p
	}
	if params == nil && v != V6 {
		params = []any{}
	}
	key := strings.ToLower(req.Service + "." + req.Method)
	s.reqs.Add(Request{Method: r.Method, Path: r.URL.Path, RPC: req.Service + "." + req.Method, Time: time.Now()})
	s.mu.Lock()
	d, ok := s.latency[key]
	s.mu.Unlock()
	if !ok {
		d = s.lat.Get()
	}
	// Only a delayed call gives up with its client (poll.Sleep returns at
	// once on a done ctx, so d > 0 keeps an undelayed call running as
	// before).
	if d > 0 && poll.Sleep(r.Context(), d) != nil {
		return
	}
	touch := req.Options == nil || req.Options.UpdateLastAccess == nil || *req.Options.UpdateLastAccess
	s.mu.Lock()
	defer s.mu.Unlock()
	s.total++
	s.calls[req.Service+"."+req.Method]++
	if s.expireBefore[key] {
		delete(s.expireBefore, key)
		s.sessions = map[string]*session{}
	}
	f, faulty := s.faults.Take(func(f Fault) bool {
		return f.RPC == "" || f.RPC == "*" || strings.EqualFold(f.RPC, req.Service+"."+req.Method)
	})
	if faulty && f.Status != http.StatusGatewayTimeout {
		s.writeErr(w, errf(f.Status, "%s", f.Message))
		return
	}
	res, rerr := s.dispatch(w, r, req.Service, req.Method, params, touch)
	if faulty {
		s.write504(w)
		return
	}
	if rerr != nil {
		s.writeErr(w, rerr)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-cache, must-revalidate")
	out, err := json.Marshal(map[string]any{"response": res, "error": nil})
	if err != nil {
		s.writeErr(w, errf(500, "encode: %v", err))
		return
	}
	_, _ = w.Write(out)
}

func (s *Server) write504(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "text/html")
	w.WriteHeader(http.StatusGatewayTimeout)
	_, _ = io.WriteString(w, "<html>\r\n<head><title>504 Gateway Time-out</title></head>\r\n<body>\r\n<center><h1>504 Gateway Time-out</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n")
}

func (s *Server) writeErr(w http.ResponseWriter, e *rpcError) {
	code := 0
	if s.legacyCodes {
		switch e.msg {
		case "Session not authenticated.":
			code = 5000
		case "Session expired.":
			code = 5001
		}
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(e.status)
	trace := fmt.Sprintf("OMV\\Exception: %s in /usr/share/php/openmediavault/rpc/rpc.inc:86\nStack trace:\n#0 {main}", e.msg)
	_ = json.NewEncoder(w).Encode(map[string]any{"response": nil,
		"error": map[string]any{"code": code, "message": e.msg, "trace": trace}})
}

func (s *Server) sessionID(r *http.Request) string {
	if s.version != V6 {
		if h := r.Header.Get("X-OPENMEDIAVAULT-SESSIONID"); h != "" {
			return h
		}
	}
	if c, err := r.Cookie(s.cookieName()); err == nil {
		return c.Value
	}
	return ""
}

func (s *Server) clearCookie(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: s.cookieName(), Value: "deleted", Path: "/", MaxAge: -1, HttpOnly: true,
		SameSite: http.SameSiteStrictMode})
}

// dispatch runs with s.mu held.
func (s *Server) dispatch(w http.ResponseWriter, r *http.Request, service, method string, params any, touch bool) (any, *rpcError) {
	svc := strings.ToLower(service)
	sid := s.sessionID(r)
	sess := s.sessions[sid]
	if sess != nil && s.idle > 0 && s.clockNow().Sub(sess.lastAccess) > s.idle {
		delete(s.sessions, sid)
		s.clearCookie(w)
		return nil, errf(401, "Session expired.")
	}
	if svc == "session" {
		return s.sessionCall(w, r, sess, method, params)
	}
	// rpc/proxy/json.inc checks the session before it hands the call to
	// omv-engined, which is where unknown services and methods show up.
	if sess == nil {
		return nil, errf(401, "Session not authenticated.")
	}
	if _, exists := s.m.users[sess.user]; !exists {
		delete(s.sessions, sid)
		return nil, errf(401, "Invalid user.")
	}
	h, ok := s.lookup(svc, method)
	if h == nil {
		if !ok {
			return nil, errf(404, "RPC service '%s' not found.", service)
		}
		return nil, errf(404, "The method '%s' does not exist for the RPC service '%s'.", method, service)
	}
	if sess.role != "admin" && !(svc == "system" && method == "getInformation") {
		return nil, errf(403, "Invalid context role.")
	}
	if m := s.validate(svc, method, params); m != "" {
		return nil, errf(400, "%s", m)
	}
	if touch {
		sess.lastAccess = s.clockNow()
	}
	if readOnly(method) {
		return h(params)
	}
	s.writes++
	// revertChanges restores the state before the first change after an
	// apply, so snapshot before the handler mutates anything.
	var pre *model
	if len(s.dirty) == 0 {
		pre = s.m.clone()
	}
	res, err := h(params)
	if len(s.dirty) > 0 && s.snap == nil && pre != nil {
		s.snap = pre
	}
	return res, err
}

func readOnly(method string) bool {
	for _, p := range []string{"get", "enumerate", "is"} {
		if strings.HasPrefix(method, p) {
			return true
		}
	}
	return false
}

func (s *Server) validate(svc, method string, params any) string {
	key := svc + "." + strings.ToLower(method)
	if svc == "raidmgmt" || svc == "mdmgmt" {
		key = "raid." + strings.ToLower(method)
	}
	sc := schemas[key]
	if sc == nil {
		return ""
	}
	return validate(*sc, params, "")
}

func (s *Server) sessionCall(w http.ResponseWriter, r *http.Request, sess *session, method string, params any) (any, *rpcError) {
	switch method {
	case "login":
		if m := validate(*schemas["session.login"], params, ""); m != "" {
			return nil, errf(400, "%s", m)
		}
		p := params.(map[string]any)
		name := strings.TrimSpace(p["username"].(string))
		pw := p["password"].(string)
		if sess != nil && sess.user != name {
			return nil, errf(400, "Another user is already authenticated.")
		}
		u := s.m.users[name]
		if u == nil || u.password != pw || u.password == "" {
			return nil, errf(400, "Incorrect username or password.")
		}
		if sess != nil {
			delete(s.sessions, sess.id)
		}
		if s.version == V85 && s.challenge[name] {
			return map[string]any{"username": name, "status": "challengeRequired",
				"challenge": map[string]any{"kind": "totp", "redirecturl": ""}}, nil
		}
		role := "user"
		for _, g := range u.groups {
			if g == "openmediavault-admin" {
				role = "admin"
			}
		}
		ns := &session{id: newID(), user: name, role: role, lastAccess: s.clockNow(), ua: r.UserAgent()}
		s.sessions[ns.id] = ns
		http.SetCookie(w, &http.Cookie{Name: s.cookieName(), Value: ns.id, Path: "/", HttpOnly: true,
			SameSite: http.SameSiteStrictMode})
		marker := s.markerName(name)
		if _, err := r.Cookie(marker); err != nil {
			s.loginMails++
			http.SetCookie(w, &http.Cookie{Name: marker, Value: "1", Path: "/", MaxAge: 60 * 86400, HttpOnly: true})
		}
		perms := map[string]any{"role": role}
		switch s.version {
		case V6:
			return map[string]any{"authenticated": true, "username": name, "permissions": perms}, nil
		case V7:
			return map[string]any{"authenticated": true, "username": name, "permissions": perms, "sessionid": ns.id}, nil
		default:
			return map[string]any{"status": "authenticated", "username": name, "permissions": perms, "sessionid": ns.id}, nil
		}
	case "logout":
		if sess == nil {
			return nil, errf(401, "Session not authenticated.")
		}
		if sess.ua != r.UserAgent() {
			return nil, errf(401, "Invalid User-Agent.")
		}
		delete(s.sessions, sess.id)
		s.clearCookie(w)
		return nil, nil
	}
	return nil, errf(404, "The method '%s' does not exist for the RPC service 'Session'.", method)
}

type handler func(params any) (any, *rpcError)

// lookup returns the handler; ok reports whether the service exists.
func (s *Server) lookup(svc, method string) (handler, bool) {
	if svc == "raidmgmt" && s.version != V6 || svc == "mdmgmt" && (s.version == V6 || !s.raidPlugin) {
		return nil, false
	}
	if svc == "mdmgmt" {
		svc = "raidmgmt"
	}
	methods, ok := s.methods()[svc]
	if !ok {
		return nil, false
	}
	return methods[method], true
}
