package routeros

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/thehomelab/homelab/internal/tlspin"
	"github.com/thehomelab/homelab/routeros/routerostest"
	"github.com/thehomelab/homelab/secret"
)

var creds = WithCredentials(routerostest.DefaultUser, secret.New(routerostest.DefaultPassword))

func TestDialLogin(t *testing.T) {
	t.Parallel()
	srv := routerostest.Start(t)
	t.Run("ok", func(t *testing.T) {
		c, err := Dial(t.Context(), srv.Addr(), creds)
		require.NoError(t, err)
		require.NoError(t, c.Close())
		require.NoError(t, c.Close(), "Close is idempotent")
	})
	t.Run("wrong password", func(t *testing.T) {
		_, err := Dial(t.Context(), srv.Addr(), WithCredentials("admin", secret.New("hunter2-wrong")))
		require.Error(t, err)
		assert.ErrorIs(t, err, ErrAuth)
		assert.Contains(t, err.Error(), "invalid user name or password")
		assert.NotContains(t, err.Error(), "hunter2")
		var e *Error
		require.ErrorAs(t, err, &e)
		assert.Equal(t, "/login", e.Command)
	})
	t.Run("unknown user", func(t *testing.T) {
		_, err := Dial(t.Context(), srv.Addr(), WithCredentials("nobody", secret.New(routerostest.DefaultPassword)))
		assert.ErrorIs(t, err, ErrAuth)
	})
	t.Run("nothing listening", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		addr := ln.Addr().String()
		require.NoError(t, ln.Close())
		_, err = Dial(t.Context(), addr, creds)
		assert.ErrorIs(t, err, ErrConnection)
	})
}

func TestLoginNeverAnswered(t *testing.T) {
	t.Parallel()
	srv := routerostest.Start(t)
	srv.SetLoginMode(routerostest.LoginNeverAnswer)
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := Dial(ctx, srv.Addr(), creds)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Less(t, time.Since(start), 2*time.Second)

	// WithTimeout bounds a call whose context has none.
	start = time.Now()
	_, err = Dial(context.Background(), srv.Addr(), creds, WithTimeout(150*time.Millisecond))
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Less(t, time.Since(start), 2*time.Second)
}

func TestTLS(t *testing.T) {
	t.Parallel()
	srv := routerostest.Start(t, routerostest.WithTLS())
	t.Run("root CAs", func(t *testing.T) {
		c, err := Dial(t.Context(), srv.Addr(), creds, WithRootCAs(srv.CertPool()))
		require.NoError(t, err)
		defer c.Close()
		name, err := c.System.Identity(t.Context())
		require.NoError(t, err)
		assert.Equal(t, routerostest.LabIdentity, name)
	})
	t.Run("pinned", func(t *testing.T) {
		fp := "sha256:" + tlspin.Of(srv.Certificate()).String()
		c, err := Dial(t.Context(), srv.Addr(), creds, WithFingerprint(fp))
		require.NoError(t, err)
		require.NoError(t, c.Close())
	})
	t.Run("wrong pin", func(t *testing.T) {
		_, err := Dial(t.Context(), srv.Addr(), creds, WithFingerprint("sha256:"+strings.Repeat("ab", 32)))
		require.Error(t, err)
		var mm *tlspin.MismatchError
		assert.ErrorAs(t, err, &mm)
	})
	t.Run("system roots refuse self-signed", func(t *testing.T) {
		_, err := Dial(t.Context(), srv.Addr(), creds, WithTLS())
		assert.ErrorIs(t, err, ErrConnection)
	})
}

func TestOptionsValidate(t *testing.T) {
	t.Parallel()
	for name, o := range map[string]Option{
		"empty user": WithCredentials("", secret.Secret{}), "empty pin": WithFingerprint(""), "nil pool": WithRootCAs(nil),
		"zero timeout": WithTimeout(0), "tiny words": WithMaxWordSize(10),
	} {
		_, err := NewClient(&net.TCPConn{}, creds, o)
		assert.ErrorIs(t, err, ErrInvalid, name)
	}
	_, err := NewClient(nil)
	assert.Error(t, err)
}

func TestNewClientLogsInLazily(t *testing.T) {
	t.Parallel()
	srv := routerostest.Start(t)
	conn, err := net.Dial("tcp", srv.Addr())
	require.NoError(t, err)
	c, err := NewClient(conn, creds)
	require.NoError(t, err)
	defer c.Close()
	assert.Equal(t, 0, srv.Commands(), "NewClient does no I/O")
	name, err := c.System.Identity(t.Context())
	require.NoError(t, err)
	assert.Equal(t, routerostest.LabIdentity, name)
	tr := srv.Requests()
	require.Len(t, tr, 2)
	assert.Equal(t, "/login", tr[0].Words[0])
	assert.Equal(t, "/system/identity/print", tr[1].Words[0])
}

func TestRun(t *testing.T) {
	t.Parallel()
	srv, c := lab(t)
	ctx := t.Context()

	r, err := c.Run(ctx, "/ip/address/print", "?interface=bridge-lan", "=.proplist=address,interface")
	require.NoError(t, err)
	require.Len(t, r.Records, 1)
	assert.Equal(t, Record{"address": "192.168.1.1/24", "interface": "bridge-lan"}, r.Records[0])
	p, err := r.Records[0].Prefix("address")
	require.NoError(t, err)
	assert.Equal(t, "192.168.1.1/24", p.String())

	r, err = c.Run(ctx, "/ip/address/print", "=count-only=")
	require.NoError(t, err)
	assert.Equal(t, "4", r.Done["ret"])

	// ?type=a ?type=b ?#| : OR over the stack.
	r, err = c.Run(ctx, "/ip/address/print", "?interface=bridge-lan", "?interface=bridge-guest", "?#|")
	require.NoError(t, err)
	assert.Len(t, r.Records, 2)

	_, err = c.Run(ctx, "/ip/frobnicate/print")
	require.Error(t, err)
	assert.ErrorIs(t, err, ErrUnknownCommand)
	var e *Error
	require.ErrorAs(t, err, &e)
	assert.Equal(t, 0, e.Code)
	assert.Equal(t, "no such command prefix", e.Message)

	_, err = c.Run(ctx, "/ip/firewall/address-list/add", "=list=x", "=address=not-an-ip!")
	assert.ErrorIs(t, err, ErrInvalid)
	require.ErrorAs(t, err, &e)
	assert.Equal(t, 1, e.Code)

	_, err = c.Run(ctx, "/ip/address/set", "=.id=*FFFF", "=comment=x")
	assert.ErrorIs(t, err, ErrNotFound)

	_, err = c.Run(ctx, "/ip/address/print", ".tag=5")
	assert.ErrorIs(t, err, ErrInvalid)
	_, err = c.Run(ctx, "ip address print")
	assert.ErrorIs(t, err, ErrInvalid)

	// Traps leave the session usable: still one connection.
	_, err = c.System.Identity(ctx)
	require.NoError(t, err)
	conns := map[int]bool{}
	for _, s := range srv.Requests() {
		conns[s.Conn] = true
	}
	assert.Len(t, conns, 1)
}

func TestEmptyByVersion(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		version string
		empty   bool
	}{{"7.17.2", false}, {"7.18", true}, {"7.20.5", true}} {
		t.Run(tc.version, func(t *testing.T) {
			t.Parallel()
			_, c := lab(t, routerostest.WithVersion(tc.version))
			r, err := c.Run(t.Context(), "/ip/address/print", "?interface=nothing")
			require.NoError(t, err)
			assert.Empty(t, r.Records)
			assert.Equal(t, tc.empty, r.Empty)
			entries, err := c.Firewall.AddressList(t.Context(), "no-such-list")
			require.NoError(t, err)
			assert.Empty(t, entries)
		})
	}
}

func TestFaults(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		fault routerostest.Fault
		is    []error
		msg   string
	}{
		{"drop mid reply", routerostest.Fault{Times: 1, Kind: routerostest.FaultDrop, After: 1}, []error{ErrConnection}, "unexpected EOF"},
		{"drop mid word", routerostest.Fault{Times: 1, Kind: routerostest.FaultDropMidWord}, []error{ErrConnection}, "unexpected EOF"},
		{"fatal", routerostest.Fault{Times: 1, Kind: routerostest.FaultFatal, Message: "out of memory"}, []error{ErrFatal, ErrConnection}, "out of memory"},
		{"corrupt length", routerostest.Fault{Times: 1, Kind: routerostest.FaultCorruptLength}, []error{ErrConnection}, "exceeds"},
		{"unknown reply", routerostest.Fault{Times: 1, Kind: routerostest.FaultUnknownReply}, []error{ErrConnection}, "unknown reply word"},
		{"wrong tag", routerostest.Fault{Times: 1, Kind: routerostest.FaultWrongTag}, []error{ErrConnection}, "unexpected tag"},
		{"stall", routerostest.Fault{Times: 1, Kind: routerostest.FaultStall}, []error{context.DeadlineExceeded, ErrConnection}, "deadline"},
		{"trap", routerostest.Fault{Times: 1, Kind: routerostest.FaultTrap, Category: 4, Message: "failure: busy"}, nil, "trap category 4: failure: busy"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv, c := lab(t)
			srv.Inject(tc.fault)
			ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
			defer cancel()
			start := time.Now()
			_, err := c.IP.Addresses(ctx)
			require.Error(t, err)
			assert.Less(t, time.Since(start), 2*time.Second)
			for _, want := range tc.is {
				assert.ErrorIs(t, err, want)
			}
			assert.Contains(t, err.Error(), tc.msg)
			assert.Contains(t, err.Error(), "list addresses")
			// The client recovers: Dial clients redial a broken connection.
			addrs, err := c.IP.Addresses(t.Context())
			require.NoError(t, err)
			assert.Len(t, addrs, 4)
		})
	}
}

func TestTrapOnNthCommand(t *testing.T) {
	t.Parallel()
	srv, c := lab(t)
	srv.Inject(routerostest.Fault{Times: 1, Kind: routerostest.FaultTrap, Command: "/system/identity/print", Nth: 3, Category: 1, Message: "boom"})
	for i := 1; i <= 4; i++ {
		_, err := c.System.Identity(t.Context())
		if i == 3 {
			assert.ErrorIs(t, err, ErrInvalid)
		} else {
			assert.NoError(t, err, "call %d", i)
		}
	}
}

func TestBrokenConnFromNewClientStaysBroken(t *testing.T) {
	t.Parallel()
	srv := routerostest.Start(t)
	conn, err := net.Dial("tcp", srv.Addr())
	require.NoError(t, err)
	c, err := NewClient(conn, creds)
	require.NoError(t, err)
	defer c.Close()
	srv.Inject(routerostest.Fault{Times: 1, Kind: routerostest.FaultFatal, Message: "bye"})
	_, err = c.System.Identity(t.Context())
	assert.ErrorIs(t, err, ErrFatal)
	_, err = c.System.Identity(t.Context())
	assert.ErrorIs(t, err, ErrConnection)
}

func TestInjectedLatencyAndCancel(t *testing.T) {
	t.Parallel()
	srv, c := lab(t)
	srv.SetLatency(time.Second)
	ctx, cancel := context.WithCancel(t.Context())
	time.AfterFunc(50*time.Millisecond, cancel)
	start := time.Now()
	_, err := c.System.Identity(ctx)
	assert.ErrorIs(t, err, context.Canceled)
	assert.Less(t, time.Since(start), 900*time.Millisecond)
	srv.SetLatency(0)
	_, err = c.System.Identity(t.Context())
	assert.NoError(t, err)
}

func TestConcurrentUse(t *testing.T) {
	t.Parallel()
	srv, c := lab(t, routerostest.WithLatency(time.Millisecond))
	var wg sync.WaitGroup
	errs := make(chan error, 16*10)
	for g := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 10 {
				switch (g + i) % 3 {
				case 0:
					name, err := c.System.Identity(t.Context())
					if err == nil && name != routerostest.LabIdentity {
						err = fmt.Errorf("got identity %q", name)
					}
					errs <- err
				case 1:
					ip, err := c.WAN.PublicIP(t.Context(), "")
					if err == nil && ip.String() != routerostest.LabPublicIP {
						err = fmt.Errorf("got ip %s", ip)
					}
					errs <- err
				default:
					_, err := c.Firewall.EnsureAddressList(t.Context(), fmt.Sprintf("g%d", g), []string{fmt.Sprintf("10.9.%d.%d", g, i)})
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	conns := map[int]bool{}
	for _, s := range srv.Requests() {
		conns[s.Conn] = true
	}
	assert.Len(t, conns, 1, "calls share one connection")
}

func TestCloseUnblocksCallAndRefusesLater(t *testing.T) {
	t.Parallel()
	srv, c := lab(t)
	srv.Inject(routerostest.Fault{Times: 1, Kind: routerostest.FaultStall})
	done := make(chan error, 1)
	go func() {
		_, err := c.System.Identity(context.Background())
		done <- err
	}()
	time.Sleep(50 * time.Millisecond) // let the call block on the stalled reply
	require.NoError(t, c.Close())
	select {
	case err := <-done:
		assert.ErrorIs(t, err, ErrClosed)
	case <-time.After(2 * time.Second):
		t.Fatal("Close did not unblock the call")
	}
	_, err := c.System.Identity(t.Context())
	assert.ErrorIs(t, err, ErrClosed)
}

func TestSecretsNeverLeak(t *testing.T) {
	t.Parallel()
	srv := routerostest.Start(t, routerostest.WithCredentials("admin", "s3cr3t-pw"))
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	c, err := Dial(t.Context(), srv.Addr(), WithCredentials("admin", secret.New("s3cr3t-pw")), WithLogger(logger))
	require.NoError(t, err)
	defer c.Close()
	ob, err := c.WireGuard.Onboard(t.Context(), "tablet", OnboardOptions{Endpoint: "vpn.example.net:13231"})
	require.NoError(t, err)
	priv, psk := ob.PrivateKey.Reveal(), ob.PresharedKey.Reveal()
	require.Len(t, priv, 44)
	for _, s := range []string{fmt.Sprintf("%v %+v %#v", ob, ob, ob), fmt.Sprintf("%v", c), logs.String()} {
		assert.NotContains(t, s, priv)
		assert.NotContains(t, s, psk)
		assert.NotContains(t, s, "s3cr3t-pw")
	}
	assert.Contains(t, logs.String(), "routeros call")
	_, err = Dial(t.Context(), srv.Addr(), WithCredentials("admin", secret.New("wrong-s3cr3t")), WithLogger(logger))
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "wrong-s3cr3t")
	assert.NotContains(t, logs.String(), "wrong-s3cr3t")
}

func TestErrorFormatting(t *testing.T) {
	t.Parallel()
	e := &Error{Op: "add peer", Command: "/x/add", Code: 1, Message: "bad", kinds: []error{ErrInvalid}}
	assert.Equal(t, "routeros: add peer (/x/add): trap category 1: bad", e.Error())
	assert.True(t, errors.Is(e, ErrInvalid))
	assert.False(t, errors.Is(e, ErrNotFound))
	e = &Error{Op: "login", Code: -1, Err: context.Canceled}
	assert.Equal(t, "routeros: login: context canceled", e.Error())
	assert.ErrorIs(t, e, context.Canceled)
}

func TestLegacyLogin(t *testing.T) {
	t.Parallel()
	srv := routerostest.Start(t)
	srv.SetLoginMode(routerostest.LoginLegacy)
	c, err := Dial(t.Context(), srv.Addr(), creds)
	require.NoError(t, err)
	defer c.Close()
	tr := srv.Requests()
	require.Len(t, tr, 2)
	assert.Contains(t, strings.Join(tr[1].Words, " "), "=response=00")
	_, err = Dial(t.Context(), srv.Addr(), WithCredentials("admin", secret.New("wrong")))
	assert.ErrorIs(t, err, ErrAuth)
	assert.ErrorContains(t, err, "cannot log in")
}

func TestLoginRefused(t *testing.T) {
	t.Parallel()
	srv := routerostest.Start(t)
	srv.SetLoginMode(routerostest.LoginRefuse)
	_, err := Dial(t.Context(), srv.Addr(), creds)
	assert.ErrorIs(t, err, ErrAuth)
}

func TestReadOnlyUserGetsErrPermission(t *testing.T) {
	t.Parallel()
	srv := routerostest.Start(t, routerostest.WithReadOnlyUser("viewer", "view-pw"))
	c, err := Dial(t.Context(), srv.Addr(), WithCredentials("viewer", secret.New("view-pw")))
	require.NoError(t, err)
	defer c.Close()
	_, err = c.WAN.PublicIP(t.Context(), "")
	require.NoError(t, err)
	_, err = c.Firewall.AddAddress(t.Context(), "x", "10.0.0.1", AddressOptions{})
	assert.ErrorIs(t, err, ErrPermission)
	res, err := c.Firewall.EnsureAddressList(t.Context(), "x", []string{"10.0.0.1", "10.0.0.2"})
	assert.ErrorIs(t, err, ErrPermission)
	assert.False(t, res.Changed(), "nothing was accepted")

	// Refused ensures report no change.
	kp, err := GenerateKeyPair()
	require.NoError(t, err)
	ch, err := c.WireGuard.EnsurePeer(t.Context(), PeerSpec{PublicKey: kp.Public, AllowedAddress: []netip.Prefix{mustPrefix("192.168.100.70/32")}})
	assert.ErrorIs(t, err, ErrPermission)
	assert.False(t, ch.Action == Created)
	ch, err = c.WireGuard.EnsurePeer(t.Context(), PeerSpec{PublicKey: routerostest.LabKey("phone public"), Comment: "renamed",
		AllowedAddress: []netip.Prefix{mustPrefix("192.168.100.2/32")}})
	assert.ErrorIs(t, err, ErrPermission)
	assert.Empty(t, changedFields(ch.Changes))
}

// TestNoGoroutineOutlivesClose breaks a pipelined batch mid-way and checks
// that the client leaves no goroutine behind. Not parallel: it counts
// goroutines process-wide.
func TestNoGoroutineOutlivesClose(t *testing.T) {
	srv := routerostest.Start(t)
	before := runtime.NumGoroutine()
	c, err := Dial(t.Context(), srv.Addr(), creds)
	require.NoError(t, err)
	srv.Inject(routerostest.Fault{Times: 1, Kind: routerostest.FaultDrop, Command: "/ip/firewall/address-list/add", Nth: 50})
	_, err = c.Firewall.EnsureAddressList(t.Context(), "big", listAddrs(500))
	assert.ErrorIs(t, err, ErrConnection)
	// The fake may still be running adds it had read from the dropped
	// connection; they would count towards the next fault.
	require.Eventually(t, func() bool { return srv.Conns() == 0 }, 3*time.Second, 5*time.Millisecond)
	srv.Inject(routerostest.Fault{Times: 1, Kind: routerostest.FaultStall, Command: "/ip/firewall/address-list/add", Nth: 10})
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	_, err = c.Firewall.EnsureAddressList(ctx, "big2", listAddrs(300))
	cancel()
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	res, err := c.Firewall.EnsureAddressList(t.Context(), "big3", listAddrs(300))
	require.NoError(t, err)
	assert.Len(t, res.Added, 300)
	require.NoError(t, c.Close())
	deadline := time.Now().Add(3 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	assert.LessOrEqual(t, runtime.NumGoroutine(), before)
}

func TestPipelinedRepliesOutOfOrder(t *testing.T) {
	t.Parallel()
	srv, c := lab(t)
	// The first add's replies are held back, so the others overtake them.
	srv.Inject(routerostest.Fault{Times: 1, Kind: routerostest.FaultDelay, Command: "/ip/firewall/address-list/add", Delay: 50 * time.Millisecond})
	res, err := c.Firewall.EnsureAddressList(t.Context(), "ooo", []string{"10.0.0.1", "10.0.0.2", "10.0.0.3"})
	require.NoError(t, err)
	assert.Len(t, res.Added, 3)
	list, err := c.Firewall.AddressList(t.Context(), "ooo")
	require.NoError(t, err)
	assert.Len(t, list, 3)
}

func TestDuplicateDoneIsProtocolError(t *testing.T) {
	t.Parallel()
	// A raw server that answers the login, then sends !done twice.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	go func() {
		conn, err := ln.Accept()
		if err != nil {
			return
		}
		defer conn.Close()
		br := bufio.NewReader(conn)
		for i := 0; ; i++ {
			words, err := routerostest.ReadSentence(br, 1<<16)
			if err != nil {
				return
			}
			tag := words[len(words)-1]
			out := routerostest.AppendSentence(nil, "!done", tag)
			if i == 1 {
				out = routerostest.AppendSentence(out, "!done", tag)
			}
			_, _ = conn.Write(out)
		}
	}()
	conn, err := net.Dial("tcp", ln.Addr().String())
	require.NoError(t, err)
	c, err := NewClient(conn, creds)
	require.NoError(t, err)
	defer c.Close()
	_, err = c.Run(t.Context(), "/system/identity/print")
	require.NoError(t, err)
	_, err = c.Run(t.Context(), "/system/identity/print")
	assert.ErrorIs(t, err, ErrConnection)
	assert.ErrorContains(t, err, "unexpected tag")
}

func TestServerName(t *testing.T) {
	t.Parallel()
	srv := routerostest.Start(t, routerostest.WithTLS())
	// The certificate names 127.0.0.1 and localhost.
	c, err := Dial(t.Context(), srv.Addr(), creds, WithRootCAs(srv.CertPool()), WithServerName("localhost"))
	require.NoError(t, err)
	require.NoError(t, c.Close())
	_, err = Dial(t.Context(), srv.Addr(), creds, WithRootCAs(srv.CertPool()), WithServerName("router.example"))
	assert.ErrorIs(t, err, ErrConnection)
}

func TestMaxWordSize(t *testing.T) {
	t.Parallel()
	srv, _ := lab(t)
	c, err := Dial(t.Context(), srv.Addr(), creds, WithMaxWordSize(1024))
	require.NoError(t, err)
	defer c.Close()
	_, err = c.Scripts.AddScript(t.Context(), "big", strings.Repeat("x", 2000), ScriptOptions{})
	require.NoError(t, err, "requests are not capped")
	_, err = c.Scripts.Scripts(t.Context())
	assert.ErrorIs(t, err, ErrConnection)
	assert.ErrorContains(t, err, "exceeds the 1024 byte limit")
}

func TestDuplicateDoneFromFake(t *testing.T) {
	t.Parallel()
	srv, c := lab(t)
	srv.Inject(routerostest.Fault{Times: 1, Kind: routerostest.FaultDuplicateDone, Command: "/system/identity/print"})
	_, err := c.System.Identity(t.Context())
	require.NoError(t, err, "the first !done completes the call")
	err = c.System.SetIdentity(t.Context(), "r2")
	assert.ErrorIs(t, err, ErrConnection, "the stray !done is caught on the next read")
	name, err := c.System.Identity(t.Context())
	assert.NoError(t, err, "redialled")
	assert.Equal(t, "r2", name, "ErrConnection on a write means its outcome is unknown: here it did happen")
}

func TestOverPipe(t *testing.T) {
	t.Parallel()
	srv := routerostest.Start(t)
	conn, err := srv.Pipe()
	require.NoError(t, err)
	c, err := NewClient(conn, creds)
	require.NoError(t, err)
	defer c.Close()
	res, err := c.Firewall.EnsureAddressList(t.Context(), "pipe", listAddrs(100))
	require.NoError(t, err)
	assert.Len(t, res.Added, 100)
	ip, err := c.WAN.PublicIP(t.Context(), "")
	require.NoError(t, err)
	assert.Equal(t, routerostest.LabPublicIP, ip.String())
	srv.Close()
	_, err = srv.Pipe()
	assert.Error(t, err)
}

func TestReadRetriedAfterRouterReboot(t *testing.T) {
	t.Parallel()
	srv, c := lab(t)
	ctx := t.Context()
	_, err := c.System.Identity(ctx)
	require.NoError(t, err)

	srv.DropConnections() // the router rebooted while the client sat idle
	name, err := c.System.Identity(ctx)
	require.NoError(t, err, "a read is repeated once on a fresh connection")
	assert.Equal(t, routerostest.LabIdentity, name)

	srv.DropConnections()
	_, err = c.Firewall.AddAddress(ctx, "x", "10.0.0.1", AddressOptions{})
	assert.ErrorIs(t, err, ErrConnection, "a write is never repeated")
	_, err = c.Firewall.AddAddress(ctx, "x", "10.0.0.1", AddressOptions{})
	assert.NoError(t, err, "the next call redials")
	list, err := c.Firewall.AddressList(ctx, "x")
	require.NoError(t, err)
	assert.Len(t, list, 1)

	// A fault on a fresh connection is not retried.
	srv.Inject(routerostest.Fault{Times: 1, Kind: routerostest.FaultDrop, Command: "/system/identity/print"})
	srv.DropConnections()
	_, err = c.System.Identity(ctx)
	assert.ErrorIs(t, err, ErrConnection)
}

// The size options refuse a too small cap with the package's *Error in
// class ErrInvalid, on their own and through the constructor, with one
// "routeros: " prefix.
func TestSizeOptionsRefuseTyped(t *testing.T) {
	t.Parallel()
	for name, o := range map[string]Option{
		"word": WithMaxWordSize(10), "sentence": WithMaxSentenceSize(10), "reply": WithMaxReplySize(10),
	} {
		cfg := defaults()
		err := o(&cfg)
		var e *Error
		require.ErrorAs(t, err, &e, name)
		assert.ErrorIs(t, err, ErrInvalid, name)
		assert.Contains(t, err.Error(), "is below", name)

		_, err = NewClient(&net.TCPConn{}, creds, o)
		require.ErrorAs(t, err, &e, name)
		assert.ErrorIs(t, err, ErrInvalid, name)
		assert.Equal(t, 1, strings.Count(err.Error(), "routeros: "), "%s: %v", name, err)
	}
}
