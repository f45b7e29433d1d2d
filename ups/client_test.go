package ups_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/thehomelab/homelab/secret"
	"github.com/thehomelab/homelab/ups"
	"github.com/thehomelab/homelab/ups/upstest"
)

const (
	adminPass = "adminpass"
	monPass   = "monpass"
)

// newFake starts an upstest server with one UPS "ups" (the CI rig's
// variables), a second UPS "spare", users admin and monuser, and stops it in
// t.Cleanup.
func newFake(t testing.TB, opts ...upstest.Option) *upstest.Server {
	t.Helper()
	s := upstest.NewServer(opts...)
	t.Cleanup(s.Close)
	s.AddUPS("ups", "PowerWalker VI 1000 STL", upstest.DefaultVars())
	s.AddUPS("spare", "", map[string]string{"ups.status": "OL CHRG"})
	s.Define("ups", "ups.id", "rack", upstest.VarDef{Writable: true, Type: "STRING:16", Description: "UPS system identifier"})
	s.Define("ups", "input.transfer.low", "170", upstest.VarDef{Writable: true, Type: "NUMBER", Ranges: [][2]string{{"160", "180"}, {"190", "200"}}})
	s.Define("ups", "ups.beeper.status", "enabled", upstest.VarDef{Writable: true, Type: "STRING:16", Enum: []string{"enabled", "disabled"}})
	s.AddCommand("ups", "load.off", "Turn off the load immediately")
	s.AddCommand("ups", "shutdown.return", "Turn off the load and return when power is back")
	s.AddUser("admin", upstest.User{Password: adminPass, Actions: []string{"SET", "FSD"}, InstCmds: []string{"ALL"}})
	s.AddUser("monuser", upstest.User{Password: monPass, Upsmon: "primary"})
	return s
}

func dial(t testing.TB, s *upstest.Server, opts ...ups.Option) *ups.Client {
	t.Helper()
	c, err := ups.Dial(context.Background(), s.Addr(), opts...)
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// assertCode checks that err is an *ups.Error with code.
func assertCode(t *testing.T, err error, code ups.Code, msgAndArgs ...any) bool {
	t.Helper()
	var e *ups.Error
	if !assert.ErrorAs(t, err, &e, msgAndArgs...) {
		return false
	}
	return assert.Equal(t, code, e.Code, msgAndArgs...)
}

// isCode reports whether err is an *ups.Error with code.
func isCode(err error, code ups.Code) bool {
	var e *ups.Error
	return errors.As(err, &e) && e.Code == code
}

func admin() ups.Option { return ups.WithCredentials("admin", secret.New(adminPass)) }

func TestReadEverything(t *testing.T) {
	t.Parallel()
	s := newFake(t)
	c := dial(t, s)
	ctx := t.Context()
	d := c.Device("ups")

	v, err := c.Version(ctx)
	require.NoError(t, err)
	assert.Contains(t, v, "upsd")
	pv, err := c.ProtocolVersion(ctx)
	require.NoError(t, err)
	assert.Equal(t, "1.3", pv)

	devs, err := c.Devices(ctx)
	require.NoError(t, err)
	assert.Equal(t, []ups.DeviceInfo{{Name: "spare", Description: "Unavailable"}, {Name: "ups", Description: "PowerWalker VI 1000 STL"}}, devs)

	vars, err := d.Variables(ctx)
	require.NoError(t, err)
	assert.Len(t, vars, len(upstest.DefaultVars())+3)
	for name, want := range upstest.DefaultVars() {
		got, ok := vars.Get(name)
		assert.True(t, ok, name)
		assert.Equal(t, want, got, name)
	}
	snap := vars.Snapshot()
	assert.True(t, snap.Status.Has(ups.OnLine))
	assert.Equal(t, ups.Some(100.0), snap.Charge)
	assert.Equal(t, ups.Some(20*time.Minute), snap.Runtime)
	assert.Equal(t, ups.Some(230.0), snap.InputVoltage)
	assert.Equal(t, ups.Some(25.0), snap.Load)

	live, err := d.Snapshot(ctx)
	require.NoError(t, err)
	assert.Equal(t, snap, live)

	st, err := d.Status(ctx)
	require.NoError(t, err)
	assert.Equal(t, "OL", st.String())

	typ, err := d.Type(ctx, "ups.id")
	require.NoError(t, err)
	assert.Equal(t, ups.VarType{Writable: true, StringMax: 16}, typ)
	typ, err = d.Type(ctx, "input.transfer.low")
	require.NoError(t, err)
	assert.Equal(t, ups.VarType{Writable: true, Range: true, Number: true}, typ)

	desc, err := d.VariableDescription(ctx, "ups.id")
	require.NoError(t, err)
	assert.Equal(t, "UPS system identifier", desc)
	desc, err = d.VariableDescription(ctx, "ups.load")
	require.NoError(t, err)
	assert.Equal(t, "Unavailable", desc)
	cdesc, err := d.CommandDescription(ctx, "load.off")
	require.NoError(t, err)
	assert.Equal(t, "Turn off the load immediately", cdesc)
	udesc, err := d.Description(ctx)
	require.NoError(t, err)
	assert.Equal(t, "PowerWalker VI 1000 STL", udesc)

	cmds, err := d.Commands(ctx)
	require.NoError(t, err)
	assert.Equal(t, []string{"load.off", "shutdown.return"}, cmds)

	rw, err := d.Writable(ctx)
	require.NoError(t, err)
	assert.Len(t, rw, 3)

	enum, err := d.Enum(ctx, "ups.beeper.status")
	require.NoError(t, err)
	assert.Equal(t, []string{"enabled", "disabled"}, enum)
	enum, err = d.Enum(ctx, "ups.id")
	require.NoError(t, err)
	assert.Empty(t, enum)
	ranges, err := d.Ranges(ctx, "input.transfer.low")
	require.NoError(t, err)
	assert.Equal(t, []ups.Range{{Min: 160, Max: 180}, {Min: 190, Max: 200}}, ranges)

	n, err := d.NumLogins(ctx)
	require.NoError(t, err)
	assert.Zero(t, n)
	clients, err := d.Clients(ctx)
	require.NoError(t, err)
	assert.Empty(t, clients)
}

func TestMissingVariablesAreAbsent(t *testing.T) {
	t.Parallel()
	s := newFake(t)
	s.Set("ups", "battery.runtime", "") // a Q1 PowerWalker reports no runtime
	c := dial(t, s)
	snap, err := c.Device("ups").Snapshot(t.Context())
	require.NoError(t, err)
	assert.False(t, snap.Runtime.Valid)
	assert.True(t, snap.Charge.Valid)
	_, err = c.Device("ups").Get(t.Context(), "battery.runtime")
	assertCode(t, err, ups.CodeVarNotSupported)
	assert.ErrorIs(t, err, ups.ErrNotFound)
}

func TestQuotingRoundTrip(t *testing.T) {
	t.Parallel()
	s := newFake(t)
	s.Define("ups", "ups.serial", "x", upstest.VarDef{Writable: true, Type: "STRING:64"})
	c := dial(t, s, admin())
	d := c.Device("ups")
	for _, val := range []string{`plain`, `two words`, `A "q" \ z`, `rack #3`, `#`, `\`, `"`, `tab	in`, `ünïcode`} {
		err := d.Set(t.Context(), "ups.serial", val)
		require.NoError(t, err, val)
		got, err := d.Get(t.Context(), "ups.serial")
		require.NoError(t, err, val)
		assert.Equal(t, val, got)
	}
	err := d.Set(t.Context(), "ups.serial", "line\nbreak")
	assertCode(t, err, ups.CodeInvalidArgument)
}

func TestServerErrors(t *testing.T) {
	t.Parallel()
	s := newFake(t)
	s.AddUPS("down", "", map[string]string{"ups.status": "OL"})
	s.SetDriver("down", upstest.Down)
	s.AddUPS("stale", "", map[string]string{"ups.status": "OB"})
	s.SetDriver("stale", upstest.Stale)
	ctx := t.Context()
	anon := dial(t, s)
	adm := dial(t, s, admin())
	wrong := dial(t, s, ups.WithCredentials("admin", secret.New("nope")))
	mon := dial(t, s, ups.WithCredentials("monuser", secret.New(monPass)))

	run := func(f func() error) func() error { return f }
	_ = run
	tests := []struct {
		name string
		call func() error
		want []error
		code ups.Code
	}{
		{"unknown ups", func() error { _, err := anon.Device("nosuch").Get(ctx, "ups.status"); return err }, []error{ups.ErrUnknownUPS, ups.ErrNotFound}, "UNKNOWN-UPS"},
		{"unknown var", func() error { _, err := anon.Device("ups").Get(ctx, "nope"); return err }, []error{ups.ErrNotFound}, "VAR-NOT-SUPPORTED"},
		{"wrong password fsd", func() error { return wrong.Device("ups").FSD(ctx) }, []error{ups.ErrAccessDenied, ups.ErrPermission}, "ACCESS-DENIED"},
		{"upsmon user set", func() error { return mon.Device("ups").Set(ctx, "ups.id", "x") }, []error{ups.ErrAccessDenied}, "ACCESS-DENIED"},
		{"admin login", func() error { return adm.Device("ups").Login(ctx) }, []error{ups.ErrAccessDenied}, "ACCESS-DENIED"},
		{"no username", func() error { return anon.Device("ups").FSD(ctx) }, []error{ups.ErrAuth}, "USERNAME-REQUIRED"},
		{"readonly", func() error { return adm.Device("ups").Set(ctx, "ups.model", "x") }, []error{ups.ErrPermission}, "READONLY"},
		{"too long", func() error { return adm.Device("ups").Set(ctx, "ups.id", strings.Repeat("x", 17)) }, []error{ups.ErrInvalid}, "TOO-LONG"},
		{"not in enum", func() error { return adm.Device("ups").Set(ctx, "ups.beeper.status", "loud") }, []error{ups.ErrInvalid}, "INVALID-VALUE"},
		{"out of range", func() error { return adm.Device("ups").Set(ctx, "input.transfer.low", "185") }, []error{ups.ErrInvalid}, "INVALID-VALUE"},
		{"unknown cmd", func() error { _, err := adm.Device("ups").StartInstCmd(ctx, "nosuch.cmd"); return err }, []error{ups.ErrNotFound}, "CMD-NOT-SUPPORTED"},
		{"fsd unknown ups", func() error { return adm.Device("nosuch").FSD(ctx) }, []error{ups.ErrUnknownUPS}, "UNKNOWN-UPS"},
		{"driver down", func() error { _, err := anon.Device("down").Snapshot(ctx); return err }, []error{ups.ErrDriverNotConnected, ups.ErrUnavailable}, "DRIVER-NOT-CONNECTED"},
		{"driver down list", func() error { _, err := anon.Device("down").Variables(ctx); return err }, []error{ups.ErrDriverNotConnected}, "DRIVER-NOT-CONNECTED"},
		{"stale", func() error { _, err := anon.Device("stale").Status(ctx); return err }, []error{ups.ErrDataStale, ups.ErrUnavailable}, "DATA-STALE"},
		{"tracking off", func() error { _, err := anon.Tracking(ctx, "X"); return err }, []error{ups.ErrUnavailable}, "FEATURE-NOT-CONFIGURED"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			require.Error(t, err)
			for _, w := range tt.want {
				assert.ErrorIs(t, err, w)
			}
			var e *ups.Error
			require.ErrorAs(t, err, &e)
			assert.Equal(t, tt.code, e.Code)
			assert.NotEmpty(t, e.Op)
			assert.True(t, strings.HasPrefix(err.Error(), "ups: "), err.Error())
		})
	}
	// The connection stays usable after every ERR.
	_, err := anon.Device("ups").Status(ctx)
	assert.NoError(t, err)
	assert.Equal(t, 4, s.Accepted(), "no reconnect after ERR replies")
}

func TestUpsmonSession(t *testing.T) {
	t.Parallel()
	s := newFake(t)
	c := dial(t, s, ups.WithCredentials("monuser", secret.New(monPass)))
	d := c.Device("ups")
	ctx := t.Context()
	require.NoError(t, d.Login(ctx))
	require.NoError(t, d.Primary(ctx))
	assertCode(t, d.Login(ctx), ups.CodeAlreadyLoggedIn)
	n, err := d.NumLogins(ctx)
	require.NoError(t, err)
	assert.Equal(t, 1, n)
	cl, err := d.Clients(ctx)
	require.NoError(t, err)
	assert.Equal(t, []netip.Addr{netip.MustParseAddr("127.0.0.1")}, cl)

	// FSD latches until upsd restarts.
	require.NoError(t, d.FSD(ctx))
	st, err := d.Status(ctx)
	require.NoError(t, err)
	assert.True(t, st.Has(ups.ForcedShutdown|ups.OnLine), st.String())
	assert.Equal(t, "FSD OL", st.String())
	assert.True(t, s.FSDSet("ups"))

	// A dropped connection is redialled and the session (LOGIN, PRIMARY) is
	// restored: NUMLOGINS is back to 1, not 0. PRIMARY asked again is
	// repeated once, not once per call.
	require.NoError(t, d.Primary(ctx))
	require.NoError(t, c.Device("UPS").Primary(ctx))
	s.DropConnections()
	before := len(s.Requests())
	n, err = d.NumLogins(ctx)
	require.NoError(t, err)
	assert.Equal(t, 1, n)
	assert.Equal(t, 2, s.Accepted())
	assert.Equal(t, 5, len(s.Requests())-before, "USERNAME, PASSWORD, LOGIN, PRIMARY, GET NUMLOGINS")

	s.Restart()
	st, err = d.Status(ctx)
	require.NoError(t, err)
	assert.Equal(t, "OL", st.String())
}

func TestInstCmdAndTracking(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	now := time.Unix(1_700_000_000, 0)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	s := newFake(t, upstest.WithClock(clock), upstest.WithSetDelay(2*time.Second))
	c := dial(t, s, admin(), ups.WithTracking())
	d := c.Device("ups")
	ctx := t.Context()

	job, err := d.StartSet(ctx, "ups.id", "shelf")
	require.NoError(t, err)
	require.True(t, job.Tracked())
	got, err := d.Get(ctx, "ups.id")
	require.NoError(t, err)
	assert.Equal(t, "rack", got, "upsd applies SET asynchronously")
	done, err := c.Tracking(ctx, job.ID)
	require.NoError(t, err)
	assert.False(t, done)
	mu.Lock()
	now = now.Add(3 * time.Second)
	mu.Unlock()
	require.NoError(t, job.Wait(ctx))
	got, err = d.Get(ctx, "ups.id")
	require.NoError(t, err)
	assert.Equal(t, "shelf", got)

	job, err = d.StartInstCmd(ctx, "shutdown.return")
	require.NoError(t, err)
	mu.Lock()
	now = now.Add(3 * time.Second)
	mu.Unlock()
	require.NoError(t, job.Wait(ctx))
	_, err = d.StartInstCmd(ctx, "load.off", "5")
	require.NoError(t, err)
	assert.Equal(t, []string{"ups shutdown.return", "ups load.off 5"}, s.InstCmds()[:2])

	_, err = c.Tracking(ctx, "00000000-0000-0000-0000-000000000000")
	assertCode(t, err, ups.CodeTrackingUnknown)

	s.FailCommand("ups", "load.off")
	job, err = d.StartInstCmd(ctx, "load.off")
	require.NoError(t, err, "upsd accepts the command; the driver fails it later")
	mu.Lock()
	now = now.Add(3 * time.Second)
	mu.Unlock()
	assertCode(t, job.Wait(ctx), ups.CodeTrackingFailed)

	// Without WithTracking, jobs are untracked and Wait returns at once.
	plain := dial(t, s, admin())
	job, err = plain.Device("ups").StartInstCmd(ctx, "load.off")
	require.NoError(t, err)
	assert.False(t, job.Tracked())
	assert.NoError(t, job.Wait(ctx))
}

func TestReconnectAfterIdleCutoff(t *testing.T) {
	t.Parallel()
	// 1 s, not 100 ms: a client starved that long between its dial and its
	// first line (a loaded race run) would be cut mid-call and dial once
	// more than counted below.
	s := newFake(t, upstest.WithIdleTimeout(time.Second))
	c := dial(t, s, ups.WithKeepAlive(0), admin())
	d := c.Device("ups")
	_, err := d.Status(t.Context())
	require.NoError(t, err)
	require.Eventually(t, func() bool { return s.Connections() == 0 }, 20*time.Second, 10*time.Millisecond)
	st, err := d.Status(t.Context())
	require.NoError(t, err, "transparent reconnect")
	assert.True(t, st.Has(ups.OnLine))
	assert.Equal(t, 2, s.Accepted())
	// The new connection is authenticated again: SET needs USERNAME and
	// PASSWORD on this connection, else upsd says USERNAME-REQUIRED.
	require.Eventually(t, func() bool { return s.Connections() == 0 }, 20*time.Second, 10*time.Millisecond)
	err = d.Set(t.Context(), "ups.id", "after cutoff")
	require.NoError(t, err, "re-authenticated after the idle cutoff")
	assert.Equal(t, 3, s.Accepted())
}

func TestKeepAliveBeatsIdleCutoff(t *testing.T) {
	t.Parallel()
	// Generous margins: the cutoff must not fire even on a starved CI machine.
	s := newFake(t, upstest.WithIdleTimeout(1500*time.Millisecond))
	c := dial(t, s, ups.WithKeepAlive(100*time.Millisecond))
	timer := time.NewTimer(3 * time.Second)
	<-timer.C
	_, err := c.Device("ups").Status(t.Context())
	require.NoError(t, err)
	assert.Equal(t, 1, s.Accepted(), "the keep-alive kept the first connection")
	assert.Greater(t, len(s.Requests()), 3)
}

func TestContextReachesSocket(t *testing.T) {
	t.Parallel()
	s := newFake(t)
	c := dial(t, s)
	s.Inject(upstest.Fault{Kind: upstest.Hang})
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := c.Device("ups").Status(ctx)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Less(t, time.Since(start), 2*time.Second)

	ctx, cancel = context.WithCancel(t.Context())
	time.AfterFunc(50*time.Millisecond, cancel)
	_, err = c.Device("ups").Variables(ctx)
	assert.ErrorIs(t, err, context.Canceled)

	s.ClearFaults()
	_, err = c.Device("ups").Status(t.Context())
	assert.NoError(t, err, "the client recovers on a new connection")

	// A client-wide timeout applies when the context has none.
	s.Inject(upstest.Fault{Kind: upstest.Hang})
	short := dial(t, s, ups.WithTimeout(80*time.Millisecond))
	_, err = short.Device("ups").Status(context.Background())
	assert.ErrorIs(t, err, context.DeadlineExceeded)
}

func TestBadServers(t *testing.T) {
	t.Parallel()
	tests := []struct {
		fault upstest.FaultKind
		want  ups.Code
	}{
		{upstest.CloseMidReply, ""},
		{upstest.Garbage, ups.CodeProtocol},
		{upstest.HugeLine, ups.CodeTooLarge},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.fault), func(t *testing.T) {
			t.Parallel()
			s := newFake(t)
			c := dial(t, s)
			s.Inject(upstest.Fault{Kind: tt.fault})
			done := make(chan error, 1)
			go func() { _, err := c.Device("ups").Variables(t.Context()); done <- err }()
			var err error
			select {
			case err = <-done:
			case <-time.After(5 * time.Second):
				t.Fatal("hang")
			}
			require.Error(t, err)
			var e *ups.Error
			assert.ErrorAs(t, err, &e)
			if tt.want != "" {
				assertCode(t, err, tt.want)
			}
			s.ClearFaults()
			_, err = c.Device("ups").Variables(t.Context())
			assert.NoError(t, err)
		})
	}
}

func TestConcurrentUse(t *testing.T) {
	t.Parallel()
	s := newFake(t)
	c := dial(t, s, admin())
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d := c.Device("ups")
			for i := range 30 {
				switch (g + i) % 3 {
				case 0:
					st, err := d.Status(t.Context())
					assert.NoError(t, err)
					assert.True(t, st.Has(ups.OnLine))
				case 1:
					v, err := d.Variables(t.Context())
					assert.NoError(t, err)
					assert.NotEmpty(t, v)
				default:
					err := d.Set(t.Context(), "ups.id", fmt.Sprint(g))
					assert.NoError(t, err)
				}
			}
		}()
	}
	wg.Wait()
	assert.Equal(t, 1, s.Accepted())
	require.NoError(t, c.Close())
	require.NoError(t, c.Close(), "Close is idempotent")
	_, err := c.Device("ups").Status(t.Context())
	assert.ErrorIs(t, err, ups.ErrClosed)
}

func TestSecretNeverLeaks(t *testing.T) {
	t.Parallel()
	const pw = "hunter2-very-secret"
	s := newFake(t)
	s.AddUser("leaky", upstest.User{Password: pw, Actions: []string{"SET"}})
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	c := dial(t, s, ups.WithLogger(logger), ups.WithCredentials("leaky", secret.New(pw)))
	err := c.Device("ups").FSD(t.Context())
	require.ErrorIs(t, err, ups.ErrAccessDenied)
	s.DropConnections()
	_ = c.Device("ups").Set(t.Context(), "ups.id", "x")
	out := logs.String() + err.Error() + fmt.Sprintf("%v %+v %#v", c, c, c)
	assert.NotEmpty(t, logs.String())
	assert.NotContains(t, out, pw)
	assert.Contains(t, fmt.Sprintf("%v", secret.New(pw)), "REDACTED")
}

func TestLoginWithoutRightsAndWrongPassword(t *testing.T) {
	t.Parallel()
	s := newFake(t)
	c := dial(t, s, ups.WithCredentials("monuser", secret.New("wrong")))
	err := c.Device("ups").Login(t.Context())
	assert.ErrorIs(t, err, ups.ErrAccessDenied)
	assert.ErrorIs(t, c.Device("ups").Primary(t.Context()), ups.ErrAccessDenied)
}

func selfSigned(t *testing.T) (tls.Certificate, string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "upsd"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	sum := sha256.Sum256(der)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, "sha256:" + hex.EncodeToString(sum[:])
}

func TestStartTLS(t *testing.T) {
	t.Parallel()
	cert, fp := selfSigned(t)
	s := newFake(t, upstest.WithTLS(cert))
	c := dial(t, s, ups.WithFingerprint(fp), admin())
	err := c.Device("ups").Set(t.Context(), "ups.id", "over tls")
	require.NoError(t, err)
	s.DropConnections() // the redial repeats STARTTLS before the credentials
	got, err := c.Device("ups").Get(t.Context(), "ups.id")
	require.NoError(t, err)
	assert.Equal(t, "over tls", got)

	_, err = ups.Dial(t.Context(), s.Addr(), ups.WithFingerprint("sha256:"+strings.Repeat("00", 32)))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "does not match pinned")

	plain := newFake(t)
	_, err = ups.Dial(t.Context(), plain.Addr(), ups.WithFingerprint(fp))
	assertCode(t, err, ups.CodeFeatureNotConfigured)

	_, err = ups.Dial(t.Context(), plain.Addr(), ups.WithFingerprint("nonsense"))
	assert.Error(t, err)
}

// Plain text after "OK STARTTLS" and before the handshake (the TLS client
// speaks first, so upsd never sends any) is refused, not dropped with the
// read buffer: it is somebody injecting into the plain connection.
func TestStartTLSRefusesBytesBeforeTheHandshake(t *testing.T) {
	t.Parallel()
	_, fp := selfSigned(t)
	conn := scripted(t, map[string]string{"STARTTLS": "OK STARTTLS\nOK"})
	c, err := ups.NewClient(conn, ups.WithFingerprint(fp), ups.WithKeepAlive(0))
	if err == nil { // NewClient may leave the setup to the first call
		t.Cleanup(func() { _ = c.Close() })
		_, err = c.Devices(t.Context())
	}
	require.True(t, assertCode(t, err, ups.CodeProtocol))
	assert.Contains(t, err.Error(), "3 bytes after OK STARTTLS")
}

// scripted serves canned replies over net.Pipe, for servers upstest does not
// imitate (a pre-1.3 upsd without PRIMARY).
func scripted(t *testing.T, replies map[string]string) net.Conn {
	t.Helper()
	a, b := net.Pipe()
	t.Cleanup(func() { _ = a.Close(); _ = b.Close() })
	go func() {
		r := bufio.NewReader(b)
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return
			}
			reply, ok := replies[strings.TrimSpace(line)]
			if !ok {
				reply = "ERR UNKNOWN-COMMAND"
			}
			if _, err := b.Write([]byte(reply + "\n")); err != nil {
				return
			}
		}
	}()
	return a
}

func TestNewClientLegacyMaster(t *testing.T) {
	t.Parallel()
	conn := scripted(t, map[string]string{
		"USERNAME mon": "OK", "PASSWORD pw": "OK", "MASTER old": "OK",
		"LIST UPS": "BEGIN LIST UPS\nUPS old \"Old \\\"upsd\\\" #1\"\nEND LIST UPS",
	})
	c, err := ups.NewClient(conn, ups.WithCredentials("mon", secret.New("pw")), ups.WithKeepAlive(0))
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	require.NoError(t, c.Device("old").Primary(t.Context()))
	devs, err := c.Devices(t.Context())
	require.NoError(t, err)
	assert.Equal(t, []ups.DeviceInfo{{Name: "old", Description: `Old "upsd" #1`}}, devs)

	_ = conn.Close()
	_, err = c.Devices(t.Context())
	require.Error(t, err, "a NewClient client cannot redial")
	assert.False(t, errors.Is(err, context.DeadlineExceeded))
}

func TestOptionsValidate(t *testing.T) {
	t.Parallel()
	for _, o := range []ups.Option{
		ups.WithCredentials("", secret.New("x")), ups.WithKeepAlive(-1),
		ups.WithTimeout(0), ups.WithMaxLineLength(1), ups.WithRootCAs(nil), ups.WithFingerprint("zz"),
	} {
		_, err := ups.Dial(t.Context(), "127.0.0.1:1", o)
		assert.Error(t, err)
	}
	_, err := ups.NewClient(nil)
	assert.Error(t, err)
}

func TestCloseInterruptsCallInFlight(t *testing.T) {
	t.Parallel()
	s := newFake(t)
	c := dial(t, s, ups.WithTimeout(30*time.Second))
	s.Inject(upstest.Fault{Kind: upstest.Hang})
	done := make(chan error, 1)
	go func() { _, err := c.Device("ups").Status(context.Background()); done <- err }()
	require.Eventually(t, func() bool { return len(s.Requests()) >= 1 }, 2*time.Second, 5*time.Millisecond)
	start := time.Now()
	require.NoError(t, c.Close())
	select {
	case err := <-done:
		assert.ErrorIs(t, err, ups.ErrClosed)
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not interrupt the call")
	}
	assert.Less(t, time.Since(start), 2*time.Second)
}

func TestNoGoroutineOutlivesClose(t *testing.T) {
	t.Parallel()
	// synctest fails the test if a goroutine started in the bubble is still
	// blocked when the bubble's main function returns.
	synctest.Test(t, func(t *testing.T) {
		a, b := net.Pipe()
		defer b.Close()
		go func() { // a minimal upsd: answers NETVER until the pipe closes
			r := bufio.NewReader(b)
			for {
				if _, err := r.ReadString('\n'); err != nil {
					return
				}
				if _, err := b.Write([]byte("1.3\n")); err != nil {
					return
				}
			}
		}()
		c, err := ups.NewClient(a, ups.WithKeepAlive(time.Second))
		require.NoError(t, err)
		time.Sleep(5 * time.Second) // fake time: several keep-alive pings
		v, err := c.ProtocolVersion(t.Context())
		require.NoError(t, err)
		assert.Equal(t, "1.3", v)
		require.NoError(t, c.Close())
		synctest.Wait()
	})
}

func TestLogoutRefuseAndRootCAs(t *testing.T) {
	t.Parallel()
	s := newFake(t)
	c, err := ups.Dial(t.Context(), s.Addr())
	require.NoError(t, err)
	require.NoError(t, c.Logout(t.Context()))
	_, err = c.Version(t.Context())
	assert.ErrorIs(t, err, ups.ErrClosed)

	s.Inject(upstest.Fault{Kind: upstest.Refuse})
	c2, err := ups.Dial(t.Context(), s.Addr(), admin())
	if err == nil { // the refusal shows on the first exchange when Dial has nothing to set up
		_, err = c2.Version(t.Context())
		_ = c2.Close()
	}
	require.Error(t, err)
	var e *ups.Error
	assert.ErrorAs(t, err, &e)

	cert, _ := selfSigned(t)
	leaf, err := x509.ParseCertificate(cert.Certificate[0])
	require.NoError(t, err)
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	tlsSrv := newFake(t, upstest.WithTLS(cert))
	c3 := dial(t, tlsSrv, ups.WithRootCAs(pool))
	_, err = c3.Device("ups").Status(t.Context())
	assert.NoError(t, err)
	_, err = ups.Dial(t.Context(), tlsSrv.Addr(), ups.WithStartTLS()) // system roots do not know it
	assert.Error(t, err)
}

func TestUnknownErrorCode(t *testing.T) {
	t.Parallel()
	conn := scripted(t, map[string]string{"GET VAR u x": "ERR SOMETHING-NEW with words", "GET VAR u y": "VAR u y"})
	c, err := ups.NewClient(conn, ups.WithKeepAlive(0))
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	_, err = c.Device("u").Get(t.Context(), "x")
	var e *ups.Error
	require.ErrorAs(t, err, &e)
	assert.Equal(t, ups.Code("SOMETHING-NEW"), e.Code)
	assert.Equal(t, "with words", e.Message)
	assert.Equal(t, "ups: get var u x: server said SOMETHING-NEW with words", err.Error())
	assert.NotErrorIs(t, err, ups.ErrNotFound)
	_, err = c.Device("u").Get(t.Context(), "y")
	assertCode(t, err, ups.CodeProtocol, "a VAR reply without a value")
}

// cutOnce listens on 127.0.0.1 and answers LIST VAR ups: the first
// connection gets BEGIN and two items, then the server closes it; later
// connections get the whole list. It counts connections.
func cutOnce(t *testing.T) (addr string, conns func() int) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	var mu sync.Mutex
	n := 0
	var wg sync.WaitGroup
	t.Cleanup(func() { _ = ln.Close(); wg.Wait() })
	full := "BEGIN LIST VAR ups\nVAR ups a \"1\"\nVAR ups b \"2\"\nVAR ups c \"3\"\nEND LIST VAR ups\n"
	cut := "BEGIN LIST VAR ups\nVAR ups a \"1\"\nVAR ups b \"2\"\n"
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			n++
			first := n == 1
			mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				r := bufio.NewReader(c)
				for {
					if _, err := r.ReadString('\n'); err != nil {
						return
					}
					if first {
						_, _ = c.Write([]byte(cut))
						return
					}
					if _, err := c.Write([]byte(full)); err != nil {
						return
					}
				}
			}()
		}
	}()
	return ln.Addr().String(), func() int { mu.Lock(); defer mu.Unlock(); return n }
}

func TestListCutOffIsReadAgainWithoutDuplicates(t *testing.T) {
	t.Parallel()
	addr, conns := cutOnce(t)
	c, err := ups.Dial(t.Context(), addr, ups.WithKeepAlive(0))
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	vars, err := c.Device("ups").Variables(t.Context())
	require.NoError(t, err, "the cut list is read again on a fresh connection")
	assert.Equal(t, ups.Variables{{Name: "a", Value: "1"}, {Name: "b", Value: "2"}, {Name: "c", Value: "3"}}, vars,
		"the items of the cut-off attempt are not kept")
	assert.Equal(t, 2, conns())
}

func TestServerClosingMidListIsTyped(t *testing.T) {
	t.Parallel()
	// A client made by NewClient cannot redial, so the truncated reply shows.
	a, b := net.Pipe()
	t.Cleanup(func() { _ = a.Close(); _ = b.Close() })
	go func() {
		r := bufio.NewReader(b)
		if _, err := r.ReadString('\n'); err != nil {
			return
		}
		_, _ = b.Write([]byte("BEGIN LIST VAR ups\nVAR ups a \"1\"\n"))
		_ = b.Close()
	}()
	c, err := ups.NewClient(a, ups.WithKeepAlive(0))
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	vars, err := c.Device("ups").Variables(t.Context())
	require.Error(t, err)
	assert.Nil(t, vars, "no partial list")
	var e *ups.Error
	require.ErrorAs(t, err, &e)
	assert.ErrorIs(t, err, io.ErrUnexpectedEOF)
	assert.Equal(t, "list var ups", e.Op)
}

func TestDialHonoursTimeoutOnHangingServer(t *testing.T) {
	t.Parallel()
	// upsd accepts but never answers the session setup: Dial without a
	// deadline of its own is bounded by WithTimeout, not stuck forever.
	s := newFake(t)
	s.Inject(upstest.Fault{Kind: upstest.Hang})
	done := make(chan error, 1)
	go func() {
		c, err := ups.Dial(context.Background(), s.Addr(), admin(), ups.WithTimeout(200*time.Millisecond))
		if err == nil {
			_ = c.Close()
		}
		done <- err
	}()
	select {
	case err := <-done:
		assert.ErrorIs(t, err, context.DeadlineExceeded)
	case <-time.After(10 * time.Second):
		t.Fatal("Dial hung on a server that never answers")
	}
}
