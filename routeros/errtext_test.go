package routeros

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/thehomelab/homelab/internal/errtext"
	"github.com/thehomelab/homelab/routeros/routerostest"
	"github.com/thehomelab/homelab/secret"
)

// TestErrorTextSaysEachPartOnce provokes the usual failures (a refused
// login, a trap, a missing item, !fatal, a dropped or corrupt connection,
// a refused dial) through typed calls and Run, and checks every text has
// one "routeros: " and no part said twice in a row.
func TestErrorTextSaysEachPartOnce(t *testing.T) {
	t.Parallel()
	addrs := func(ctx context.Context, c *Client) error { _, err := c.IP.Addresses(ctx); return err }
	run := func(ctx context.Context, c *Client) error { _, err := c.Run(ctx, "/ip/address/print"); return err }
	for _, tc := range []struct {
		name     string
		password string
		fault    *routerostest.Fault
		down     bool
		call     func(context.Context, *Client) error
		is       error
	}{
		{name: "bad login", password: "wrong", is: ErrAuth},
		{name: "refused", down: true, is: ErrUnavailable},
		{name: "trap", fault: &routerostest.Fault{Kind: routerostest.FaultTrap, Command: "/ip/address/print", Category: 1, Message: "failure: not permitted"}, call: addrs},
		{name: "trap run", fault: &routerostest.Fault{Kind: routerostest.FaultTrap, Command: "/ip/address/print", Category: -1, Message: "no such command"}, call: run},
		{name: "missing address", call: func(ctx context.Context, c *Client) error { return c.Firewall.RemoveAddress(ctx, "nope", "10.9.9.9") }},
		{name: "missing script", call: func(ctx context.Context, c *Client) error { return c.Scripts.RunScript(ctx, "nope") }},
		{name: "fatal", fault: &routerostest.Fault{Kind: routerostest.FaultFatal, Message: "session terminated on request"}, call: addrs, is: ErrUnavailable},
		{name: "drop", fault: &routerostest.Fault{Kind: routerostest.FaultDrop, Command: "/ip/address/print"}, call: addrs, is: ErrUnavailable},
		{name: "drop run", fault: &routerostest.Fault{Kind: routerostest.FaultDropMidWord, Command: "/ip/address/print"}, call: run, is: ErrUnavailable},
		{name: "unknown reply", fault: &routerostest.Fault{Kind: routerostest.FaultUnknownReply, Command: "/ip/address/print"}, call: addrs},
		{name: "corrupt length", fault: &routerostest.Fault{Kind: routerostest.FaultCorruptLength, Command: "/ip/address/print"}, call: addrs},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := routerostest.Start(t)
			if tc.fault != nil {
				srv.Inject(*tc.fault)
			}
			addr := srv.Addr()
			if tc.down {
				l, err := net.Listen("tcp", "127.0.0.1:0")
				require.NoError(t, err)
				addr = l.Addr().String()
				require.NoError(t, l.Close())
			}
			pw := routerostest.DefaultPassword
			if tc.password != "" {
				pw = tc.password
			}
			c, err := Dial(t.Context(), addr, WithCredentials(routerostest.DefaultUser, secret.New(pw)), WithTimeout(5*time.Second))
			if err == nil {
				t.Cleanup(func() { _ = c.Close() })
				require.NotNil(t, tc.call, "the dial should have failed")
				err = tc.call(t.Context(), c)
			}
			require.Error(t, err)
			t.Log(err)
			if tc.is != nil {
				assert.ErrorIs(t, err, tc.is)
			}
			assert.NoError(t, errtext.Check("routeros", err))
		})
	}
}
