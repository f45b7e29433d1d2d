// Package httpx is the HTTP plumbing shared by the SDK's HTTP clients: a
// RoundTripper that sets the User-Agent, logs one Debug line per request
// without secrets, and retries what is safe to retry.
package httpx

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/thehomelab/homelab/internal/poll"
	"github.com/thehomelab/homelab/internal/version"
)

type retryKey struct{}

// Retryable marks requests made with the returned context as safe to retry
// even though their method (POST, PATCH) is not idempotent. Use it only for
// calls the device treats as idempotent.
func Retryable(ctx context.Context) context.Context {
	return context.WithValue(ctx, retryKey{}, true)
}

type noRetryKey struct{}

// NoRetry turns retries off for requests made with the returned context.
func NoRetry(ctx context.Context) context.Context {
	return context.WithValue(ctx, noRetryKey{}, true)
}

// Transport wraps a base RoundTripper. The zero value is usable and wraps
// http.DefaultTransport. It is safe for concurrent use.
type Transport struct {
	// Base carries the requests; nil means http.DefaultTransport.
	Base http.RoundTripper
	// Logger receives one Debug line per request sent; nil discards.
	Logger *slog.Logger
	// UserAgent is set when the request has none; empty means
	// "homelab/<version>".
	UserAgent string
	// Attempts is the most tries per request, the first included; 0 means
	// 4, 1 disables retries.
	Attempts int
	// Backoff spaces the retries; zero means 250 ms doubling to 5 s.
	Backoff poll.Backoff
	// MaxRetryAfter is the longest Retry-After the transport waits out
	// itself; a longer one returns the response to the caller. 0 means 30 s.
	MaxRetryAfter time.Duration
	// Explain, when set, sees what a request finally ended with (after the
	// retries) and may replace it with a clearer error; clientcfg uses it
	// to say what to do about a certificate or a port that does not fit.
	Explain func(req *http.Request, resp *http.Response, err error) (*http.Response, error)
}

// NewTransport returns a clone of http.DefaultTransport that uses the given
// TLS config (nil keeps Go's verified default).
func NewTransport(cfg *tls.Config) *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	if cfg != nil {
		t.TLSClientConfig = cfg
	}
	return t
}

func (t *Transport) base() http.RoundTripper {
	if t.Base != nil {
		return t.Base
	}
	return http.DefaultTransport
}

func (t *Transport) attempts() int {
	if t.Attempts <= 0 {
		return 4
	}
	return t.Attempts
}

func (t *Transport) backoff() poll.Backoff {
	if t.Backoff == (poll.Backoff{}) {
		return poll.Backoff{Initial: 250 * time.Millisecond, Max: 5 * time.Second}
	}
	return t.Backoff
}

func (t *Transport) maxRetryAfter() time.Duration {
	if t.MaxRetryAfter <= 0 {
		return 30 * time.Second
	}
	return t.MaxRetryAfter
}

// canRetry reports whether req may be sent again: an idempotent method (or
// one the caller marked), and a body that can be replayed.
func canRetry(req *http.Request) bool {
	ctx := req.Context()
	if v, _ := ctx.Value(noRetryKey{}).(bool); v {
		return false
	}
	switch req.Method {
	case http.MethodGet, http.MethodHead, http.MethodPut, http.MethodDelete, http.MethodOptions, "":
	default:
		if v, _ := ctx.Value(retryKey{}).(bool); !v {
			return false
		}
	}
	return req.Body == nil || req.Body == http.NoBody || req.GetBody != nil
}

// RetryStatus reports the statuses worth another try: rate limiting and
// gateway failures, which say nothing was done.
func RetryStatus(code int) bool {
	switch code {
	case http.StatusTooManyRequests, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

// RoundTrip implements http.RoundTripper.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.roundTrip(req)
	if t.Explain != nil && req.Context().Err() == nil {
		return t.Explain(req, resp, err)
	}
	return resp, err
}

func (t *Transport) roundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	retry := canRetry(req)
	max := t.attempts()
	if !retry {
		max = 1
	}
	ua := t.UserAgent
	if ua == "" {
		ua = version.UserAgent
	}
	for attempt := 0; ; attempt++ {
		r := req.Clone(ctx)
		if r.Header.Get("User-Agent") == "" {
			r.Header.Set("User-Agent", ua)
		}
		if attempt > 0 && req.GetBody != nil {
			body, err := req.GetBody()
			if err != nil {
				return nil, err
			}
			r.Body = body
		}
		start := time.Now()
		resp, err := t.base().RoundTrip(r)
		t.log(ctx, r, resp, err, time.Since(start), attempt)
		if cerr := ctx.Err(); cerr != nil {
			if resp != nil {
				drain(resp)
			}
			return nil, cerr
		}
		last := attempt+1 >= max
		var wait time.Duration
		switch {
		case err != nil:
			if last || !retryableError(err) {
				return nil, err
			}
			wait = t.backoff().Delay(attempt)
		case RetryStatus(resp.StatusCode):
			if last {
				return resp, nil
			}
			wait = t.backoff().Delay(attempt)
			if ra, ok := RetryAfter(resp.Header, time.Now()); ok {
				if ra > t.maxRetryAfter() {
					return resp, nil
				}
				wait = ra
			}
			drain(resp)
		default:
			return resp, nil
		}
		if err := poll.Sleep(ctx, wait); err != nil {
			return nil, err
		}
	}
}

// retryableError reports transport failures where the request may be sent
// again: refused, reset or dropped connections and timeouts, but not TLS
// verification failures or bad URLs, which would fail the same way.
func retryableError(err error) bool {
	var certErr *tls.CertificateVerificationError
	if errors.As(err, &certErr) {
		return false
	}
	if strings.Contains(err.Error(), "tls:") || strings.Contains(err.Error(), "x509:") {
		return false
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return true
	}
	// A server that closes the connection without answering shows up as
	// an EOF, sometimes only in the message.
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		strings.Contains(err.Error(), "EOF") || strings.Contains(err.Error(), "server closed")
}

// RetryAfter parses a Retry-After header: delay-seconds or an HTTP date.
func RetryAfter(h http.Header, now time.Time) (time.Duration, bool) {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0, false
	}
	if n, err := strconv.Atoi(v); err == nil {
		if n < 0 {
			return 0, false
		}
		return time.Duration(n) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		d := t.Sub(now)
		if d < 0 {
			d = 0
		}
		return d, true
	}
	return 0, false
}

func drain(resp *http.Response) {
	_, _ = io.CopyN(io.Discard, resp.Body, 64<<10)
	_ = resp.Body.Close()
}

func (t *Transport) log(ctx context.Context, r *http.Request, resp *http.Response, err error, d time.Duration, attempt int) {
	if t.Logger == nil || !t.Logger.Enabled(ctx, slog.LevelDebug) {
		return
	}
	attrs := []slog.Attr{
		slog.String("method", r.Method),
		slog.String("path", RedactURL(r.URL)),
		slog.Duration("duration", d),
	}
	if attempt > 0 {
		attrs = append(attrs, slog.Int("attempt", attempt+1))
	}
	if resp != nil {
		attrs = append(attrs, slog.Int("status", resp.StatusCode))
	}
	if err != nil {
		attrs = append(attrs, slog.String("error", err.Error()))
	}
	t.Logger.LogAttrs(ctx, slog.LevelDebug, "http request", attrs...)
}

// sensitive query keys: their values are replaced in logs.
var sensitive = []string{"pass", "token", "secret", "key", "ticket", "auth", "sig", "csrf", "session", "cookie", "otp", "cred"}

// RedactURL returns the URL's path and query for logging, with the values
// of credential-like query parameters replaced, and never the user info.
func RedactURL(u *url.URL) string {
	if u == nil {
		return ""
	}
	p := u.EscapedPath()
	if u.RawQuery == "" {
		return p
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return p + "?REDACTED"
	}
	for k, vs := range q {
		lk := strings.ToLower(k)
		for _, s := range sensitive {
			if strings.Contains(lk, s) {
				for i := range vs {
					vs[i] = "REDACTED"
				}
				break
			}
		}
	}
	return p + "?" + q.Encode()
}

// CloseIdleConnections closes the idle connections of the base transport,
// so that http.Client.CloseIdleConnections reaches it through the retry
// layer (a client's Close leaves no connection goroutine behind).
func (t *Transport) CloseIdleConnections() {
	if c, ok := t.base().(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}
