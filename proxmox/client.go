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
	"unicode"

	goprox "github.com/luthermonson/go-proxmox"

	"github.com/thehomelab/homelab/internal/clientcfg"
	"github.com/thehomelab/homelab/internal/httpx"
	"github.com/thehomelab/homelab/internal/poll"
	"github.com/thehomelab/homelab/secret"
)

// Client talks to one Proxmox VE cluster through any of its nodes. It is
// safe for concurrent use by multiple goroutines.
//
// A Client can hold two identities at once: an API token for everyday
// calls and a password login (ticket plus CSRF token, optionally TOTP) that
// the operations PVE reserves for the literal user root@pam use.
type Client struct {
	own     *http.Transport // the transport NewClient built, closed by Close
	baseURL string
	cfg     config

	token  *identity // nil without WithAPIToken
	ticket *identity // nil without WithCredentials
	// hc per identity; the default identity is token if set, else ticket.
	def *identity

	verMu   sync.Mutex
	ver     *Version         // read once, for parameters newer than some releases
	now     func() time.Time // time.Now; replaced in tests
	maxBody *int64           // cap of a reply body; lowered in tests

	closeOnce sync.Once
	closed    chan struct{}

	// Nodes lists the cluster's nodes and reads their status.
	Nodes *NodeService
	// Tasks reads background tasks and hands out a handle for any UPID.
	Tasks *TaskService
	// Guests finds, reads, starts, stops and configures VMs and containers.
	Guests *GuestService
	// Power plans and applies ordered shutdown and start-up.
	Power *PowerService
	// Disks lists host disks and passes them through to VMs.
	Disks *DiskService
	// Containers creates and configures LXC containers.
	Containers *ContainerService
	// Storage manages storage definitions and reads their status.
	Storage *StorageService
	// Backups runs vzdump and manages backup volumes and jobs.
	Backups *BackupService
	// Access reads what the API identity may do.
	Access *AccessService
}

type config struct {
	clientcfg.Config
	tokenID     string
	tokenSecret secret.Secret
}

// Option configures a Client. A nil Option is skipped.
type Option func(*config) error

// WithAPIToken authenticates with an API token: tokenID is
// "user@realm!name", secret the UUID shown once at creation. It may be
// combined with WithCredentials: the token then does everyday calls and
// the login the root@pam-only ones.
func WithAPIToken(tokenID string, secret secret.Secret) Option {
	return func(c *config) error { return c.setToken(tokenID, secret) }
}

func (c *config) setToken(tokenID string, sec secret.Secret) error {
	// A pasted "user@realm!name=secret" or "user@realm!name <secret>" must
	// not put the secret into the error: show only what precedes the first
	// "=" or space, never the rest.
	if i := strings.IndexFunc(tokenID, func(r rune) bool { return r == '=' || unicode.IsSpace(r) || unicode.IsControl(r) }); i >= 0 {
		return refuse("WithAPIToken", ErrInvalid, "token id %q…: want user@realm!name without spaces or \"=\"; the secret goes separately (the rest is not shown)", tokenID[:i])
	}
	at := strings.IndexByte(tokenID, '@')
	bang := strings.IndexByte(tokenID, '!')
	if at <= 0 || bang < at+2 || bang == len(tokenID)-1 {
		return refuse("WithAPIToken", ErrInvalid, "token id %q: want user@realm!name (the secret goes separately)", tokenID)
	}
	if sec.IsZero() {
		return refuse("WithAPIToken", ErrInvalid, "empty api token secret")
	}
	c.tokenID, c.tokenSecret = tokenID, sec
	return nil
}

// WithCredentials logs in with a user ("root@pam") and password, using the
// ticket and CSRF token PVE returns. It may be combined with WithAPIToken:
// the token then does everyday calls and the login the root@pam-only ones.
func WithCredentials(user string, password secret.Secret) Option {
	return func(c *config) error {
		if !strings.Contains(user, "@") || strings.Contains(user, "!") {
			return refuse("WithCredentials", ErrInvalid, "user %q: want user@realm", user)
		}
		return c.SetCredentials(user, password)
	}
}

// WithTOTP supplies the current TOTP code when PVE asks for a second
// factor during the password login of WithCredentials.
func WithTOTP(code func(context.Context) (string, error)) Option {
	return func(c *config) error { return c.SetTOTP(code) }
}

// WithFingerprint pins the server certificate by its SHA-256 fingerprint
// (the ssl_fingerprint PVE shows, "AB:CD:…" with or without "sha256:").
func WithFingerprint(fp string) Option {
	return func(c *config) error { return c.SetFingerprint(fp) }
}

// WithRootCAs trusts the given roots (for example pve-root-ca.pem).
func WithRootCAs(pool *x509.CertPool) Option {
	return func(c *config) error { return c.SetRootCAs(pool) }
}

// WithLogger sends one Debug line per HTTP request to l (method, path
// without secrets, status, duration); nil discards, as the default.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) error { return c.SetLogger(l) }
}

// WithTimeout bounds each API call whose context has no deadline, retries
// included (default 30 s). Waiting for background work (Task.Wait,
// Power.Apply) is bounded by the context only; each poll by the timeout.
func WithTimeout(d time.Duration) Option {
	return func(c *config) error { return c.SetTimeout(d) }
}

// WithRetries sets how often a request that is safe to retry is retried
// after the first attempt, on connection errors and 502/503/504 (default
// 3; 0 turns retries off).
func WithRetries(n int) Option {
	return func(c *config) error { return c.SetRetries(n) }
}

// WithPollInterval sets how waits for tasks poll: the first delay, growing
// up to max (default 250 ms to 5 s).
func WithPollInterval(min, max time.Duration) Option {
	return func(c *config) error { return c.SetPollInterval(min, max) }
}

// WithHTTPClient supplies the caller's HTTP client. Its Transport carries
// the requests, under the SDK's own auth, retries and logging; its Timeout, Jar and CheckRedirect are not used
// (WithTimeout bounds calls, sessions are the SDK's, redirects are refused
// so that credentials never follow one). Its transport's TLS settings are
// used as they are, so it cannot be combined with WithFingerprint or
// WithRootCAs.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *config) error { return c.SetHTTPClient(hc) }
}

// NewClient returns a client for the Proxmox VE API at baseURL, e.g.
// "https://proxmox1" (port 8006 and the "/api2/json" suffix are added when
// missing). At least one of WithAPIToken and WithCredentials is required.
// No request is sent until the first call.
func NewClient(baseURL string, opts ...Option) (*Client, error) {
	cfg := config{Config: clientcfg.New("proxmox", 250*time.Millisecond, 5*time.Second)}
	if err := clientcfg.Apply(&cfg, opts); err != nil {
		return nil, asError("new client", err)
	}
	// Check before clientcfg, which shows the URL as typed: a password
	// may hide in it.
	u0, err := url.Parse(strings.TrimSpace(baseURL))
	switch {
	case err != nil:
		return nil, refuse("new client", ErrInvalid, "base url (unparsable): want https://host:8006")
	case u0.Host == "" || u0.Scheme != "https":
		return nil, refuse("new client", ErrInvalid, "base url %q: want https://host:8006", u0.Scheme+"://"+u0.Host)
	case u0.User != nil || u0.RawQuery != "":
		return nil, refuse("new client", ErrInvalid, "base url must not carry credentials or a query")
	}
	u, err := cfg.ParseURL(baseURL, map[string]string{"https": "8006"}, "/api2/json")
	if err != nil {
		return nil, asError("new client", err)
	}
	if !strings.HasSuffix(u.Path, "/api2/json") {
		u.Path = strings.TrimRight(u.Path, "/") + "/api2/json"
	}
	if cfg.tokenID == "" && !cfg.HasCredentials {
		return nil, refuse("new client", ErrInvalid, "no credentials: pass WithAPIToken(id, secret.New(…)) and/or WithCredentials(\"root@pam\", secret.New(…))")
	}
	if cfg.TOTP != nil && !cfg.HasCredentials {
		return nil, refuse("new client", ErrInvalid, "WithTOTP needs WithCredentials")
	}
	hc, err := cfg.Client()
	if err != nil {
		return nil, asError("new client", err)
	}
	var own *http.Transport
	if ht, ok := hc.Transport.(*httpx.Transport); ok && cfg.HTTPClient == nil {
		own, _ = ht.Base.(*http.Transport)
	}
	retry := hc.Transport
	c := &Client{own: own, baseURL: u.String(), cfg: cfg, closed: make(chan struct{}), now: time.Now, maxBody: new(int64)}
	*c.maxBody = defaultMaxBody
	mk := func(id *identity) {
		id.c = c
		id.hc = &http.Client{Transport: &errorTransport{next: &authTransport{id: id, next: retry}, closed: c.closed, max: c.maxBody},
			CheckRedirect: hc.CheckRedirect}
		id.gp = goprox.NewClient(c.baseURL, goprox.WithHTTPClient(id.hc), goprox.WithUserAgent(""))
	}
	if cfg.tokenID != "" {
		c.token = &identity{kind: authToken, user: cfg.tokenID, secret: cfg.tokenSecret}
		mk(c.token)
	}
	if cfg.HasCredentials {
		c.ticket = &identity{kind: authTicket, user: cfg.User, secret: cfg.Password, totp: cfg.TOTP}
		mk(c.ticket)
	}
	c.def = c.token
	if c.def == nil {
		c.def = c.ticket
	}
	c.Nodes = &NodeService{c: c}
	c.Tasks = &TaskService{c: c}
	c.Guests = &GuestService{c: c}
	c.Power = &PowerService{c: c}
	c.Disks = &DiskService{c: c}
	c.Containers = &ContainerService{c: c}
	c.Storage = &StorageService{c: c}
	c.Backups = &BackupService{c: c}
	c.Access = &AccessService{c: c}
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

// Do sends one request to the API as the default identity, for calls this
// package does not cover: path is below /api2/json ("/nodes/pve/apt/update"),
// params go into the query string (GET, DELETE) or the form body (POST,
// PUT), booleans as 1/0. The reply's "data" is decoded into out (nil
// discards it). Errors are *Error, as from every other call.
func (c *Client) Do(ctx context.Context, method, path string, params url.Values, out any) error {
	op := method + " " + path
	switch method {
	case http.MethodGet, http.MethodPost, http.MethodPut, http.MethodDelete:
	default:
		return refuse(op, ErrInvalid, "method %q: want GET, POST, PUT or DELETE", method)
	}
	if !strings.HasPrefix(path, "/") || strings.Contains(path, "..") || strings.ContainsAny(path, "?#") {
		return refuse(op, ErrInvalid, "path %q: want an absolute API path below /api2/json without a query", path)
	}
	if out == nil {
		var raw jsonRaw
		out = &raw
	}
	return opError(op, c.call(ctx, nil, method, path, params, out, nil))
}

// root returns the root@pam ticket identity or an ErrRootRequired error
// naming op; nothing is sent.
func (c *Client) root(op string) (*identity, error) {
	if c.ticket == nil {
		return nil, refuse(op, ErrRootRequired, "configure WithCredentials(\"root@pam\", …)")
	}
	if c.ticket.user != "root@pam" {
		return nil, refuse(op, ErrRootRequired, "logged in as %s", c.ticket.user)
	}
	return c.ticket, nil
}

// rootFor is root for a change PVE reserves to root@pam for the reason
// why (PVE's own words).
func (c *Client) rootFor(op, why string) (*identity, error) {
	if c.ticket == nil {
		return nil, refuse(op, ErrRootRequired, "%s; configure WithCredentials(\"root@pam\", …)", why)
	}
	if c.ticket.user != "root@pam" {
		return nil, refuse(op, ErrRootRequired, "%s; logged in as %s", why, c.ticket.user)
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

// defaultMaxBody caps every reply body: /cluster/resources of a large
// cluster is a few MiB; a hostile or broken endpoint costs a clear error,
// never gigabytes.
const defaultMaxBody = 64 << 20

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
	parent := ctx
	ctx, cancel := c.cfg.WithTimeout(ctx)
	defer cancel()
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
		if cerr := parent.Err(); cerr != nil {
			return cerr
		}
		return transportError(method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body) // capped by errorTransport
	if err != nil {
		if cerr := parent.Err(); cerr != nil {
			return cerr
		}
		var pe *Error
		if errors.As(err, &pe) {
			return pe
		}
		return netError(method, path, fmt.Errorf("read reply: %w", err))
	}
	var env envelope
	if err := json.Unmarshal(b, &env); err != nil {
		return &Error{Method: method, Path: path, StatusCode: resp.StatusCode, Message: "malformed reply", Err: err}
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
		return &Error{Method: method, Path: path, StatusCode: resp.StatusCode, Message: "malformed reply: data is null"}
	}
	if err := json.Unmarshal(env.Data, out); err != nil {
		return &Error{Method: method, Path: path, StatusCode: resp.StatusCode, Message: "malformed reply", Err: err}
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

// transportError turns what http.Client.Do returned into an *Error: the
// typed *Error errorTransport made surfaces as it is, anything else is a
// failure to reach the API.
func transportError(method, path string, err error) error {
	var pe *Error
	if errors.As(err, &pe) {
		return pe
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return netError(method, path, err)
}

// gpErr converts an error from a go-proxmox call to method and path: the
// typed *Error inside url.Error (or from the capped body) surfaces; ctx
// errors come back as ctx.Err(); anything else is go-proxmox failing to
// decode a 2xx reply.
func gpErr(ctx context.Context, method, path string, err error) error {
	if err == nil {
		return nil
	}
	if cerr := ctx.Err(); cerr != nil {
		return cerr
	}
	var pe *Error
	if errors.As(err, &pe) {
		return pe
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		return netError(method, path, ue.Err)
	}
	return &Error{Method: method, Path: path, StatusCode: http.StatusOK, Message: "malformed reply", Err: err}
}

// backoff is the schedule of task polls: WithPollInterval's bounds,
// growing by half each time with a little jitter, as PVE's tasks usually
// end within seconds.
func (c *Client) backoff() poll.Backoff {
	b := c.cfg.Backoff()
	b.Factor, b.Jitter = 1.5, 0.1
	return b
}
