package routeros

import (
	"crypto/x509"
	"fmt"
	"log/slog"
	"time"

	"github.com/thehomelab/homelab/internal/clientcfg"
	"github.com/thehomelab/homelab/secret"
)

// DefaultTimeout bounds a call whose context has no deadline; it is the SDK's
// one default (clientcfg.DefaultTimeout).
const DefaultTimeout = clientcfg.DefaultTimeout

// Default ports Dial fills in when the address has none.
const (
	DefaultPort    = "8728" // api
	DefaultTLSPort = "8729" // api-ssl
)

// Option configures a Client in Dial or NewClient. A nil Option is skipped.
type Option func(*config) error

type config struct {
	clientcfg.Config
	useTLS      bool
	maxWord     int
	maxSentence int
	maxReply    int
	onEvent     func(Event)
}

func defaults() config {
	return config{
		Config:      clientcfg.New("routeros", time.Second, time.Second),
		maxWord:     DefaultMaxWordSize,
		maxSentence: DefaultMaxSentenceSize,
		maxReply:    DefaultMaxReplySize,
	}
}

// WithCredentials sets the API user and password; Dial and NewClient fail
// without it. The password travels in clear text inside /login: use TLS
// (port 8729) off the LAN.
func WithCredentials(user string, password secret.Secret) Option {
	return func(c *config) error { return c.SetCredentials(user, password) }
}

// WithTLS makes Dial speak API-SSL (default port 8729), verifying the
// router's certificate against the system roots (see WithRootCAs and
// WithFingerprint for self-signed certificates).
func WithTLS() Option {
	return func(c *config) error { c.useTLS = true; return nil }
}

// WithFingerprint makes Dial use TLS and pins the router's leaf
// certificate ("sha256:AA:BB:…") instead of verifying a chain.
func WithFingerprint(fp string) Option {
	return func(c *config) error { c.useTLS = true; return c.SetFingerprint(fp) }
}

// WithRootCAs makes Dial use TLS and verify the router's certificate
// against pool.
func WithRootCAs(pool *x509.CertPool) Option {
	return func(c *config) error { c.useTLS = true; return c.SetRootCAs(pool) }
}

// WithServerName sets the TLS server name checked against the certificate
// (default: the host of the address).
func WithServerName(name string) Option {
	return func(c *config) error { return c.SetServerName(name) }
}

// WithTimeout bounds every call (login and redial included) whose context
// has no deadline. The default is DefaultTimeout (30 s); it must be
// positive.
func WithTimeout(d time.Duration) Option {
	return func(c *config) error { return c.SetTimeout(d) }
}

// WithLogger logs one Debug line per call (operation, command word,
// duration; never arguments). The default, and nil, discard.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) error { return c.SetLogger(l) }
}

// WithOnEvent calls fn, synchronously, for every connection event: a
// broken connection and each redial (see EventKind). fn must not block;
// nil turns events off.
func WithOnEvent(fn func(Event)) Option {
	return func(c *config) error { c.onEvent = fn; return nil }
}

// WithMaxWordSize caps the size of a word read from the router
// (default DefaultMaxWordSize). A longer length prefix breaks the
// connection before anything is allocated.
func WithMaxWordSize(n int) Option {
	return func(c *config) error {
		if n < 1024 {
			return invalid("WithMaxWordSize", fmt.Sprintf("%d is below 1024 bytes", n))
		}
		c.maxWord = n
		return nil
	}
}

// WithMaxSentenceSize caps what one reply sentence may cost (default
// DefaultMaxSentenceSize): its words' bytes plus a small charge per word,
// so endless one-byte words are stopped too. Going over breaks the
// connection with an error matching ErrTooLarge.
func WithMaxSentenceSize(n int) Option {
	return func(c *config) error {
		if n < 4096 {
			return invalid("WithMaxSentenceSize", fmt.Sprintf("%d is below 4096 bytes", n))
		}
		c.maxSentence = n
		return nil
	}
}

// WithMaxReplySize caps what the whole reply to one call may cost (default
// DefaultMaxReplySize), counted like WithMaxSentenceSize over every
// sentence, so endless !re sentences are stopped. Going over breaks the
// connection with an error matching ErrTooLarge.
func WithMaxReplySize(n int) Option {
	return func(c *config) error {
		if n < 4096 {
			return invalid("WithMaxReplySize", fmt.Sprintf("%d is below 4096 bytes", n))
		}
		c.maxReply = n
		return nil
	}
}
