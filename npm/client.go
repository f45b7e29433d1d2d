package npm

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/thehomelab/homelab/internal/clientcfg"
	"github.com/thehomelab/homelab/internal/tlspin"
	"github.com/thehomelab/homelab/secret"
)

// FingerprintMismatchError is the error a pinned connection fails with
// when the server shows another certificate: errors.As reaches it and the
// fingerprint seen (Got), to pin after checking it.
type FingerprintMismatchError = tlspin.MismatchError

// Client talks to the NPM REST API. It logs in with an identity (the user's
// e-mail) and secret, keeps the bearer token, refreshes it before it
// expires and logs in again once when the server says it has expired.
//
// A *Client is safe for concurrent use by multiple goroutines.
type Client struct {
	cfg      config
	base     *url.URL
	hc       *http.Client
	logger   *slog.Logger
	now      func() time.Time
	identity string
	password secret.Secret
	totp     func(ctx context.Context) (string, error)
	margin   time.Duration
	pinned   *Version

	authMu sync.Mutex // serialises logins and refreshes

	mu       sync.Mutex // guards the fields below
	token    secret.Secret
	expires  time.Time
	ver      Version
	verKnown bool
	probed   *features // what a 2.0.0 server accepts, once probed
	closed   bool

	// ProxyHosts manages proxy hosts (/nginx/proxy-hosts).
	ProxyHosts *ProxyHostsService
	// Certificates manages SSL certificates (/nginx/certificates).
	Certificates *CertificatesService
	// AccessLists manages access lists (/nginx/access-lists).
	AccessLists *AccessListsService
	// RedirectionHosts manages redirection hosts (/nginx/redirection-hosts).
	RedirectionHosts *RedirectionHostsService
	// DeadHosts manages 404 hosts (/nginx/dead-hosts).
	DeadHosts *DeadHostsService
	// Streams manages TCP/UDP streams (/nginx/streams).
	Streams *StreamsService
}

type config struct {
	clientcfg.Config
	now     func() time.Time
	margin  time.Duration
	version *Version
	loc     *time.Location
	// issue bounds a call that waits for a certificate authority.
	issue time.Duration
}

// DefaultIssueTimeout bounds a call that issues or renews a Let's Encrypt
// certificate when its ctx has no deadline: NPM answers only once certbot
// is done, DNS propagation included.
const DefaultIssueTimeout = 5 * time.Minute

// WithIssueTimeout bounds a call that issues or renews a certificate
// (CreateLetsEncrypt, Renew, Expose when it must issue) whose ctx has no
// deadline; default DefaultIssueTimeout. The requests before the issuance
// itself are still bounded by WithTimeout, so a server that accepts and
// never answers costs WithTimeout, not this.
func WithIssueTimeout(d time.Duration) Option {
	return func(c *config) error {
		if d <= 0 {
			return fmt.Errorf("npm: WithIssueTimeout: %v is not positive", d)
		}
		c.issue = d
		return nil
	}
}

// Option configures a Client; an invalid option makes NewClient fail, a
// nil one is skipped.
type Option func(*config) error

// WithCredentials sets the login: user is the NPM account's e-mail
// address. NewClient fails without it.
func WithCredentials(user string, password secret.Secret) Option {
	return func(c *config) error { return c.SetCredentials(user, password) }
}

// WithTOTP supplies one-time codes (6-digit TOTP or an 8-character backup
// code) for accounts with 2FA (NPM 2.13.6+). It is called once per login;
// the client refreshes tokens with GET /tokens so that is rare.
func WithTOTP(code func(ctx context.Context) (string, error)) Option {
	return func(c *config) error { return c.SetTOTP(code) }
}

// WithHTTPClient sets the HTTP client whose Transport carries the
// requests, under the SDK's own retries and logging; its Timeout, Jar and
// CheckRedirect are not used (WithTimeout bounds calls, sessions are the
// SDK's, redirects are refused so that credentials never follow one). Its
// transport's TLS settings are used as they are, so it cannot be combined
// with WithFingerprint or WithRootCAs.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *config) error { return c.SetHTTPClient(hc) }
}

// WithTimeout bounds a call whose ctx has no deadline, retries included
// (default 30 s). Let's Encrypt issuance runs certbot while the request is
// open, for minutes with DNS propagation: give those calls a ctx with a
// longer deadline, or raise the timeout.
func WithTimeout(d time.Duration) Option {
	return func(c *config) error { return c.SetTimeout(d) }
}

// WithRetries sets how many times a request safe to repeat (GET, or a
// gateway error before the server saw it) is retried after the first
// attempt (default 3; 0 turns retries off).
func WithRetries(n int) Option {
	return func(c *config) error { return c.SetRetries(n) }
}

// WithLogger logs one Debug line per HTTP request (never headers, bodies or
// tokens). The default, and nil, discard.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) error { return c.SetLogger(l) }
}

// WithFingerprint pins the server's TLS leaf certificate by its SHA-256
// fingerprint ("sha256:…" or "AA:BB:…"). It needs an https:// base URL.
func WithFingerprint(fp string) Option {
	return func(c *config) error { return c.SetFingerprint(fp) }
}

// WithRootCAs verifies the server against these roots instead of the
// system's. It needs an https:// base URL.
func WithRootCAs(pool *x509.CertPool) Option {
	return func(c *config) error { return c.SetRootCAs(pool) }
}

// withClock sets the clock used for token expiry and certificate expiry
// reports (tests reach it through export_test.go).
func withClock(now func() time.Time) Option {
	return func(c *config) error {
		if now == nil {
			return errors.New("npm: clock is nil")
		}
		c.now = now
		return nil
	}
}

// WithRefreshMargin sets how long before expiry the token is refreshed
// (default 1 h of the server's 24 h).
func WithRefreshMargin(d time.Duration) Option {
	return func(c *config) error {
		if d < 0 {
			return fmt.Errorf("npm: WithRefreshMargin: %v is negative", d)
		}
		c.margin = d
		return nil
	}
}

// WithVersion tells the client the server's version instead of probing
// GET / for it. Payloads depend on it (letsencrypt_email ≤2.12,
// trust_forwarded_proto ≥2.14, key_type ≥2.13.6).
func WithVersion(v string) Option {
	return func(c *config) error {
		pv, err := ParseVersion(v)
		if err != nil {
			return fmt.Errorf("npm: WithVersion: %w", err)
		}
		c.version = &pv
		return nil
	}
}

// WithServerLocation tells the client the server's time zone (the TZ of
// the NPM container). NPM on SQLite writes created_on, modified_on and
// expires_on in its local time without a zone ("2026-06-03 12:04:05");
// the client reads such dates in loc. The default is UTC, right for a
// container without TZ; MySQL and Postgres answers carry their zone and
// are not affected.
func WithServerLocation(loc *time.Location) Option {
	return func(c *config) error {
		if loc == nil {
			return errors.New("npm: WithServerLocation: nil location")
		}
		c.loc = loc
		return nil
	}
}

// NewClient returns a client for the API at baseURL. A URL without a path
// gets the default /api: "http://npm.lan:81" is "http://npm.lan:81/api",
// the standard install (the bundled nginx maps /api onto the backend). A
// bare backend serves at its root: say so with the slash,
// "http://host:3000/". WithCredentials is required; http:// with
// WithFingerprint or WithRootCAs is refused (nothing would verify the
// server, and the password would go in clear). No request is sent until
// the first call.
func NewClient(baseURL string, opts ...Option) (*Client, error) {
	cfg := config{Config: clientcfg.New("npm", 0, 0), margin: time.Hour, now: time.Now}
	if err := clientcfg.Apply(&cfg, opts); err != nil {
		return nil, invalid("new client", err)
	}
	if err := cfg.RequireCredentials(); err != nil {
		return nil, invalid("new client", err)
	}
	raw := strings.TrimSpace(baseURL)
	if pu, err := url.Parse(raw); err == nil && (pu.RawQuery != "" || pu.Fragment != "" || pu.ForceQuery) {
		return nil, invalid("new client", fmt.Errorf("base URL %q: a query or fragment has no place in it", pu.Redacted()))
	}
	defPath := "/api"
	if pu, err := url.Parse(raw); err == nil && pu.Path == "/" {
		defPath = "" // an explicit root: a bare backend
	}
	u, err := cfg.ParseURL(raw, nil, defPath)
	if err != nil {
		return nil, invalid("new client", err)
	}
	u.RawPath = ""
	hc, err := cfg.Client()
	if err != nil {
		return nil, invalid("new client", err)
	}
	c := &Client{
		cfg:      cfg,
		base:     u,
		hc:       hc,
		logger:   cfg.Logger,
		now:      cfg.now,
		identity: cfg.User,
		password: cfg.Password,
		totp:     cfg.TOTP,
		margin:   cfg.margin,
		pinned:   cfg.version,
	}
	c.ProxyHosts = &ProxyHostsService{c: c}
	c.Certificates = &CertificatesService{c: c}
	c.AccessLists = &AccessListsService{c: c}
	c.RedirectionHosts = &RedirectionHostsService{c: c}
	c.DeadHosts = &DeadHostsService{c: c}
	c.Streams = &StreamsService{c: c}
	return c, nil
}

// invalid turns a configuration error (already prefixed "npm: " by the
// option layer) into an *Error matching ErrInvalid.
func invalid(op string, err error) error {
	return &Error{Op: op, Message: strings.TrimPrefix(err.Error(), "npm: "), Err: ErrInvalid}
}

// Close releases idle connections. It is idempotent; the client must not be
// used afterwards (calls fail with ErrClosed).
func (c *Client) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil
	}
	c.closed = true
	c.token = secret.Secret{}
	c.hc.CloseIdleConnections()
	return nil
}

func (c *Client) endpoint(path string, q url.Values) string {
	u := *c.base
	u.Path = c.base.Path + path
	if len(q) > 0 {
		u.RawQuery = q.Encode()
	}
	return u.String()
}

// request describes one API call.
type request struct {
	op     string
	method string
	path   string
	query  url.Values
	body   any    // JSON-encoded when non-nil
	raw    []byte // sent as is with rawType when non-nil
	rawTyp string
	out    any // JSON-decoded answer when non-nil
	noAuth bool
	scrub  []secret.Secret // values to cut from error messages
}

// bound applies WithTimeout to a call whose ctx has no deadline. Calls
// that send several requests bound them together; a request inside sees
// the deadline and adds none.
func (c *Client) bound(ctx context.Context) (context.Context, context.CancelFunc) {
	return c.cfg.WithTimeout(ctx)
}

// boundIssue bounds a call that waits for a certificate authority by
// WithIssueTimeout, and returns with it a bound by WithTimeout for the
// requests before the issuance (login, version probe, lists), so that a
// silent server is found out in WithTimeout.
func (c *Client) boundIssue(ctx context.Context) (long, short context.Context, cancel context.CancelFunc) {
	d := c.cfg.issue
	if d <= 0 {
		d = DefaultIssueTimeout
	}
	cancelLong := func() {}
	if _, ok := ctx.Deadline(); !ok {
		ctx, cancelLong = context.WithTimeout(ctx, d)
	}
	short, cancelShort := context.WithTimeout(ctx, c.cfg.Timeout)
	return ctx, short, func() { cancelShort(); cancelLong() }
}

// ctxErr is the error of a call whose ctx is done: ctx.Err(), wrapped with
// the operation.
func ctxErr(op string, err error) error { return &Error{Op: op, Err: err} }

// do runs an authenticated API call: token refresh before expiry, and one
// fresh login (and a repeat of the call) when the server reports the token
// as expired or invalid.
func (c *Client) do(ctx context.Context, r request) error {
	ctx, cancel := c.bound(ctx)
	defer cancel()
	if err := ctx.Err(); err != nil {
		return ctxErr(r.op, err)
	}
	c.mu.Lock()
	closed := c.closed
	c.mu.Unlock()
	if closed {
		return &Error{Op: r.op, Err: ErrClosed}
	}
	if r.noAuth {
		return c.send(ctx, r, secret.Secret{})
	}
	tok, err := c.validToken(ctx)
	if err != nil {
		return opErr(r.op, err)
	}
	err = c.send(ctx, r, tok)
	if err == nil || !c.tokenRejected(ctx, err, tok) {
		return err
	}
	c.dropToken(tok)
	tok, lerr := c.validToken(ctx)
	if lerr != nil {
		return opErr(r.op, lerr)
	}
	return c.send(ctx, r, tok)
}

// tokenRejected reports answers that mean "log in again": an expired token
// (400) and a foreign or garbage token (server keys regenerated), which
// NPM answers with the same bare 500 "Internal Error" as a real failure.
// A 500 is told apart by trading the token in (GET /tokens): only a
// garbage token fails that too, and then the request never got past the
// token check, so repeating it (a write included) is safe.
func (c *Client) tokenRejected(ctx context.Context, err error, tok secret.Secret) bool {
	var ae *Error
	if !errors.As(err, &ae) {
		return false
	}
	switch {
	case ae.StatusCode == http.StatusUnauthorized:
		return true
	case ae.StatusCode == http.StatusBadRequest && strings.EqualFold(ae.Message, "Token has expired"):
		return true
	case ae.StatusCode == http.StatusInternalServerError && ae.Message == "Internal Error":
		perr := c.refresh(ctx, tok)
		var pe *Error
		return errors.As(perr, &pe) && (pe.StatusCode == http.StatusInternalServerError ||
			pe.StatusCode == http.StatusBadRequest && strings.EqualFold(pe.Message, "Token has expired"))
	}
	return false
}

func (c *Client) dropToken(tok secret.Secret) {
	c.mu.Lock()
	if c.token.Equal(tok) {
		c.token = secret.Secret{}
	}
	c.mu.Unlock()
}

// send performs one HTTP exchange and decodes the answer.
func (c *Client) send(ctx context.Context, r request, tok secret.Secret) error {
	var body io.Reader
	ctype := ""
	switch {
	case r.raw != nil:
		body, ctype = bytes.NewReader(r.raw), r.rawTyp
	case r.body != nil:
		b, err := json.Marshal(r.body)
		if err != nil {
			return errorf(r.op, "encode body: %w", err)
		}
		body, ctype = bytes.NewReader(b), "application/json"
	}
	req, err := http.NewRequestWithContext(ctx, r.method, c.endpoint(r.path, r.query), body)
	if err != nil {
		return opErr(r.op, err)
	}
	req.Header.Set("Accept", "application/json")
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if !tok.IsZero() {
		req.Header.Set("Authorization", "Bearer "+tok.Reveal())
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		if cerr := ctx.Err(); cerr != nil {
			return ctxErr(r.op, cerr)
		}
		// url.Error repeats the URL, which holds no secrets (NewClient
		// refuses user info), but the message is shorter without it.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return &Error{Op: r.op, Err: unavailable{err}}
	}
	defer resp.Body.Close()
	data, err := clientcfg.LimitedReadAll(resp.Body, maxBody)
	if err != nil {
		if cerr := ctx.Err(); cerr != nil {
			return ctxErr(r.op, cerr)
		}
		if errors.Is(err, clientcfg.ErrTooLarge) {
			// A reply cut at the cap would read as broken JSON; say what
			// happened instead. The class is the one a peer sending too
			// much has in every package: ErrUnavailable.
			return &Error{Op: r.op, StatusCode: resp.StatusCode,
				Message: fmt.Sprintf("reply too large: more than %d MiB", maxBody>>20), Err: both{ErrUnavailable, ErrTooLarge}}
		}
		return errorf(r.op, "read answer: %w", err)
	}
	if resp.StatusCode >= 300 {
		code, msg := parseErrorBody(data)
		if code == 0 {
			code = resp.StatusCode
		}
		if msg == "" && resp.StatusCode >= 300 && resp.StatusCode < 400 {
			msg = "unexpected redirect to " + resp.Header.Get("Location") + " (check the base URL)"
		}
		var cause error = classify(resp.StatusCode, msg)
		if resp.StatusCode >= 500 && msg == "Internal Error" {
			// The server masks the message; its debug object may say why
			// (certbot's error on certificate routes).
			if why := debugReason(data); why != "" {
				cause = errors.New(redactCredentials(scrub(why, r.scrub)))
			}
		}
		return &Error{Op: r.op, StatusCode: resp.StatusCode, Code: code, Message: scrub(msg, r.scrub), Err: cause}
	}
	if r.out == nil {
		return nil
	}
	if c.cfg.loc != nil && c.cfg.loc != time.UTC {
		data = localizeDates(data, c.cfg.loc)
	}
	if err := json.Unmarshal(data, r.out); err != nil {
		if t := bytes.TrimSpace(data); len(t) > 0 && t[0] == '<' {
			return errorf(r.op, "the answer is an HTML page, not the API (does the base URL need /api?): %w", err)
		}
		return errorf(r.op, "decode answer: %w", err)
	}
	return nil
}

// scrub cuts the given secrets out of a text from the server.
func scrub(text string, secrets []secret.Secret) string {
	for _, s := range secrets {
		if !s.IsZero() && len(s.Reveal()) >= 4 {
			text = strings.ReplaceAll(text, s.Reveal(), secret.Redacted)
		}
	}
	return text
}

// unavailable marks a transport failure as ErrUnavailable while keeping
// its cause reachable.
type unavailable struct{ err error }

func (u unavailable) Error() string   { return u.err.Error() }
func (u unavailable) Unwrap() []error { return []error{u.err, ErrUnavailable} }

// Version is an NPM release number.
type Version struct{ Major, Minor, Revision int }

// ParseVersion reads "2.15.1" or "v2.15.1".
func ParseVersion(s string) (Version, error) {
	var v Version
	t := strings.TrimPrefix(strings.TrimSpace(s), "v")
	n, err := fmt.Sscanf(t, "%d.%d.%d", &v.Major, &v.Minor, &v.Revision)
	if err != nil && n < 2 {
		return Version{}, fmt.Errorf("version %q: want major.minor.revision: %w", s, ErrInvalid)
	}
	return v, nil
}

// String formats the version as "major.minor.revision".
func (v Version) String() string { return fmt.Sprintf("%d.%d.%d", v.Major, v.Minor, v.Revision) }

// AtLeast reports whether v is the given release or newer.
func (v Version) AtLeast(major, minor, revision int) bool {
	if v.Major != major {
		return v.Major > major
	}
	if v.Minor != minor {
		return v.Minor > minor
	}
	return v.Revision >= revision
}

// Health is the answer of the unauthenticated health route.
type Health struct {
	Status  string  // "OK"
	Setup   bool    // an admin exists (2.13+; true on older servers)
	Version Version // the server's release; 2.0.0 when run from source
}

// Health probes the server without logging in.
//
// NPM API: GET / (GET /api/ behind the bundled nginx; the slash matters)
func (c *Client) Health(ctx context.Context) (Health, error) {
	var w struct {
		Status  string    `json:"status"`
		Setup   *flexBool `json:"setup"`
		Version struct {
			Major    flexInt `json:"major"`
			Minor    flexInt `json:"minor"`
			Revision flexInt `json:"revision"`
		} `json:"version"`
	}
	if err := c.do(ctx, request{op: "health", method: http.MethodGet, path: "/", out: &w, noAuth: true}); err != nil {
		return Health{}, err
	}
	h := Health{Status: w.Status, Setup: true, Version: Version{int(w.Version.Major), int(w.Version.Minor), int(w.Version.Revision)}}
	if w.Setup != nil {
		h.Setup = bool(*w.Setup)
	}
	c.mu.Lock()
	c.ver, c.verKnown = h.Version, true
	c.mu.Unlock()
	return h, nil
}

// ServerVersion returns the version set with WithVersion, or probes it once
// with Health and remembers it.
//
// NPM API: GET / (as Health; only when WithVersion was not given)
func (c *Client) ServerVersion(ctx context.Context) (Version, error) {
	if c.pinned != nil {
		return *c.pinned, nil
	}
	c.mu.Lock()
	v, ok := c.ver, c.verKnown
	c.mu.Unlock()
	if ok {
		return v, nil
	}
	h, err := c.Health(ctx)
	if err != nil {
		return Version{}, err
	}
	return h.Version, nil
}

// features answers the questions payloads depend on: which fields the
// server accepts.
type features struct {
	v                                     Version
	leEmail, trustForwarded, keyTypeKnown bool
}

// versionFeatures derives them from a release number.
func versionFeatures(v Version) features {
	return features{v: v, leEmail: !v.AtLeast(2, 13, 0), trustForwarded: v.AtLeast(2, 14, 0), keyTypeKnown: v.AtLeast(2, 13, 6)}
}

func (f features) letsEncryptEmail() bool    { return f.leEmail }
func (f features) trustForwardedProto() bool { return f.trustForwarded }
func (f features) keyType() bool             { return f.keyTypeKnown }

// unknownVersion is what a build from source reports: backend/package.json
// says 2.0.0 in git, only the release build sets the real number.
var unknownVersion = Version{2, 0, 0}

func (c *Client) features(ctx context.Context) (features, error) {
	if c.pinned != nil {
		return versionFeatures(*c.pinned), nil
	}
	v, err := c.ServerVersion(ctx)
	if err != nil || v != unknownVersion {
		return versionFeatures(v), err
	}
	c.mu.Lock()
	f := c.probed
	c.mu.Unlock()
	if f != nil {
		return *f, nil
	}
	pf := c.probe(ctx)
	c.mu.Lock()
	c.probed = &pf
	c.mu.Unlock()
	return pf, nil
}

// probe finds what a server of unknown version accepts from the OpenAPI
// document it serves (GET /schema, since 2.12; backend/routes/schema.js):
// the properties of the proxy-host and certificate create bodies. Without
// one it assumes the newest payloads. Either way one Debug line says what
// was chosen.
//
// NPM API: GET /schema
func (c *Client) probe(ctx context.Context) features {
	f := features{v: unknownVersion, trustForwarded: true, keyTypeKnown: true}
	var doc struct {
		Paths map[string]struct {
			Post struct {
				RequestBody struct {
					Content map[string]struct {
						Schema schemaNode `json:"schema"`
					} `json:"content"`
				} `json:"requestBody"`
			} `json:"post"`
		} `json:"paths"`
	}
	err := c.do(ctx, request{op: "read schema", method: http.MethodGet, path: "/schema", out: &doc, noAuth: true})
	body := func(path string) (schemaNode, bool) {
		ct, ok := doc.Paths[path].Post.RequestBody.Content["application/json"]
		return ct.Schema, ok && ct.Schema.Properties != nil
	}
	host, okHost := body("/nginx/proxy-hosts")
	cert, okCert := body("/nginx/certificates")
	if err != nil || !okHost || !okCert {
		c.logger.Debug("npm: the server reports version 2.0.0 (a build from source) and serves no usable schema: sending the newest payloads",
			"trust_forwarded_proto", f.trustForwarded, "key_type", f.keyTypeKnown, "letsencrypt_email", f.leEmail, "error", err)
		return f
	}
	_, f.trustForwarded = host.Properties["trust_forwarded_proto"]
	meta := cert.Properties["meta"]
	_, f.keyTypeKnown = meta.Properties["key_type"]
	_, f.leEmail = meta.Properties["letsencrypt_email"]
	c.logger.Debug("npm: the server reports version 2.0.0 (a build from source): payloads follow its schema",
		"trust_forwarded_proto", f.trustForwarded, "key_type", f.keyTypeKnown, "letsencrypt_email", f.leEmail)
	return f
}

// schemaNode is the part of a JSON schema the probe reads.
type schemaNode struct {
	Properties map[string]schemaNode `json:"properties"`
}
