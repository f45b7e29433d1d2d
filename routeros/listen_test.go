package routeros

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/thehomelab/homelab/routeros/routerostest"
)

// waitListening waits until the fake has registered n listen commands.
func waitListening(t *testing.T, srv *routerostest.Server, n int) {
	t.Helper()
	require.Eventually(t, func() bool {
		got := 0
		for _, s := range srv.Requests() {
			if len(s.Words[0]) > 7 && s.Words[0][len(s.Words[0])-7:] == "/listen" {
				got++
			}
		}
		return got >= n
	}, 2*time.Second, 5*time.Millisecond)
}

func TestListen(t *testing.T) {
	t.Parallel()
	srv, c := lab(t)
	ctx := t.Context()
	l, err := c.Listen(ctx, "/ip/firewall/address-list")
	require.NoError(t, err)
	defer l.Close()
	waitListening(t, srv, 1)

	id, err := c.Firewall.AddAddress(ctx, "watch", "10.3.3.3", AddressOptions{})
	require.NoError(t, err)
	ev, err := l.Next(ctx)
	require.NoError(t, err)
	assert.Equal(t, EventChanged, ev.Kind)
	assert.Equal(t, id, ev.Record.ID())
	assert.Equal(t, "10.3.3.3", ev.Record["address"])

	require.NoError(t, c.Firewall.RemoveAddress(ctx, "watch", "10.3.3.3"))
	ev, err = l.Next(ctx)
	require.NoError(t, err)
	assert.Equal(t, EventRemoved, ev.Kind)
	assert.Equal(t, id, ev.Record.ID())

	// A ctx that is already done reads nothing and leaves the stream be.
	done, cancelDone := context.WithCancel(ctx)
	cancelDone()
	_, err = l.Next(done)
	assert.ErrorIs(t, err, context.Canceled)
	_, err = c.Firewall.AddAddress(ctx, "watch", "10.3.3.4", AddressOptions{})
	require.NoError(t, err)
	ev, err = l.Next(ctx)
	require.NoError(t, err)
	assert.Equal(t, "10.3.3.4", ev.Record["address"])

	// A Next that times out ends the stream.
	short, cancel := context.WithTimeout(ctx, 30*time.Millisecond)
	_, err = l.Next(short)
	cancel()
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	_, err = l.Next(ctx)
	assert.ErrorIs(t, err, ErrConnection)

	require.NoError(t, l.Close())
	require.NoError(t, l.Close())
	_, err = l.Next(ctx)
	assert.ErrorIs(t, err, ErrClosed)
	// The main connection is unaffected.
	_, err = c.System.Identity(ctx)
	require.NoError(t, err)
	conns := map[int]bool{}
	for _, s := range srv.Requests() {
		conns[s.Conn] = true
	}
	assert.Len(t, conns, 2, "the listener has its own connection")
}

func TestListenClosedWithClient(t *testing.T) {
	t.Parallel()
	srv, c := lab(t)
	l, err := c.Listen(t.Context(), "/ip/dhcp-server/lease")
	require.NoError(t, err)
	waitListening(t, srv, 1)
	done := make(chan error, 1)
	go func() {
		_, err := l.Next(context.Background())
		done <- err
	}()
	require.NoError(t, c.Close())
	select {
	case err := <-done:
		assert.ErrorIs(t, err, ErrClosed)
	case <-time.After(2 * time.Second):
		t.Fatal("Client.Close did not end the listener")
	}
	_, err = c.Listen(t.Context(), "/ip/address")
	assert.ErrorIs(t, err, ErrClosed)
}

func TestListenErrors(t *testing.T) {
	t.Parallel()
	srv, c := lab(t)
	l, err := c.Listen(t.Context(), "/nope")
	require.NoError(t, err, "the router answers asynchronously")
	_, err = l.Next(t.Context())
	assert.ErrorIs(t, err, ErrUnknownCommand)
	require.NoError(t, l.Close())

	_, err = c.Listen(t.Context(), "ip address")
	assert.ErrorIs(t, err, ErrInvalid)

	conn, err := net.Dial("tcp", srv.Addr())
	require.NoError(t, err)
	nc, err := NewClient(conn, creds)
	require.NoError(t, err)
	defer nc.Close()
	_, err = nc.Listen(t.Context(), "/ip/address")
	assert.ErrorIs(t, err, ErrInvalid)
}
