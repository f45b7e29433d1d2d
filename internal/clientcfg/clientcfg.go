// Package clientcfg is the one layer every client of the SDK builds its
// options on: credentials, second factor, timeout, retries, polling,
// logging, TLS verification and the HTTP client. Each public package keeps
// its own documented WithX functions; their bodies are one call into a
// setter here, so validation, defaults and error wording are the same
// everywhere.
package clientcfg

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode"

	"github.com/thehomelab/homelab/internal/httpx"
	"github.com/thehomelab/homelab/internal/poll"
	"github.com/thehomelab/homelab/internal/tlspin"
	"github.com/thehomelab/homelab/secret"
)

// DefaultTimeout bounds a call whose context has no deadline, retries
// included. It is the one default of every package's WithTimeout.
const DefaultTimeout = 30 * time.Second

// DefaultRetries is how many times an HTTP client retries a request that is
// safe to retry, after the first attempt.
const DefaultRetries = 3

// Config holds the options every client shares. A package embeds it in its
// own config struct and adds what only it has.
type Config struct {
	// Pkg prefixes every error ("proxmox").
	Pkg string

	User     string
	Password secret.Secret
	// HasCredentials is set once WithCredentials was applied.
	HasCredentials bool
	TOTP           func(context.Context) (string, error)

	Timeout    time.Duration
	Retries    int
	PollMin    time.Duration
	PollMax    time.Duration
	Logger     *slog.Logger
	HTTPClient *http.Client

	Fingerprint string
	RootCAs     *x509.CertPool
	ServerName  string
}

// New returns the defaults: 30 s timeout, DefaultRetries, a logger that
// discards, and the given poll interval bounds.
func New(pkg string, pollMin, pollMax time.Duration) Config {
	return Config{
		Pkg:     pkg,
		Timeout: DefaultTimeout,
		Retries: DefaultRetries,
		PollMin: pollMin,
		PollMax: pollMax,
		Logger:  slog.New(slog.DiscardHandler),
	}
}

// Apply runs every option on c in order and skips nil ones. It stops at the
// first error.
func Apply[C any, O ~func(*C) error](c *C, opts []O) error {
	for _, o := range opts {
		if o == nil {
			continue
		}
		if err := o(c); err != nil {
			return err
		}
	}
	return nil
}

func (c *Config) errorf(format string, args ...any) error {
	return fmt.Errorf(c.Pkg+": "+format, args...)
}

// SetCredentials checks and stores the login user and password. Neither may
// be empty, and neither may hold a line break or a control character (both
// would change the wire of a line protocol, and are never part of a real
// credential). The error never shows the password.
func (c *Config) SetCredentials(user string, password secret.Secret) error {
	if strings.TrimSpace(user) == "" {
		return c.errorf("WithCredentials: empty user name")
	}
	if strings.IndexFunc(user, unicode.IsControl) >= 0 {
		return c.errorf("WithCredentials: user name %q holds a control character", user)
	}
	if password.IsZero() {
		return c.errorf("WithCredentials: empty password for %q", user)
	}
	if strings.ContainsAny(password.Reveal(), "\r\n\x00") {
		return c.errorf("WithCredentials: the password for %q holds a line break or NUL", user)
	}
	c.User, c.Password, c.HasCredentials = user, password, true
	return nil
}

// RequireCredentials is what a constructor calls when the device needs a
// login.
func (c *Config) RequireCredentials() error {
	if !c.HasCredentials {
		return c.errorf("no credentials: pass WithCredentials(user, secret.New(password))")
	}
	return nil
}

// SetTOTP stores the source of second-factor codes.
func (c *Config) SetTOTP(code func(context.Context) (string, error)) error {
	if code == nil {
		return c.errorf("WithTOTP: nil code function")
	}
	c.TOTP = code
	return nil
}

// SetTimeout sets the bound of a call whose context has no deadline.
func (c *Config) SetTimeout(d time.Duration) error {
	if d <= 0 {
		return c.errorf("WithTimeout: %v is not positive", d)
	}
	c.Timeout = d
	return nil
}

// SetRetries sets how many times a request safe to retry is retried after
// the first attempt; 0 turns retries off.
func (c *Config) SetRetries(n int) error {
	if n < 0 || n > 20 {
		return c.errorf("WithRetries: %d is outside 0..20", n)
	}
	c.Retries = n
	return nil
}

// SetPollInterval sets the first and the longest wait between two polls of
// background work.
func (c *Config) SetPollInterval(min, max time.Duration) error {
	if min <= 0 || max < min {
		return c.errorf("WithPollInterval: want 0 < min <= max, got %v and %v", min, max)
	}
	c.PollMin, c.PollMax = min, max
	return nil
}

// Backoff is the polling schedule: PollMin doubling up to PollMax.
func (c *Config) Backoff() poll.Backoff {
	return poll.Backoff{Initial: c.PollMin, Max: c.PollMax, Factor: 2}
}

// SetLogger sets the logger; nil means discard, as the default.
func (c *Config) SetLogger(l *slog.Logger) error {
	if l == nil {
		l = slog.New(slog.DiscardHandler)
	}
	c.Logger = l
	return nil
}

// SetHTTPClient stores a caller's HTTP client. The rule, the same in every
// package: its Transport carries the requests, under the SDK's own retries
// and logging; its Timeout, Jar and CheckRedirect are not used (WithTimeout
// bounds calls, sessions are the SDK's, redirects are refused so that
// credentials never follow one). Its transport's TLS settings are used as
// they are, so it cannot be combined with WithFingerprint or WithRootCAs.
func (c *Config) SetHTTPClient(hc *http.Client) error {
	if hc == nil {
		return c.errorf("WithHTTPClient: nil client")
	}
	c.HTTPClient = hc
	return nil
}

// SetFingerprint pins the server's leaf certificate.
func (c *Config) SetFingerprint(fp string) error {
	if _, err := tlspin.ParseFingerprint(fp); err != nil {
		return c.errorf("WithFingerprint(%q): %v", fp, err)
	}
	c.Fingerprint = fp
	return nil
}

// SetRootCAs verifies the server against pool instead of the system roots.
func (c *Config) SetRootCAs(pool *x509.CertPool) error {
	if pool == nil {
		return c.errorf("WithRootCAs: nil pool")
	}
	c.RootCAs = pool
	return nil
}

// SetServerName sets the name checked against the server's certificate.
func (c *Config) SetServerName(name string) error {
	if strings.TrimSpace(name) == "" {
		return c.errorf("WithServerName: empty name")
	}
	c.ServerName = name
	return nil
}

// Pinned reports whether the caller chose how TLS is verified.
func (c *Config) Pinned() bool { return c.Fingerprint != "" || c.RootCAs != nil }

// TLS builds the verified TLS configuration: pinned leaf, given roots, or
// the system roots.
func (c *Config) TLS() (*tls.Config, error) {
	cfg, err := tlspin.Config(tlspin.Options{Fingerprint: c.Fingerprint, RootCAs: c.RootCAs, ServerName: c.ServerName})
	if err != nil {
		return nil, c.errorf("%v", err)
	}
	return cfg, nil
}

// ParseURL parses a base URL as a user types it: a scheme is required
// (https, or http for a plain port), a missing port becomes defaultPort for
// the scheme, and an empty path becomes defaultPath. The error shows what was
// typed. A pin or root CAs with http:// is refused: nothing would verify the
// server and the credentials would cross the network in clear.
func (c *Config) ParseURL(raw string, defaultPorts map[string]string, defaultPath string) (*url.URL, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return nil, c.errorf("base URL %q: want https://host[:port][/path]", raw)
	}
	if u.User != nil {
		return nil, c.errorf("base URL %q: credentials in the URL are refused; use WithCredentials", u.Redacted())
	}
	if u.Port() == "" {
		if p, ok := defaultPorts[u.Scheme]; ok && p != "" {
			u.Host = net.JoinHostPort(u.Hostname(), p)
		}
	}
	if u.Path == "" || u.Path == "/" {
		u.Path = defaultPath
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawQuery, u.Fragment = "", ""
	if u.Scheme == "http" && c.Pinned() {
		return nil, c.errorf("base URL %q is http://: WithFingerprint and WithRootCAs verify TLS, which plain http has not, and the credentials would go in clear; use https://", raw)
	}
	if c.HTTPClient != nil && c.Pinned() {
		return nil, c.errorf("WithHTTPClient cannot be combined with WithFingerprint or WithRootCAs: the client's own transport decides TLS")
	}
	return u, nil
}

// Client builds the HTTP client every HTTP package uses: the caller's
// transport or a verified one, wrapped by httpx for retries and one Debug
// line per request. Redirects are never followed. A failure the user fixes
// in the configuration comes back as a *HintError saying what to do: the
// fingerprint to pin of a certificate no authority vouches for, a plain
// HTTP port reached with https:// or a TLS port reached with http://.
func (c *Config) Client() (*http.Client, error) {
	var base http.RoundTripper
	if c.HTTPClient != nil {
		base = c.HTTPClient.Transport
		if base == nil {
			base = http.DefaultTransport
		}
	} else {
		tcfg, err := c.TLS()
		if err != nil {
			return nil, err
		}
		base = httpx.NewTransport(tcfg)
	}
	return &http.Client{
		Transport: &httpx.Transport{Base: base, Logger: c.Logger, Attempts: c.Retries + 1, Explain: c.explain},
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}, nil
}

// WithTimeout returns ctx bounded by the configured timeout when ctx has no
// deadline of its own.
func (c *Config) WithTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok || c.Timeout <= 0 {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, c.Timeout)
}

// ErrTooLarge is wrapped by LimitedReadAll when a body exceeds its cap.
var ErrTooLarge = errors.New("reply too large")

// LimitedReadAll reads r to the end but at most max bytes; a longer body
// is an error wrapping ErrTooLarge that says the cap, never a truncated read.
func LimitedReadAll(r io.Reader, max int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > max {
		return nil, fmt.Errorf("%w: more than %d bytes", ErrTooLarge, max)
	}
	return b, nil
}
