package routerostest

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"github.com/thehomelab/homelab/internal/fakeserver"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Default credentials of a new Server.
const (
	DefaultUser     = "admin"
	DefaultPassword = "homelab-test"
	// DefaultVersion is the RouterOS version a new Server claims to run.
	DefaultVersion = "7.20.5"
)

// LoginMode selects how the fake answers /login.
type LoginMode int

const (
	// LoginNormal checks name and password.
	LoginNormal LoginMode = iota
	// LoginNeverAnswer reads /login and never replies, like a hung router.
	LoginNeverAnswer
	// LoginRefuse answers every /login with the bad-password trap.
	LoginRefuse
	// LoginLegacy speaks the pre-6.43 challenge login: the first /login is
	// answered with !done =ret=<challenge>, the second must carry
	// =response=00<md5(0x00 + password + challenge)>.
	LoginLegacy
)

// Request is one sentence the fake received.
type Request struct {
	Conn   int       // connection number, from 1 in accept order
	Method string    // the command word, e.g. "/ip/address/print" or "/login"
	Path   string    // the menu, e.g. "/ip/address" ("" for /login, /cancel, /quit)
	Words  []string  // command word first, then attribute, query and .tag words
	Time   time.Time // when it arrived
}

// Option configures a Server.
type Option func(*Server) error

// WithCredentials replaces the default credentials.
func WithCredentials(name, password string) Option {
	return func(s *Server) error {
		if name == "" {
			return fmt.Errorf("routerostest: empty user name")
		}
		s.users = [][3]string{{name, password, "full"}}
		return nil
	}
}

// WithReadOnlyUser adds a user whose policy lacks "write": print, listen,
// monitor and /file/read work, every other command is refused with
// "not enough permissions (9)".
func WithReadOnlyUser(name, password string) Option {
	return func(s *Server) error {
		if name == "" {
			return fmt.Errorf("routerostest: empty user name")
		}
		s.users = append(s.users, [3]string{name, password, "read"})
		return nil
	}
}

// WithVersion sets the RouterOS version the fake emulates, e.g. "7.17.2".
// From 7.18 an empty print answers !empty before !done; WireGuard peers
// use is-responder in 7.15–7.16 and responder from 7.17; client-* peer
// fields exist from 7.12 and client-allowed-address from 7.21; dates print
// as "nov/26/2026" before 7.10.
func WithVersion(v string) Option {
	return func(s *Server) error { return s.SetVersion(v) }
}

// WithLatency delays every reply sentence by d after its command arrived,
// modelling network latency (pipelined commands overlap).
func WithLatency(d time.Duration) Option {
	return func(s *Server) error { s.latency.Set(d); return nil }
}

// WithTLS serves API-SSL with a fresh self-signed certificate for
// 127.0.0.1; see Certificate and CertPool.
func WithTLS() Option {
	return func(s *Server) error { s.useTLS = true; return nil }
}

// Server is an in-process RouterOS API server on 127.0.0.1 seeded with the
// homelab lab. It is safe for concurrent use by many connections.
type Server struct {
	ln          net.Listener
	useTLS      bool
	cert        *x509.Certificate
	fingerprint string
	started     time.Time
	requests    fakeserver.Log[Request]
	faults      fakeserver.Faults[Fault]

	mu         sync.Mutex
	tables     map[string]*table
	settings   map[string]map[string]string
	nextID     int
	users      [][3]string // name, password, group: seeded into /user
	version    int
	versionStr string
	latency    fakeserver.Latency
	login      LoginMode
	conns      map[*conn]struct{}
	connSeq    int
	commands   int
	expiring   int                       // address-list rows with a running timeout
	prefixMemo map[string][]netip.Prefix // parsed allowed-address values
	closed     bool

	wg sync.WaitGroup
}

// NewServer starts a fake router listening on 127.0.0.1:0. Like
// httptest.NewServer it panics if it cannot listen, or if an option is
// refused (an empty user name, an unparsable version): both are mistakes in
// the test, not conditions to handle. Close it when done; Start does so in
// the test's cleanup.
func NewServer(opts ...Option) *Server {
	s, err := newServer(opts...)
	if err != nil {
		panic(err)
	}
	return s
}

func newServer(opts ...Option) (*Server, error) {
	s := &Server{
		users:    [][3]string{{DefaultUser, DefaultPassword, "full"}},
		conns:    map[*conn]struct{}{},
		started:  time.Now(),
		tables:   map[string]*table{},
		settings: map[string]map[string]string{},
	}
	if err := s.SetVersion(DefaultVersion); err != nil {
		return nil, err
	}
	for _, o := range opts {
		if err := o(s); err != nil {
			return nil, err
		}
	}
	for menu, sp := range specs() {
		s.tables[menu] = &table{spec: sp}
	}
	if err := s.seed(); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("routerostest: listen: %w", err)
	}
	if s.useTLS {
		cert, fp, err := fakeserver.SelfSigned()
		if err != nil {
			_ = ln.Close()
			return nil, err
		}
		s.cert, s.fingerprint = cert.Leaf, fp
		ln = tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
	}
	s.ln = ln
	s.wg.Add(1)
	go s.accept()
	return s, nil
}

// Start is NewServer for tests: it fails tb instead of panicking and closes
// the server in tb.Cleanup.
func Start(tb testing.TB, opts ...Option) *Server {
	tb.Helper()
	s, err := newServer(opts...)
	if err != nil {
		tb.Fatalf("routerostest: %v", err)
	}
	tb.Cleanup(s.Close)
	return s
}

// Addr returns the host:port the server listens on.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Fingerprint returns the "sha256:AA:BB:…" fingerprint of the certificate
// served with WithTLS (what a client pins), else "".
func (s *Server) Fingerprint() string { return s.fingerprint }

// Certificate returns the TLS certificate served with WithTLS, else nil.
func (s *Server) Certificate() *x509.Certificate { return s.cert }

// CertPool returns a pool holding Certificate, for a client's RootCAs.
func (s *Server) CertPool() *x509.CertPool {
	p := x509.NewCertPool()
	if s.cert != nil {
		p.AddCert(s.cert)
	}
	return p
}

// Close stops the listener, drops every connection and waits for the
// server's goroutines. It is idempotent.
func (s *Server) Close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	conns := make([]*conn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	_ = s.ln.Close()
	for _, c := range conns {
		c.shutdown()
	}
	s.wg.Wait()
}

// DropConnections closes every open connection at once, like a router
// reboot; the listener keeps accepting new ones.
func (s *Server) DropConnections() {
	s.mu.Lock()
	conns := make([]*conn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	for _, c := range conns {
		c.shutdown()
	}
}

// SetVersion changes the emulated RouterOS version ("7.18", "7.20.5").
func (s *Server) SetVersion(v string) error {
	parts := strings.SplitN(strings.Fields(v + " ")[0], ".", 3)
	var n [3]int
	for i, p := range parts {
		x, err := strconv.Atoi(p)
		if err != nil {
			return fmt.Errorf("routerostest: bad version %q", v)
		}
		n[i] = x
	}
	if len(parts) < 2 {
		return fmt.Errorf("routerostest: bad version %q", v)
	}
	s.mu.Lock()
	s.version, s.versionStr = version(n[0], n[1], n[2]), v
	s.mu.Unlock()
	return nil
}

// SetLatency changes the per-reply latency; see WithLatency.
func (s *Server) SetLatency(d time.Duration) { s.latency.Set(d) }

// SetPublicAddress changes the dynamic address of pppoe-out1 as the ISP
// does on a reconnect ("203.0.113.77"; a /32 is added): /ip/address,
// /ip/cloud public-address and the PPPoE monitor follow, and listeners of
// /ip/address see the change. It fails when addr is not an IPv4 address.
func (s *Server) SetPublicAddress(addr string) error {
	a, err := netip.ParseAddr(addr)
	if err != nil || !a.Is4() {
		return fmt.Errorf("routerostest: %q is not an IPv4 address", addr)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range s.tables["/ip/address"].rows {
		if r.values["interface"] == "pppoe-out1" && r.values["dynamic"] == "true" {
			t := s.tables["/ip/address"]
			t.indexDel(r)
			r.values["address"] = a.String() + "/32"
			t.indexAdd(r)
			s.notify("/ip/address", r.item())
		}
	}
	s.settings["/ip/cloud"]["public-address"] = a.String()
	return nil
}

// SetLoginMode changes how /login is answered.
func (s *Server) SetLoginMode(m LoginMode) {
	s.mu.Lock()
	s.login = m
	s.mu.Unlock()
}

// Requests returns a copy of every sentence received so far, on all
// connections, in arrival order.
//
// The server keeps the most recent sentences: fakeserver.DefaultLogLimit
// (10,000) unless SetRequestLimit says otherwise, so a long demo does not
// grow without bound; the fakes are meant for tests and demos.
func (s *Server) Requests() []Request { return s.requests.All() }

// SetRequestLimit sets how many of the most recent sentences Requests
// keeps (0 or less: fakeserver.DefaultLogLimit, 10,000); a benchmark that
// counts round trips over many iterations raises it.
func (s *Server) SetRequestLimit(n int) { s.requests.SetLimit(n) }

// Conns returns how many client connections are open. A connection counts
// until the server has handled every command it read from it, so a test
// can wait for a dropped connection to be finished with before arming the
// next fault.
func (s *Server) Conns() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}

// Commands returns how many commands (login included) the server received.
func (s *Server) Commands() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.commands
}

// Pipe returns the client end of an in-memory connection served like a
// TCP one (net.Pipe), for tests that want no sockets at all. It fails
// once the server is closed.
func (s *Server) Pipe() (net.Conn, error) {
	client, server := net.Pipe()
	if !s.serve(server) {
		_ = client.Close()
		return nil, fmt.Errorf("routerostest: server closed")
	}
	return client, nil
}

// serve starts the goroutines of one connection; false if closed.
func (s *Server) serve(nc net.Conn) bool {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		_ = nc.Close()
		return false
	}
	s.connSeq++
	c := &conn{s: s, id: s.connSeq, nc: nc, notify: make(chan struct{}, 1), done: make(chan struct{}), streams: map[string]string{}}
	s.conns[c] = struct{}{}
	s.wg.Add(2)
	s.mu.Unlock()
	go c.readLoop()
	go c.writeLoop()
	return true
}

func (s *Server) accept() {
	defer s.wg.Done()
	for {
		nc, err := s.ln.Accept()
		if err != nil {
			return
		}
		if !s.serve(nc) {
			return
		}
	}
}

// outItem is bytes to write once due; close ends the connection after it.
type outItem struct {
	due   time.Time
	data  []byte
	close bool
}

type conn struct {
	s  *Server
	id int
	nc net.Conn

	// guarded by s.mu
	loggedIn  bool
	user      string
	challenge []byte
	streams   map[string]string // tag → menu (or "monitor:<menu>")

	omu    sync.Mutex
	out    []outItem
	notify chan struct{}
	done   chan struct{}
	once   sync.Once
}

func (c *conn) shutdown() {
	c.once.Do(func() {
		close(c.done)
		_ = c.nc.Close()
	})
}

// enqueue queues bytes for the writer, ordered by due time (stable), so a
// delayed reply lets later ones overtake it, as replies of concurrently
// running tagged commands do on a real router. A bare close goes last.
func (c *conn) enqueue(it outItem) {
	c.omu.Lock()
	i := len(c.out)
	if it.data == nil && it.close {
		if i > 0 {
			it.due = c.out[i-1].due
		}
	} else {
		for i > 0 && c.out[i-1].due.After(it.due) {
			i--
		}
	}
	c.out = append(c.out, outItem{})
	copy(c.out[i+1:], c.out[i:])
	c.out[i] = it
	c.omu.Unlock()
	select {
	case c.notify <- struct{}{}:
	default:
	}
}

func (c *conn) writeLoop() {
	defer c.s.wg.Done()
	defer c.shutdown()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		c.omu.Lock()
		if len(c.out) == 0 {
			c.omu.Unlock()
			select {
			case <-c.notify:
				continue
			case <-c.done:
				return
			}
		}
		it := c.out[0]
		c.out = c.out[1:]
		c.omu.Unlock()
		if d := time.Until(it.due); d > 0 {
			timer.Reset(d)
			select {
			case <-timer.C:
			case <-c.done:
				return
			}
		}
		if len(it.data) > 0 {
			if _, err := c.nc.Write(it.data); err != nil {
				return
			}
		}
		if it.close {
			return
		}
	}
}

func (c *conn) readLoop() {
	defer c.s.wg.Done()
	defer func() {
		c.s.mu.Lock()
		delete(c.s.conns, c)
		c.s.mu.Unlock()
	}()
	br := bufio.NewReader(c.nc)
	for {
		words, err := ReadSentence(br, MaxWordSize)
		if err != nil {
			// Let queued replies drain unless the peer is gone.
			c.enqueue(outItem{close: true})
			return
		}
		c.s.handle(c, words, time.Now())
	}
}

// Run executes one command directly against the fake's state, as a
// logged-in client would, and returns the reply sentences (each a list of
// words, reply word first). Tests use it to arrange state without a client.
func (s *Server) Run(words ...string) ([][]string, error) {
	if len(words) == 0 {
		return nil, fmt.Errorf("routerostest: empty command")
	}
	cmd, perr := parseCommand(words)
	if perr != nil {
		return trapReply(perr), perr
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c := &conn{s: s, streams: map[string]string{}, notify: make(chan struct{}, 1), done: make(chan struct{})}
	replies, err := s.exec(c, cmd, time.Now())
	if err != nil {
		var te *trapError
		if !errors.As(err, &te) {
			te = trap(4, "%s", err.Error())
		}
		return trapReply(te), err
	}
	return replies, nil
}
