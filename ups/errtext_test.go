package ups_test

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/thehomelab/homelab/internal/errtext"
	"github.com/thehomelab/homelab/secret"
	"github.com/thehomelab/homelab/ups"
	"github.com/thehomelab/homelab/ups/upstest"
)

// TestErrorTextSaysEachPartOnce provokes the usual failures (a refused
// login, an unknown UPS or variable, a broken or refused connection, an
// answer too large) and checks every text has one "ups: " and no part said
// twice in a row.
func TestErrorTextSaysEachPartOnce(t *testing.T) {
	t.Parallel()
	status := func(ctx context.Context, c *ups.Client) error { _, err := c.Device("ups").Status(ctx); return err }
	fsd := func(ctx context.Context, c *ups.Client) error { return c.Device("ups").FSD(ctx) }
	for _, tc := range []struct {
		name     string
		password string
		fault    *upstest.Fault
		down     bool
		call     func(context.Context, *ups.Client) error
		is       error
	}{
		{name: "bad login", password: "wrong", call: fsd, is: ups.ErrPermission}, // upsd checks the password only when it is used,
		{name: "unknown ups", call: func(ctx context.Context, c *ups.Client) error { _, err := c.Device("nope").Status(ctx); return err }, is: ups.ErrNotFound},
		{name: "unknown variable", call: func(ctx context.Context, c *ups.Client) error {
			_, err := c.Device("ups").Get(ctx, "no.such")
			return err
		}, is: ups.ErrNotFound},
		{name: "unknown command", call: func(ctx context.Context, c *ups.Client) error { return c.Device("ups").InstCmd(ctx, "no.such") }},
		{name: "close mid-reply", fault: &upstest.Fault{Kind: upstest.CloseMidReply, Verb: "LIST"}, call: func(ctx context.Context, c *ups.Client) error { _, err := c.Device("ups").Variables(ctx); return err }},
		{name: "garbage", fault: &upstest.Fault{Kind: upstest.Garbage, Verb: "GET"}, call: status},
		{name: "huge line", fault: &upstest.Fault{Kind: upstest.HugeLine, Verb: "GET"}, call: status},
		{name: "endless list", fault: &upstest.Fault{Kind: upstest.EndlessList, Verb: "LIST"}, call: func(ctx context.Context, c *ups.Client) error { _, err := c.Device("ups").Variables(ctx); return err }},
		{name: "refused", down: true, call: status, is: ups.ErrUnavailable},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := newFake(t)
			if tc.fault != nil {
				srv.Inject(*tc.fault)
			}
			pw := adminPass
			if tc.password != "" {
				pw = tc.password
			}
			opts := []ups.Option{ups.WithCredentials("admin", secret.New(pw)), ups.WithTimeout(5 * time.Second)}
			var c *ups.Client
			var err error
			if tc.down {
				l, lerr := net.Listen("tcp", "127.0.0.1:0")
				require.NoError(t, lerr)
				require.NoError(t, l.Close())
				_, err = ups.Dial(t.Context(), l.Addr().String(), opts...)
			} else {
				c, err = ups.Dial(t.Context(), srv.Addr(), opts...)
				require.NoError(t, err)
				t.Cleanup(func() { _ = c.Close() })
				err = tc.call(t.Context(), c)
			}
			require.Error(t, err)
			t.Log(err)
			if tc.is != nil {
				assert.ErrorIs(t, err, tc.is)
			}
			assert.NoError(t, errtext.Check("ups", err))
		})
	}
}
