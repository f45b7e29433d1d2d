package routeros

import (
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/thehomelab/homelab/routeros/routerostest"
	"github.com/thehomelab/homelab/secret"
)

func TestNilOptionSkipped(t *testing.T) {
	t.Parallel()
	srv := routerostest.Start(t)
	c, err := Dial(t.Context(), srv.Addr(), nil, creds, nil)
	require.NoError(t, err)
	defer c.Close()
	_, err = c.System.Identity(t.Context())
	require.NoError(t, err)
}

func TestConstructorsRequireCredentials(t *testing.T) {
	t.Parallel()
	srv := routerostest.Start(t)
	_, err := Dial(t.Context(), srv.Addr())
	require.ErrorIs(t, err, ErrInvalid)
	assert.Contains(t, err.Error(), "WithCredentials")
	assert.Equal(t, 1, strings.Count(err.Error(), "routeros: "), "one prefix: %s", err)
	assert.Equal(t, 0, srv.Commands(), "nothing is sent without credentials")

	conn, err := net.Dial("tcp", srv.Addr())
	require.NoError(t, err)
	defer conn.Close()
	_, err = NewClient(conn)
	assert.ErrorIs(t, err, ErrInvalid)
	_, err = NewClient(conn, WithCredentials("admin", secret.Secret{}))
	assert.ErrorIs(t, err, ErrInvalid, "an empty password is refused")
}

func TestDefaultPort(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		addr string
		tls  bool
		want string
	}{
		{"192.168.88.1", false, "192.168.88.1:8728"},
		{"192.168.88.1", true, "192.168.88.1:8729"},
		{"router.lan:9000", true, "router.lan:9000"},
		{"::1", false, "[::1]:8728"},
		{"[fe80::1]", true, "[fe80::1]:8729"},
		{" router ", false, "router:8728"},
	} {
		cfg := defaults()
		cfg.useTLS = tc.tls
		got, err := cfg.hostPort(tc.addr)
		require.NoError(t, err, tc.addr)
		assert.Equal(t, tc.want, got)
	}
	for _, bad := range []string{"", "http://router", "router:port", "a b:1"} {
		cfg := defaults()
		_, err := cfg.hostPort(bad)
		require.ErrorIs(t, err, ErrInvalid, bad)
		assert.Contains(t, err.Error(), bad, "the error shows what was typed")
	}
}

// TestClassSentinels: each failure a user meets matches its class.
func TestClassSentinels(t *testing.T) {
	t.Parallel()
	srv, c := lab(t, routerostest.WithReadOnlyUser("viewer", "view-pw"))
	ctx := t.Context()

	_, err := c.WireGuard.Interface(ctx, "nope")
	assert.ErrorIs(t, err, ErrNotFound)

	_, err = Dial(ctx, srv.Addr(), WithCredentials("admin", secret.New("wrong")))
	assert.ErrorIs(t, err, ErrAuth)

	ro, err := Dial(ctx, srv.Addr(), WithCredentials("viewer", secret.New("view-pw")))
	require.NoError(t, err)
	defer ro.Close()
	err = ro.System.SetIdentity(ctx, "x")
	assert.ErrorIs(t, err, ErrPermission)

	_, err = c.Firewall.AddAddress(ctx, "blocklist", "198.51.100.7", AddressOptions{})
	assert.ErrorIs(t, err, ErrConflict)

	_, err = c.Run(ctx, "/ip/address/add", "=address=banana", "=interface=ether2")
	assert.ErrorIs(t, err, ErrInvalid)
	_, err = c.Run(ctx, "/no/such/print")
	assert.ErrorIs(t, err, ErrInvalid)
	assert.ErrorIs(t, err, ErrUnknownCommand)

	// A write is never repeated on a fresh connection, so the break shows.
	srv.Inject(routerostest.Fault{Kind: routerostest.FaultFatal, Message: "bye", Times: 1})
	err = c.System.SetIdentity(ctx, routerostest.LabIdentity)
	assert.ErrorIs(t, err, ErrUnavailable)
	assert.ErrorIs(t, err, ErrConnection)
	assert.ErrorIs(t, err, ErrFatal)

	require.NoError(t, c.Close())
	_, err = c.System.Identity(ctx)
	assert.ErrorIs(t, err, ErrClosed)

	var e *Error
	require.ErrorAs(t, err, &e)
	for _, s := range []error{ErrNotFound, ErrAuth, ErrPermission, ErrConflict, ErrInvalid, ErrUnavailable, ErrClosed} {
		assert.Equal(t, strings.ToLower(s.Error()), s.Error())
		assert.NotContains(t, s.Error(), "routeros")
	}
}

func TestFingerprintMismatchErrorReachable(t *testing.T) {
	t.Parallel()
	srv := routerostest.Start(t, routerostest.WithTLS())
	_, err := Dial(t.Context(), srv.Addr(), creds, WithFingerprint("sha256:"+strings.Repeat("AB:", 31)+"AB"))
	var mm *FingerprintMismatchError
	require.ErrorAs(t, err, &mm)
	assert.Equal(t, srv.Fingerprint(), mm.Got, "the fingerprint seen, ready to pin")
}

func TestOnEvent(t *testing.T) {
	t.Parallel()
	srv := routerostest.Start(t)
	var mu sync.Mutex
	var kinds []EventKind
	c, err := Dial(t.Context(), srv.Addr(), creds, WithOnEvent(func(e Event) {
		mu.Lock()
		defer mu.Unlock()
		kinds = append(kinds, e.Kind)
		assert.False(t, e.Time.IsZero())
		if e.Kind == EventDisconnected {
			assert.Error(t, e.Err)
		}
	}))
	require.NoError(t, err)
	defer c.Close()
	srv.Inject(routerostest.Fault{Kind: routerostest.FaultDrop, Command: "/system/identity/print", Times: 1})
	_, err = c.System.Identity(t.Context())
	require.ErrorIs(t, err, ErrConnection)
	_, err = c.System.Identity(t.Context())
	require.NoError(t, err)
	mu.Lock()
	defer mu.Unlock()
	assert.Equal(t, []EventKind{EventDisconnected, EventReconnected}, kinds)
	assert.Equal(t, "disconnected", EventDisconnected.String())
}

func TestResultVocabulary(t *testing.T) {
	t.Parallel()
	assert.Equal(t, "unchanged", Action(0).String())
	assert.Equal(t, "deleted", Deleted.String())
	assert.Equal(t, "port: 80 → 443", Change{Field: "port", Old: "80", New: "443"}.String())
	assert.Equal(t, "added 10.1.1.5", Change{New: "10.1.1.5"}.String())
	assert.Equal(t, "removed 10.1.1.5", Change{Old: "10.1.1.5"}.String())

	_, c := lab(t)
	ctx := t.Context()
	res, err := c.Firewall.EnsureAddressList(ctx, "fresh", []string{"10.9.0.1", "10.9.0.2"})
	require.NoError(t, err)
	assert.Equal(t, Created, res.Action)
	assert.Equal(t, []string{"10.9.0.1", "10.9.0.2"}, res.Entries)
	res, err = c.Firewall.EnsureAddressList(ctx, "fresh", nil)
	require.NoError(t, err)
	assert.Equal(t, Deleted, res.Action)
	assert.Empty(t, res.Entries)

	kp, err := GenerateKeyPair()
	require.NoError(t, err)
	psk, err := GeneratePresharedKey()
	require.NoError(t, err)
	spec := PeerSpec{Name: "tablet", PublicKey: kp.Public, PresharedKey: psk, AllowedAddress: []netip.Prefix{netip.MustParsePrefix("192.168.100.77/32")}}
	pr, err := c.WireGuard.EnsurePeer(ctx, spec)
	require.NoError(t, err)
	assert.Equal(t, Created, pr.Action)
	assert.True(t, pr.Changed())
	assert.Equal(t, "tablet", pr.Peer.Name)
	assert.NotEmpty(t, pr.Peer.ID)
	spec.AllowedAddress = []netip.Prefix{netip.MustParsePrefix("192.168.100.78/32")}
	pr, err = c.WireGuard.EnsurePeer(ctx, spec)
	require.NoError(t, err)
	assert.Equal(t, Updated, pr.Action)
	assert.Equal(t, "allowed-address: 192.168.100.77/32 → 192.168.100.78/32", pr.Changes[0].String())
	assert.Equal(t, []netip.Prefix{netip.MustParsePrefix("192.168.100.78/32")}, pr.Peer.AllowedAddress)
	assert.NotContains(t, fmt.Sprint(pr), psk.Reveal())
}

// TestWrongTransportSaysSo: plain on the api-ssl port, TLS on the plain
// port and an unknown authority each say what to do.
func TestWrongTransportSaysSo(t *testing.T) {
	t.Parallel()
	plain := routerostest.Start(t)
	tlsSrv := routerostest.Start(t, routerostest.WithTLS())

	_, err := Dial(t.Context(), plain.Addr(), creds, WithRootCAs(tlsSrv.CertPool()), WithTimeout(300*time.Millisecond))
	require.ErrorIs(t, err, ErrConnection)
	assert.Contains(t, err.Error(), "answered without TLS")

	_, err = Dial(t.Context(), tlsSrv.Addr(), creds, WithTimeout(2*time.Second))
	require.ErrorIs(t, err, ErrConnection)
	assert.Contains(t, err.Error(), "api-ssl (8729), dial it with WithTLS")

	_, err = Dial(t.Context(), tlsSrv.Addr(), creds, WithTLS())
	require.ErrorIs(t, err, ErrConnection)
	assert.Contains(t, err.Error(), tlsSrv.Fingerprint())
	assert.Contains(t, err.Error(), "WithFingerprint")
}
