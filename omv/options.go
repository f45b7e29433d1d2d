package omv

import (
	"crypto/x509"
	"log/slog"
	"net/http"
	"time"

	"github.com/thehomelab/homelab/internal/clientcfg"
	"github.com/thehomelab/homelab/secret"
)

// Option configures a Client; see NewClient. A nil Option is skipped.
type Option func(*config) error

type config struct {
	clientcfg.Config
	// retryBackoff, when set, replaces httpx's default spacing of retries
	// (tests only, through export_test.go).
	retryBackoff time.Duration
}

// Polling of background jobs starts at OMV's web UI pace (it polls
// Exec.getOutput every second) and backs off to 5 s for long jobs.
const (
	defaultPollMin = time.Second
	defaultPollMax = 5 * time.Second
)

// WithCredentials sets the OMV user (normally an admin, member of the group
// openmediavault-admin) and its password. It is required: NewClient fails
// without it.
func WithCredentials(user string, password secret.Secret) Option {
	return func(c *config) error { return c.SetCredentials(user, password) }
}

// WithLogger enables one Debug line per RPC call. The default, and nil,
// discard.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) error { return c.SetLogger(l) }
}

// WithFingerprint pins the server's leaf certificate ("sha256:AA:BB:…"),
// for the self-signed certificate OMV generates. It needs an https:// URL.
func WithFingerprint(fp string) Option {
	return func(c *config) error { return c.SetFingerprint(fp) }
}

// WithRootCAs verifies the server against these roots instead of the
// system's. It needs an https:// URL.
func WithRootCAs(pool *x509.CertPool) Option {
	return func(c *config) error { return c.SetRootCAs(pool) }
}

// WithHTTPClient sets the HTTP client whose transport carries the requests
// (useful with httptest servers). The rule, the same in every package of
// the SDK: its Transport carries the requests, under the SDK's own retries
// and logging; its Timeout, Jar and CheckRedirect are not used (WithTimeout
// bounds calls, the Client keeps its own session cookies, redirects are
// refused so that credentials never follow one). Its transport's TLS
// settings are used as they are, so it cannot be combined with
// WithFingerprint or WithRootCAs.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *config) error { return c.SetHTTPClient(hc) }
}

// WithTimeout bounds every RPC call whose context has no deadline, its
// retries and a re-login included (default 30 s). OMV's own limit for a
// synchronous call is about 60 s at nginx; waiting for a background job
// (Job.Wait) is bounded by its context only, each poll by this timeout.
func WithTimeout(d time.Duration) Option {
	return func(c *config) error { return c.SetTimeout(d) }
}

// WithRetries sets how many times a read-only call is retried after the
// first attempt on connection errors and 502/503/504 (default 3; 0 turns
// retries off). Writes are never retried: a 504 leaves them ambiguous.
func WithRetries(n int) Option {
	return func(c *config) error { return c.SetRetries(n) }
}

// WithPollInterval sets the first and the longest wait between two polls
// of a background job's output (default 1 s, as OMV's web UI, backing off
// to 5 s).
func WithPollInterval(min, max time.Duration) Option {
	return func(c *config) error { return c.SetPollInterval(min, max) }
}
