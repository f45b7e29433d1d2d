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

	"github.com/thehomelab/homelab/internal/httpx"
	"github.com/thehomelab/homelab/internal/tlspin"
	"github.com/thehomelab/homelab/secret"
)

// Secret is a credential (password, token, Cloudflare API token) that never
// prints: String, %v, JSON and slog all show REDACTED.
type Secret = secret.Secret

// NewSecret wraps a credential.
func NewSecret(v string) Secret { return secret.New(v) }

// Client talks to the NPM REST API. It logs in with an identity (the user's
// e-mail) and secret, keeps the bearer token, refreshes it before it
// expires and logs in again once when the server says it has expired.
//
// A *Client is safe for concurrent use by multiple goroutines.
type Client struct {
	base      *url.URL
	hc        *http.Client
	transport *httpx.Transport
	own       *http.Transport // closed by Close when we built it
	logger    *slog.Logger
	now       func() time.Time
	identity  string
	password  Secret
	twoFactor func(ctx context.Context) (string, error)
	margin    time.Duration
	pinned    *Version

	authMu sync.Mutex // serialises logins and refreshes

	mu       sync.Mutex // guards the fields below
	token    Secret
	expires  time.Time
	ver      Version
	verKnown bool
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
	hc          *http.Client
	timeout     time.Duration
	logger      *slog.Logger
	fingerprint string
	roots       *x509.CertPool
	now         func() time.Time
	identity    string
	password    Secret
	twoFactor   func(ctx context.Context) (string, error)
	margin      time.Duration
	version     *Version
}

// Option configures a Client; an invalid option makes NewClient fail.
type Option func(*config) error

// WithCredentials sets the login: identity is the user's e-mail address.
func WithCredentials(identity string, password Secret) Option {
	return func(c *config) error {
		if strings.TrimSpace(identity) == "" || password.IsZero() {
			return errors.New("credentials need an identity and a secret")
		}
		c.identity, c.password = identity, password
		return nil
	}
}

// WithTwoFactor supplies one-time codes (6-digit TOTP or an 8-character
// backup code) for accounts with 2FA (NPM 2.13.6+). It is called once per
// login; the client refreshes tokens with GET /tokens so that is rare.
func WithTwoFactor(code func(ctx context.Context) (string, error)) Option {
	return func(c *config) error {
		if code == nil {
			return errors.New("two-factor code source is nil")
		}
		c.twoFactor = code
		return nil
	}
}

// WithHTTPClient sets the HTTP client whose Transport carries the requests
// (wrapped with the SDK's logging and retries). It excludes WithFingerprint
// and WithRootCAs.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *config) error {
		if hc == nil {
			return errors.New("http client is nil")
		}
		c.hc = hc
		return nil
	}
}

// WithTimeout bounds each HTTP request (default none: certificate issuance
// may legitimately take minutes; use contexts).
func WithTimeout(d time.Duration) Option {
	return func(c *config) error {
		if d <= 0 {
			return fmt.Errorf("timeout %v must be positive", d)
		}
		c.timeout = d
		return nil
	}
}

// WithLogger logs one Debug line per HTTP request (never headers, bodies or
// tokens). The default discards.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) error {
		if l == nil {
			return errors.New("logger is nil")
		}
		c.logger = l
		return nil
	}
}

// WithFingerprint pins the server's TLS leaf certificate by its SHA-256
// fingerprint ("sha256:…" or "AA:BB:…").
func WithFingerprint(fp string) Option {
	return func(c *config) error {
		if _, err := tlspin.ParseFingerprint(fp); err != nil {
			return err
		}
		c.fingerprint = fp
		return nil
	}
}

// WithRootCAs verifies the server against these roots instead of the
// system's.
func WithRootCAs(pool *x509.CertPool) Option {
	return func(c *config) error {
		if pool == nil {
			return errors.New("root CA pool is nil")
		}
		c.roots = pool
		return nil
	}
}

// WithClock sets the clock used for token expiry and certificate expiry
// reports (tests, examples).
func WithClock(now func() time.Time) Option {
	return func(c *config) error {
		if now == nil {
			return errors.New("clock is nil")
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
			return fmt.Errorf("refresh margin %v is negative", d)
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
			return err
		}
		c.version = &pv
		return nil
	}
}

// NewClient returns a client for the API at baseURL: "http://host:81/api"
// on a standard install (the bundled nginx maps /api onto the backend), or
// "http://host:3000" for a bare backend. No request is sent until the first
// call.
func NewClient(baseURL string, opts ...Option) (*Client, error) {
	u, err := url.Parse(strings.TrimSpace(baseURL))
	if err != nil {
		return nil, fmt.Errorf("npm: new client: base url: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("npm: new client: base url %q: want http(s)://host[:port][/path]", u.Redacted())
	}
	if u.User != nil {
		return nil, errors.New("npm: new client: base url must not carry credentials; use WithCredentials")
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return nil, errors.New("npm: new client: base url must not have a query or fragment")
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = ""
	cfg := config{margin: time.Hour, now: time.Now}
	for _, o := range opts {
		if err := o(&cfg); err != nil {
			return nil, fmt.Errorf("npm: new client: %w", err)
		}
	}
	if cfg.hc != nil && (cfg.fingerprint != "" || cfg.roots != nil) {
		return nil, errors.New("npm: new client: WithHTTPClient excludes WithFingerprint and WithRootCAs")
	}
	c := &Client{
		base:      u,
		logger:    cfg.logger,
		now:       cfg.now,
		identity:  cfg.identity,
		password:  cfg.password,
		twoFactor: cfg.twoFactor,
		margin:    cfg.margin,
		pinned:    cfg.version,
	}
	var base http.RoundTripper
	if cfg.hc != nil {
		base = cfg.hc.Transport
		if base == nil {
			base = http.DefaultTransport
		}
	} else {
		var tr *http.Transport
		if u.Scheme == "https" {
			tc, err := tlspin.Config(tlspin.Options{Fingerprint: cfg.fingerprint, RootCAs: cfg.roots})
			if err != nil {
				return nil, fmt.Errorf("npm: new client: %w", err)
			}
			tr = httpx.NewTransport(tc)
		} else {
			tr = httpx.NewTransport(nil)
		}
		c.own = tr
		base = tr
	}
	c.transport = &httpx.Transport{Base: base, Logger: cfg.logger}
	c.hc = &http.Client{
		Transport: c.transport,
		Timeout:   cfg.timeout,
		// NPM never redirects an API call; a redirect means a wrong base URL
		// (e.g. "/api" without the slash on the health route) and following
		// it could send the token elsewhere.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	if cfg.hc != nil {
		if cfg.hc.Timeout > 0 && cfg.timeout == 0 {
			c.hc.Timeout = cfg.hc.Timeout
		}
		c.hc.Jar = cfg.hc.Jar
	}
	c.ProxyHosts = &ProxyHostsService{c: c}
	c.Certificates = &CertificatesService{c: c}
	c.AccessLists = &AccessListsService{c: c}
	c.RedirectionHosts = &RedirectionHostsService{c: c}
	c.DeadHosts = &DeadHostsService{c: c}
	c.Streams = &StreamsService{c: c}
	return c, nil
}

// Close releases idle connections. It is idempotent; the client must not be
// used afterwards.
func (c *Client) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil
	}
	c.closed = true
	c.token = Secret{}
	if c.own != nil {
		c.own.CloseIdleConnections()
	}
	return nil
}

var errClosed = errors.New("client is closed")

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
	scrub  []Secret // values to cut from error messages
}

// do runs an authenticated API call: token refresh before expiry, and one
// fresh login (and a repeat of the call) when the server reports the token
// as expired or invalid.
func (c *Client) do(ctx context.Context, r request) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("npm: %s: %w", r.op, err)
	}
	c.mu.Lock()
	closed := c.closed
	c.mu.Unlock()
	if closed {
		return fmt.Errorf("npm: %s: %w", r.op, errClosed)
	}
	if r.noAuth {
		return c.send(ctx, r, Secret{})
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
func (c *Client) tokenRejected(ctx context.Context, err error, tok Secret) bool {
	var ae *Error
	if !errors.As(err, &ae) {
		return false
	}
	switch {
	case ae.Status == http.StatusUnauthorized:
		return true
	case ae.Status == http.StatusBadRequest && strings.EqualFold(ae.Message, "Token has expired"):
		return true
	case ae.Status == http.StatusInternalServerError && ae.Message == "Internal Error":
		perr := c.refresh(ctx, tok)
		var pe *Error
		return errors.As(perr, &pe) && (pe.Status == http.StatusInternalServerError ||
			pe.Status == http.StatusBadRequest && strings.EqualFold(pe.Message, "Token has expired"))
	}
	return false
}

func (c *Client) dropToken(tok Secret) {
	c.mu.Lock()
	if c.token.Equal(tok) {
		c.token = Secret{}
	}
	c.mu.Unlock()
}

// send performs one HTTP exchange and decodes the answer.
func (c *Client) send(ctx context.Context, r request, tok Secret) error {
	var body io.Reader
	ctype := ""
	switch {
	case r.raw != nil:
		body, ctype = bytes.NewReader(r.raw), r.rawTyp
	case r.body != nil:
		b, err := json.Marshal(r.body)
		if err != nil {
			return fmt.Errorf("npm: %s: encode body: %w", r.op, err)
		}
		body, ctype = bytes.NewReader(b), "application/json"
	}
	req, err := http.NewRequestWithContext(ctx, r.method, c.endpoint(r.path, r.query), body)
	if err != nil {
		return fmt.Errorf("npm: %s: %w", r.op, err)
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
			return fmt.Errorf("npm: %s: %w", r.op, cerr)
		}
		// url.Error repeats the URL, which holds no secrets (NewClient
		// refuses user info), but the message is shorter without it.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Errorf("npm: %s: %w", r.op, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if err != nil {
		if cerr := ctx.Err(); cerr != nil {
			return fmt.Errorf("npm: %s: %w", r.op, cerr)
		}
		return fmt.Errorf("npm: %s: read answer: %w", r.op, err)
	}
	if len(data) > maxBody {
		return fmt.Errorf("npm: %s: answer larger than %d bytes", r.op, maxBody)
	}
	if resp.StatusCode >= 300 {
		code, msg := parseErrorBody(data)
		if code == 0 {
			code = resp.StatusCode
		}
		if msg == "" && resp.StatusCode >= 300 && resp.StatusCode < 400 {
			msg = "unexpected redirect to " + resp.Header.Get("Location") + " (check the base URL)"
		}
		for _, s := range r.scrub {
			if !s.IsZero() && len(s.Reveal()) >= 4 {
				msg = strings.ReplaceAll(msg, s.Reveal(), secret.Redacted)
			}
		}
		return &Error{Op: r.op, Status: resp.StatusCode, Code: code, Message: msg, kind: classify(resp.StatusCode, msg)}
	}
	if r.out == nil {
		return nil
	}
	if err := json.Unmarshal(data, r.out); err != nil {
		if t := bytes.TrimSpace(data); len(t) > 0 && t[0] == '<' {
			return fmt.Errorf("npm: %s: the answer is an HTML page, not the API (does the base URL need /api?): %w", r.op, err)
		}
		return fmt.Errorf("npm: %s: decode answer: %w", r.op, err)
	}
	return nil
}

// Version is an NPM release number.
type Version struct{ Major, Minor, Revision int }

// ParseVersion reads "2.15.1" or "v2.15.1".
func ParseVersion(s string) (Version, error) {
	var v Version
	t := strings.TrimPrefix(strings.TrimSpace(s), "v")
	n, err := fmt.Sscanf(t, "%d.%d.%d", &v.Major, &v.Minor, &v.Revision)
	if err != nil && n < 2 {
		return Version{}, fmt.Errorf("version %q: want major.minor.revision", s)
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

// features answers the version questions payloads depend on. A server run
// from source reports 2.0.0; it is treated as current.
type features struct{ v Version }

func (f features) current() bool { return f.v.Major == 2 && f.v.Minor == 0 && f.v.Revision == 0 }
func (f features) letsEncryptEmail() bool {
	return !f.current() && !f.v.AtLeast(2, 13, 0)
}
func (f features) trustForwardedProto() bool { return f.current() || f.v.AtLeast(2, 14, 0) }
func (f features) keyType() bool             { return f.current() || f.v.AtLeast(2, 13, 6) }

func (c *Client) features(ctx context.Context) (features, error) {
	v, err := c.ServerVersion(ctx)
	return features{v}, err
}
