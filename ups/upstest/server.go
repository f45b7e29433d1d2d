package upstest

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/thehomelab/homelab/internal/fakeserver"
)

// DriverState is the state of the simulated driver behind one UPS.
type DriverState int

// Driver states. The zero value means "unchanged" in a Step.
const (
	Connected DriverState = iota + 1 // normal service
	Waiting                          // just (re)connected: ups.status is WAIT, other variables are not supported
	Down                             // DRIVER-NOT-CONNECTED for GET VAR/TYPE/NUMLOGINS and LIST VAR/RW/CMD
	Stale                            // DATA-STALE for the same commands
)

// FaultKind is what an injected Fault does.
type FaultKind int

// Fault kinds.
const (
	Hang          FaultKind = iota + 1 // read the command but never answer
	CloseMidReply                      // close the connection halfway through the reply
	Garbage                            // send a garbage line before the reply
	HugeLine                           // answer with a 1 MiB line instead
	Refuse                             // close a new connection at once (matched per connection, not per request)
	EndlessList                        // answer a LIST with BEGIN LIST and items that never end
)

var faultNames = [...]string{"", "hang", "close mid-reply", "garbage", "huge line", "refuse", "endless list"}

// String returns a short name, e.g. "hang".
func (k FaultKind) String() string {
	if k <= 0 || int(k) >= len(faultNames) {
		return fmt.Sprintf("fault(%d)", int(k))
	}
	return faultNames[k]
}

// Fault is a misbehaviour for failure-path tests, injected with
// Server.Inject.
type Fault struct {
	Kind FaultKind // what goes wrong
	// Verb limits the fault to requests with this verb ("LIST", "GET",
	// case-insensitive); empty means every request. Refuse ignores it.
	Verb string
	// Times is how many matching requests (for Refuse: connections) the
	// fault spoils; 0 means every one until ClearFaults.
	Times int
}

// Request is one command line the server read, in arrival order.
type Request struct {
	Method string    // the verb, upper case: "GET", "LIST", "USERNAME"…
	Args   []string  // the words after the verb; a PASSWORD's argument is recorded as "REDACTED"
	Time   time.Time // when it arrived, on the server clock (WithClock)
}

// User is one upsd.users section.
type User struct {
	Password string   // plain text, as in upsd.users
	Actions  []string // "SET", "FSD"
	InstCmds []string // command names, or "ALL"
	Upsmon   string   // "primary", "secondary" or ""
}

// VarDef describes a variable beyond its value.
type VarDef struct {
	Writable    bool        // RW: SET VAR may change it
	Type        string      // "STRING:n" or "NUMBER"; default inferred from the value
	Enum        []string    // allowed values, if any
	Ranges      [][2]string // allowed numeric ranges, if any
	Description string      // GET DESC; "Unavailable" when empty
}

// Step is one point of a scripted timeline, At after Play was called.
type Step struct {
	At     time.Duration     // offset from the Play call, on the server clock
	Status string            // new ups.status; "" keeps it
	Vars   map[string]string // variables to set; an empty value deletes
	Driver DriverState       // new driver state; 0 keeps it
}

type variable struct {
	name, value string
	def         VarDef
}

type device struct {
	name, desc string
	vars       map[string]*variable // by lower-case name
	cmds       map[string]string    // lower-case name -> description
	cmdNames   map[string]string    // lower-case -> original
	driver     DriverState
	fsd        bool
	steps      []Step
	start      time.Time
	pending    []pendingSet
}

type tracked struct {
	due  time.Time
	fail bool
}

type pendingSet struct {
	due        time.Time
	name, val  string
	trackingID string
}

// Option configures a Server.
type Option func(*Server)

// WithIdleTimeout sets how long a connection may stay silent before the
// server drops it (upsd: 60 s, the default).
func WithIdleTimeout(d time.Duration) Option { return func(s *Server) { s.idle = d } }

// WithLatency delays every reply by d (see also SetLatency).
func WithLatency(d time.Duration) Option { return func(s *Server) { s.latency.Set(d) } }

// WithClock replaces time.Now for timelines, SET delays and tracking, so tests
// can script hours in milliseconds.
func WithClock(now func() time.Time) Option { return func(s *Server) { s.now = now } }

// WithSetDelay makes SET VAR take effect d after it is accepted, as upsd
// hands it to the driver asynchronously (default 0: at once).
func WithSetDelay(d time.Duration) Option { return func(s *Server) { s.setDelay = d } }

// WithEmptySetDeletes makes SET VAR with an empty value delete the
// variable, as dummy-ups does (default: the value becomes empty).
func WithEmptySetDeletes() Option { return func(s *Server) { s.emptyDeletes = true } }

// WithTLS enables STARTTLS with cert.
func WithTLS(cert tls.Certificate) Option { return func(s *Server) { s.cert = &cert } }

// WithSelfSignedTLS enables STARTTLS with a fresh self-signed certificate
// for 127.0.0.1 and localhost; Fingerprint returns its pin. Like NewServer
// it panics if it cannot make one.
func WithSelfSignedTLS() Option {
	return func(s *Server) {
		cert, _, err := fakeserver.SelfSigned()
		if err != nil {
			panic("upstest: self-signed certificate: " + err.Error())
		}
		s.cert = &cert
	}
}

// Fingerprint returns the pin of the STARTTLS certificate
// ("sha256:AA:BB:…", the form ups.WithFingerprint takes), or "" without TLS.
func (s *Server) Fingerprint() string {
	if s.cert == nil || len(s.cert.Certificate) == 0 {
		return ""
	}
	return fakeserver.Fingerprint(s.cert.Certificate[0])
}

// Server is a NUT server on 127.0.0.1. Its methods are safe for concurrent use.
type Server struct {
	ln           net.Listener
	idle         time.Duration
	latency      fakeserver.Latency
	log          fakeserver.Log[Request]
	faults       fakeserver.Faults[Fault]
	ctx          context.Context // ends at Close
	cancel       context.CancelFunc
	setDelay     time.Duration
	now          func() time.Time
	cert         *tls.Certificate
	emptyDeletes bool

	mu       sync.Mutex
	devs     map[string]*device
	users    map[string]User
	conns    map[*session]struct{}
	tracking map[string]tracked // by id
	failing  map[string]bool    // "ups cmd" (lower case) whose tracking ends in ERR FAILED
	instcmds []string
	accepted int
	closed   bool
	done     chan struct{}
	wg       sync.WaitGroup
}

// NewServer starts a server on 127.0.0.1:0 with no UPS and no user. Like
// httptest.NewServer it panics if it cannot listen. Close it when done, or
// use Start.
func NewServer(opts ...Option) *Server {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic("upstest: listen: " + err.Error())
	}
	s := &Server{
		ln: ln, idle: 60 * time.Second, now: time.Now,
		devs: map[string]*device{}, users: map[string]User{}, conns: map[*session]struct{}{},
		tracking: map[string]tracked{}, failing: map[string]bool{}, done: make(chan struct{}),
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	for _, o := range opts {
		if o != nil {
			o(s)
		}
	}
	s.wg.Add(1)
	go s.accept()
	return s
}

// Start is NewServer, closed in tb.Cleanup.
func Start(tb testing.TB, opts ...Option) *Server {
	tb.Helper()
	s := NewServer(opts...)
	tb.Cleanup(s.Close)
	return s
}

// SetLatency delays every reply from now on by d; 0 removes the delay.
// Pipelined commands answered together cost one delay, as one round trip
// on a slow network.
func (s *Server) SetLatency(d time.Duration) { s.latency.Set(d) }

// Inject adds a fault; faults are tried in the order injected.
func (s *Server) Inject(f Fault) { s.faults.Add(f, f.Times) }

// ClearFaults removes every injected fault.
func (s *Server) ClearFaults() { s.faults.Clear() }

// fault takes the first injected fault that matches a request with verb.
func (s *Server) fault(verb string) (FaultKind, bool) {
	f, ok := s.faults.Take(func(f Fault) bool {
		return f.Kind != Refuse && (f.Verb == "" || strings.EqualFold(f.Verb, verb))
	})
	return f.Kind, ok
}

// Addr returns "127.0.0.1:port".
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Close stops the server and drops every connection; it is idempotent.
func (s *Server) Close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	close(s.done)
	s.cancel()
	_ = s.ln.Close()
	for c := range s.conns {
		_ = c.conn.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

// DefaultVars returns the variables of the CI rig's PowerWalker VI 1000 STL
// on line power.
func DefaultVars() map[string]string {
	return map[string]string{
		"device.mfr": "PowerWalker", "device.model": "VI 1000 STL", "device.type": "ups",
		"ups.mfr": "PowerWalker", "ups.model": "VI 1000 STL", "ups.status": "OL",
		"battery.charge": "100", "battery.charge.low": "20", "battery.runtime": "1200",
		"battery.runtime.low": "300", "battery.voltage": "13.5", "input.voltage": "230.0",
		"output.voltage": "230.0", "ups.load": "25", "driver.name": "dummy-ups",
	}
}

// AddUPS adds (or replaces) a UPS with a description and variables.
func (s *Server) AddUPS(name, desc string, vars map[string]string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := &device{name: name, desc: desc, vars: map[string]*variable{}, cmds: map[string]string{},
		cmdNames: map[string]string{}, driver: Connected}
	for k, v := range vars {
		d.vars[strings.ToLower(k)] = &variable{name: k, value: v}
	}
	s.devs[strings.ToLower(name)] = d
}

// AddUser adds (or replaces) a user.
func (s *Server) AddUser(name string, u User) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.users[name] = u
}

func (s *Server) dev(name string) *device {
	d := s.devs[strings.ToLower(name)]
	if d != nil {
		s.advance(d)
	}
	return d
}

// Set sets a variable (creating it); an empty value deletes it.
func (s *Server) Set(ups, name, value string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if d := s.dev(ups); d != nil {
		d.set(name, value)
	}
}

func (d *device) set(name, value string) {
	k := strings.ToLower(name)
	if value == "" {
		delete(d.vars, k)
		return
	}
	if v := d.vars[k]; v != nil {
		v.value = value
		return
	}
	d.vars[k] = &variable{name: name, value: value}
}

// apply stores a value written by SET VAR: an empty value is kept as empty
// unless WithEmptySetDeletes is on.
func (s *Server) apply(d *device, name, val string) {
	if val == "" && !s.emptyDeletes {
		if v := d.vars[strings.ToLower(name)]; v != nil {
			v.value = ""
		}
		return
	}
	d.set(name, val)
}

// SetStatus sets ups.status.
func (s *Server) SetStatus(ups, status string) { s.Set(ups, "ups.status", status) }

// Define sets the type information of a variable, creating it with value if
// it does not exist.
func (s *Server) Define(ups, name, value string, def VarDef) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if d := s.dev(ups); d != nil {
		k := strings.ToLower(name)
		if d.vars[k] == nil {
			d.vars[k] = &variable{name: name, value: value}
		}
		d.vars[k].def = def
	}
}

// AddCommand adds an instant command with its description.
func (s *Server) AddCommand(ups, cmd, desc string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if d := s.dev(ups); d != nil {
		d.cmds[strings.ToLower(cmd)] = desc
		d.cmdNames[strings.ToLower(cmd)] = cmd
	}
}

// SetDriver changes the simulated driver state.
func (s *Server) SetDriver(ups string, st DriverState) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if d := s.dev(ups); d != nil && st != 0 {
		d.driver = st
	}
}

// Play starts a scripted timeline on ups, measured on the server clock.
// Steps are applied lazily, whenever the UPS is read, once their time has come.
func (s *Server) Play(ups string, steps ...Step) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if d := s.devs[strings.ToLower(ups)]; d != nil {
		d.steps = slices.Clone(steps)
		sort.SliceStable(d.steps, func(i, j int) bool { return d.steps[i].At < d.steps[j].At })
		d.start = s.now()
		s.advance(d)
	}
}

func (s *Server) advance(d *device) {
	now := s.now()
	for len(d.steps) > 0 && !now.Before(d.start.Add(d.steps[0].At)) {
		st := d.steps[0]
		d.steps = d.steps[1:]
		if st.Status != "" {
			d.set("ups.status", st.Status)
		}
		for k, v := range st.Vars {
			d.set(k, v)
		}
		if st.Driver != 0 {
			d.driver = st.Driver
		}
	}
	for len(d.pending) > 0 && !now.Before(d.pending[0].due) {
		s.apply(d, d.pending[0].name, d.pending[0].val)
		d.pending = d.pending[1:]
	}
}

// FailCommand makes tracked runs of the instant command cmd on ups end in
// "ERR FAILED" (the driver could not execute it). Untracked runs still
// answer OK, as upsd does.
func (s *Server) FailCommand(ups, cmd string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failing[strings.ToLower(ups+" "+cmd)] = true
}

// FSDSet reports whether the FSD latch is set on ups.
func (s *Server) FSDSet(ups string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.devs[strings.ToLower(ups)]
	return d != nil && d.fsd
}

// Restart clears every FSD latch and drops every connection, like a upsd
// restart.
func (s *Server) Restart() {
	s.mu.Lock()
	for _, d := range s.devs {
		d.fsd = false
	}
	s.mu.Unlock()
	s.DropConnections()
}

// DropConnections closes every open connection, as a crashed or restarted
// upsd would. The dropped sessions stop counting at once (NUMLOGINS, LIST
// CLIENT), before a client can reconnect, as in a restarted upsd.
func (s *Server) DropConnections() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.conns {
		_ = c.conn.Close()
		delete(s.conns, c)
	}
}

// InstCmds returns every instant command the server accepted, as
// "<ups> <cmd>[ <param>]", in order.
func (s *Server) InstCmds() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.instcmds)
}

// Requests returns a copy of every command line the server has read so
// far (answered or not), in order; its length is the round-trip counter of
// the benchmarks.
//
// The server keeps the most recent command lines: fakeserver.DefaultLogLimit
// (10,000) unless SetRequestLimit says otherwise, so a long demo does not
// grow without bound; the fakes are meant for tests and demos.
func (s *Server) Requests() []Request { return s.log.All() }

// SetRequestLimit sets how many of the most recent command lines Requests
// keeps (0 or less: fakeserver.DefaultLogLimit, 10,000); a benchmark that
// counts round trips over many iterations raises it.
func (s *Server) SetRequestLimit(n int) { s.log.SetLimit(n) }

// Accepted returns how many connections the server has accepted in total:
// a client that reconnects raises it.
func (s *Server) Accepted() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.accepted
}

// Connections returns how many connections are open.
func (s *Server) Connections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}

func (s *Server) accept() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		_, refuse := s.faults.Take(func(f Fault) bool { return f.Kind == Refuse })
		s.mu.Lock()
		if s.closed || refuse {
			s.mu.Unlock()
			_ = c.Close()
			continue
		}
		s.accepted++
		sess := &session{s: s, conn: c}
		s.conns[sess] = struct{}{}
		s.wg.Add(1)
		s.mu.Unlock()
		go sess.serve()
	}
}

type session struct {
	s          *Server
	conn       net.Conn
	user, pass string
	userSet    bool
	passSet    bool
	login      string // lower-case UPS name
	tracking   bool
	tls        bool
}

const maxLine = 4096

var errHashInQuotes = errors.New("unbalanced word due to unescaped # in quotes")

func (c *session) serve() {
	s := c.s
	defer s.wg.Done()
	defer func() {
		s.mu.Lock()
		delete(s.conns, c)
		s.mu.Unlock()
		_ = c.conn.Close()
	}()
	r := bufio.NewReaderSize(c.conn, maxLine)
	// Replies to pipelined requests are collected and sent together once no
	// further request is buffered, so injected latency costs one delay per
	// round trip, as on a slow network, not one per command.
	var out []byte
	flush := func() bool {
		if len(out) == 0 {
			return true
		}
		if !c.pause() {
			return false
		}
		_, err := c.conn.Write(out)
		out = out[:0]
		return err == nil
	}
	for {
		if s.idle > 0 {
			_ = c.conn.SetReadDeadline(time.Now().Add(s.idle))
		}
		line, err := r.ReadSlice('\n')
		if err != nil {
			return // EOF, idle cutoff, or a line beyond maxLine
		}
		words, err := splitRequest(string(line))
		s.record(string(line), words)
		var fault FaultKind
		if len(words) > 0 {
			fault, _ = s.fault(words[0])
		}
		if fault == Hang {
			continue
		}
		if fault == EndlessList && strings.EqualFold(words[0], "LIST") {
			c.endless(words)
			return
		}
		if err != nil {
			r.Reset(c.conn) // upsd drops the rest of that read
			if !flush() {
				return
			}
			continue
		}
		reply, upgrade, quit := c.handle(words)
		var keep bool
		out, keep = render(out, reply, fault)
		if !keep || quit || upgrade || r.Buffered() == 0 {
			if !flush() {
				return
			}
		}
		if !keep || quit {
			return
		}
		if upgrade {
			tc := tls.Server(c.conn, &tls.Config{Certificates: []tls.Certificate{*s.cert}, MinVersion: tls.VersionTLS12})
			if err := tc.Handshake(); err != nil {
				return
			}
			s.mu.Lock()
			c.conn, c.tls = tc, true
			s.mu.Unlock()
			r.Reset(tc)
		}
	}
}

func (c *session) pause() bool {
	c.s.latency.Wait(c.s.ctx)
	return c.s.ctx.Err() == nil
}

// record logs one request line; words is nil when it did not parse.
func (s *Server) record(line string, words []string) {
	r := Request{Time: s.clock()}
	if words == nil {
		words = strings.Fields(line)
	}
	if len(words) > 0 {
		r.Method = upper(words[0])
		r.Args = slices.Clone(words[1:])
		if r.Method == "PASSWORD" && len(r.Args) > 0 {
			r.Args[0] = "REDACTED"
		}
	}
	s.log.Add(r)
}

func (s *Server) clock() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.now()
}

// endless answers a LIST with its BEGIN line and then items without end,
// until the client hangs up or the server closes: a broken or hostile upsd
// that a client must cap.
func (c *session) endless(words []string) {
	args := words[1:]
	head := "LIST " + strings.Join(args, " ")
	sub, up, name := "", "ups", "x"
	if len(args) > 0 {
		sub = upper(args[0])
	}
	if len(args) > 1 {
		up = args[1]
	}
	if len(args) > 2 {
		name = args[2]
	}
	var item string
	switch sub {
	case "UPS":
		item = `UPS ups "endless"`
	case "CMD":
		item = "CMD " + up + " beeper.toggle"
	case "CLIENT":
		item = "CLIENT " + up + " 127.0.0.1"
	case "ENUM":
		item = "ENUM " + up + " " + name + ` "x"`
	case "RANGE":
		item = "RANGE " + up + " " + name + ` "0" "1"`
	default: // VAR, RW
		item = sub + " " + up + ` ups.status "OL"`
	}
	if _, err := c.conn.Write([]byte("BEGIN " + head + "\n")); err != nil {
		return
	}
	chunk := []byte(strings.Repeat(item+"\n", 256))
	for c.s.ctx.Err() == nil {
		if _, err := c.conn.Write(chunk); err != nil {
			return
		}
	}
}

// render appends the reply lines, bent by fault, to out; keep is false when
// the connection must close after them.
func render(out []byte, reply []string, fault FaultKind) (_ []byte, keep bool) {
	switch fault {
	case Garbage:
		out = append(out, "\x00\xff}garbage{ \"unterminated\n"...)
	case HugeLine:
		out = append(out, strings.Repeat("X", 1<<20)...)
		return append(out, '\n'), true
	case CloseMidReply:
		reply = reply[:len(reply)/2]
	}
	for _, l := range reply {
		out = append(out, l...)
		out = append(out, '\n')
	}
	return out, fault != CloseMidReply
}

// splitRequest parses a request line like upsd's parseconf.
func splitRequest(line string) ([]string, error) {
	var words []string
	var cur []byte
	inWord, quoted := false, false
	for i := 0; i < len(line); i++ {
		ch := line[i]
		switch {
		case ch == '\\' && i+1 < len(line):
			i++
			cur = append(cur, line[i])
			inWord = true
		case quoted && ch == '"':
			quoted = false
			words = append(words, string(cur))
			cur, inWord = cur[:0], false
		case quoted && ch == '#':
			return nil, errHashInQuotes
		case quoted:
			cur = append(cur, ch)
		case ch == '"':
			quoted, inWord = true, true
		case ch == '#':
			i = len(line)
		case ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n':
			if inWord {
				words = append(words, string(cur))
				cur, inWord = cur[:0], false
			}
		default:
			cur = append(cur, ch)
			inWord = true
		}
	}
	if quoted {
		return nil, errors.New("unbalanced quotes")
	}
	if inWord {
		words = append(words, string(cur))
	}
	return words, nil
}

func quote(v string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(v); i++ {
		if v[i] == '"' || v[i] == '\\' {
			b.WriteByte('\\')
		}
		b.WriteByte(v[i])
	}
	b.WriteByte('"')
	return b.String()
}

func errLine(code string) []string { return []string{"ERR " + code} }

func upper(s string) string { return strings.ToUpper(s) }

// Every answer below copies upsd 2.8.0 as NUT's source gives it (tag v2.8.0
// of networkupstools/nut; the command table with the commands that need a
// login is server/netcmds.h, the codes server/neterr.h) and as the fact
// sheet's live transcripts against Debian's upsd 2.8.0-7 confirmed.
//
// handle answers one request; it returns the reply lines, whether to start
// TLS after them, and whether to close.
func (c *session) handle(w []string) (reply []string, upgrade, quit bool) {
	s := c.s
	if len(w) == 0 {
		return errLine("UNKNOWN-COMMAND"), false, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch upper(w[0]) {
	case "VER": // server/netmisc.c net_ver
		return []string{"Network UPS Tools upsd 2.8.0 (upstest) - http://www.networkupstools.org/"}, false, false
	case "NETVER", "PROTVER": // server/netmisc.c net_netver
		return []string{"1.3"}, false, false
	case "HELP": // server/netmisc.c net_help
		return []string{"Commands: HELP VER GET LIST SET INSTCMD LOGIN LOGOUT USERNAME PASSWORD STARTTLS"}, false, false
	case "LOGOUT": // server/netuser.c net_logout: "OK Goodbye", then close
		return []string{"OK Goodbye"}, false, true
	case "STARTTLS": // server/netssl.c net_starttls
		switch {
		case c.tls:
			return errLine("ALREADY-SSL-MODE"), false, false
		case s.cert == nil:
			return errLine("FEATURE-NOT-CONFIGURED"), false, false
		}
		return []string{"OK STARTTLS"}, true, false
	case "USERNAME": // server/netuser.c net_username: always OK, checked on use
		switch {
		case len(w) < 2:
			return errLine("INVALID-ARGUMENT"), false, false
		case c.userSet:
			return errLine("ALREADY-SET-USERNAME"), false, false
		}
		c.user, c.userSet = w[1], true
		return []string{"OK"}, false, false
	case "PASSWORD": // server/netuser.c net_password: always OK, checked on use
		switch {
		case len(w) < 2:
			return errLine("INVALID-ARGUMENT"), false, false
		case c.passSet:
			return errLine("ALREADY-SET-PASSWORD"), false, false
		}
		c.pass, c.passSet = w[1], true
		return []string{"OK"}, false, false
	case "LIST":
		return c.list(w[1:]), false, false
	case "GET":
		return c.get(w[1:]), false, false
	case "SET":
		return c.set(w[1:]), false, false
	case "INSTCMD":
		return c.instcmd(w[1:]), false, false
	case "LOGIN", "PRIMARY", "MASTER", "FSD":
		return c.upsmon(upper(w[0]), w[1:]), false, false
	}
	return errLine("UNKNOWN-COMMAND"), false, false
}

// authErr checks USERNAME/PASSWORD presence (upsd's FLAG_USER).
// upsd.c's FLAG_USER check before a command of server/netcmds.h that needs
// a login.
func (c *session) authErr() []string {
	if !c.userSet {
		return errLine("USERNAME-REQUIRED")
	}
	if !c.passSet {
		return errLine("PASSWORD-REQUIRED")
	}
	return nil
}

// account returns the user if the credentials match.
func (c *session) account() (User, bool) {
	u, ok := c.s.users[c.user]
	if !ok || u.Password != c.pass {
		return User{}, false
	}
	return u, true
}

func (c *session) can(action string) bool {
	u, ok := c.account()
	if !ok {
		return false
	}
	for _, a := range u.Actions {
		if strings.EqualFold(a, action) {
			return true
		}
	}
	return action == "FSD" && strings.EqualFold(u.Upsmon, "primary")
}

func (c *session) canInstCmd(cmd string) bool {
	u, ok := c.account()
	if !ok {
		return false
	}
	for _, x := range u.InstCmds {
		if strings.EqualFold(x, "ALL") || strings.EqualFold(x, cmd) {
			return true
		}
	}
	return false
}

// dataErr returns the error for a UPS whose driver cannot serve data.
// server/netget.c and netlist.c: DRIVER-NOT-CONNECTED or DATA-STALE before
// any data of a UPS whose driver is gone or stale (sstate.c).
func dataErr(d *device) []string {
	switch d.driver {
	case Down:
		return errLine("DRIVER-NOT-CONNECTED")
	case Stale:
		return errLine("DATA-STALE")
	}
	return nil
}

func (d *device) value(v *variable) string {
	if strings.EqualFold(v.name, "ups.status") {
		val := v.value
		if d.driver == Waiting {
			val = "WAIT"
		}
		if d.fsd {
			val = "FSD " + val
		}
		return val
	}
	return v.value
}

func (d *device) sortedVars(rwOnly bool) []*variable {
	var out []*variable
	for _, v := range d.vars {
		if rwOnly && !v.def.Writable {
			continue
		}
		if d.driver == Waiting && !strings.EqualFold(v.name, "ups.status") {
			continue
		}
		out = append(out, v)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

// server/netlist.c: BEGIN LIST and END LIST echo the query words.
func (c *session) list(w []string) []string {
	s := c.s
	if len(w) == 0 {
		return errLine("INVALID-ARGUMENT")
	}
	sub := upper(w[0])
	head := "LIST " + strings.Join(w, " ")
	wrap := func(items []string) []string {
		out := make([]string, 0, len(items)+2)
		out = append(out, "BEGIN "+head)
		out = append(out, items...)
		return append(out, "END "+head)
	}
	if sub == "UPS" {
		var names []string
		for k := range s.devs {
			names = append(names, k)
		}
		sort.Strings(names)
		var items []string
		for _, k := range names {
			d := s.devs[k]
			desc := d.desc
			if desc == "" {
				desc = "Unavailable"
			}
			items = append(items, "UPS "+d.name+" "+quote(desc))
		}
		return wrap(items)
	}
	need := map[string]int{"VAR": 2, "RW": 2, "CMD": 2, "CLIENT": 2, "ENUM": 3, "RANGE": 3}[sub]
	if need == 0 || len(w) < need {
		return errLine("INVALID-ARGUMENT")
	}
	d := s.dev(w[1])
	if d == nil {
		return errLine("UNKNOWN-UPS")
	}
	up := w[1]
	var items []string
	switch sub {
	case "VAR", "RW":
		if e := dataErr(d); e != nil {
			return e
		}
		for _, v := range d.sortedVars(sub == "RW") {
			items = append(items, sub+" "+up+" "+v.name+" "+quote(d.value(v)))
		}
	case "CMD":
		if e := dataErr(d); e != nil {
			return e
		}
		var names []string
		for _, n := range d.cmdNames {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			items = append(items, "CMD "+up+" "+n)
		}
	case "CLIENT":
		for sess := range s.conns {
			if sess.login == strings.ToLower(d.name) {
				host, _, _ := net.SplitHostPort(sess.conn.RemoteAddr().String())
				items = append(items, "CLIENT "+up+" "+host)
			}
		}
		sort.Strings(items)
	case "ENUM", "RANGE":
		v := d.vars[strings.ToLower(w[2])]
		if v == nil {
			return errLine("VAR-NOT-SUPPORTED")
		}
		if sub == "ENUM" {
			for _, e := range v.def.Enum {
				items = append(items, "ENUM "+up+" "+w[2]+" "+quote(e))
			}
		} else {
			for _, r := range v.def.Ranges {
				items = append(items, "RANGE "+up+" "+w[2]+" "+quote(r[0])+" "+quote(r[1]))
			}
		}
	}
	return wrap(items)
}

// server/netget.c: GET VAR/TYPE/DESC/CMDDESC/UPSDESC/NUMLOGINS/TRACKING.
func (c *session) get(w []string) []string {
	s := c.s
	if len(w) == 0 {
		return errLine("INVALID-ARGUMENT")
	}
	sub := upper(w[0])
	if sub == "TRACKING" {
		if len(w) == 1 {
			if c.tracking {
				return []string{"ON"}
			}
			return []string{"OFF"}
		}
		if !c.tracking {
			return errLine("FEATURE-NOT-CONFIGURED")
		}
		tr, ok := s.tracking[upper(w[1])]
		switch {
		case !ok:
			return errLine("UNKNOWN")
		case s.now().Before(tr.due):
			return []string{"PENDING"}
		case tr.fail:
			return errLine("FAILED")
		}
		return []string{"SUCCESS"}
	}
	need := map[string]int{"VAR": 3, "TYPE": 3, "DESC": 3, "CMDDESC": 3, "UPSDESC": 2, "NUMLOGINS": 2}[sub]
	if need == 0 || len(w) < need {
		return errLine("INVALID-ARGUMENT")
	}
	d := s.dev(w[1])
	if d == nil {
		return errLine("UNKNOWN-UPS")
	}
	up := w[1]
	switch sub {
	case "UPSDESC":
		desc := d.desc
		if desc == "" {
			desc = "Unavailable"
		}
		return []string{"UPSDESC " + up + " " + quote(desc)}
	case "NUMLOGINS":
		if e := dataErr(d); e != nil {
			return e
		}
		n := 0
		for sess := range s.conns {
			if sess.login == strings.ToLower(d.name) {
				n++
			}
		}
		return []string{"NUMLOGINS " + up + " " + strconv.Itoa(n)}
	case "CMDDESC":
		desc, ok := d.cmds[strings.ToLower(w[2])]
		if !ok || desc == "" {
			desc = "Unavailable"
		}
		return []string{"CMDDESC " + up + " " + w[2] + " " + quote(desc)}
	}
	if e := dataErr(d); e != nil {
		return e
	}
	v := d.vars[strings.ToLower(w[2])]
	if v == nil || (d.driver == Waiting && !strings.EqualFold(v.name, "ups.status")) {
		return errLine("VAR-NOT-SUPPORTED")
	}
	switch sub {
	case "VAR":
		return []string{"VAR " + up + " " + w[2] + " " + quote(d.value(v))}
	case "DESC":
		desc := v.def.Description
		if desc == "" {
			desc = "Unavailable"
		}
		return []string{"DESC " + up + " " + w[2] + " " + quote(desc)}
	}
	// TYPE
	var t []string
	if v.def.Writable {
		t = append(t, "RW")
	}
	if len(v.def.Enum) > 0 {
		t = append(t, "ENUM")
	}
	if len(v.def.Ranges) > 0 {
		t = append(t, "RANGE")
	}
	typ := v.def.Type
	if typ == "" {
		if _, err := strconv.ParseFloat(v.value, 64); err == nil {
			typ = "NUMBER"
		} else {
			typ = "STRING:64"
		}
	}
	t = append(t, typ)
	return []string{"TYPE " + up + " " + w[2] + " " + strings.Join(t, " ")}
}

func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return strings.ToUpper(fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16]))
}

// okTracked answers a SET/INSTCMD, with a tracking ID when tracking is on.
func (c *session) okTracked(due time.Time, fail bool) ([]string, string) {
	if !c.tracking {
		return []string{"OK"}, ""
	}
	id := newUUID()
	c.s.tracking[id] = tracked{due: due, fail: fail}
	return []string{"OK TRACKING " + id}, id
}

// server/netset.c: SET VAR (checks READONLY, TOO-LONG, INVALID-VALUE) and
// SET TRACKING.
func (c *session) set(w []string) []string {
	s := c.s
	if len(w) >= 1 && upper(w[0]) == "TRACKING" {
		if e := c.authErr(); e != nil {
			return e
		}
		if len(w) != 2 {
			return errLine("INVALID-ARGUMENT")
		}
		switch upper(w[1]) {
		case "ON":
			c.tracking = true
		case "OFF":
			c.tracking = false
		default:
			return errLine("INVALID-ARGUMENT")
		}
		return []string{"OK"}
	}
	if len(w) < 4 || upper(w[0]) != "VAR" {
		return errLine("INVALID-ARGUMENT")
	}
	if e := c.authErr(); e != nil {
		return e
	}
	d := s.dev(w[1])
	if d == nil {
		return errLine("UNKNOWN-UPS")
	}
	if !c.can("SET") {
		return errLine("ACCESS-DENIED")
	}
	if e := dataErr(d); e != nil {
		return e
	}
	v := d.vars[strings.ToLower(w[2])]
	if v == nil {
		return errLine("VAR-NOT-SUPPORTED")
	}
	if !v.def.Writable {
		return errLine("READONLY")
	}
	val := w[3]
	if n, ok := strings.CutPrefix(upper(v.def.Type), "STRING:"); ok {
		if max, err := strconv.Atoi(n); err == nil && len(val) > max {
			return errLine("TOO-LONG")
		}
	}
	if len(v.def.Enum) > 0 && !slices.Contains(v.def.Enum, val) {
		return errLine("INVALID-VALUE")
	}
	if len(v.def.Ranges) > 0 {
		f, err := strconv.ParseFloat(val, 64)
		in := false
		for _, r := range v.def.Ranges {
			lo, _ := strconv.ParseFloat(r[0], 64)
			hi, _ := strconv.ParseFloat(r[1], 64)
			in = in || (err == nil && f >= lo && f <= hi)
		}
		if !in {
			return errLine("INVALID-VALUE")
		}
	}
	due := s.now().Add(s.setDelay)
	reply, id := c.okTracked(due, false)
	if s.setDelay <= 0 {
		s.apply(d, v.name, val)
	} else {
		d.pending = append(d.pending, pendingSet{due: due, name: v.name, val: val, trackingID: id})
	}
	return reply
}

// server/netinstcmd.c: INSTCMD with an optional parameter, OK or OK
// TRACKING <id>.
func (c *session) instcmd(w []string) []string {
	s := c.s
	if len(w) < 2 {
		return errLine("INVALID-ARGUMENT")
	}
	if e := c.authErr(); e != nil {
		return e
	}
	d := s.dev(w[0])
	if d == nil {
		return errLine("UNKNOWN-UPS")
	}
	if !c.canInstCmd(w[1]) {
		return errLine("ACCESS-DENIED")
	}
	if e := dataErr(d); e != nil {
		return e
	}
	if _, ok := d.cmds[strings.ToLower(w[1])]; !ok {
		return errLine("CMD-NOT-SUPPORTED")
	}
	rec := d.name + " " + w[1]
	if len(w) > 2 {
		rec += " " + w[2]
	}
	s.instcmds = append(s.instcmds, rec)
	reply, _ := c.okTracked(s.now().Add(s.setDelay), s.failing[strings.ToLower(d.name+" "+w[1])])
	return reply
}

// server/netuser.c (LOGIN, PRIMARY, MASTER) and server/netmisc.c (FSD:
// "OK FSD-SET", latched until upsd restarts).
func (c *session) upsmon(verb string, w []string) []string {
	s := c.s
	if len(w) < 1 {
		return errLine("INVALID-ARGUMENT")
	}
	if e := c.authErr(); e != nil {
		return e
	}
	d := s.dev(w[0])
	if d == nil {
		return errLine("UNKNOWN-UPS")
	}
	u, ok := c.account()
	switch verb {
	case "LOGIN":
		if !ok || u.Upsmon == "" {
			return errLine("ACCESS-DENIED")
		}
		if c.login != "" {
			return errLine("ALREADY-LOGGED-IN")
		}
		c.login = strings.ToLower(d.name)
		return []string{"OK"}
	case "PRIMARY", "MASTER":
		if !ok || !strings.EqualFold(u.Upsmon, "primary") {
			return errLine("ACCESS-DENIED")
		}
		return []string{"OK " + verb + "-GRANTED"}
	}
	if !c.can("FSD") {
		return errLine("ACCESS-DENIED")
	}
	d.fsd = true
	return []string{"OK FSD-SET"}
}
