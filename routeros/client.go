package routeros

import (
	"bufio"
	"context"
	"crypto/md5" //nolint:gosec // RouterOS' legacy login challenge is MD5
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-routeros/routeros/v3/proto"

	"github.com/thehomelab/homelab/internal/clientcfg"
	"github.com/thehomelab/homelab/internal/netctx"
	"github.com/thehomelab/homelab/internal/tlspin"
)

// Client talks to one router over the RouterOS API (TCP 8728, or API-SSL
// on 8729). It is safe for concurrent use: calls are serialised over one
// connection, and batches of independent commands are pipelined with
// .tag words. Every call honours its context down to the socket.
type Client struct {
	// Services, grouped by menu.
	System    *SystemService
	WAN       *WANService
	IP        *IPService
	DHCP      *DHCPService
	Firewall  *FirewallService
	WireGuard *WireGuardService
	Scripts   *ScriptService

	cfg  config
	dial func(ctx context.Context) (net.Conn, error) // nil for NewClient

	sem chan struct{} // held while the connection is in use

	// guarded by sem
	conn     net.Conn
	br       *bufio.Reader
	w        proto.Writer
	loggedIn bool
	used     bool // a command other than login went over this connection
	broken   error
	tagSeq   uint64

	lmu       sync.Mutex
	live      net.Conn // c.conn, readable by Close without sem
	listeners map[*Listener]struct{}

	life          context.Context // cancelled by Close: ends a dial in flight
	endLife       context.CancelFunc
	closeOnce     sync.Once
	closed        atomic.Bool
	roundTrip     atomic.Int64
	cachedVersion atomic.Pointer[string]
}

// Dial connects to the router at addr and logs in, all within ctx (or
// WithTimeout when ctx has no deadline). addr is "host" or "host:port"; a
// missing port is 8728, or 8729 with WithTLS, WithFingerprint or
// WithRootCAs (API-SSL). WithCredentials is required. If the connection
// later breaks, the next call redials.
func Dial(ctx context.Context, addr string, opts ...Option) (*Client, error) {
	c, err := newClient(nil, opts)
	if err != nil {
		return nil, err
	}
	addr, err = c.cfg.hostPort(addr)
	if err != nil {
		return nil, err
	}
	var tlsCfg *tls.Config
	if c.cfg.useTLS {
		host, _, _ := net.SplitHostPort(addr)
		cfg := c.cfg.Config
		if cfg.ServerName == "" {
			cfg.ServerName = host
		}
		tlsCfg, err = cfg.TLS()
		if err != nil {
			return nil, &Error{Op: "dial " + addr, Code: -1, Err: err, kinds: []error{ErrInvalid}}
		}
	}
	c.dial = func(ctx context.Context) (net.Conn, error) {
		conn, err := (&net.Dialer{}).DialContext(ctx, "tcp", addr)
		if err != nil || tlsCfg == nil {
			return conn, err
		}
		tc := tls.Client(conn, tlsCfg)
		if err := tc.HandshakeContext(ctx); err != nil {
			_ = conn.Close()
			return nil, &handshakeError{err}
		}
		return tc, nil
	}
	ctx, cancel := c.withTimeout(ctx)
	defer cancel()
	conn, err := c.dial(ctx)
	if err != nil {
		hint := dialHint(err, ctx.Err() != nil)
		if ctx.Err() != nil {
			err = ctx.Err()
		}
		return nil, &Error{Op: "dial " + addr, Code: -1, Message: hint, Err: err, kinds: []error{ErrConnection}}
	}
	c.attach(conn)
	if err := c.acquire(ctx); err != nil { // cannot be contended yet; ctx may be done
		_ = conn.Close()
		return nil, &Error{Op: "dial " + addr, Code: -1, Err: err}
	}
	err = c.login(ctx)
	c.release()
	if err != nil {
		_ = c.Close()
		var e *Error
		if !c.cfg.useTLS && errors.As(err, &e) && e.Message == "" && errors.Is(err, ErrConnection) && !errors.Is(err, context.DeadlineExceeded) {
			e.Message = "the router closed the connection during login: if this port is api-ssl (8729), dial it with WithTLS, WithFingerprint or WithRootCAs"
		}
		return nil, err
	}
	return c, nil
}

// dialHint says what to do about a failed TLS dial: a plain API port
// answering, or a certificate nothing vouches for (with the fingerprint to
// pin).
func dialHint(err error, timedOut bool) string {
	var he *handshakeError
	if !errors.As(err, &he) {
		return ""
	}
	var rh tls.RecordHeaderError
	if errors.As(he.err, &rh) || timedOut || errors.Is(he.err, io.EOF) || errors.Is(he.err, io.ErrUnexpectedEOF) {
		// A plain api port reads the ClientHello as words and waits for
		// more: the handshake never ends.
		return "the router answered without TLS or not at all: if this is the plain api port (8728), use api-ssl (8729) or drop WithTLS"
	}
	var ua x509.UnknownAuthorityError
	if errors.As(err, &ua) && ua.Cert != nil {
		return fmt.Sprintf("no trusted authority signed the router's certificate; trust it with WithRootCAs, or pin it with WithFingerprint(%q)",
			"sha256:"+tlspin.Of(ua.Cert).String())
	}
	return ""
}

// handshakeError marks a TLS handshake failure, as opposed to a TCP one.
type handshakeError struct{ err error }

func (e *handshakeError) Error() string { return "tls handshake: " + e.err.Error() }
func (e *handshakeError) Unwrap() error { return e.err }

// hostPort checks addr and fills in the default port; the error shows
// what was typed.
func (cfg *config) hostPort(addr string) (string, error) {
	addr = strings.TrimSpace(addr)
	port := DefaultPort
	if cfg.useTLS {
		port = DefaultTLSPort
	}
	host, p, err := net.SplitHostPort(addr)
	if err != nil {
		// No port: a bare host name or address (IPv6 with or without
		// brackets).
		host, p = strings.TrimSuffix(strings.TrimPrefix(addr, "["), "]"), port
	}
	if host == "" || strings.ContainsAny(host, "/ ") || strings.Contains(host, "://") {
		return "", invalid("dial", fmt.Sprintf("address %q: want host or host:port, e.g. 192.168.88.1:%s", addr, port))
	}
	if _, err := strconv.ParseUint(p, 10, 16); err != nil {
		return "", invalid("dial", fmt.Sprintf("address %q: bad port", addr))
	}
	return net.JoinHostPort(host, p), nil
}

// NewClient wraps an established connection (plain or TLS). It does no I/O:
// the first call logs in with WithCredentials (required), under that call's
// context. The Client owns conn and closes it in Close.
func NewClient(conn net.Conn, opts ...Option) (*Client, error) {
	if conn == nil {
		return nil, invalid("new client", "nil connection")
	}
	c, err := newClient(conn, opts)
	if err != nil {
		return nil, err
	}
	return c, nil
}

func newClient(conn net.Conn, opts []Option) (*Client, error) {
	cfg := defaults()
	if err := clientcfg.Apply(&cfg, opts); err != nil {
		return nil, &Error{Op: "configure", Code: -1, Err: err, kinds: []error{ErrInvalid}}
	}
	if err := cfg.RequireCredentials(); err != nil {
		return nil, &Error{Op: "configure", Code: -1, Err: err, kinds: []error{ErrInvalid}}
	}
	c := bareClient(cfg)
	c.System = &SystemService{c}
	c.WAN = &WANService{c}
	c.IP = &IPService{c}
	c.DHCP = &DHCPService{c}
	c.Firewall = &FirewallService{c}
	c.WireGuard = &WireGuardService{c}
	c.Scripts = &ScriptService{c}
	if conn != nil {
		c.attach(conn)
	}
	return c, nil
}

// bareClient is a Client without services or connection.
func bareClient(cfg config) *Client {
	c := &Client{cfg: cfg, sem: make(chan struct{}, 1)}
	c.life, c.endLife = context.WithCancel(context.Background())
	return c
}

func (c *Client) attach(conn net.Conn) {
	c.conn = conn
	c.lmu.Lock()
	c.live = conn
	// Close stores closed before it reads live under lmu: either it sees
	// this connection or this sees closed. A connection dialled while Close
	// ran must not be logged in on.
	closed := c.closed.Load()
	c.lmu.Unlock()
	if closed {
		_ = conn.Close()
	}
	c.br = bufio.NewReaderSize(conn, 64<<10)
	c.w = proto.NewWriter(conn)
	c.loggedIn = false
	c.used = false
	c.broken = nil
}

// readOnly reports whether every command only reads, so repeating the
// batch cannot change the router twice.
func readOnly(cmds []cmd) bool {
	for _, cm := range cmds {
		switch {
		case strings.HasSuffix(cm[0], "/print"), strings.HasSuffix(cm[0], "/getall"), cm[0] == "/file/read":
		case strings.HasSuffix(cm[0], "/monitor") && slices.Contains(cm[1:], "=once="):
		default:
			return false
		}
	}
	return true
}

// Close closes the connection. It is idempotent; calls in flight return
// an error wrapping ErrClosed, later calls ErrClosed.
func (c *Client) Close() error {
	var err error
	c.closeOnce.Do(func() {
		c.closed.Store(true)
		c.endLife()
		c.lmu.Lock()
		ls := make([]*Listener, 0, len(c.listeners))
		for l := range c.listeners {
			ls = append(ls, l)
		}
		c.lmu.Unlock()
		for _, l := range ls {
			_ = l.Close()
		}
		// Closing the live connection unblocks a call in flight; then wait
		// for it to leave (it may have redialled) and close what is left.
		c.lmu.Lock()
		live := c.live
		c.lmu.Unlock()
		if live != nil {
			err = live.Close()
		}
		c.sem <- struct{}{}
		if c.conn != nil && c.conn != live {
			err = c.conn.Close()
		}
		<-c.sem
		if errors.Is(err, net.ErrClosed) {
			err = nil
		}
	})
	return err
}

func (c *Client) withTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, c.cfg.Timeout)
}

func (c *Client) acquire(ctx context.Context) error {
	if c.closed.Load() {
		return ErrClosed
	}
	select {
	case c.sem <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	if c.closed.Load() {
		<-c.sem
		return ErrClosed
	}
	return nil
}

func (c *Client) release() { <-c.sem }

// cmd is one API command: the command word and its attribute and query
// words, without .tag.
type cmd []string

// result is the reply to one command.
type result struct {
	re    []Record
	done  Record
	empty bool
	trap  *sentence
}

// do runs commands as one pipelined batch: every command is written with
// its own .tag while replies are read, so the batch costs one round trip.
// A trap on one command does not stop the others; it is returned in its
// result. A non-nil error means the connection broke or ctx ended.
func (c *Client) do(ctx context.Context, op string, cmds ...cmd) ([]result, error) {
	if len(cmds) == 0 {
		return nil, nil
	}
	start := time.Now()
	ctx, cancel := c.withTimeout(ctx)
	defer cancel()
	if err := c.acquire(ctx); err != nil {
		return nil, &Error{Op: op, Command: cmds[0][0], Code: -1, Err: err, kinds: kindsOf(err)}
	}
	defer c.release()
	if err := c.ready(ctx); err != nil {
		return nil, wrapOp(err, op)
	}
	reused := c.used
	c.used = true
	res, err := c.roundTripLocked(ctx, op, cmds)
	if err != nil && reused && c.dial != nil && readOnly(cmds) && ctx.Err() == nil && errors.Is(err, ErrConnection) && !errors.Is(err, ErrTooLarge) {
		// A connection that sat idle may have died with the router (a
		// reboot); a read is safe to repeat once on a fresh one.
		if rerr := c.ready(ctx); rerr == nil {
			c.used = true
			res, err = c.roundTripLocked(ctx, op, cmds)
		}
	}
	c.cfg.Logger.LogAttrs(ctx, slog.LevelDebug, "routeros call", slog.String("op", op),
		slog.String("command", cmds[0][0]), slog.Int("commands", len(cmds)),
		slog.Duration("took", time.Since(start)), slog.Bool("ok", err == nil))
	return res, err
}

func kindsOf(err error) []error {
	if errors.Is(err, ErrClosed) {
		return []error{ErrClosed}
	}
	return nil
}

func wrapOp(err error, op string) error {
	var e *Error
	if errors.As(err, &e) {
		e2 := *e
		e2.Op = op + ": " + e.Op
		return &e2
	}
	return &Error{Op: op, Code: -1, Err: err}
}

// ready makes sure there is a logged-in connection, redialling a broken
// one when the client was made by Dial; sem is held.
func (c *Client) ready(ctx context.Context) error {
	if c.broken != nil {
		if c.dial == nil {
			return &Error{Op: "use connection", Code: -1, Err: c.broken, kinds: []error{ErrConnection}}
		}
		// Close cancels the dial: it must not wait for a router that does
		// not answer.
		dctx, cancel := context.WithCancel(ctx)
		stop := context.AfterFunc(c.life, cancel)
		conn, err := c.dial(dctx)
		stop()
		cancel()
		if err != nil {
			if c.closed.Load() {
				return &Error{Op: "redial", Code: -1, Err: err, kinds: []error{ErrClosed}}
			}
			if ctx.Err() != nil {
				err = ctx.Err()
			}
			return &Error{Op: "redial", Code: -1, Err: err, kinds: []error{ErrConnection}}
		}
		c.attach(conn)
		if c.closed.Load() {
			c.markBroken(net.ErrClosed)
			return &Error{Op: "redial", Code: -1, kinds: []error{ErrClosed}}
		}
		if err := c.login(ctx); err != nil {
			return err
		}
		c.emit(Event{Kind: EventReconnected})
		return nil
	}
	if !c.loggedIn {
		return c.login(ctx)
	}
	return nil
}

// emit passes a connection event to the WithOnEvent callback.
func (c *Client) emit(ev Event) {
	if c.cfg.onEvent == nil || c.closed.Load() {
		return
	}
	ev.Time = time.Now()
	c.cfg.onEvent(ev)
}

// login runs /login (post-6.43 form, falling back to the MD5 challenge
// when the router answers with =ret=); sem is held.
func (c *Client) login(ctx context.Context) error {
	const op = "login"
	res, err := c.roundTripLocked(ctx, op, []cmd{{"/login", "=name=" + c.cfg.User, "=password=" + c.cfg.Password.Reveal()}})
	if err != nil {
		return err
	}
	if res[0].trap != nil {
		return &Error{Op: op, Command: "/login", Code: -1, Message: res[0].trap.attrs["message"], kinds: []error{ErrAuth}}
	}
	if ret, ok := res[0].done["ret"]; ok {
		chal, err := hex.DecodeString(ret)
		if err != nil {
			c.markBroken(err)
			return &Error{Op: op, Command: "/login", Code: -1, Message: "invalid login challenge", kinds: []error{ErrAuth}}
		}
		h := md5.New() //nolint:gosec
		h.Write([]byte{0})
		h.Write([]byte(c.cfg.Password.Reveal()))
		h.Write(chal)
		res, err = c.roundTripLocked(ctx, op, []cmd{{"/login", "=name=" + c.cfg.User, "=response=00" + hex.EncodeToString(h.Sum(nil))}})
		if err != nil {
			return err
		}
		if res[0].trap != nil {
			return &Error{Op: op, Command: "/login", Code: -1, Message: res[0].trap.attrs["message"], kinds: []error{ErrAuth}}
		}
	}
	c.loggedIn = true
	return nil
}

func (c *Client) markBroken(err error) {
	if c.broken == nil {
		c.broken = err
		_ = c.conn.Close()
		c.emit(Event{Kind: EventDisconnected, Err: err})
	}
	// The router may have rebooted into another version (an upgrade):
	// read it again on the next connection.
	c.cachedVersion.Store(nil)
}

// roundTripLocked writes cmds and reads until each has its !done; sem is
// held. Any read or write error, malformed reply or !fatal breaks the
// connection: it is closed and reported.
func (c *Client) roundTripLocked(ctx context.Context, op string, cmds []cmd) ([]result, error) {
	c.roundTrip.Add(1)
	first := cmds[0][0]
	results := make([]result, len(cmds))
	tags := make(map[string]int, len(cmds))
	base := c.tagSeq
	c.tagSeq += uint64(len(cmds))
	for i := range cmds {
		tags[strconv.FormatUint(base+uint64(i)+1, 10)] = i
	}
	var fatal *Error
	started := false
	err := netctx.Do(ctx, c.conn, func() error {
		started = true
		writeErr := make(chan error, 1)
		write := func() {
			for i, cm := range cmds {
				c.w.BeginSentence()
				for _, w := range cm {
					c.w.WriteWord(w)
				}
				c.w.WriteWord(".tag=" + strconv.FormatUint(base+uint64(i)+1, 10))
				if err := c.w.EndSentence(); err != nil {
					writeErr <- err
					return
				}
			}
			writeErr <- nil
		}
		if len(cmds) == 1 {
			write()
			if err := <-writeErr; err != nil {
				return err
			}
		} else {
			// Write concurrently so neither side blocks on a full socket
			// buffer; the goroutine ends before this function returns.
			go write()
		}
		err := c.readReplies(op, cmds, tags, results, &fatal)
		if len(cmds) > 1 {
			if err != nil {
				_ = c.conn.Close()
				<-writeErr
			} else if werr := <-writeErr; werr != nil {
				err = werr
			}
		}
		return err
	})
	if err != nil {
		if !started {
			// ctx was done before anything was sent: the connection is
			// untouched and stays usable.
			return nil, &Error{Op: op, Command: first, Code: -1, Err: err}
		}
		c.markBroken(err)
		if fatal != nil {
			return nil, fatal
		}
		if ctx.Err() != nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			// The exchange was cut off: the connection is closed and a
			// write's outcome is unknown, as for any broken connection.
			return nil, &Error{Op: op, Command: first, Code: -1, Err: err, kinds: []error{ErrConnection}}
		}
		if c.closed.Load() {
			return nil, &Error{Op: op, Command: first, Code: -1, Err: err, kinds: []error{ErrClosed, ErrConnection}}
		}
		var tl *tooLargeError
		if errors.As(err, &tl) {
			return nil, &Error{Op: op, Command: first, Code: -1, Err: err, kinds: []error{ErrTooLarge, ErrConnection}}
		}
		return nil, connError(op, first, err)
	}
	return results, nil
}

func (c *Client) readReplies(op string, cmds []cmd, tags map[string]int, results []result, fatal **Error) error {
	pending := len(cmds)
	budget := c.cfg.maxReply
	lim := readLimits{word: c.cfg.maxWord, sentence: c.cfg.maxSentence, reply: &budget, replyCap: c.cfg.maxReply}
	for pending > 0 {
		s, err := readSentenceLimited(c.br, lim)
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return err
		}
		if s.word == "!fatal" {
			msg := s.attrs["message"]
			if msg == "" {
				msg = strings.Join(s.bare, " ")
			}
			*fatal = &Error{Op: op, Command: cmds[0][0], Code: -1, Message: msg, kinds: []error{ErrFatal, ErrConnection}}
			return errors.New("fatal: " + msg)
		}
		i, ok := tags[s.tag]
		if !ok || results[i].done != nil {
			return &protocolError{fmt.Sprintf("%s reply with unexpected tag %q", s.word, truncate(s.tag, 20))}
		}
		r := &results[i]
		switch s.word {
		case "!re":
			r.re = append(r.re, Record(s.attrs))
		case "!empty":
			r.empty = true
		case "!trap":
			if r.trap == nil {
				r.trap = s
			}
		case "!done":
			r.done = Record(s.attrs)
			pending--
		default:
			return &protocolError{fmt.Sprintf("unknown reply word %q", truncate(s.word, 20))}
		}
	}
	return nil
}

// roundTrips returns how many request/reply exchanges the client has made
// (a pipelined batch counts once); benchmarks report it.
func (c *Client) roundTrips() int64 { return c.roundTrip.Load() }
