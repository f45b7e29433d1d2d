package ups

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/thehomelab/homelab/internal/clientcfg"
	"github.com/thehomelab/homelab/internal/netctx"
	"github.com/thehomelab/homelab/internal/tlspin"
)

// Client is a connection to one upsd. It is safe for concurrent use: calls
// are serialised on the single connection. A Client made by Dial redials,
// repeats STARTTLS, USERNAME/PASSWORD, LOGIN and PRIMARY and retries an
// idempotent call once when the connection breaks (for example after upsd's
// 60 s idle cutoff). Close it when done.
type Client struct {
	addr    string
	cfg     config
	tlsCfg  *tls.Config
	canDial bool
	dialer  net.Dialer

	mu        sync.Mutex
	conn      net.Conn
	r         *bufio.Reader
	ready     bool // session set up on conn
	login     string
	primaries []string
	legacy    bool // server wants MASTER instead of PRIMARY
	lastIO    time.Time
	closed    atomic.Bool
	connMu    sync.Mutex // guards writes of conn (with mu) and Close's read
	words     []string
	scratch   []byte

	stop       chan struct{}
	base       context.Context // cancelled by Close; parent of keep-alive pings
	cancelBase context.CancelFunc
	wg         sync.WaitGroup
}

// Dial connects to upsd at addr ("host:port"; DefaultPort 3493 if omitted)
// and sets up the session (STARTTLS, credentials, tracking) before
// returning. Without a deadline on ctx, WithTimeout bounds it.
// Credentials are optional: reading needs no login (see WithCredentials).
func Dial(ctx context.Context, addr string, opts ...Option) (*Client, error) {
	typed := addr
	addr = strings.TrimSpace(addr)
	if _, _, err := net.SplitHostPort(addr); err != nil {
		addr = net.JoinHostPort(strings.Trim(addr, "[]"), DefaultPort)
	}
	if h, p, err := net.SplitHostPort(addr); err != nil || h == "" || p == "" || strings.ContainsAny(addr, " /\n") {
		return nil, &Error{Op: "dial", Code: CodeInvalidArgument, local: true, Message: "address " + strconv.Quote(typed) + ": want host[:port]"}
	}
	c, err := newClient(addr, opts)
	if err != nil {
		return nil, err
	}
	c.canDial = true
	dctx, cancel := c.cfg.WithTimeout(ctx) // like every call: WithTimeout bounds the dial and session setup
	defer cancel()
	c.mu.Lock()
	err = c.connect(dctx)
	c.mu.Unlock()
	if err != nil {
		_ = c.Close()
		return nil, wrapErr(dctx, "dial "+addr, err)
	}
	c.startKeepAlive()
	return c, nil
}

// NewClient uses an established connection, for example a tunnel. The session
// is set up on the first call. Such a client cannot redial: once conn breaks,
// calls fail.
func NewClient(conn net.Conn, opts ...Option) (*Client, error) {
	if conn == nil {
		return nil, &Error{Op: "new client", Code: CodeInvalidArgument, local: true, Message: "nil connection"}
	}
	addr := ""
	if ra := conn.RemoteAddr(); ra != nil {
		addr = ra.String()
	}
	c, err := newClient(addr, opts)
	if err != nil {
		return nil, err
	}
	c.setConn(conn)
	c.startKeepAlive()
	return c, nil
}

func newClient(addr string, opts []Option) (*Client, error) {
	cfg := defaultConfig()
	if err := clientcfg.Apply(&cfg, opts); err != nil {
		return nil, optionErr(err)
	}
	c := &Client{addr: addr, cfg: cfg, stop: make(chan struct{})}
	if cfg.startTLS {
		if cfg.ServerName == "" {
			if h, _, err := net.SplitHostPort(addr); err == nil {
				cfg.ServerName = h
			}
		}
		tcfg, err := cfg.TLS()
		if err != nil {
			return nil, optionErr(err)
		}
		c.tlsCfg = tcfg
	}
	c.base, c.cancelBase = context.WithCancel(context.Background())
	return c, nil
}

// optionErr turns an option's error into an *Error matching ErrInvalid,
// keeping its one "ups: " prefix.
func optionErr(err error) error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return &Error{Code: CodeInvalidArgument, local: true, Message: strings.TrimPrefix(err.Error(), "ups: ")}
}

// startKeepAlive starts the background pinger once the client is set up.
func (c *Client) startKeepAlive() {
	if c.cfg.keepAlive > 0 {
		c.wg.Add(1)
		go c.keepAliveLoop(c.cfg.keepAlive)
	}
}

// Close closes the connection and stops the keep-alive; a call in flight
// fails at once with ErrClosed. It is idempotent.
func (c *Client) Close() error {
	if !c.closed.CompareAndSwap(false, true) {
		return nil
	}
	close(c.stop)
	c.cancelBase()
	c.connMu.Lock()
	var err error
	if c.conn != nil {
		err = c.conn.Close()
	}
	c.connMu.Unlock()
	c.mu.Lock() // wait for the call in flight, which now fails
	c.dropConn()
	c.mu.Unlock()
	c.wg.Wait()
	return err
}

func closedErr(op string) error { return &Error{Op: op, Code: CodeClosed, Message: "client closed"} }

func (c *Client) keepAliveLoop(d time.Duration) {
	defer c.wg.Done()
	t := time.NewTimer(d)
	defer t.Stop()
	for {
		select {
		case <-c.stop:
			return
		case <-t.C:
		}
		c.mu.Lock()
		idle := time.Since(c.lastIO)
		c.mu.Unlock()
		next := d - idle
		if next <= 0 {
			ctx, cancel := context.WithTimeout(c.base, c.cfg.Timeout)
			_, _ = c.ProtocolVersion(ctx)
			cancel()
			next = d
		}
		t.Reset(next)
	}
}

func (c *Client) setConn(conn net.Conn) {
	c.connMu.Lock()
	c.conn = conn
	c.connMu.Unlock()
	if c.r == nil {
		c.r = bufio.NewReaderSize(conn, c.cfg.maxLine)
	} else {
		c.r.Reset(conn)
	}
	c.ready = false
}

func (c *Client) dropConn() {
	c.connMu.Lock()
	if c.conn != nil {
		_ = c.conn.Close()
		c.conn = nil
	}
	c.connMu.Unlock()
	c.ready = false
}

// connect dials if needed and sets up the session. Called with mu held.
func (c *Client) connect(ctx context.Context) error {
	if c.conn == nil {
		if !c.canDial {
			return &Error{Code: CodeClosed, Message: "connection lost; a client made by NewClient cannot redial"}
		}
		// Close must not wait for a dial to a host that has gone away.
		dctx, cancel := context.WithCancel(ctx)
		stop := context.AfterFunc(c.base, cancel)
		conn, err := c.dialer.DialContext(dctx, "tcp", c.addr)
		stop()
		cancel()
		if c.closed.Load() {
			if conn != nil {
				_ = conn.Close()
			}
			return closedErr("")
		}
		if err != nil {
			return err
		}
		c.setConn(conn)
	}
	raw := c.conn
	err := netctx.Do(ctx, raw, func() error { return c.setup(ctx) })
	if err != nil {
		c.dropConn()
		return err
	}
	c.ready = true
	c.lastIO = time.Now()
	return nil
}

func (c *Client) setup(ctx context.Context) error {
	if c.tlsCfg != nil {
		if _, err := c.conn.Write([]byte("STARTTLS\n")); err != nil {
			return err
		}
		line, err := c.readReply("starttls")
		if hasCode(err, CodeFeatureNotConfigured) || hasCode(err, CodeFeatureNotSupported) {
			var e *Error
			errors.As(err, &e)
			e.Message = "(upsd has no TLS: set CERTFILE in upsd.conf, or connect without WithStartTLS, WithFingerprint and WithRootCAs)"
		}
		if err != nil {
			return err
		}
		if !hasPrefixFold(line, "OK STARTTLS") {
			return protoErr("starttls", line)
		}
		if n := c.r.Buffered(); n > 0 {
			// The client speaks first in TLS: bytes after the OK line are
			// not upsd's (net_starttls answers the line, then SSL_accept
			// waits), but something in between injecting plain text.
			// Dropping them with the buffer would hide it; refuse.
			return &Error{Op: "starttls", Code: CodeProtocol, Message: fmt.Sprintf("%d bytes after OK STARTTLS, before the TLS handshake", n)}
		}
		tc := tls.Client(c.conn, c.tlsCfg)
		if err := tc.HandshakeContext(ctx); err != nil {
			return &Error{Op: "starttls", Message: tlsHint(err), Err: err}
		}
		c.connMu.Lock()
		c.conn = tc
		c.connMu.Unlock()
		c.r.Reset(tc)
	}
	var req []byte
	n := 0
	if c.cfg.User != "" {
		req = append(appendWord(append(req, "USERNAME "...), c.cfg.User), '\n')
		req = append(appendWord(append(req, "PASSWORD "...), c.cfg.Password.Reveal()), '\n')
		n += 2
	}
	if c.cfg.tracking {
		req = append(req, "SET TRACKING ON\n"...)
		n++
	}
	if c.login != "" {
		req = append(appendWord(append(req, "LOGIN "...), c.login), '\n')
		n++
	}
	for _, p := range c.primaries {
		verb := "PRIMARY "
		if c.legacy {
			verb = "MASTER "
		}
		req = append(appendWord(append(req, verb...), p), '\n')
		n++
	}
	if n == 0 {
		return nil
	}
	if _, err := c.conn.Write(req); err != nil {
		return err
	}
	var first error
	for i := 0; i < n; i++ {
		op := "session setup"
		line, err := c.readReply(op)
		if err != nil && !isServerErr(err) {
			return err
		}
		isTracking := c.cfg.tracking && i == 2*boolInt(c.cfg.User != "")
		switch {
		case isTracking:
			// Tolerated: a server without tracking gives untracked jobs.
		case err != nil && !hasCode(err, CodeAlreadyLoggedIn) && first == nil:
			first = err
		case err == nil && !hasPrefixFold(line, "OK") && first == nil:
			first = protoErr(op, line)
		}
	}
	return first
}

// tlsHint says what to do about a failed handshake, where that is clear.
func tlsHint(err error) string {
	var ua x509.UnknownAuthorityError
	if errors.As(err, &ua) && ua.Cert != nil {
		fp := "sha256:" + tlspin.Of(ua.Cert).String()
		return "upsd's certificate " + fp + " is not signed by an authority this host trusts; after checking it, pin it with WithFingerprint(\"" + fp + "\") or pass its CA with WithRootCAs"
	}
	var he x509.HostnameError
	if errors.As(err, &he) {
		return "upsd's certificate does not name " + strconv.Quote(he.Host) + "; WithServerName sets the name to check"
	}
	var rh tls.RecordHeaderError
	if errors.As(err, &rh) {
		return "upsd said OK STARTTLS but did not answer with TLS"
	}
	return ""
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// do runs one exchange under the lock: it (re)connects, writes req and lets
// read consume every reply line. A transport failure drops the connection;
// when retry is set and the connection was not fresh, it redials and tries
// once more.
func (c *Client) do(ctx context.Context, op string, retry bool, req []byte, read func() error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed.Load() {
		return closedErr(op)
	}
	ctx, cancel := c.cfg.WithTimeout(ctx)
	defer cancel()
	start := time.Now()
	var err error
	for attempt := 0; ; attempt++ {
		fresh := false
		if c.conn == nil || !c.ready {
			if err = c.connect(ctx); err != nil {
				break
			}
			fresh = true
		}
		conn := c.conn
		err = netctx.Do(ctx, conn, func() error {
			if _, werr := conn.Write(req); werr != nil {
				return werr
			}
			return read()
		})
		if err == nil || isServerErr(err) {
			c.lastIO = time.Now()
			break
		}
		c.dropConn()
		if c.closed.Load() {
			err = closedErr(op)
			break
		}
		if ctx.Err() != nil || attempt > 0 || !retry || !c.canDial || fresh || hasCode(err, CodeTooLarge) {
			break
		}
	}
	err = wrapErr(ctx, op, err)
	if c.cfg.Logger.Enabled(ctx, slog.LevelDebug) {
		c.cfg.Logger.Debug("ups exchange", "op", op, "duration", time.Since(start), "err", err)
	}
	return err
}

func wrapErr(ctx context.Context, op string, err error) error {
	if err == nil {
		return nil
	}
	if cerr := ctx.Err(); cerr != nil {
		return cerr
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	var e *Error
	if errors.As(err, &e) {
		if e.Op == "" {
			e.Op = op
		}
		return e
	}
	return &Error{Op: op, Err: err}
}

func protoErr(op, line string) error {
	if len(line) > 80 {
		line = line[:80] + "…"
	}
	return &Error{Op: op, Code: CodeProtocol, Message: "unexpected reply " + quote(line)}
}

// readLine returns one reply line without its line ending. Called with mu held.
func (c *Client) readLine() (string, error) {
	b, err := c.r.ReadSlice('\n')
	if err != nil {
		if errors.Is(err, io.EOF) && len(b) == 0 {
			return "", &Error{Message: "the server closed the connection without answering (is it upsd, on its plain NUT port?)", Err: err}
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			return "", &Error{Code: CodeTooLarge, Message: fmt.Sprintf("reply line longer than %d bytes (WithMaxLineLength)", c.cfg.maxLine)}
		}
		return "", err
	}
	b = bytes.TrimRight(b, "\r\n")
	return string(b), nil
}

// readReply reads one line and turns "ERR …" into an *Error.
func (c *Client) readReply(op string) (string, error) {
	line, err := c.readLine()
	if err != nil {
		return "", err
	}
	if e := parseErr(op, line); e != nil {
		return line, e
	}
	return line, nil
}

func parseErr(op, line string) *Error {
	if !strings.HasPrefix(line, "ERR") || (len(line) > 3 && line[3] != ' ') {
		return nil
	}
	rest := strings.TrimSpace(line[3:])
	code, msg, _ := strings.Cut(rest, " ")
	if code == "" {
		code = string(CodeTrackingUnknown)
	}
	return &Error{Op: op, Code: Code(code), Message: strings.TrimSpace(msg)}
}

// readList reads a BEGIN LIST … END LIST reply and hands each item's words to
// each. Called with mu held.
func (c *Client) readList(op string, each func(words []string) error) error {
	line, err := c.readReply(op)
	if err != nil {
		return err
	}
	if !hasPrefixFold(line, "BEGIN LIST") {
		return protoErr(op, line)
	}
	var firstErr error
	for n := 0; ; n++ {
		line, err := c.readLine()
		if errors.Is(err, io.EOF) {
			return &Error{Op: op, Message: "connection closed in the middle of the list", Err: io.ErrUnexpectedEOF}
		}
		if err != nil {
			return err
		}
		if hasPrefixFold(line, "END LIST") {
			return firstErr
		}
		if n >= c.cfg.maxItems {
			// The rest of the list stays unread: the caller drops the
			// connection, and does not ask again.
			return &Error{Op: op, Code: CodeTooLarge, Message: fmt.Sprintf("more than %d items in the list (WithMaxListItems)", c.cfg.maxItems)}
		}
		c.words, err = splitLineBuf(line, c.words[:0], &c.scratch)
		if err == nil {
			err = each(c.words)
		}
		if err != nil && firstErr == nil {
			firstErr = &Error{Op: op, Code: CodeProtocol, Message: "bad list item " + quote(line), Err: err}
		}
	}
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

// request builds one command line from words, quoting where needed.
func request(words ...string) ([]byte, error) {
	n := 1
	for _, w := range words {
		n += len(w) + 3
	}
	b := make([]byte, 0, n)
	for i, w := range words {
		if err := checkArg(w); err != nil {
			return nil, err
		}
		if i > 0 {
			b = append(b, ' ')
		}
		if i < 2 && !strings.Contains(w, " ") && w != "" {
			b = append(b, w...) // verbs and subcommands are plain
		} else {
			b = appendWord(b, w)
		}
	}
	return append(b, '\n'), nil
}

// needLogin fails a command upsd only serves after USERNAME and PASSWORD
// when the client has none, instead of sending it to be refused.
func (c *Client) needLogin(op string) error {
	if c.cfg.HasCredentials {
		return nil
	}
	return &Error{Op: op, Code: CodeUsernameRequired, local: true,
		Message: "this command needs a login: pass WithCredentials(user, secret.New(password)) with an upsd.users account"}
}

func badArg(op string, err error) error {
	return &Error{Op: op, Code: CodeInvalidArgument, local: true, Message: err.Error()}
}

// single sends one command and returns its one-line reply.
func (c *Client) single(ctx context.Context, op string, retry bool, words ...string) (string, error) {
	req, err := request(words...)
	if err != nil {
		return "", badArg(op, err)
	}
	var line string
	err = c.do(ctx, op, retry, req, func() error {
		var rerr error
		line, rerr = c.readReply(op)
		return rerr
	})
	return line, err
}

// list sends a LIST command and hands each item's words to each. reset
// runs before every attempt: a list cut off by a broken connection is read
// again from the start on a fresh one, and its first items must not count
// twice.
func (c *Client) list(ctx context.Context, op string, reset func(), each func(words []string) error, words ...string) error {
	req, err := request(words...)
	if err != nil {
		return badArg(op, err)
	}
	return c.do(ctx, op, true, req, func() error {
		reset()
		return c.readList(op, each)
	})
}

// Version returns upsd's free-text version banner.
//
// NUT protocol: VER
func (c *Client) Version(ctx context.Context) (string, error) {
	return c.single(ctx, "ver", true, "VER")
}

// ProtocolVersion returns the network protocol version, e.g. "1.3".
//
// NUT protocol: NETVER
func (c *Client) ProtocolVersion(ctx context.Context) (string, error) {
	return c.single(ctx, "netver", true, "NETVER")
}

// Devices lists the UPSes upsd serves.
//
// NUT protocol: LIST UPS
func (c *Client) Devices(ctx context.Context) ([]DeviceInfo, error) {
	var out []DeviceInfo
	err := c.list(ctx, "list ups", func() { out = out[:0] }, func(w []string) error {
		if len(w) < 3 || !strings.EqualFold(w[0], "UPS") {
			return errShape
		}
		out = append(out, DeviceInfo{Name: w[1], Description: w[2]})
		return nil
	}, "LIST", "UPS")
	if err != nil {
		return nil, err
	}
	return out, nil
}

var errShape = errors.New("unexpected item shape")

// Tracking reports the state of a tracked SET VAR or INSTCMD: done is false
// while upsd says PENDING. A failed command returns done and an error
// with Code CodeTrackingFailed; ERR UNKNOWN (CodeTrackingUnknown) means upsd
// does not know the ID, or the driver did not know the command. The
// connection needs WithTracking.
//
// NUT protocol: GET TRACKING <id>
func (c *Client) Tracking(ctx context.Context, id string) (done bool, err error) {
	op := "get tracking " + id
	line, err := c.single(ctx, op, true, "GET", "TRACKING", id)
	if err != nil {
		return hasCode(err, CodeTrackingFailed), err
	}
	switch strings.ToUpper(strings.TrimSpace(line)) {
	case "PENDING":
		return false, nil
	case "SUCCESS":
		return true, nil
	}
	return false, protoErr(op, line)
}

// Logout ends the session politely and closes the client.
//
// NUT protocol: LOGOUT
func (c *Client) Logout(ctx context.Context) error {
	_, err := c.single(ctx, "logout", false, "LOGOUT")
	if cerr := c.Close(); err == nil {
		err = cerr
	}
	return err
}

// Device returns the handle for the UPS called name (a name of LIST UPS).
// It does no I/O.
func (c *Client) Device(name string) *Device { return &Device{c: c, name: name} }
