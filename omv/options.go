package omv

import (
	"crypto/x509"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/thehomelab/homelab/secret"
)

// Secret holds a password; it prints as REDACTED.
type Secret = secret.Secret

// NewSecret wraps a password so it never appears in logs or errors.
func NewSecret(v string) Secret { return secret.New(v) }

// Option configures a Client; see NewClient.
type Option func(*config) error

type config struct {
	user         string
	password     Secret
	logger       *slog.Logger
	fingerprint  string
	rootCAs      *x509.CertPool
	httpClient   *http.Client
	timeout      time.Duration
	pollInterval time.Duration
	attempts     int
	backoff      time.Duration
}

// WithCredentials sets the OMV user (normally an admin, member of the group
// openmediavault-admin) and its password. It is required.
func WithCredentials(user string, password Secret) Option {
	return func(c *config) error {
		user = strings.TrimSpace(user)
		if user == "" {
			return errors.New("omv: empty user name")
		}
		if password.IsZero() {
			return errors.New("omv: empty password")
		}
		if strings.ContainsAny(password.Reveal(), "\r\n") {
			return errors.New("omv: password contains a line break")
		}
		c.user, c.password = user, password
		return nil
	}
}

// WithLogger enables one Debug line per RPC call. The default discards.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) error {
		if l == nil {
			return errors.New("omv: nil logger")
		}
		c.logger = l
		return nil
	}
}

// WithFingerprint pins the server's leaf certificate ("sha256:<hex>"), for
// the self-signed certificate OMV generates.
func WithFingerprint(fp string) Option {
	return func(c *config) error {
		if fp == "" {
			return errors.New("omv: empty fingerprint")
		}
		c.fingerprint = fp
		return nil
	}
}

// WithRootCAs verifies the server against these roots instead of the system's.
func WithRootCAs(pool *x509.CertPool) Option {
	return func(c *config) error {
		if pool == nil {
			return errors.New("omv: nil root CA pool")
		}
		c.rootCAs = pool
		return nil
	}
}

// WithHTTPClient sets the HTTP client whose transport carries the requests
// (useful with httptest servers). Its Jar is not used: the Client keeps its
// own session cookies.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *config) error {
		if hc == nil {
			return errors.New("omv: nil http client")
		}
		c.httpClient = hc
		return nil
	}
}

// WithTimeout bounds each HTTP request (default 2 minutes; OMV's own limit
// for synchronous calls is about 60 s at nginx).
func WithTimeout(d time.Duration) Option {
	return func(c *config) error {
		if d <= 0 {
			return errors.New("omv: timeout must be positive")
		}
		c.timeout = d
		return nil
	}
}

// WithPollInterval sets how often Job.Wait polls Exec.getOutput (default 1 s,
// as OMV's web UI does).
func WithPollInterval(d time.Duration) Option {
	return func(c *config) error {
		if d <= 0 {
			return errors.New("omv: poll interval must be positive")
		}
		c.pollInterval = d
		return nil
	}
}

// WithRetry sets how many times a read-only call is attempted on
// connection errors and 502/503/504 (default 3) and the first backoff delay
// (default 250 ms). Writes are never retried: a 504 leaves them ambiguous.
func WithRetry(attempts int, backoff time.Duration) Option {
	return func(c *config) error {
		if attempts < 1 || backoff <= 0 {
			return errors.New("omv: retry needs attempts >= 1 and a positive backoff")
		}
		c.attempts, c.backoff = attempts, backoff
		return nil
	}
}
