package routeros

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/thehomelab/homelab/routeros/routerostest"
	"github.com/thehomelab/homelab/secret"
)

// peerSpecs returns n peers with fresh keys in 10.<net>.0.0/16.
func peerSpecs(t *testing.T, net, n int) []PeerSpec {
	t.Helper()
	specs := make([]PeerSpec, n)
	for i := range specs {
		kp, err := GenerateKeyPair()
		require.NoError(t, err)
		specs[i] = PeerSpec{Name: fmt.Sprintf("n%d-p%d", net, i), PublicKey: kp.Public,
			AllowedAddress: []netip.Prefix{netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(net), byte(i / 250), byte(i%250 + 1)}), 32)}}
	}
	return specs
}

// routerIDs maps public key to the .id the router holds.
func routerIDs(t *testing.T, c *Client) map[string]ID {
	t.Helper()
	peers, err := c.WireGuard.Peers(t.Context(), "")
	require.NoError(t, err)
	out := map[string]ID{}
	for _, p := range peers {
		out[p.PublicKey] = p.ID
	}
	return out
}

// TestPipelineMatchesRepliesByTag: replies of a pipelined batch arrive out
// of order and one command is refused in the middle; every id must still
// belong to its own peer. A client that paired replies by arrival order
// would hand out the wrong ids.
func TestPipelineMatchesRepliesByTag(t *testing.T) {
	t.Parallel()
	srv, c := lab(t)
	specs := peerSpecs(t, 20, 6)
	// The 4th add is refused; the 1st add's replies are held back.
	srv.Inject(routerostest.Fault{Times: 1, Kind: routerostest.FaultTrap, Command: "/interface/wireguard/peers/add", Nth: 4, Category: 1, Message: "failure: refused for the test"})
	srv.Inject(routerostest.Fault{Times: 1, Kind: routerostest.FaultDelay, Command: "/interface/wireguard/peers/add", Delay: 80 * time.Millisecond})
	_, err := c.WireGuard.Peers(t.Context(), "") // read the version first, outside the batch
	require.NoError(t, err)
	before := c.roundTrips()
	ids, err := c.WireGuard.AddPeers(t.Context(), specs)
	require.Error(t, err)
	assert.ErrorIs(t, err, ErrInvalid)
	assert.ErrorContains(t, err, "refused for the test")
	assert.LessOrEqual(t, c.roundTrips()-before, int64(2), "one batch (plus the version read)")
	require.Len(t, ids, len(specs))
	have := routerIDs(t, c)
	for i, sp := range specs {
		if i == 3 {
			assert.Empty(t, ids[i], "the refused peer has no id")
			assert.NotContains(t, have, sp.PublicKey)
			continue
		}
		require.Contains(t, have, sp.PublicKey)
		assert.Equal(t, have[sp.PublicKey], ids[i], "peer %d", i)
	}
	// The session survived the trap: still one connection.
	conns := map[int]bool{}
	for _, s := range srv.Requests() {
		conns[s.Conn] = true
	}
	assert.Len(t, conns, 1)
}

// TestConcurrentPipelines runs pipelined batches from several goroutines
// over the one connection, with replies delayed like a network, and checks
// every id against the router.
func TestConcurrentPipelines(t *testing.T) {
	t.Parallel()
	srv, c := lab(t, routerostest.WithLatency(time.Millisecond))
	// Hold back the replies of some adds, so batches see them out of order.
	for _, nth := range []int{1, 7, 30, 61} {
		srv.Inject(routerostest.Fault{Times: 1, Kind: routerostest.FaultDelay, Command: "/interface/wireguard/peers/add", Nth: nth, Delay: 40 * time.Millisecond})
	}
	const workers = 4
	all := make([][]PeerSpec, workers)
	got := make([][]ID, workers)
	errs := make([]error, workers)
	for w := range workers {
		all[w] = peerSpecs(t, 30+w, 25)
	}
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got[w], errs[w] = c.WireGuard.AddPeers(t.Context(), all[w])
		}()
	}
	wg.Wait()
	have := routerIDs(t, c)
	for w := range workers {
		require.NoError(t, errs[w])
		for i, sp := range all[w] {
			assert.Equal(t, have[sp.PublicKey], got[w][i], "worker %d peer %d", w, i)
		}
	}
}

// TestCloseDuringRedial closes the client while a call is redialling. The
// new connection must not outlive Close: the call must not go on to log in
// on it (here the login would hang until the call's timeout).
func TestCloseDuringRedial(t *testing.T) {
	t.Parallel()
	srv, c := lab(t)
	srv.Inject(routerostest.Fault{Times: 1, Kind: routerostest.FaultFatal, Message: "bye"})
	_, err := c.System.Identity(t.Context())
	require.ErrorIs(t, err, ErrFatal) // the connection is now broken

	srv.SetLoginMode(routerostest.LoginNeverAnswer)
	dialing, proceed := make(chan struct{}), make(chan struct{})
	orig := c.dial
	c.dial = func(ctx context.Context) (net.Conn, error) {
		close(dialing)
		<-proceed
		return orig(ctx)
	}
	done := make(chan error, 1)
	go func() {
		_, err := c.System.Identity(context.Background()) // bounded only by DefaultTimeout
		done <- err
	}()
	<-dialing
	closed := make(chan error, 1)
	go func() { closed <- c.Close() }()
	time.Sleep(50 * time.Millisecond) // let Close pass the live connection before the dial returns
	close(proceed)
	select {
	case err := <-closed:
		assert.NoError(t, err)
	case <-time.After(3 * time.Second):
		t.Fatal("Close waited for a login on a connection dialled after it")
	}
	select {
	case err := <-done:
		assert.ErrorIs(t, err, ErrClosed)
	case <-time.After(3 * time.Second):
		t.Fatal("the call did not end")
	}
}

// TestCancelledContextLeavesConnectionAlone: a call whose context is
// already done does no I/O, so it must not close the connection — for a
// NewClient client that would be for good.
func TestCancelledContextLeavesConnectionAlone(t *testing.T) {
	t.Parallel()
	srv := routerostest.Start(t)
	conn, err := net.Dial("tcp", srv.Addr())
	require.NoError(t, err)
	c, err := NewClient(conn, creds)
	require.NoError(t, err)
	defer c.Close()
	_, err = c.System.Identity(t.Context())
	require.NoError(t, err)
	done, cancel := context.WithCancel(t.Context())
	cancel()
	for range 20 { // the semaphore and ctx.Done are both ready: select picks either
		_, err = c.System.Identity(done)
		require.ErrorIs(t, err, context.Canceled)
		assert.NotErrorIs(t, err, ErrConnection, "nothing was sent")
		_, err = c.System.Identity(t.Context())
		require.NoError(t, err, "the connection still works")
	}
}

// TestSecretsNotInRefusals: every write that carries a secret (preshared
// key, private key, backup password) is refused by a read-only user; the
// errors and the debug log must not hold the secret.
func TestSecretsNotInRefusals(t *testing.T) {
	t.Parallel()
	srv := routerostest.Start(t, routerostest.WithReadOnlyUser("viewer", "view-pw"))
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	c, err := Dial(t.Context(), srv.Addr(), WithCredentials("viewer", secret.New("view-pw")), WithLogger(logger))
	require.NoError(t, err)
	defer c.Close()
	ctx := t.Context()
	kp, err := GenerateKeyPair()
	require.NoError(t, err)
	psk, err := GeneratePresharedKey()
	require.NoError(t, err)
	pw := "backup-s3cret"

	var errs []error
	_, err = c.WireGuard.EnsurePeer(ctx, PeerSpec{PublicKey: routerostest.LabKey("phone public"), PresharedKey: psk,
		AllowedAddress: []netip.Prefix{netip.MustParsePrefix("192.168.100.2/32")}})
	errs = append(errs, err)
	_, err = c.WireGuard.AddPeers(ctx, []PeerSpec{{PublicKey: kp.Public, PresharedKey: psk,
		AllowedAddress: []netip.Prefix{netip.MustParsePrefix("192.168.100.60/32")}}})
	errs = append(errs, err)
	_, err = c.WireGuard.CreateInterface(ctx, "wg-x", InterfaceOptions{PrivateKey: kp.Private})
	errs = append(errs, err)
	_, err = c.System.Backup(ctx, BackupOptions{Password: secret.New(pw)})
	errs = append(errs, err)
	for _, err := range errs {
		require.ErrorIs(t, err, ErrPermission)
		for _, s := range []string{err.Error(), fmt.Sprintf("%v %+v %#v", err, err, err)} {
			assert.NotContains(t, s, psk.Reveal())
			assert.NotContains(t, s, kp.Private.Reveal())
			assert.NotContains(t, s, pw)
		}
	}
	assert.NotContains(t, logs.String(), psk.Reveal())
	assert.NotContains(t, logs.String(), kp.Private.Reveal())
	assert.NotContains(t, logs.String(), pw)
	assert.NotContains(t, logs.String(), "view-pw")
}

// TestVersionReReadAfterReconnect: an upgrade reboots the router, so the
// version (and with it the WireGuard field names) is read again once the
// connection has broken.
func TestVersionReReadAfterReconnect(t *testing.T) {
	t.Parallel()
	srv, c := lab(t, routerostest.WithVersion("7.16.2"))
	ctx := t.Context()
	specs := peerSpecs(t, 40, 2)
	for i := range specs {
		specs[i].Responder = true
	}
	_, err := c.WireGuard.AddPeer(ctx, specs[0])
	require.NoError(t, err)

	require.NoError(t, srv.SetVersion("7.20.5")) // upgraded and rebooted
	srv.DropConnections()
	_, err = c.System.Identity(ctx) // a read notices, redials and is repeated
	require.NoError(t, err)
	_, err = c.WireGuard.AddPeer(ctx, specs[1])
	require.NoError(t, err, "7.20 knows responder, not is-responder")
	tr := srv.Requests()
	assert.Contains(t, tr[len(tr)-1].Words, "=responder=yes")
}

// TestCloseCancelsARedial: a call redialling a router that does not answer
// (rebooting) must not hold Close until the call's timeout.
func TestCloseCancelsARedial(t *testing.T) {
	t.Parallel()
	srv, c := lab(t)
	srv.Inject(routerostest.Fault{Times: 1, Kind: routerostest.FaultFatal, Message: "bye"})
	_, err := c.System.Identity(t.Context())
	require.ErrorIs(t, err, ErrFatal)

	dialing := make(chan struct{})
	c.dial = func(ctx context.Context) (net.Conn, error) {
		close(dialing)
		<-ctx.Done() // SYNs to a rebooting router go unanswered
		return nil, ctx.Err()
	}
	done := make(chan error, 1)
	go func() {
		_, err := c.System.Identity(context.Background()) // bounded only by DefaultTimeout
		done <- err
	}()
	<-dialing
	closed := make(chan error, 1)
	go func() { closed <- c.Close() }()
	select {
	case err := <-closed:
		assert.NoError(t, err)
	case <-time.After(3 * time.Second):
		t.Fatal("Close waited for the redial")
	}
	select {
	case err := <-done:
		assert.ErrorIs(t, err, ErrClosed)
	case <-time.After(3 * time.Second):
		t.Fatal("the call did not end")
	}
}
