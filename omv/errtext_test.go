package omv_test

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/thehomelab/homelab/internal/errtext"
	"github.com/thehomelab/homelab/omv"
	"github.com/thehomelab/homelab/omv/omvtest"
	"github.com/thehomelab/homelab/secret"
)

// TestErrorTextSaysEachPartOnce provokes the usual failures (a refused
// login, 401, 404, 500, a refused connection) through plain calls and
// ProvisionShare, and checks every text has one "omv: " and no part said
// twice in a row.
func TestErrorTextSaysEachPartOnce(t *testing.T) {
	t.Parallel()
	info := func(ctx context.Context, c *omv.Client) error { _, err := c.Info(ctx); return err }
	user := func(ctx context.Context, c *omv.Client) error { _, err := c.Users.Get(ctx, "nobody-here"); return err }
	provision := func(ctx context.Context, c *omv.Client) error {
		_, err := c.ProvisionShare(ctx, omv.ShareSpec{Name: "photos", Filesystem: omvtest.FilesystemUUID,
			Owner: omv.UserSpec{Name: "carol", Password: secret.New("pw")}, Quota: 1 << 30})
		return err
	}
	for _, tc := range []struct {
		name     string
		password string
		fault    *omvtest.Fault
		down     bool
		call     func(context.Context, *omv.Client) error
		is       error
	}{
		{name: "bad login", password: "wrong", call: info, is: omv.ErrAuth},
		{name: "401", fault: &omvtest.Fault{Status: 401, Message: "Session not authenticated.", Times: 5}, call: info, is: omv.ErrAuth},
		{name: "404 user", call: user, is: omv.ErrNotFound},
		{name: "500 info", fault: &omvtest.Fault{RPC: "System.getInformation", Status: 500, Message: "Failed to execute command"}, call: info},
		{name: "500 provision", fault: &omvtest.Fault{RPC: "ShareMgmt.set", Status: 500, Message: "Failed to create the directory"}, call: provision},
		{name: "refused", down: true, call: info, is: omv.ErrUnavailable},
		{name: "refused provision", down: true, call: provision, is: omv.ErrUnavailable},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := omvtest.Start(t)
			if tc.fault != nil {
				srv.Inject(*tc.fault)
			}
			url := srv.URL
			if tc.down {
				l, err := net.Listen("tcp", "127.0.0.1:0")
				require.NoError(t, err)
				url = "http://" + l.Addr().String()
				require.NoError(t, l.Close())
			}
			pw := omvtest.AdminPassword
			if tc.password != "" {
				pw = tc.password
			}
			c, err := omv.NewClient(url, omv.WithCredentials(omvtest.AdminUser, secret.New(pw)),
				omv.WithPollInterval(time.Millisecond, time.Millisecond), omv.WithRetries(0))
			require.NoError(t, err)
			t.Cleanup(func() { _ = c.Close() })
			err = tc.call(t.Context(), c)
			require.Error(t, err)
			t.Log(err)
			if tc.is != nil {
				assert.ErrorIs(t, err, tc.is)
			}
			assert.NoError(t, errtext.Check("omv", err))
		})
	}
}
