package ups

import (
	"crypto/x509"
	"errors"
	"log/slog"
	"time"

	"github.com/thehomelab/homelab/internal/tlspin"
	"github.com/thehomelab/homelab/secret"
)

// Secret holds a password. It prints as REDACTED in every format, log and
// JSON; only the client puts it on the wire.
type Secret = secret.Secret

// NewSecret wraps a password.
func NewSecret(v string) Secret { return secret.New(v) }

// Option configures a Client. Options validate their arguments; Dial and
// NewClient return the first error.
type Option func(*options) error

type options struct {
	logger      *slog.Logger
	user        string
	pass        Secret
	startTLS    bool
	fingerprint string
	roots       *x509.CertPool
	serverName  string
	keepAlive   time.Duration
	timeout     time.Duration
	tracking    bool
	maxLine     int
}

func defaultOptions() options {
	return options{
		logger:    slog.New(slog.DiscardHandler),
		keepAlive: 30 * time.Second,
		timeout:   10 * time.Second,
		maxLine:   16 << 10,
	}
}

// WithLogger logs one Debug line per protocol exchange (operation, duration,
// error; never a password). The default discards.
func WithLogger(l *slog.Logger) Option {
	return func(o *options) error {
		if l == nil {
			return errors.New("ups: nil logger")
		}
		o.logger = l
		return nil
	}
}

// WithCredentials sends USERNAME and PASSWORD on every connection, before any
// other command. upsd checks them only when a command needs them (LOGIN,
// PRIMARY, SET, INSTCMD, FSD), so a wrong password shows up there as
// ErrAccessDenied.
func WithCredentials(user string, password Secret) Option {
	return func(o *options) error {
		if user == "" || checkArg(user) != nil {
			return errors.New("ups: invalid user name")
		}
		if checkArg(password.Reveal()) != nil {
			return errors.New("ups: password contains a line break")
		}
		o.user, o.pass = user, password
		return nil
	}
}

// WithStartTLS upgrades every connection with STARTTLS, verifying the server
// against the system roots (or WithRootCAs / WithFingerprint). A server
// without TLS then fails the dial with ErrFeatureNotConfigured.
func WithStartTLS() Option {
	return func(o *options) error { o.startTLS = true; return nil }
}

// WithFingerprint pins the server's leaf certificate ("sha256:AB:CD:…") and
// implies WithStartTLS.
func WithFingerprint(fp string) Option {
	return func(o *options) error {
		if _, err := tlspin.ParseFingerprint(fp); err != nil {
			return err
		}
		o.fingerprint, o.startTLS = fp, true
		return nil
	}
}

// WithRootCAs verifies the server against pool and implies WithStartTLS.
func WithRootCAs(pool *x509.CertPool) Option {
	return func(o *options) error {
		if pool == nil {
			return errors.New("ups: nil root pool")
		}
		o.roots, o.startTLS = pool, true
		return nil
	}
}

// WithServerName sets the name verified in the server certificate (default:
// the host part of the address).
func WithServerName(name string) Option {
	return func(o *options) error { o.serverName = name; return nil }
}

// WithKeepAlive sends NETVER after d without traffic, so upsd's 60 s idle
// cutoff never drops the session. Default 30 s; 0 disables it (the client
// then reconnects transparently on the next call).
func WithKeepAlive(d time.Duration) Option {
	return func(o *options) error {
		if d < 0 {
			return errors.New("ups: negative keep-alive")
		}
		o.keepAlive = d
		return nil
	}
}

// WithTimeout bounds each call whose context has no deadline (default 10 s).
func WithTimeout(d time.Duration) Option {
	return func(o *options) error {
		if d <= 0 {
			return errors.New("ups: timeout must be positive")
		}
		o.timeout = d
		return nil
	}
}

// WithTracking sends SET TRACKING ON on every connection (protocol 1.3), so
// SET VAR and INSTCMD return a tracking ID that Job.Wait follows. Servers
// without tracking are tolerated: jobs are then untracked.
func WithTracking() Option {
	return func(o *options) error { o.tracking = true; return nil }
}

// WithMaxLineLength caps the length of one reply line (default 16 KiB); a
// longer line fails with ErrLineTooLong instead of growing a buffer.
func WithMaxLineLength(n int) Option {
	return func(o *options) error {
		if n < 64 || n > 16<<20 {
			return errors.New("ups: max line length out of range 64..16MiB")
		}
		o.maxLine = n
		return nil
	}
}
