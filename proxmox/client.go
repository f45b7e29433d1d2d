package proxmox

import (
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

	goprox "github.com/luthermonson/go-proxmox"

	"github.com/thehomelab/homelab/internal/httpx"
	"github.com/thehomelab/homelab/internal/poll"
	"github.com/thehomelab/homelab/internal/tlspin"
	"github.com/thehomelab/homelab/secret"
)

// Secret holds a password or token secret; it prints as REDACTED.
type Secret = secret.Secret

// NewSecret wraps a password or token secret.
func NewSecret(v string) Secret { return secret.New(v) }

// Client talks to one Proxmox VE cluster through any of its nodes. It is
// safe for concurrent use by multiple goroutines.
//
// A Client can hold two identities at once: an API token for everyday
// calls and a password login (ticket plus CSRF token, optionally TOTP) that
// the operations PVE reserves for the literal user root@pam use.
type Client struct {
	own     *http.Transport // the transport NewClient built, closed by Close
	baseURL string
	taskBO  poll.Backoff

	token  *identity // nil without WithAPIToken
	ticket *identity // nil without WithPassword
	// hc per identity; the default identity is token if set, else ticket.
	def *identity

	now func() time.Time // time.Now; replaced in tests

	closeOnce sync.Once
	closed    chan struct{}

	// Tasks waits for and reads background tasks.
	Tasks *TaskService
	// Guests starts, stops and configures VMs and containers.
	Guests *GuestService
	// Power plans and runs ordered shutdown and start-up.
	Power *PowerService
	// Disks lists host disks and passes them through to VMs.
	Disks *DiskService
	// Containers creates and configures LXC containers.
	Containers *ContainerService
	// Storage manages storage definitions and reads their status.
	Storage *StorageService
	// Backups runs vzdump and manages backup volumes.
	Backups *BackupService
}

type config struct {
	tokenID     string
	tokenSecret Secret
	user        string
	password    Secret
	totp        func() (string, error)
	fingerprint string
	rootCAs     *x509.CertPool
	logger      *slog.Logger
	timeout     time.Duration
	hc          *http.Client
	taskBO      poll.Backoff
	attempts    int
}

// Option configures a Client.
type Option func(*config) error

// WithAPIToken authenticates with an API token: tokenID is
// "user@realm!name", secret the UUID shown once at creation.
func WithAPIToken(tokenID string, secret Secret) Option {
	return func(c *config) error {
		at := strings.IndexByte(tokenID, '@')
		bang := strings.IndexByte(tokenID, '!')
		if at <= 0 || bang < at+2 || bang == len(tokenID)-1 || strings.ContainsAny(tokenID, "= \t\n") {
			// A pasted "user@realm!name=secret" must not put the secret
			// into the error: show only what precedes the "=".
			shown, _, cut := strings.Cut(tokenID, "=")
			if cut {
				shown += "=REDACTED"
			}
			return fmt.Errorf("proxmox: token id %q: want user@realm!name (the secret goes separately)", shown)
		}
		if secret.IsZero() {
			return errors.New("proxmox: empty api token secret")
		}
		c.tokenID, c.tokenSecret = tokenID, secret
		return nil
	}
}

// WithPassword logs in with a user ("root@pam") and password, using the
// ticket and CSRF token PVE returns. It may be combined with WithAPIToken:
// the token then does everyday calls and the login the root@pam-only ones.
func WithPassword(user string, password Secret) Option {
	return func(c *config) error {
		if !strings.Contains(user, "@") || strings.Contains(user, "!") {
			return fmt.Errorf("proxmox: user %q: want user@realm", user)
		}
		if password.IsZero() {
			return errors.New("proxmox: empty password")
		}
		c.user, c.password = user, password
		return nil
	}
}

// WithTOTP supplies the current TOTP code when PVE asks for a second
// factor during the password login.
func WithTOTP(code func() (string, error)) Option {
	return func(c *config) error {
		if code == nil {
			return errors.New("proxmox: nil totp func")
		}
		c.totp = code
		return nil
	}
}

// WithFingerprint pins the server certificate by its SHA-256 fingerprint
// (the ssl_fingerprint PVE shows, "AB:CD:…" with or without "sha256:").
func WithFingerprint(fp string) Option {
	return func(c *config) error {
		if _, err := tlspin.ParseFingerprint(fp); err != nil {
			return fmt.Errorf("proxmox: %w", err)
		}
		c.fingerprint = fp
		return nil
	}
}

// WithRootCAs trusts the given roots (for example pve-root-ca.pem).
func WithRootCAs(pool *x509.CertPool) Option {
	return func(c *config) error {
		if pool == nil {
			return errors.New("proxmox: nil root CA pool")
		}
		c.rootCAs = pool
		return nil
	}
}

// WithLogger sends one Debug line per HTTP request to l (method, path
// without secrets, status, duration).
func WithLogger(l *slog.Logger) Option {
	return func(c *config) error {
		if l == nil {
			return errors.New("proxmox: nil logger")
		}
		c.logger = l
		return nil
	}
}

// WithTimeout bounds each HTTP request (default 60 s).
func WithTimeout(d time.Duration) Option {
	return func(c *config) error {
		if d <= 0 {
			return errors.New("proxmox: timeout must be positive")
		}
		c.timeout = d
		return nil
	}
}

// WithHTTPClient supplies the HTTP client whose Transport carries the
// requests; its TLS settings are used as given and the pin options do not
// apply. The SDK wraps the transport for auth, retries and errors.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *config) error {
		if hc == nil {
			return errors.New("proxmox: nil http client")
		}
		c.hc = hc
		return nil
	}
}

// WithTaskPolling sets how task waits poll: the first delay, growing by
// half each time up to max (default 250 ms to 5 s).
func WithTaskPolling(initial, max time.Duration) Option {
	return func(c *config) error {
		if initial <= 0 || max < initial {
			return errors.New("proxmox: task polling: need 0 < initial <= max")
		}
		c.taskBO = poll.Backoff{Initial: initial, Max: max, Factor: 1.5, Jitter: 0.1}
		return nil
	}
}

// WithRetries sets how often idempotent requests are tried in total on
// connection errors and 502/503/504 (default 4; 1 disables retries).
func WithRetries(attempts int) Option {
	return func(c *config) error {
		if attempts < 1 {
			return errors.New("proxmox: retries: need at least one attempt")
		}
		c.attempts = attempts
		return nil
	}
}

// NewClient returns a client for the Proxmox VE API at baseURL, e.g.
// "https://proxmox1:8006" (the "/api2/json" suffix is added when missing).
// At least one of WithAPIToken and WithPassword is required. No request is
// sent until the first call.
func NewClient(baseURL string, opts ...Option) (*Client, error) {
	cfg := config{timeout: 60 * time.Second,
		taskBO: poll.Backoff{Initial: 250 * time.Millisecond, Max: 5 * time.Second, Factor: 1.5, Jitter: 0.1}}
	for _, o := range opts {
		if o == nil {
			continue
		}
		if err := o(&cfg); err != nil {
			return nil, err
		}
	}
	u, err := url.Parse(strings.TrimRight(baseURL, "/"))
	if err != nil || u.Host == "" || u.Scheme != "https" {
		// Show only scheme and host: a password may hide in the rest.
		shown := "(unparsable)"
		if err == nil {
			shown = u.Scheme + "://" + u.Host
		}
		return nil, fmt.Errorf("proxmox: base url %q: want https://host:8006", shown)
	}
	if u.User != nil || u.RawQuery != "" {
		return nil, fmt.Errorf("proxmox: base url must not carry credentials or a query")
	}
	if !strings.HasSuffix(u.Path, "/api2/json") {
		u.Path = strings.TrimRight(u.Path, "/") + "/api2/json"
	}
	if cfg.tokenID == "" && cfg.user == "" {
		return nil, errors.New("proxmox: no credentials: use WithAPIToken and/or WithPassword")
	}
	if cfg.totp != nil && cfg.user == "" {
		return nil, errors.New("proxmox: WithTOTP needs WithPassword")
	}
	var base http.RoundTripper
	var own *http.Transport
	if cfg.hc != nil && cfg.hc.Transport != nil {
		if cfg.fingerprint != "" || cfg.rootCAs != nil {
			return nil, errors.New("proxmox: WithHTTPClient with a Transport conflicts with WithFingerprint/WithRootCAs; configure TLS on that transport")
		}
		base = cfg.hc.Transport
	} else {
		tc, err := tlspin.Config(tlspin.Options{Fingerprint: cfg.fingerprint, RootCAs: cfg.rootCAs})
		if err != nil {
			return nil, fmt.Errorf("proxmox: %w", err)
		}
		own = httpx.NewTransport(tc)
		base = own
	}
	retry := &httpx.Transport{Base: base, Logger: cfg.logger, Attempts: cfg.attempts}
	c := &Client{own: own, baseURL: u.String(), taskBO: cfg.taskBO, closed: make(chan struct{}), now: time.Now}
	mk := func(id *identity) {
		id.c = c
		id.hc = &http.Client{Timeout: cfg.timeout, Transport: &errorTransport{next: &authTransport{id: id, next: retry}, closed: c.closed}}
		id.gp = goprox.NewClient(c.baseURL, goprox.WithHTTPClient(id.hc), goprox.WithUserAgent(""))
	}
	if cfg.tokenID != "" {
		c.token = &identity{kind: authToken, user: cfg.tokenID, secret: cfg.tokenSecret}
		mk(c.token)
	}
	if cfg.user != "" {
		c.ticket = &identity{kind: authTicket, user: cfg.user, secret: cfg.password, totp: cfg.totp}
		mk(c.ticket)
	}
	c.def = c.token
	if c.def == nil {
		c.def = c.ticket
	}
	c.Tasks = &TaskService{c: c}
	c.Guests = &GuestService{c: c}
	c.Power = &PowerService{c: c}
	c.Disks = &DiskService{c: c}
	c.Containers = &ContainerService{c: c}
	c.Storage = &StorageService{c: c}
	c.Backups = &BackupService{c: c}
	return c, nil
}

// Close makes every later call fail with ErrClosed and closes idle
// connections of the transport NewClient built. It is idempotent.
func (c *Client) Close() error {
	c.closeOnce.Do(func() {
		close(c.closed)
		if c.own != nil {
			c.own.CloseIdleConnections()
		}
	})
	return nil
}

// GoProxmox returns the underlying go-proxmox client of the default
// identity, for calls this package does not cover. Its errors for non-2xx
// replies wrap *Error.
func (c *Client) GoProxmox() *goprox.Client { return c.def.gp }

// root returns the root@pam ticket identity or an ErrRootRequired error
// naming op; nothing is sent.
func (c *Client) root(op string) (*identity, error) {
	if c.ticket == nil {
		return nil, refuse(op, ErrRootRequired, "configure WithPassword(\"root@pam\", …)")
	}
	if c.ticket.user != "root@pam" {
		return nil, refuse(op, ErrRootRequired, "logged in as %s", c.ticket.user)
	}
	return c.ticket, nil
}

// params is an ordered-insensitive set of request parameters, encoded the
// way PVE wants: booleans as 1/0, integers in decimal.
type params = url.Values

func setBool(p params, k string, v bool) {
	if v {
		p.Set(k, "1")
	} else {
		p.Set(k, "0")
	}
}

// envelope is PVE's reply wrapper.
type envelope struct {
	Data  json.RawMessage `json:"data"`
	Total *int            `json:"total,omitempty"`
}

const maxBody = 64 << 20

// call sends one request as id (nil = default identity). GET and DELETE
// carry p in the query string, POST and PUT as a form body. out receives
// "data"; total, when non-nil, receives the top-level "total".
func (c *Client) call(ctx context.Context, id *identity, method, path string, p params, out any, total *int) error {
	if id == nil {
		id = c.def
	}
	select {
	case <-c.closed:
		return &Error{Method: method, Path: path, Err: ErrClosed}
	default:
	}
	u := c.baseURL + escapePath(path)
	var body io.Reader
	if len(p) > 0 {
		enc := p.Encode()
		if method == http.MethodGet || method == http.MethodDelete {
			u += "?" + enc
		} else {
			body = strings.NewReader(enc)
		}
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	req.Header.Set("Accept", "application/json")
	resp, err := id.hc.Do(req)
	if err != nil {
		if cerr := ctx.Err(); cerr != nil {
			return cerr
		}
		return unwrapURLError(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		if cerr := ctx.Err(); cerr != nil {
			return cerr
		}
		return fmt.Errorf("read reply: %w", err)
	}
	var env envelope
	if err := json.Unmarshal(b, &env); err != nil {
		return &Error{Method: method, Path: path, Status: resp.StatusCode, Err: fmt.Errorf("malformed reply: %w", err)}
	}
	if total != nil && env.Total != nil {
		*total = *env.Total
	}
	if out == nil {
		return nil
	}
	if len(env.Data) == 0 || string(env.Data) == "null" {
		if _, ok := out.(*json.RawMessage); ok {
			return nil
		}
		return &Error{Method: method, Path: path, Status: resp.StatusCode, Err: errors.New("malformed reply: data is null")}
	}
	if err := json.Unmarshal(env.Data, out); err != nil {
		return &Error{Method: method, Path: path, Status: resp.StatusCode, Err: fmt.Errorf("malformed reply: %w", err)}
	}
	return nil
}

// escapePath escapes each segment but keeps "/" so volids like
// "local:backup/vzdump-…" travel raw, as PVE's router expects.
func escapePath(p string) string {
	segs := strings.Split(p, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	return strings.Join(segs, "/")
}

func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		var pe *Error
		if errors.As(ue.Err, &pe) {
			return pe
		}
		return ue.Err
	}
	return err
}

// gpErr converts an error from a go-proxmox call: the typed *Error inside
// url.Error surfaces; ctx errors come back as ctx.Err().
func gpErr(ctx context.Context, err error) error {
	if err == nil {
		return nil
	}
	if cerr := ctx.Err(); cerr != nil {
		return cerr
	}
	return unwrapURLError(err)
}
