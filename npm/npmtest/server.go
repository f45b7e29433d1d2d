package npmtest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/thehomelab/homelab/internal/fakeserver"
)

// PermissionMode selects how the server reports a permission failure.
type PermissionMode int

const (
	// PermissionAuto follows the version: 404 for 2.13.0–2.15.x, else 403.
	PermissionAuto PermissionMode = iota
	// Permission403 answers 403 "Permission Denied" (≤2.12, fixed builds).
	Permission403
	// Permission404 answers 404 "Not Found - <path>" (2.13.0–2.15.1 bug).
	Permission404
)

// Option configures a Server.
type Option func(*Server)

// WithPrefix mounts the API under prefix ("/api" by default; "" serves at
// the root like a bare backend).
func WithPrefix(prefix string) Option {
	return func(s *Server) { s.prefix = strings.TrimRight(prefix, "/") }
}

// WithVersion sets the version the server reports and behaves like
// (default "2.15.1"): ≤2.11 0/1 booleans in answers and ajv 6 error
// wording (first error only); ≤2.12 letsencrypt_email and 403
// permission errors; 2.13.0–2.15.x 404 permission errors; 2.13.6+ 2FA and
// key_type; 2.14+ trust_forwarded_proto; ≤2.14 no error code on 500s.
func WithVersion(v string) Option {
	return func(s *Server) {
		var x version
		if _, err := fmt.Sscanf(strings.TrimPrefix(v, "v"), "%d.%d.%d", &x.major, &x.minor, &x.rev); err == nil {
			s.ver = x
		}
	}
}

// WithReportedVersion makes the server report v (in GET / and the
// schema) while it behaves as WithVersion says: a build from source
// reports the 2.0.0 of backend/package.json whatever its code is.
func WithReportedVersion(v string) Option {
	return func(s *Server) {
		var x version
		if _, err := fmt.Sscanf(strings.TrimPrefix(v, "v"), "%d.%d.%d", &x.major, &x.minor, &x.rev); err == nil {
			s.reported = &x
		}
	}
}

// WithPermissionMode overrides the version's permission-failure answer.
func WithPermissionMode(m PermissionMode) Option { return func(s *Server) { s.permMode = m } }

// WithSQLiteDates writes dates as "YYYY-MM-DD HH:MM:SS" (SQLite) instead of
// ISO 8601 (MySQL/Postgres).
func WithSQLiteDates() Option { return func(s *Server) { s.sqliteDates = true } }

// WithLocation sets the server's time zone (its TZ): with WithSQLiteDates
// the dates are written in it, as upstream's SQLite does
// (backend/models/now_helper.js: datetime('now','localtime')).
func WithLocation(loc *time.Location) Option { return func(s *Server) { s.loc = loc } }

// WithClock sets the clock behind token expiry, timestamps and certificate
// expiry. Advance moves it further.
func WithClock(now func() time.Time) Option { return func(s *Server) { s.clock = now } }

// WithTokenTTL changes the token lifetime (24 h by default, as upstream).
func WithTokenTTL(d time.Duration) Option { return func(s *Server) { s.tokenTTL = d } }

// WithoutSeed starts with only the admin user: no certificates, hosts or
// access lists.
func WithoutSeed() Option { return func(s *Server) { s.noSeed = true } }

// WithLatency delays every answer by d (honouring the request context), to
// measure round trips.
func WithLatency(d time.Duration) Option { return func(s *Server) { s.latency.Set(d) } }

type version struct{ major, minor, rev int }

func (v version) atLeast(a, b, c int) bool {
	if v.major != a {
		return v.major > a
	}
	if v.minor != b {
		return v.minor > b
	}
	return v.rev >= c
}

// NginxConfig describes a host configuration the simulated `nginx -t`
// checks.
type NginxConfig struct {
	Kind           string // "proxy_host", "redirection_host", "dead_host", "stream"
	ID             int
	Domains        []string
	ForwardHost    string
	ForwardPort    int
	AdvancedConfig string
}

// Server is an in-process fake of the NPM 2.x REST API on 127.0.0.1. It
// keeps its state in memory, guarded by a mutex, and is safe for
// concurrent use.
type Server struct {
	// URL is the API base URL, e.g. "http://127.0.0.1:41234/api".
	URL string

	ts          *httptest.Server
	prefix      string
	ver         version
	permMode    PermissionMode
	sqliteDates bool
	reported    *version
	loc         *time.Location
	clock       func() time.Time
	tokenTTL    time.Duration
	noSeed      bool
	latency     fakeserver.Latency
	log         fakeserver.Log[Request]
	faults      fakeserver.Faults[Fault]
	mux         *http.ServeMux
	closeOnce   sync.Once

	mu          sync.Mutex
	offset      time.Duration
	users       map[int]*user
	userSeq     int
	tokens      map[string]tokenInfo
	challenges  map[string]tokenInfo
	tables      map[string]*table
	certs       map[int]*cert
	certSeq     int
	acls        map[int]*acl
	aclSeq      int
	aclItemSeq  int
	audit       []map[string]any
	nginxHook   func(NginxConfig) error
	certHook    func(domains []string) error
	certLatency time.Duration
	detached    bool
	life        context.Context // ends with Close; detached issuance runs under it
	stop        context.CancelFunc
	setupMode   bool
	pretestHook func(NginxConfig) error

	defaultSite     string
	defaultSiteMeta map[string]any
}

type tokenInfo struct {
	user int
	exp  time.Time
}

type user struct {
	id         int
	email      string
	name       string
	password   string
	admin      bool
	disabled   bool
	deleted    bool
	visibility string
	perms      map[string]string
	totp       string
	backup     []string
	created    time.Time
}

// NewServer starts a fake NPM on 127.0.0.1, seeded with the homelab's apps
// (see Seed) unless WithoutSeed is given. Close it when done. Like
// httptest.NewServer it panics only if it cannot listen.
func NewServer(opts ...Option) *Server {
	s := &Server{
		prefix:     "/api",
		ver:        version{2, 15, 1},
		clock:      time.Now,
		tokenTTL:   24 * time.Hour,
		users:      map[int]*user{},
		tokens:     map[string]tokenInfo{},
		challenges: map[string]tokenInfo{},
		tables:     map[string]*table{},
		certs:      map[int]*cert{},
		acls:       map[int]*acl{},
	}
	for _, o := range opts {
		o(s)
	}
	s.life, s.stop = context.WithCancel(context.Background())
	for _, k := range []string{kindProxy, kindRedirection, kindDead, kindStream} {
		s.tables[k] = &table{kind: k, rows: map[int]*row{}}
	}
	s.defaultSite, s.defaultSiteMeta = "congratulations", map[string]any{}
	s.mu.Lock()
	if !s.setupMode {
		s.addUserLocked(UserSpec{Email: AdminEmail, Name: "Administrator", Password: AdminPassword, Admin: true})
	}
	if !s.noSeed && !s.setupMode {
		s.seedLocked()
	}
	s.mu.Unlock()
	s.mux = s.routes()
	ts, _, err := fakeserver.NewHTTP(http.HandlerFunc(s.serve), false)
	if err != nil {
		panic("npmtest: " + err.Error())
	}
	s.ts = ts
	s.URL = s.ts.URL + s.prefix
	if s.prefix == "" {
		s.URL += "/" // the root, said explicitly: clients fill in /api otherwise
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

// Close shuts the server down and waits for pending requests (a detached
// issuance still running is aborted). It is idempotent.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		s.stop()
		s.ts.Close()
	})
}

// Addr returns the server's host:port.
func (s *Server) Addr() string { return strings.TrimPrefix(s.ts.URL, "http://") }

// Client returns an *http.Client for the server (plain HTTP).
func (s *Server) Client() *http.Client { return s.ts.Client() }

// Now returns the server's current time.
func (s *Server) Now() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.now()
}

func (s *Server) now() time.Time { return s.clock().Add(s.offset).UTC() }

// Advance moves the server's clock forward (tokens expire, certificates
// approach their expiry).
func (s *Server) Advance(d time.Duration) {
	s.mu.Lock()
	s.offset += d
	s.mu.Unlock()
}

// FailNginx installs the simulated `nginx -t`: a non-nil error marks the
// host meta.nginx_online=false with the error text, while the HTTP call
// still succeeds, as upstream. nil removes the hook. check runs while the
// server holds its lock: it must not call the Server's methods.
func (s *Server) FailNginx(check func(NginxConfig) error) {
	s.mu.Lock()
	s.nginxHook = check
	s.mu.Unlock()
}

// FailCertificates makes certbot fail when check returns an error: the
// certificate row is removed and the call answers 500 "Internal Error"
// with the error in the debug object. nil removes the hook.
func (s *Server) FailCertificates(check func(domains []string) error) {
	s.mu.Lock()
	s.certHook = check
	s.mu.Unlock()
}

// SetCertificateLatency makes Let's Encrypt issuance and renewal take d
// (aborted when the client goes away, unless DetachIssuance is on).
func (s *Server) SetCertificateLatency(d time.Duration) {
	s.mu.Lock()
	s.certLatency = d
	s.mu.Unlock()
}

// DetachIssuance makes Let's Encrypt issuance and renewal run to their end
// after the client hangs up, as a real NPM does: Node keeps certbot
// running, and the certificate row, inserted before certbot starts (with
// expires_on equal to created_on), stays when it succeeds. A row deleted
// meanwhile stays deleted. By default the fake aborts issuance with the
// request, leaving no row.
func (s *Server) DetachIssuance(on bool) {
	s.mu.Lock()
	s.detached = on
	s.mu.Unlock()
}

// UserSpec describes a user for AddUser.
type UserSpec struct {
	Email, Name, Password string
	Admin                 bool
	// Visibility is "all" or "user" (only own rows); default "user" for
	// non-admins.
	Visibility string
	// Permissions maps proxy_hosts, redirection_hosts, dead_hosts, streams,
	// access_lists, certificates to hidden, view or manage (default manage).
	Permissions map[string]string
}

// AddUser adds a user and returns its id.
func (s *Server) AddUser(u UserSpec) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addUserLocked(u)
}

func (s *Server) addUserLocked(u UserSpec) int {
	s.userSeq++
	perms := map[string]string{}
	for _, k := range []string{kindProxy, kindRedirection, kindDead, kindStream, "access_lists", "certificates"} {
		perms[k] = "manage"
	}
	for k, v := range u.Permissions {
		perms[k] = v
	}
	vis := u.Visibility
	if vis == "" {
		vis = "user"
		if u.Admin {
			vis = "all"
		}
	}
	s.users[s.userSeq] = &user{id: s.userSeq, email: u.Email, name: u.Name, password: u.Password, admin: u.Admin, visibility: vis, perms: perms, created: s.now()}
	return s.userSeq
}

// DisableUser disables a user; its tokens then fail the permission check.
func (s *Server) DisableUser(id int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if u := s.users[id]; u != nil {
		u.disabled = true
	}
}

// EnableTwoFactor turns 2FA on for the user with this e-mail (NPM 2.13.6+
// only): logins then answer with a challenge that the current TOTP code of
// secret (base32; see TOTP) or one of the 8-character backup codes, each
// usable once, completes.
func (s *Server) EnableTwoFactor(email, secret string, backup ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, u := range s.users {
		if strings.EqualFold(u.email, email) {
			u.totp, u.backup = secret, slices.Clone(backup)
		}
	}
}

// ExpireTokens makes every issued token expired.
func (s *Server) ExpireTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, t := range s.tokens {
		t.exp = s.now().Add(-time.Second)
		s.tokens[k] = t
	}
}

// FailNginxPretest makes the `nginx -t` that runs before a host's config is
// written fail when check returns an error. Upstream then answers 500
// "Internal Error" although the host row was already stored, so a retry
// hits "already in use". nil removes the hook. check runs while the server
// holds its lock: it must not call the Server's methods.
func (s *Server) FailNginxPretest(check func(NginxConfig) error) {
	s.mu.Lock()
	s.pretestHook = check
	s.mu.Unlock()
}

// DeleteUser soft-deletes a user; its tokens then fail the permission
// check.
func (s *Server) DeleteUser(id int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if u := s.users[id]; u != nil {
		u.deleted = true
	}
}

// ForgetTokens drops every issued token, as a server whose JWT keys were
// regenerated would: old tokens then answer 500 "Internal Error".
func (s *Server) ForgetTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.tokens)
}

// --- plumbing -------------------------------------------------------------

type apiError struct {
	status int
	msg    string
	i18n   any
	debug  any
	raw    any // a body that is not the usual object
}

func (e *apiError) Error() string { return e.msg }

func errf(status int, format string, a ...any) *apiError {
	return &apiError{status: status, msg: fmt.Sprintf(format, a...)}
}

var errInternal = &apiError{status: 500, msg: "Internal Error"}

// errHidden is a non-public 400 (body-parser or path validation): the
// message is masked.
var errHidden = &apiError{status: 400, msg: "Internal Error"}

func (s *Server) writeJSON(w http.ResponseWriter, status int, v any) {
	b, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache, no-store, max-age=0, must-revalidate")
	w.Header().Set("X-Frame-Options", "DENY")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

func (s *Server) writeErr(w http.ResponseWriter, path string, e *apiError) {
	if e.raw != nil {
		s.writeJSON(w, e.status, e.raw)
		return
	}
	inner := map[string]any{"message": e.msg}
	if e.status != 500 || s.ver.atLeast(2, 15, 0) {
		inner["code"] = e.status
	}
	if e.i18n != nil {
		inner["message_i18n"] = e.i18n
	}
	body := map[string]any{"error": inner}
	if strings.Contains(path, "nginx/certificates") {
		// err.previous is undefined on most errors, and JSON leaves an
		// undefined key out: no "previous": null (backend/app.js).
		d := e.debug
		if d == nil {
			d = map[string]any{"stack": []string{"Error: " + e.msg}}
		}
		body["debug"] = d
	}
	s.writeJSON(w, e.status, body)
}

func (s *Server) perm404() bool {
	switch s.permMode {
	case Permission403:
		return false
	case Permission404:
		return true
	}
	return s.ver.atLeast(2, 13, 0) && !s.ver.atLeast(2, 16, 0)
}

// denied is a route's answer to a caller without the permission (no
// token, too few rights, a deleted user). In 2.13.0–2.15.1
// backend/lib/access.js throws errs.PermissionError(...) without new: the
// method call returns undefined, so `throw undefined` reaches the route's
// catch. Most routes pass it to next(), which takes it for "no error", and
// the request ends at the catch-all 404 "Not Found - <path>". The create
// route of proxy hosts reads err.debug in its catch
// (backend/routes/nginx/proxy_hosts.js POST /), which throws a TypeError
// on undefined: 500 "Internal Error".
func (s *Server) denied(r *http.Request, path string) *apiError {
	if s.perm404() && r.Method == http.MethodPost && path == "/nginx/proxy-hosts" {
		return errInternal
	}
	return s.permissionDenied(path)
}

func (s *Server) permissionDenied(path string) *apiError {
	if s.perm404() {
		return errf(404, "Not Found - %s", path)
	}
	return errf(403, "Permission Denied")
}

func (s *Server) bool(b bool) any {
	if !s.ver.atLeast(2, 12, 0) {
		if b {
			return 1
		}
		return 0
	}
	return b
}

func (s *Server) date(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	if s.sqliteDates {
		if s.loc != nil {
			return t.In(s.loc).Format("2006-01-02 15:04:05")
		}
		return t.UTC().Format("2006-01-02 15:04:05")
	}
	return t.UTC().Format("2006-01-02T15:04:05.000Z")
}

func randToken(prefix string) string {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

// readBody decodes a JSON body the way express.json does: no JSON content
// type means "Payload is undefined", malformed JSON is an internal error.
func readBody(r *http.Request) (any, *apiError) {
	if !strings.Contains(r.Header.Get("Content-Type"), "json") {
		return nil, errf(400, "Payload is undefined")
	}
	data, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		return nil, errInternal
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return map[string]any{}, nil
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, errHidden
	}
	return v, nil
}

// readValid reads and validates a body against n, reporting errors as the
// version's ajv does: ajv 8 since 2.12 (every error, "data/x/0 must …",
// joined by ", "); ajv 6 before (allErrors off, so only the first error,
// "data.x[0] should …").
func (s *Server) readValid(r *http.Request, n *node) (map[string]any, *apiError) {
	v, e := readBody(r)
	if e != nil {
		return nil, e
	}
	c, errs := n.validate("data", v)
	if len(errs) > 0 {
		if !s.ver.atLeast(2, 12, 0) {
			errs = []string{ajv6Message(errs[0])}
		}
		return nil, &apiError{status: 400, msg: strings.Join(errs, ", ")}
	}
	m, _ := c.(map[string]any)
	return m, nil
}

// ajv6Message rewrites an ajv 8 message into ajv 6's wording: the data
// path in dot and bracket notation and "should" for "must".
func ajv6Message(msg string) string {
	path, rest, ok := strings.Cut(msg, " ")
	if !ok {
		return msg
	}
	segs := strings.Split(path, "/")
	var b strings.Builder
	b.WriteString(segs[0])
	for _, seg := range segs[1:] {
		if _, err := strconv.Atoi(seg); err == nil {
			b.WriteString("[" + seg + "]")
		} else {
			b.WriteString("." + seg)
		}
	}
	rest = strings.Replace(rest, "must ", "should ", 1)
	return b.String() + " " + rest
}

// verString is the version the server reports.
func (s *Server) verString() string {
	v := s.ver
	if s.reported != nil {
		v = *s.reported
	}
	return fmt.Sprintf("%d.%d.%d", v.major, v.minor, v.rev)
}

// schema serves the OpenAPI document of the bodies the server validates
// (upstream serves the dereferenced backend/schema/swagger.json at GET
// /schema since 2.12, info.version set to the package version): the
// create bodies of proxy hosts and certificates, from the same schemas the
// fake validates with, so their properties say what this version accepts.
func (s *Server) schema(c *call) (int, any, *apiError) {
	if !s.ver.atLeast(2, 12, 0) {
		return 0, nil, notFound(c.path)
	}
	body := func(n *node) map[string]any {
		return map[string]any{"requestBody": map[string]any{"required": true, "content": map[string]any{"application/json": map[string]any{"schema": n.openAPI()}}}}
	}
	return 200, map[string]any{
		"openapi": "3.1.0",
		"info":    map[string]any{"title": "Nginx Proxy Manager API", "version": s.verString()},
		"paths": map[string]any{
			"/nginx/proxy-hosts":  map[string]any{"post": body(s.schemaFor(kindProxy, true)), "get": map[string]any{}},
			"/nginx/certificates": map[string]any{"post": body(s.certSchema()), "get": map[string]any{}},
		},
	}, nil
}

// versionCheck answers GET /version/check (2.13.6+) as an offline server
// does (backend/routes/version.js): the current version, nothing newer
// known.
func (s *Server) versionCheck(c *call) (int, any, *apiError) {
	if !s.ver.atLeast(2, 13, 6) {
		return 0, nil, notFound(c.path)
	}
	return 200, map[string]any{"current": "v" + s.verString(), "latest": nil, "update_available": false}, nil
}

func (s *Server) health(*call) (int, any, *apiError) {
	rv := s.ver
	if s.reported != nil {
		rv = *s.reported
	}
	v := map[string]any{"status": "OK", "version": map[string]any{"major": rv.major, "minor": rv.minor, "revision": rv.rev}}
	if s.ver.atLeast(2, 13, 0) {
		s.mu.Lock()
		v["setup"] = s.liveUsersLocked() > 0
		s.mu.Unlock()
	}
	return 200, v, nil
}

func sortedKeys[V any](m map[int]V) []int {
	ks := make([]int, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Ints(ks)
	return ks
}

// authenticate checks the bearer token: none is a permission failure, an
// unknown one a 500, an expired one 400 "Token has expired"; a disabled or
// deleted user fails the permission check.
func (s *Server) authenticate(r *http.Request, path string) (*user, *apiError) {
	h := r.Header.Get("Authorization")
	tok, ok := strings.CutPrefix(h, "Bearer ")
	if !ok || tok == "" {
		if r.Method == http.MethodGet && (path == "/tokens" || path == "/users/me") {
			// Observed on 2.15.1: both crash before the permission check
			// (backend/routes/tokens.js refresh reads the token of an
			// access that has none).
			return nil, errInternal
		}
		return nil, s.denied(r, path)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.tokens[tok]
	if !ok {
		return nil, errInternal
	}
	if !s.now().Before(t.exp) {
		// backend/models/token.js load: a TokenExpiredError from
		// jsonwebtoken becomes errs.AuthError("Token has expired", err),
		// the jwt error standing as its messageI18n; AuthError's status is
		// 400 (backend/lib/error.js, v2.15).
		return nil, &apiError{status: 400, msg: "Token has expired", i18n: map[string]any{"name": "TokenExpiredError", "message": "jwt expired", "expiredAt": t.exp.UTC().Format("2006-01-02T15:04:05.000Z")}}
	}
	u := s.users[t.user]
	if u == nil || u.deleted || u.disabled {
		return nil, s.denied(r, path)
	}
	return u, nil
}

var loginSchema = obj(map[string]*node{"identity": strN(1, 0), "secret": strN(1, 0), "scope": enum("user")}, "identity", "secret")

func (s *Server) issueLocked(uid int, ttl time.Duration) map[string]any {
	tok := randToken("npmtest.")
	exp := s.now().Add(ttl)
	s.tokens[tok] = tokenInfo{user: uid, exp: exp}
	return map[string]any{"token": tok, "expires": exp.Format("2006-01-02T15:04:05.000Z")}
}

// login answers POST /tokens (backend/routes/tokens.js, backend/internal/token.js
// getTokenFromEmail; the 2FA challenge of backend/internal/2fa.js since 2.13.6).
func (s *Server) login(c *call) (int, any, *apiError) {
	b, e := s.readValid(c.r, loginSchema)
	if e != nil {
		return 0, nil, e
	}
	id := strings.ToLower(strings.TrimSpace(b["identity"].(string)))
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, u := range s.users {
		if strings.ToLower(u.email) != id || u.deleted || u.disabled {
			continue
		}
		if u.password != b["secret"].(string) {
			e := errf(400, "Invalid email or password")
			if s.ver.atLeast(2, 13, 0) {
				e.i18n = "error.invalid-auth" // the i18n key came with 2.13
			}
			return 0, nil, e
		}
		if u.totp != "" && s.ver.atLeast(2, 13, 6) {
			ch := randToken("npmtest-2fa.")
			s.challenges[ch] = tokenInfo{user: u.id, exp: s.now().Add(5 * time.Minute)}
			return 200, map[string]any{"requires_2fa": true, "challenge_token": ch}, nil
		}
		return 200, s.issueLocked(u.id, s.tokenTTL), nil
	}
	return 0, nil, errf(400, "Invalid email or password")
}

var twoFASchema = obj(map[string]*node{"challenge_token": strN(1, 0), "code": strN(6, 8)}, "challenge_token", "code")

// login2FA answers POST /tokens/2fa (backend/internal/token.js verify2FA,
// backend/internal/2fa.js).
func (s *Server) login2FA(c *call) (int, any, *apiError) {
	if !s.ver.atLeast(2, 13, 6) {
		return 0, nil, notFound(c.path)
	}
	b, e := s.readValid(c.r, twoFASchema)
	if e != nil {
		return 0, nil, e
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ch, ok := s.challenges[b["challenge_token"].(string)]
	if !ok {
		return 0, nil, errf(400, "Invalid challenge token")
	}
	if !s.now().Before(ch.exp) {
		return 0, nil, errf(400, "Invalid or expired challenge token")
	}
	u := s.users[ch.user]
	code := b["code"].(string)
	switch {
	case u == nil:
		return 0, nil, errf(400, "Invalid challenge token")
	case len(code) == 6 && totpValid(u.totp, code, s.now()):
	case slices.Contains(u.backup, code):
		u.backup = slices.DeleteFunc(u.backup, func(c string) bool { return c == code })
	default:
		return 0, nil, &apiError{status: 400, msg: "Invalid verification code", i18n: "error.invalid-2fa"}
	}
	delete(s.challenges, b["challenge_token"].(string))
	return 200, s.issueLocked(u.id, s.tokenTTL), nil
}

// expiryRE is upstream's parseDatePeriod (backend/lib/helpers.js).
var expiryRE = regexp.MustCompile(`^([0-9]+)(y|Q|M|w|d|h|m|s|ms)$`)

// refresh issues a new token (backend/internal/token.js getFreshToken):
// ?expiry=<n><unit> as moment reads it; anything else is the AuthError
// 400 "Invalid expiry time: <expiry>". A quarter passes moment but makes
// jsonwebtoken fail to sign: 500.
func (s *Server) refresh(c *call) (int, any, *apiError) {
	u := c.u
	ttl := s.tokenTTL
	if e := c.r.URL.Query().Get("expiry"); e != "" {
		m := expiryRE.FindStringSubmatch(e)
		if m == nil {
			return 0, nil, errf(400, "Invalid expiry time: %s", e)
		}
		n, err := strconv.Atoi(m[1])
		if err != nil || n > 1000000 {
			return 0, nil, errInternal
		}
		switch m[2] {
		case "Q":
			return 0, nil, errInternal
		case "y":
			ttl = time.Duration(n) * 365 * 24 * time.Hour
		case "M":
			ttl = time.Duration(n) * 30 * 24 * time.Hour
		default:
			ttl = time.Duration(n) * map[string]time.Duration{"w": 7 * 24 * time.Hour, "d": 24 * time.Hour, "h": time.Hour, "m": time.Minute, "s": time.Second, "ms": time.Millisecond}[m[2]]
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return 200, s.issueLocked(u.id, ttl), nil
}

// me answers GET /users/me[?expand=permissions] (backend/routes/users.js;
// userIdFromMe maps "me" to the caller).
func (s *Server) me(c *call) (int, any, *apiError) {
	exp, e := parseExpand(c.r, "permissions")
	if e != nil {
		return 0, nil, e
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return 200, s.renderUserExp(c.u, exp["permissions"]), nil
}

// listUsers answers GET /users (backend/internal/user.js getAll).
func (s *Server) listUsers(c *call) (int, any, *apiError) {
	exp, e := parseExpand(c.r, "permissions")
	if e != nil {
		return 0, nil, e
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []any
	for _, id := range sortedKeys(s.users) {
		if x := s.users[id]; !x.deleted {
			out = append(out, s.renderUserExp(x, exp["permissions"]))
		}
	}
	return 200, out, nil
}

// deleteUser answers DELETE /users/{id} (backend/internal/user.js delete:
// soft delete, never yourself).
func (s *Server) deleteUser(c *call) (int, any, *apiError) {
	id, e := pathID(c)
	if e != nil {
		return 0, nil, e
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.users[id]
	if t == nil || t.deleted {
		return 0, nil, errf(404, "Not Found - %d", id)
	}
	if t.id == c.u.id {
		return 0, nil, errf(403, "You cannot delete yourself.")
	}
	t.deleted = true
	s.auditLocked(c.u, "user", id, "deleted", map[string]any{"email": t.email})
	return 200, true, nil
}

// auditLog answers GET /audit-log, the newest 100 (backend/internal/audit-log.js).
func (s *Server) auditLog(*call) (int, any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []any{}
	for i := len(s.audit) - 1; i >= 0 && len(out) < 100; i-- {
		out = append(out, s.audit[i])
	}
	return 200, out, nil
}

func (s *Server) auditEntry(c *call) (int, any, *apiError) {
	if !s.ver.atLeast(2, 13, 0) {
		return 0, nil, notFound(c.path)
	}
	id, e := pathID(c)
	if e != nil {
		return 0, nil, e
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if id > len(s.audit) {
		return 0, nil, errf(404, "Not Found - %d", id)
	}
	return 200, s.audit[id-1], nil
}

// renderUserExp is renderUser with the permissions row when expanded;
// backend/internal/user.js omits its id, user_id and dates.
func (s *Server) renderUserExp(u *user, perms bool) map[string]any {
	out := s.renderUser(u)
	if perms {
		p := map[string]any{"visibility": u.visibility}
		for k, v := range u.perms {
			p[k] = v
		}
		out["permissions"] = p
	}
	return out
}

func (s *Server) renderUser(u *user) map[string]any {
	roles := []string{}
	if u.admin {
		roles = append(roles, "admin")
	}
	return map[string]any{
		"id": u.id, "created_on": s.date(u.created), "modified_on": s.date(u.created), "is_disabled": s.bool(u.disabled),
		"email": u.email, "name": u.name, "nickname": u.name, "avatar": "", "roles": roles,
	}
}

// can reports whether u may act on objects of kind (view or manage).
func (u *user) can(kind string, manage bool) bool {
	if u.admin {
		return true
	}
	p := u.perms[kind]
	if manage {
		return p == "manage"
	}
	return p == "view" || p == "manage"
}

// sees reports whether u may see a row owned by owner.
func (u *user) sees(owner int) bool { return u.admin || u.visibility == "all" || owner == u.id }

func (s *Server) auditLocked(u *user, objType string, id int, action string, meta any) {
	s.audit = append(s.audit, map[string]any{
		"id": len(s.audit) + 1, "created_on": s.date(s.now()), "modified_on": s.date(s.now()), "user_id": u.id,
		"object_type": objType, "object_id": id, "action": action, "meta": meta,
	})
}

func parseID(s string) (int, *apiError) {
	id, err := strconv.Atoi(s)
	if err != nil || id < 1 {
		return 0, errHidden
	}
	return id, nil
}

func parseExpand(r *http.Request, allowed ...string) (map[string]bool, *apiError) {
	out := map[string]bool{}
	q := r.URL.Query().Get("expand")
	if q == "" {
		return out, nil
	}
	for _, e := range strings.Split(q, ",") {
		e = strings.TrimSpace(e)
		if !slices.Contains(allowed, e) {
			return nil, errInternal
		}
		out[e] = true
	}
	return out, nil
}
