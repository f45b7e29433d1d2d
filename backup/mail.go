package backup

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/smtp"
	"net/textproto"
	"strconv"
	"strings"
	"time"

	"github.com/thehomelab/homelab/internal/clientcfg"
	"github.com/thehomelab/homelab/internal/tlspin"
	"github.com/thehomelab/homelab/secret"
)

// FingerprintMismatchError is the cause of an error from a pinned TLS peer
// (the mail server under Notifier.Fingerprint) whose certificate is not the
// pinned one; errors.As reaches the fingerprint seen.
type FingerprintMismatchError = tlspin.MismatchError

// SMTPSecurity says how a Notifier protects its connection.
type SMTPSecurity int

const (
	// SMTPStartTLS connects in clear and upgrades with STARTTLS before
	// anything else is sent; a server that does not offer STARTTLS is
	// refused. Default port 587.
	SMTPStartTLS SMTPSecurity = iota
	// SMTPImplicitTLS speaks TLS from the first byte ("submissions").
	// Default port 465.
	SMTPImplicitTLS
	// SMTPPlainLoopback speaks plain SMTP, and only to a loopback
	// address: the local Postfix relay the seed mails through. Default
	// port 25.
	SMTPPlainLoopback
)

// String returns the mode's name.
func (s SMTPSecurity) String() string {
	switch s {
	case SMTPStartTLS:
		return "starttls"
	case SMTPImplicitTLS:
		return "tls"
	case SMTPPlainLoopback:
		return "plain-loopback"
	}
	return "SMTPSecurity(" + strconv.Itoa(int(s)) + ")"
}

// Notifier mails reports through an SMTP server. The server's certificate
// is verified like every TLS peer of the SDK: against the system roots,
// RootCAs, or a pinned Fingerprint; there is no way to skip it. A Notifier
// is safe for concurrent use; each Send is one connection.
type Notifier struct {
	// Addr is the server, "host" or "host:port"; the port defaults by
	// Security (587, 465, 25).
	Addr string
	// From is the sender address; To the recipients.
	From string
	To   []string
	// User and Password log in with AUTH PLAIN, only ever over TLS (or to
	// a loopback relay). Empty User sends without logging in.
	User     string
	Password secret.Secret
	// Security is STARTTLS (the zero value), implicit TLS or plain to a
	// loopback relay.
	Security SMTPSecurity
	// Fingerprint pins the server's leaf certificate ("sha256:AA:BB:…");
	// chain and name are then not checked (self-signed homelab relays).
	Fingerprint string
	// RootCAs verifies the server against these roots instead of the
	// system's.
	RootCAs *x509.CertPool
	// ServerName is the name checked against the certificate; empty means
	// the host of Addr.
	ServerName string
	// HelloName is the name given in EHLO; empty means "localhost".
	HelloName string
	// Timeout bounds a Send whose ctx has no deadline; 0 means 30 s.
	Timeout time.Duration
	// Logger receives one Debug line per Send; nil discards.
	Logger *slog.Logger
}

// classedError is the cause of an error that has a class and an underlying
// error worth reaching with errors.As (a certificate mismatch, an SMTP
// reply). It prints as its class.
type classedError struct{ class, cause error }

func (c classedError) Error() string   { return c.class.Error() }
func (c classedError) Unwrap() []error { return []error{c.class, c.cause} }

// Send mails one plain-text message (UTF-8, quoted-printable) to every
// recipient: SMTP (RFC 5321) with STARTTLS (RFC 3207) or implicit TLS
// (RFC 8314) and AUTH PLAIN (RFC 4954). Refused credentials match ErrAuth (Code is the SMTP reply, e.g.
// "535"); a server that does not offer STARTTLS, a certificate that does
// not verify and a dropped connection match ErrUnavailable; once ctx is
// done Send returns ctx.Err().
func (n *Notifier) Send(ctx context.Context, subject, body string) error {
	host, addr, err := n.target()
	op := "mail via " + addr
	if err != nil {
		return &Error{Op: op, Message: err.Error(), Err: ErrInvalid}
	}
	msg, err := n.message(subject, body)
	if err != nil {
		return &Error{Op: op, Message: err.Error(), Err: ErrInvalid}
	}
	var tcfg *tls.Config
	if n.Security != SMTPPlainLoopback {
		cfg := clientcfg.New("backup", 0, 0)
		if n.Fingerprint != "" {
			if err := cfg.SetFingerprint(n.Fingerprint); err != nil {
				return &Error{Op: op, Message: err.Error(), Err: ErrInvalid}
			}
		}
		if n.RootCAs != nil {
			_ = cfg.SetRootCAs(n.RootCAs)
		}
		name := n.ServerName
		if name == "" {
			name = host
		}
		_ = cfg.SetServerName(name)
		if tcfg, err = cfg.TLS(); err != nil {
			return &Error{Op: op, Message: err.Error(), Err: ErrInvalid}
		}
	}

	if _, ok := ctx.Deadline(); !ok {
		t := n.Timeout
		if t <= 0 {
			t = clientcfg.DefaultTimeout
		}
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, t)
		defer cancel()
	}
	start := time.Now()
	err = n.send(ctx, op, host, addr, tcfg, msg)
	n.logger().DebugContext(ctx, "backup: mail", "server", addr, "to", len(n.To), "took", time.Since(start), "err", err)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		// The socket's deadline can fire a hair before the context's
		// timer.
		if dl, ok := ctx.Deadline(); ok && !time.Now().Before(dl) {
			return context.DeadlineExceeded
		}
	}
	return err
}

func (n *Notifier) send(ctx context.Context, op, host, addr string, tcfg *tls.Config, msg []byte) error {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return &Error{Op: op, Message: err.Error(), Err: ErrUnavailable}
	}
	defer conn.Close()
	// net/smtp knows no context: the deadline and a cancel reach the
	// socket instead.
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	raw := conn // conn is wrapped below; the cancel touches only the socket
	stop := context.AfterFunc(ctx, func() { _ = raw.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	// net/textproto reads a reply line, and the lines of a multi-line
	// reply, without a length limit: the cap is on the socket instead.
	conn = &capConn{Conn: conn, left: maxSMTPRead}

	if n.Security == SMTPImplicitTLS {
		tc := tls.Client(conn, tcfg)
		if err := tc.HandshakeContext(ctx); err != nil {
			return n.tlsError(op, err)
		}
		conn = tc
	}
	c, err := smtp.NewClient(conn, host)
	if err != nil {
		return n.smtpError(op, "greeting", err)
	}
	defer c.Close()
	hello := n.HelloName
	if hello == "" {
		hello = "localhost"
	}
	if err := c.Hello(hello); err != nil {
		return n.smtpError(op, "EHLO", err)
	}
	if n.Security == SMTPStartTLS {
		if ok, _ := c.Extension("STARTTLS"); !ok {
			return &Error{Op: op, Message: "server does not offer STARTTLS: refusing to send in clear", Err: ErrUnavailable}
		}
		if err := c.StartTLS(tcfg); err != nil {
			var te *textproto.Error
			if errors.As(err, &te) {
				return n.smtpError(op, "STARTTLS", err)
			}
			return n.tlsError(op, err)
		}
	}
	if n.User != "" {
		if ok, _ := c.Extension("AUTH"); !ok {
			return &Error{Op: op, Message: "server offers no AUTH: cannot log in as " + n.User, Err: ErrAuth}
		}
		if err := c.Auth(smtp.PlainAuth("", n.User, n.Password.Reveal(), host)); err != nil {
			var te *textproto.Error
			if errors.As(err, &te) {
				return n.smtpError(op, "AUTH as "+n.User, err)
			}
			// net/smtp's own refusals (no TLS, wrong host) hold no
			// credential.
			return &Error{Op: op, Message: "AUTH as " + n.User + ": " + err.Error(), Err: ErrAuth}
		}
	}
	if err := c.Mail(n.From); err != nil {
		return n.smtpError(op, "MAIL FROM", err)
	}
	for _, to := range n.To {
		if err := c.Rcpt(to); err != nil {
			return n.smtpError(op, "RCPT TO "+to, err)
		}
	}
	w, err := c.Data()
	if err != nil {
		return n.smtpError(op, "DATA", err)
	}
	if _, err := w.Write(msg); err != nil {
		return n.smtpError(op, "DATA", err)
	}
	if err := w.Close(); err != nil {
		return n.smtpError(op, "end of DATA", err)
	}
	// The message is accepted once DATA's reply came; a failed QUIT
	// loses nothing.
	_ = c.Quit()
	return nil
}

// target checks the settings and returns the host and the address dialled.
func (n *Notifier) target() (host, addr string, err error) {
	if strings.TrimSpace(n.Addr) == "" {
		return "", "", errors.New("no server: set Notifier.Addr")
	}
	addr = n.Addr
	host, _, serr := net.SplitHostPort(addr)
	if serr != nil {
		host = addr
		var port string
		switch n.Security {
		case SMTPImplicitTLS:
			port = "465"
		case SMTPPlainLoopback:
			port = "25"
		default:
			port = "587"
		}
		addr = net.JoinHostPort(host, port)
	}
	switch n.Security {
	case SMTPStartTLS, SMTPImplicitTLS:
	case SMTPPlainLoopback:
		ip := net.ParseIP(host)
		if host != "localhost" && (ip == nil || !ip.IsLoopback()) {
			return host, addr, fmt.Errorf("plain SMTP only goes to a loopback relay, not %s: use STARTTLS or implicit TLS", host)
		}
	default:
		return host, addr, fmt.Errorf("unknown security mode %s", n.Security)
	}
	if n.User == "" && !n.Password.IsZero() {
		return host, addr, errors.New("a password without a user")
	}
	if n.User != "" && n.Password.IsZero() {
		return host, addr, fmt.Errorf("no password for %s", n.User)
	}
	if err := mailAddr(n.From); err != nil {
		return host, addr, fmt.Errorf("from: %w", err)
	}
	if len(n.To) == 0 {
		return host, addr, errors.New("no recipient: set Notifier.To")
	}
	for _, to := range n.To {
		if err := mailAddr(to); err != nil {
			return host, addr, fmt.Errorf("to: %w", err)
		}
	}
	return host, addr, nil
}

// mailAddr accepts a bare address (what MAIL FROM and RCPT TO carry).
func mailAddr(a string) error {
	if a == "" || strings.ContainsAny(a, "\r\n<> ,") || !strings.Contains(a, "@") {
		return fmt.Errorf("%q is not a bare address such as backup@lab.example", a)
	}
	return nil
}

// message builds the RFC 5322 message: headers, then the body in
// quoted-printable so any UTF-8 and long lines survive every relay.
func (n *Notifier) message(subject, body string) ([]byte, error) {
	if strings.ContainsAny(subject, "\r\n") {
		return nil, errors.New("subject holds a line break")
	}
	var b bytes.Buffer
	host := "localhost"
	if i := strings.LastIndex(n.From, "@"); i >= 0 {
		host = n.From[i+1:]
	}
	var id [12]byte
	_, _ = rand.Read(id[:])
	fmt.Fprintf(&b, "From: %s\r\n", n.From)
	fmt.Fprintf(&b, "To: %s\r\n", strings.Join(n.To, ", "))
	fmt.Fprintf(&b, "Subject: %s\r\n", mime.QEncoding.Encode("utf-8", subject))
	fmt.Fprintf(&b, "Date: %s\r\n", time.Now().Format(time.RFC1123Z))
	fmt.Fprintf(&b, "Message-ID: <%s@%s>\r\n", hex.EncodeToString(id[:]), host)
	b.WriteString("MIME-Version: 1.0\r\n")
	b.WriteString("Content-Type: text/plain; charset=utf-8\r\n")
	b.WriteString("Content-Transfer-Encoding: quoted-printable\r\n\r\n")
	qp := quotedprintable.NewWriter(&b)
	body = strings.ReplaceAll(body, "\r\n", "\n")
	if _, err := qp.Write([]byte(body)); err != nil {
		return nil, err
	}
	if err := qp.Close(); err != nil {
		return nil, err
	}
	if !bytes.HasSuffix(b.Bytes(), []byte("\r\n")) {
		b.WriteString("\r\n")
	}
	return b.Bytes(), nil
}

func (n *Notifier) tlsError(op string, err error) error {
	if errors.Is(err, errSMTPTooLarge) {
		return n.smtpError(op, "TLS handshake", err)
	}
	var mm *tlspin.MismatchError
	if errors.As(err, &mm) {
		return &Error{Op: op, Message: mm.Error(), Err: classedError{ErrUnavailable, mm}}
	}
	return &Error{Op: op, Message: "tls: " + err.Error(), Err: ErrUnavailable}
}

// smtpError classes a failed SMTP step by its reply code (RFC 5321 §4.2,
// RFC 4954 §6 for AUTH): 530/534/535/538 refused login, 552 storage, other
// 5xx refusals, 4xx and lost connections unavailable.
func (n *Notifier) smtpError(op, step string, err error) error {
	if errors.Is(err, errSMTPTooLarge) {
		return &Error{Op: op, Message: fmt.Sprintf("%s: the server's replies exceed %d bytes", step, maxSMTPRead), Err: ErrInvalid}
	}
	var te *textproto.Error
	if !errors.As(err, &te) {
		return &Error{Op: op, Message: step + ": " + err.Error(), Err: ErrUnavailable}
	}
	var class error
	switch c := te.Code; {
	case c == 530 || c == 534 || c == 535 || c == 538:
		class = ErrAuth
	case c == 552:
		class = ErrNoSpace
	case c == 550 || c == 551 || c == 553 || c == 554:
		class = ErrPermission
	case c >= 400 && c < 500:
		class = ErrUnavailable
	default:
		class = ErrInvalid
	}
	return &Error{Op: op, Code: strconv.Itoa(te.Code), Message: step + ": " + te.Msg, Err: classedError{class, te}}
}

func (n *Notifier) logger() *slog.Logger {
	if n.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return n.Logger
}

// maxSMTPRead caps what one Send reads from the mail server, TLS included.
// A whole conversation is a few kilobytes: RFC 5321 §4.5.3.1.5 limits a
// reply line to 512 octets, and the EHLO reply lists a handful of
// extensions; a certificate chain is a few kilobytes more.
const maxSMTPRead = 1 << 20

var errSMTPTooLarge = errors.New("smtp: read cap reached")

// capConn fails reads once left bytes have been read.
type capConn struct {
	net.Conn
	left int64
}

func (c *capConn) Read(p []byte) (int, error) {
	if c.left <= 0 {
		return 0, errSMTPTooLarge
	}
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.Conn.Read(p)
	c.left -= int64(n)
	return n, err
}
