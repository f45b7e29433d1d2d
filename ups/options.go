package ups

import (
	"crypto/x509"
	"fmt"
	"log/slog"
	"time"

	"github.com/thehomelab/homelab/internal/clientcfg"
	"github.com/thehomelab/homelab/secret"
)

// DefaultPort is NUT's IANA port; Dial fills it in when addr has none.
const DefaultPort = "3493"

// DefaultMaxListItems caps the items of one LIST reply. A real UPS reports
// a few hundred variables at most; the cap stops a broken or hostile upsd
// from filling memory with an endless list.
const DefaultMaxListItems = 4096

// Option configures a Client. Options validate their arguments; Dial and
// NewClient return the first error. A nil Option is skipped.
type Option func(*config) error

type config struct {
	clientcfg.Config
	startTLS  bool
	keepAlive time.Duration
	tracking  bool
	maxLine   int
	maxItems  int
}

func defaultConfig() config {
	return config{
		Config:    clientcfg.New("ups", 100*time.Millisecond, time.Second),
		keepAlive: 30 * time.Second,
		maxLine:   16 << 10,
		maxItems:  DefaultMaxListItems,
	}
}

// WithLogger logs one Debug line per protocol exchange (operation, duration,
// error; never a password). The default, and nil, discard.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) error { return c.SetLogger(l) }
}

// WithCredentials sends USERNAME and PASSWORD on every connection, before any
// other command. Reading (GET, LIST) needs no login, so a monitor may go
// without; the commands that do (LOGIN, PRIMARY, SET, INSTCMD, FSD) fail
// at once without credentials, with an error matching ErrAuth that names
// this option. upsd checks the password only when such a command is used,
// so a wrong one shows up there as ErrAccessDenied; Client.CheckPrimary
// finds out at start.
func WithCredentials(user string, password secret.Secret) Option {
	return func(c *config) error { return c.SetCredentials(user, password) }
}

// WithStartTLS upgrades every connection with STARTTLS, verifying the server
// against the system roots (or WithRootCAs / WithFingerprint). A server
// without TLS then fails the dial with CodeFeatureNotConfigured.
func WithStartTLS() Option {
	return func(c *config) error { c.startTLS = true; return nil }
}

// WithFingerprint pins the server's leaf certificate ("sha256:AB:CD:…") and
// implies WithStartTLS. A server presenting another certificate fails the
// dial with a *FingerprintMismatchError that says which one it presented.
func WithFingerprint(fp string) Option {
	return func(c *config) error { c.startTLS = true; return c.SetFingerprint(fp) }
}

// WithRootCAs verifies the server against pool and implies WithStartTLS.
func WithRootCAs(pool *x509.CertPool) Option {
	return func(c *config) error { c.startTLS = true; return c.SetRootCAs(pool) }
}

// WithServerName sets the name verified in the server certificate (default:
// the host part of the address).
func WithServerName(name string) Option {
	return func(c *config) error { return c.SetServerName(name) }
}

// WithTimeout bounds each call whose context has no deadline, the redial
// and retry after a broken connection included (default 30 s, as in every
// package of the SDK).
func WithTimeout(d time.Duration) Option {
	return func(c *config) error { return c.SetTimeout(d) }
}

// WithPollInterval sets how often Job.Wait and Job.Log ask upsd for the
// state of a tracked command: first after min, then doubling up to max
// (default 100 ms and 1 s).
func WithPollInterval(min, max time.Duration) Option {
	return func(c *config) error { return c.SetPollInterval(min, max) }
}

// WithKeepAlive sends NETVER after d without traffic, so upsd's 60 s idle
// cutoff never drops the session. Default 30 s; 0 disables it (the client
// then reconnects transparently on the next call).
func WithKeepAlive(d time.Duration) Option {
	return func(c *config) error {
		if d < 0 {
			return &Error{Op: "WithKeepAlive", Code: CodeInvalidArgument, local: true, Message: "negative keep-alive " + d.String()}
		}
		c.keepAlive = d
		return nil
	}
}

// WithTracking sends SET TRACKING ON on every connection (protocol 1.3), so
// SET VAR and INSTCMD return a tracking ID that Job.Wait follows. Servers
// without tracking are tolerated: jobs are then untracked.
func WithTracking() Option {
	return func(c *config) error { c.tracking = true; return nil }
}

// WithMaxLineLength caps the length of one reply line (default 16 KiB); a
// longer line fails with ErrTooLarge instead of growing a buffer.
func WithMaxLineLength(n int) Option {
	return func(c *config) error {
		if n < 64 || n > 16<<20 {
			return invalid("WithMaxLineLength", "max line length out of range 64..16MiB")
		}
		c.maxLine = n
		return nil
	}
}

// WithMaxListItems caps the items of one LIST reply (VAR, RW, CMD, CLIENT,
// ENUM, RANGE, UPS); default DefaultMaxListItems. A longer list fails with
// an error matching ErrTooLarge (Code CodeTooLarge), and the connection is
// dropped rather than read to the end. With WithMaxLineLength it bounds
// what one reply can cost.
func WithMaxListItems(n int) Option {
	return func(c *config) error {
		if n < 1 || n > 1<<20 {
			return invalid("WithMaxListItems", fmt.Sprintf("%d is outside 1..%d", n, 1<<20))
		}
		c.maxItems = n
		return nil
	}
}
