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

	"github.com/thehomelab/homelab/internal/httpx"
	"github.com/thehomelab/homelab/secret"
)

// DefaultBaseURL is Cloudflare's API v4 base.
const DefaultBaseURL = "https://api.cloudflare.com/client/v4"

// Secret holds the API token; printing it shows REDACTED.
type Secret = secret.Secret

// NewSecret wraps an API token.
func NewSecret(v string) Secret { return secret.New(v) }

// Client talks to Cloudflare's DNS API. It is safe for concurrent use.
type Client struct {
	cf      *backend
	hc      *http.Client
	timeout time.Duration
	closed  atomic.Bool
}

// Option configures a Client.
type Option func(*options) error

type options struct {
	baseURL  string
	base     http.RoundTripper
	logger   *slog.Logger
	timeout  time.Duration
	rps      float64
	attempts int
}

// WithBaseURL points the client at another API base, such as a dnstest
// server or a proxy. A URL without a path gets "/client/v4" appended.
func WithBaseURL(u string) Option {
	return func(o *options) error {
		p, err := url.Parse(u)
		if err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
			return fmt.Errorf("dns: base url %q: need http(s)://host[/path]", u)
		}
		if p.User != nil {
			return errors.New("dns: base url must not carry credentials")
		}
		if p.RawQuery != "" || p.Fragment != "" || p.ForceQuery {
			// cloudflare-go appends paths to the string: a query would end
			// up in the middle of every URL.
			return errors.New("dns: base url must not carry a query or fragment")
		}
		if p.Path == "" || p.Path == "/" {
			p.Path = "/client/v4"
		}
		o.baseURL = strings.TrimSuffix(p.String(), "/")
		return nil
	}
}

// WithHTTPClient sends requests through hc's transport (for proxies or
// custom TLS roots). Retries, logging and the token are still handled by
// the client. TLS verification stays the transport's business: keep it on.
func WithHTTPClient(hc *http.Client) Option {
	return func(o *options) error {
		if hc == nil {
			return errors.New("dns: nil http client")
		}
		o.base = hc.Transport
		if o.base == nil {
			o.base = http.DefaultTransport
		}
		return nil
	}
}

// WithLogger logs one Debug line per HTTP request (method, path, status,
// duration; never headers or bodies). The default discards.
func WithLogger(l *slog.Logger) Option {
	return func(o *options) error {
		if l == nil {
			return errors.New("dns: nil logger")
		}
		o.logger = l
		return nil
	}
}

// WithTimeout bounds every call (retries included); default 30 s.
func WithTimeout(d time.Duration) Option {
	return func(o *options) error {
		if d <= 0 {
			return fmt.Errorf("dns: timeout %s must be positive", d)
		}
		o.timeout = d
		return nil
	}
}

// WithRateLimit paces requests client-side to rps per second; the default
// 4 matches Cloudflare's 1,200 requests per 5 minutes. 0 turns pacing off
// (tests against dnstest).
func WithRateLimit(rps float64) Option {
	return func(o *options) error {
		if rps < 0 || math.IsNaN(rps) {
			return fmt.Errorf("dns: rate limit %v must be >= 0", rps)
		}
		o.rps = rps
		return nil
	}
}

// WithRetries sets how many times a request is tried in total on
// connection errors, 429 (with a Retry-After up to 30 s), 502, 503 and 504;
// default 4, 1 disables retries. Creates are never retried (a retry could
// duplicate the record).
func WithRetries(attempts int) Option {
	return func(o *options) error {
		if attempts < 1 {
			return fmt.Errorf("dns: retries %d must be >= 1", attempts)
		}
		o.attempts = attempts
		return nil
	}
}

// NewClient returns a client authenticating with an API token (Bearer).
// The token needs Zone:DNS:Edit on the zone (Zone:Read is implied for zone
// lookups by name); VerifyToken reports what is missing.
func NewClient(token Secret, opts ...Option) (*Client, error) {
	if token.IsZero() {
		return nil, errors.New("dns: empty api token")
	}
	o := options{baseURL: DefaultBaseURL, timeout: 30 * time.Second, rps: 4, attempts: 4}
	for _, opt := range opts {
		if opt == nil {
			continue
		}
		if err := opt(&o); err != nil {
			return nil, err
		}
	}
	base := o.base
	if base == nil {
		base = httpx.NewTransport(nil)
	}
	hx := &httpx.Transport{Base: base, Logger: o.logger, Attempts: o.attempts}
	hc := &http.Client{
		Transport: &envelopeTransport{token: token, base: hx, now: time.Now},
		// The transport sets the token on every request it sends, so a
		// followed redirect would hand it to whatever host the answer
		// names. Cloudflare's API does not redirect.
		CheckRedirect: func(req *http.Request, _ []*http.Request) error {
			return fmt.Errorf("refusing redirect to %s", httpx.RedactURL(req.URL))
		},
	}
	cf, err := newBackend(o.baseURL, hc, o.rps)
	if err != nil {
		return nil, fmt.Errorf("dns: %w", err)
	}
	return &Client{cf: cf, hc: hc, timeout: o.timeout}, nil
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
func (c *Client) call(ctx context.Context) (context.Context, context.CancelFunc, error) {
	if c.closed.Load() {
		return ctx, func() {}, ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return ctx, func() {}, err
	}
	cctx, cancel := context.WithTimeout(ctx, c.timeout)
	return cctx, cancel, nil
}

// wrap turns whatever the seam returned into this package's errors: the
// caller's ctx.Err() once it is done, an *Error carrying op, or op: err.
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
		return err
	}
	return opError(op, err)
}
