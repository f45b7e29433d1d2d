package dns

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/thehomelab/homelab/internal/clientcfg"
	"github.com/thehomelab/homelab/internal/httpx"
	"github.com/thehomelab/homelab/secret"
)

// DefaultBaseURL is Cloudflare's API v4 base.
const DefaultBaseURL = "https://api.cloudflare.com/client/v4"

// DefaultRateLimit is the client-side pacing in requests per second: it
// matches Cloudflare's 1,200 requests per 5 minutes.
const DefaultRateLimit = 4

// Client talks to Cloudflare's DNS API. It is safe for concurrent use.
type Client struct {
	cf     *backend
	hc     *http.Client
	cfg    config
	closed atomic.Bool
}

// Option configures a Client. A nil Option is skipped.
type Option func(*config) error

type config struct {
	clientcfg.Config
	baseURL string
	rps     float64
}

// WithBaseURL points the client at another API base, such as a dnstest
// server or a proxy. A URL without a path gets "/client/v4" appended.
func WithBaseURL(u string) Option {
	return func(c *config) error {
		p, err := url.Parse(u)
		if err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
			return fmt.Errorf("WithBaseURL(%q): need http(s)://host[/path]", u)
		}
		if p.User != nil {
			return errors.New("WithBaseURL: the base url must not carry credentials")
		}
		if p.RawQuery != "" || p.Fragment != "" || p.ForceQuery {
			// The SDK appends paths to the string: a query would end up
			// in the middle of every URL.
			return errors.New("WithBaseURL: the base url must not carry a query or fragment")
		}
		if p.Path == "" || p.Path == "/" {
			p.Path = "/client/v4"
		}
		c.baseURL = strings.TrimSuffix(p.String(), "/")
		return nil
	}
}

// WithHTTPClient sends requests through hc's transport (for proxies or
// custom TLS roots). The rule, the same in every package of the SDK: its
// Transport carries the requests, under the SDK's own retries and logging;
// its Timeout, Jar and CheckRedirect are not used (WithTimeout bounds
// calls, redirects are refused so that the token never follows one). Its
// transport's TLS settings are used as they are: keep verification on.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *config) error { return c.SetHTTPClient(hc) }
}

// WithLogger logs one Debug line per HTTP request (method, path, status,
// duration; never headers or bodies). The default, and nil, discard.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) error { return c.SetLogger(l) }
}

// WithTimeout bounds a call whose context has no deadline, retries
// included; default 30 s.
func WithTimeout(d time.Duration) Option {
	return func(c *config) error { return c.SetTimeout(d) }
}

// WithRetries sets how many times a request is retried after the first
// attempt on connection errors, 429 (with a Retry-After up to 30 s), 502,
// 503 and 504; default 3, 0 turns retries off. Creates are never retried
// (a retry could duplicate the record).
func WithRetries(n int) Option {
	return func(c *config) error { return c.SetRetries(n) }
}

// WithRateLimit paces requests client-side to rps per second; the default
// DefaultRateLimit matches Cloudflare's 1,200 requests per 5 minutes. 0
// turns pacing off (tests against dnstest).
func WithRateLimit(rps float64) Option {
	return func(c *config) error {
		if rps < 0 || math.IsNaN(rps) {
			return fmt.Errorf("WithRateLimit: %v must be >= 0", rps)
		}
		c.rps = rps
		return nil
	}
}

// NewClient returns a client authenticating with an API token (Bearer).
// The token needs Zone:DNS:Edit on the zone (Zone:Read is implied for zone
// lookups by name); VerifyToken reports what is missing. An empty token is
// refused (ErrAuth), and so is an invalid option (ErrInvalid).
func NewClient(token secret.Secret, opts ...Option) (*Client, error) {
	const op = "new client"
	cfg := config{Config: clientcfg.New("dns", 0, 0), baseURL: DefaultBaseURL, rps: DefaultRateLimit}
	if err := clientcfg.Apply(&cfg, opts); err != nil {
		return nil, invalid(op, "%s", causeText(err))
	}
	if token.IsZero() {
		return nil, &Error{Op: op, Message: "empty api token: pass dns.NewClient(secret.New(token))", Err: ErrAuth}
	}
	if strings.ContainsAny(token.Reveal(), "\r\n\x00 ") {
		return nil, &Error{Op: op, Message: "the api token holds a space, a line break or NUL", Err: ErrAuth}
	}
	var base http.RoundTripper
	if cfg.HTTPClient != nil {
		base = cfg.HTTPClient.Transport
		if base == nil {
			base = http.DefaultTransport
		}
	} else {
		base = httpx.NewTransport(nil)
	}
	hx := &httpx.Transport{Base: base, Logger: cfg.Logger, Attempts: cfg.Retries + 1}
	hc := &http.Client{
		Transport: &envelopeTransport{token: token, base: hx, now: time.Now},
		// The transport sets the token on every request it sends, so a
		// followed redirect would hand it to whatever host the answer
		// names. Cloudflare's API does not redirect.
		CheckRedirect: func(req *http.Request, _ []*http.Request) error {
			return fmt.Errorf("refusing redirect to %s", httpx.RedactURL(req.URL))
		},
	}
	cf, err := newBackend(cfg.baseURL, hc, cfg.rps)
	if err != nil {
		return nil, opError(op, err)
	}
	return &Client{cf: cf, hc: hc, cfg: cfg}, nil
}

// Close releases idle connections. It is idempotent; calls after Close
// fail with ErrClosed.
func (c *Client) Close() error {
	if c.closed.Swap(true) {
		return nil
	}
	c.hc.CloseIdleConnections()
	return nil
}

// call bounds ctx with the client's timeout and refuses work after Close.
func (c *Client) call(ctx context.Context, op string) (context.Context, context.CancelFunc, error) {
	if c.closed.Load() {
		return ctx, func() {}, &Error{Op: op, Err: ErrClosed}
	}
	if err := ctx.Err(); err != nil {
		return ctx, func() {}, err
	}
	cctx, cancel := c.cfg.WithTimeout(ctx)
	return cctx, cancel, nil
}

// wrap turns whatever the seam returned into this package's errors: the
// caller's ctx.Err() once it is done, else an *Error carrying op.
func wrap(ctx context.Context, op string, err error) error {
	if err == nil {
		return nil
	}
	if cerr := ctx.Err(); cerr != nil {
		return cerr
	}
	var e *Error
	if errors.As(err, &e) {
		cp := *e
		cp.Op = op
		return &cp
	}
	if errors.Is(err, ErrZoneNotFound) || errors.Is(err, ErrAmbiguousZone) || errors.Is(err, ErrClosed) {
		return opError(op, err)
	}
	return opError(op, unreachable{err})
}
