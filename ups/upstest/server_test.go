package upstest

import (
	"bufio"
	"crypto/tls"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/thehomelab/homelab/internal/fakeserver"
)

// raw is a line-level client: it sends one request and reads one reply
// (a whole BEGIN…END block for LIST).
type raw struct {
	t    *testing.T
	conn net.Conn
	r    *bufio.Reader
}

func dialRaw(t *testing.T, addr string) *raw {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	return &raw{t: t, conn: c, r: bufio.NewReader(c)}
}

func (c *raw) send(line string) {
	_, err := c.conn.Write([]byte(line + "\n"))
	require.NoError(c.t, err)
}

func (c *raw) line() string {
	_ = c.conn.SetReadDeadline(time.Now().Add(2 * time.Second))
	l, err := c.r.ReadString('\n')
	require.NoError(c.t, err)
	return strings.TrimSuffix(l, "\n")
}

func (c *raw) ask(line string) []string {
	c.send(line)
	out := []string{c.line()}
	if strings.HasPrefix(out[0], "BEGIN ") {
		for !strings.HasPrefix(out[len(out)-1], "END ") {
			out = append(out, c.line())
		}
	}
	return out
}

func newTestServer(t *testing.T, opts ...Option) *Server {
	s := NewServer(opts...)
	t.Cleanup(s.Close)
	s.AddUPS("dummy", "CI dummy UPS", DefaultVars())
	return s
}

func TestProtocolShapes(t *testing.T) {
	t.Parallel()
	s := newTestServer(t)
	s.Set("dummy", "ups.serial", `A "q" \ z #1`)
	c := dialRaw(t, s.Addr())
	tests := []struct{ req, want string }{
		{"NETVER", "1.3"},
		{"PROTVER", "1.3"},
		{"Get Var DUMMY ups.status", `VAR DUMMY ups.status "OL"`},
		{"GET  VAR   dummy   ups.status # trailing comment", `VAR dummy ups.status "OL"`},
		{`GET VAR "dummy" "ups.sta\tus"`, `VAR dummy ups.status "OL"`},
		{"GET VAR dummy ups.serial", `VAR dummy ups.serial "A \"q\" \\ z #1"`},
		{"GET VAR nosuch ups.status", "ERR UNKNOWN-UPS"},
		{"GET VAR dummy nope", "ERR VAR-NOT-SUPPORTED"},
		{"", "ERR UNKNOWN-COMMAND"},
		{"FOO", "ERR UNKNOWN-COMMAND"},
		{"GET FOO x", "ERR INVALID-ARGUMENT"},
		{"LIST", "ERR INVALID-ARGUMENT"},
		{"FSD dummy", "ERR USERNAME-REQUIRED"},
		{"USERNAME x", "OK"},
		{"USERNAME x", "ERR ALREADY-SET-USERNAME"},
		{"FSD dummy", "ERR PASSWORD-REQUIRED"},
		{"PASSWORD y", "OK"},
		{"FSD dummy", "ERR ACCESS-DENIED"},
		{"STARTTLS", "ERR FEATURE-NOT-CONFIGURED"},
		{"GET TRACKING", "OFF"},
		{"GET NUMLOGINS dummy", "NUMLOGINS dummy 0"},
		{"GET UPSDESC dummy", `UPSDESC dummy "CI dummy UPS"`},
	}
	for _, tt := range tests {
		assert.Equal(t, []string{tt.want}, c.ask(tt.req), tt.req)
	}
	assert.Equal(t, []string{"BEGIN LIST ENUM dummy ups.status", "END LIST ENUM dummy ups.status"}, c.ask("LIST ENUM dummy ups.status"))
	assert.Equal(t, []string{"BEGIN LIST UPS", `UPS dummy "CI dummy UPS"`, "END LIST UPS"}, c.ask("LIST UPS"))
	assert.Equal(t, []string{"OK Goodbye"}, c.ask("LOGOUT"))
	_, err := c.r.ReadString('\n')
	assert.Error(t, err, "closed after LOGOUT")
}

func TestHashInQuotesGetsNoReply(t *testing.T) {
	t.Parallel()
	s := newTestServer(t)
	c := dialRaw(t, s.Addr())
	c.send(`GET VAR dummy "a#b"`)
	require.Eventually(t, func() bool { return len(s.Requests()) == 1 }, 2*time.Second, 5*time.Millisecond)
	assert.Equal(t, []string{`VAR dummy ups.status "OL"`}, c.ask("GET VAR dummy ups.status"), "no reply to the bad line, later packets served")
	assert.Equal(t, []string{`VAR dummy ups.mfr "PowerWalker"`}, c.ask(`GET VAR dummy "ups.mfr" # "#"`))
}

func TestFSDLatchWaitAndDriverStates(t *testing.T) {
	t.Parallel()
	s := newTestServer(t)
	s.AddUser("admin", User{Password: "pw", Actions: []string{"FSD"}})
	c := dialRaw(t, s.Addr())
	c.ask("USERNAME admin")
	c.ask("PASSWORD pw")
	assert.Equal(t, []string{"OK FSD-SET"}, c.ask("FSD dummy"))
	assert.Contains(t, c.ask("LIST VAR dummy"), `VAR dummy ups.status "FSD OL"`)
	s.SetDriver("dummy", Waiting)
	assert.Equal(t, []string{`VAR dummy ups.status "FSD WAIT"`}, c.ask("GET VAR dummy ups.status"))
	assert.Equal(t, []string{"ERR VAR-NOT-SUPPORTED"}, c.ask("GET VAR dummy battery.charge"))
	s.SetDriver("dummy", Down)
	assert.Equal(t, []string{"ERR DRIVER-NOT-CONNECTED"}, c.ask("LIST VAR dummy"))
	assert.Equal(t, []string{`UPSDESC dummy "CI dummy UPS"`}, c.ask("GET UPSDESC dummy"))
	s.SetDriver("dummy", Stale)
	assert.Equal(t, []string{"ERR DATA-STALE"}, c.ask("GET VAR dummy ups.status"))
	s.SetDriver("dummy", Connected)
	s.Restart()
	c = dialRaw(t, s.Addr())
	assert.Equal(t, []string{`VAR dummy ups.status "OL"`}, c.ask("GET VAR dummy ups.status"))
}

func TestTimelineOnInjectedClock(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	now := time.Unix(1000, 0)
	s := newTestServer(t, WithClock(func() time.Time { mu.Lock(); defer mu.Unlock(); return now }))
	s.Play("dummy",
		Step{At: 2 * time.Second, Status: "OB DISCHRG", Vars: map[string]string{"battery.charge": "80"}},
		Step{At: 7 * time.Second, Status: "OB DISCHRG LB", Vars: map[string]string{"battery.runtime": ""}},
		Step{At: 9 * time.Second, Driver: Down},
	)
	c := dialRaw(t, s.Addr())
	at := func(d time.Duration) { mu.Lock(); now = time.Unix(1000, 0).Add(d); mu.Unlock() }
	assert.Equal(t, []string{`VAR dummy ups.status "OL"`}, c.ask("GET VAR dummy ups.status"))
	at(3 * time.Second)
	assert.Equal(t, []string{`VAR dummy ups.status "OB DISCHRG"`}, c.ask("GET VAR dummy ups.status"))
	assert.Equal(t, []string{`VAR dummy battery.charge "80"`}, c.ask("GET VAR dummy battery.charge"))
	at(8 * time.Second)
	assert.Equal(t, []string{`VAR dummy ups.status "OB DISCHRG LB"`}, c.ask("GET VAR dummy ups.status"))
	assert.Equal(t, []string{"ERR VAR-NOT-SUPPORTED"}, c.ask("GET VAR dummy battery.runtime"))
	at(time.Minute)
	assert.Equal(t, []string{"ERR DRIVER-NOT-CONNECTED"}, c.ask("GET VAR dummy ups.status"))
}

func TestIdleCutoffAndOversizedRequest(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, WithIdleTimeout(50*time.Millisecond))
	c := dialRaw(t, s.Addr())
	_ = c.conn.SetReadDeadline(time.Now().Add(2 * time.Second))
	_, err := c.r.ReadString('\n')
	assert.Error(t, err, "dropped after the idle cutoff")

	c = dialRaw(t, s.Addr())
	_, _ = c.conn.Write([]byte(strings.Repeat("X", 2*maxLine)))
	_ = c.conn.SetReadDeadline(time.Now().Add(2 * time.Second))
	_, err = c.r.ReadString('\n')
	assert.Error(t, err, "an oversized request closes the connection")
}

func TestPermissionsAndSetChecks(t *testing.T) {
	t.Parallel()
	s := newTestServer(t)
	s.Define("dummy", "ups.id", "x", VarDef{Writable: true, Type: "STRING:4"})
	s.AddCommand("dummy", "beeper.toggle", "")
	s.AddUser("setter", User{Password: "p", Actions: []string{"SET"}, InstCmds: []string{"beeper.toggle"}})
	s.AddUser("mon", User{Password: "p", Upsmon: "secondary"})
	c := dialRaw(t, s.Addr())
	c.ask("USERNAME setter")
	c.ask("PASSWORD p")
	assert.Equal(t, []string{"OK"}, c.ask(`SET VAR dummy ups.id "ab"`))
	assert.Equal(t, []string{"ERR TOO-LONG"}, c.ask(`SET VAR dummy ups.id "abcde"`))
	assert.Equal(t, []string{"ERR READONLY"}, c.ask(`SET VAR dummy ups.mfr "x"`))
	assert.Equal(t, []string{"OK"}, c.ask("INSTCMD dummy beeper.toggle"))
	assert.Equal(t, []string{"ERR ACCESS-DENIED"}, c.ask("LOGIN dummy"))
	assert.Equal(t, []string{"ERR INVALID-ARGUMENT"}, c.ask("SET TRACKING MAYBE"))
	assert.Equal(t, []string{"OK"}, c.ask("SET TRACKING ON"))
	reply := c.ask("INSTCMD dummy beeper.toggle")
	require.Len(t, reply, 1)
	id, ok := strings.CutPrefix(reply[0], "OK TRACKING ")
	require.True(t, ok, reply[0])
	assert.Equal(t, []string{"SUCCESS"}, c.ask("GET TRACKING "+id))
	assert.Equal(t, []string{"dummy beeper.toggle", "dummy beeper.toggle"}, s.InstCmds())

	m := dialRaw(t, s.Addr())
	m.ask("USERNAME mon")
	m.ask("PASSWORD p")
	assert.Equal(t, []string{"OK"}, m.ask("LOGIN dummy"))
	assert.Equal(t, []string{"ERR ACCESS-DENIED"}, m.ask("PRIMARY dummy"), "secondary")
	assert.Equal(t, []string{"NUMLOGINS dummy 1"}, c.ask("GET NUMLOGINS dummy"))
	assert.Equal(t, []string{"BEGIN LIST CLIENT dummy", "CLIENT dummy 127.0.0.1", "END LIST CLIENT dummy"}, c.ask("LIST CLIENT dummy"))
}

func TestEmptySet(t *testing.T) {
	t.Parallel()
	for _, deletes := range []bool{false, true} {
		var opts []Option
		if deletes {
			opts = append(opts, WithEmptySetDeletes())
		}
		s := newTestServer(t, opts...)
		s.Define("dummy", "ups.id", "x", VarDef{Writable: true})
		s.AddUser("a", User{Password: "p", Actions: []string{"SET"}})
		c := dialRaw(t, s.Addr())
		c.ask("USERNAME a")
		c.ask("PASSWORD p")
		assert.Equal(t, []string{"OK"}, c.ask(`SET VAR dummy ups.id ""`))
		want := `VAR dummy ups.id ""`
		if deletes {
			want = "ERR VAR-NOT-SUPPORTED"
		}
		assert.Equal(t, []string{want}, c.ask("GET VAR dummy ups.id"))
	}
}

// FuzzSplitRequest checks that the request parser never panics and that a
// line it accepts yields words without unescaped structure.
func FuzzSplitRequest(f *testing.F) {
	for _, s := range []string{`GET VAR dummy ups.status`, `SET VAR d v "a \"b\" \\ \#"`, `GET VAR d "a#b"`, `x # comment`, `"`, `\`, "\r\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		words, err := splitRequest(line)
		if err == nil && len(words) > len(line)+1 {
			t.Fatalf("%d words from %d bytes", len(words), len(line))
		}
	})
}

// The harness shape every fake of the SDK shares: Start, Addr, Requests,
// SetLatency, Inject, ClearFaults, Close.
func TestHarness(t *testing.T) {
	t.Parallel()
	s := Start(t, nil)
	s.AddUPS("dummy", "", DefaultVars())
	c := dialRaw(t, s.Addr())
	assert.Equal(t, []string{"OK"}, c.ask("USERNAME admin"))
	assert.Equal(t, []string{"OK"}, c.ask("PASSWORD hunter2"))
	assert.Equal(t, []string{`VAR dummy ups.status "OL"`}, c.ask("get var dummy ups.status"))
	reqs := s.Requests()
	require.Len(t, reqs, 3)
	assert.Equal(t, "USERNAME", reqs[0].Method)
	assert.Equal(t, []string{"REDACTED"}, reqs[1].Args, "the request log never holds a password")
	assert.Equal(t, "GET", reqs[2].Method)
	assert.Equal(t, []string{"var", "dummy", "ups.status"}, reqs[2].Args)
	assert.False(t, reqs[2].Time.IsZero())
	reqs[0].Method = "changed"
	assert.Equal(t, "USERNAME", s.Requests()[0].Method, "Requests returns a copy")

	// A fault limited to a verb and a number of times.
	s.Inject(Fault{Kind: HugeLine, Verb: "get", Times: 1})
	assert.Equal(t, []string{"1.3"}, c.ask("NETVER"), "other verbs are untouched")
	assert.Len(t, c.ask("GET VAR dummy ups.status")[0], 1<<20)
	assert.Equal(t, []string{`VAR dummy ups.status "OL"`}, c.ask("GET VAR dummy ups.status"), "Times: 1 is spent")

	s.Inject(Fault{Kind: Garbage})
	assert.Contains(t, c.ask("NETVER")[0], "garbage")
	c.line()
	s.ClearFaults()
	assert.Equal(t, []string{"1.3"}, c.ask("NETVER"))

	s.SetLatency(50 * time.Millisecond)
	start := time.Now()
	c.ask("NETVER")
	assert.GreaterOrEqual(t, time.Since(start), 50*time.Millisecond)
	s.SetLatency(0)

	s.Inject(Fault{Kind: Refuse, Times: 1})
	refused, err := net.Dial("tcp", s.Addr())
	require.NoError(t, err)
	_ = refused.SetReadDeadline(time.Now().Add(2 * time.Second))
	_, err = refused.Read(make([]byte, 1))
	assert.Error(t, err, "the refused connection is closed")
	_ = refused.Close()
	assert.Equal(t, []string{"1.3"}, dialRaw(t, s.Addr()).ask("NETVER"), "Times: 1 is spent")

	s.Close()
	s.Close()
}

// EndlessList streams LIST items without end: a client must cap it.
func TestEndlessList(t *testing.T) {
	t.Parallel()
	s := newTestServer(t)
	s.Inject(Fault{Kind: EndlessList, Verb: "LIST", Times: 1})
	c := dialRaw(t, s.Addr())
	c.send("LIST VAR dummy")
	assert.Equal(t, "BEGIN LIST VAR dummy", c.line())
	for range 10000 {
		assert.Equal(t, `VAR dummy ups.status "OL"`, c.line())
	}
}

func TestSelfSignedTLS(t *testing.T) {
	t.Parallel()
	s := Start(t, WithSelfSignedTLS())
	fp := s.Fingerprint()
	require.True(t, strings.HasPrefix(fp, "sha256:"), fp)
	c := dialRaw(t, s.Addr())
	assert.Equal(t, []string{"OK STARTTLS"}, c.ask("STARTTLS"))
	var seen string
	tc := tls.Client(c.conn, &tls.Config{InsecureSkipVerify: true, VerifyConnection: func(cs tls.ConnectionState) error {
		seen = fakeserver.Fingerprint(cs.PeerCertificates[0].Raw)
		return nil
	}})
	require.NoError(t, tc.Handshake())
	assert.Equal(t, fp, seen)
	_ = tc.Close()
	assert.Empty(t, Start(t).Fingerprint())
}
