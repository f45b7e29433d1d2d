package routeros

import (
	"crypto/x509"
	"errors"
	"log/slog"
	"time"

	"github.com/thehomelab/homelab/secret"
)

// Secret holds a password or key; it prints as REDACTED.
type Secret = secret.Secret

// NewSecret wraps a password or key.
func NewSecret(v string) Secret { return secret.New(v) }

// DefaultTimeout bounds a call whose context has no deadline.
const DefaultTimeout = 30 * time.Second

// Option configures a Client in Dial or NewClient.
type Option func(*config) error

type config struct {
	user        string
	password    Secret
	useTLS      bool
	fingerprint string
	rootCAs     *x509.CertPool
	serverName  string
	timeout     time.Duration
	logger      *slog.Logger
	maxWord     int
}

func defaults() config {
	return config{
		user:    "admin",
		timeout: DefaultTimeout,
		logger:  slog.New(slog.DiscardHandler),
		maxWord: DefaultMaxWordSize,
	}
}

// WithUser sets the API user and password (default "admin" with an empty
// password). The password travels in clear text inside /login: use TLS
// (port 8729) off the LAN.
func WithUser(name string, password Secret) Option {
	return func(c *config) error {
		if name == "" {
			return errors.New("routeros: empty user name")
		}
		c.user, c.password = name, password
		return nil
	}
}

// WithTLS makes Dial speak API-SSL, verifying the router's certificate
// against the system roots (see WithRootCAs and WithFingerprint for
// self-signed certificates).
func WithTLS() Option {
	return func(c *config) error { c.useTLS = true; return nil }
}

// WithFingerprint makes Dial use TLS and pins the router's leaf
// certificate ("sha256:…" hex) instead of verifying a chain.
func WithFingerprint(fp string) Option {
	return func(c *config) error {
		if fp == "" {
			return errors.New("routeros: empty fingerprint")
		}
		c.useTLS, c.fingerprint = true, fp
		return nil
	}
}

// WithRootCAs makes Dial use TLS and verify the router's certificate
// against pool.
func WithRootCAs(pool *x509.CertPool) Option {
	return func(c *config) error {
		if pool == nil {
			return errors.New("routeros: nil root CA pool")
		}
		c.useTLS, c.rootCAs = true, pool
		return nil
	}
}

// WithServerName sets the TLS server name checked against the certificate.
func WithServerName(name string) Option {
	return func(c *config) error { c.serverName = name; return nil }
}

// WithTimeout bounds every call (login included) whose context has no
// deadline. The default is DefaultTimeout; it must be positive.
func WithTimeout(d time.Duration) Option {
	return func(c *config) error {
		if d <= 0 {
			return errors.New("routeros: timeout must be positive")
		}
		c.timeout = d
		return nil
	}
}

// WithLogger logs one Debug line per call (operation, command word,
// duration; never arguments). The default discards.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) error {
		if l == nil {
			return errors.New("routeros: nil logger")
		}
		c.logger = l
		return nil
	}
}

// WithMaxWordSize caps the size of a word read from the router
// (default DefaultMaxWordSize). A longer length prefix breaks the
// connection before anything is allocated.
func WithMaxWordSize(n int) Option {
	return func(c *config) error {
		if n < 1024 {
			return errors.New("routeros: max word size below 1024 bytes")
		}
		c.maxWord = n
		return nil
	}
}
