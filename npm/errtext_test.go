package npm_test

import (
	"context"
	"net"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/thehomelab/homelab/internal/errtext"
	"github.com/thehomelab/homelab/npm"
	"github.com/thehomelab/homelab/npm/npmtest"
	"github.com/thehomelab/homelab/secret"
)

// TestErrorTextSaysEachPartOnce provokes the usual failures (401, 404,
// 500, a refused connection) and checks every text has one "npm: " and no
// part said twice in a row.
func TestErrorTextSaysEachPartOnce(t *testing.T) {
	t.Parallel()
	list := func(ctx context.Context, c *npm.Client) error {
		_, err := c.ProxyHosts.List(ctx, npm.ListOptions{})
		return err
	}
	get := func(ctx context.Context, c *npm.Client) error { _, err := c.ProxyHosts.Get(ctx, 4242); return err }
	expose := func(ctx context.Context, c *npm.Client) error {
		_, err := c.Expose(ctx, npm.App{FQDN: "new." + npmtest.Domain, ForwardHost: "192.168.88.50", ForwardPort: 8080})
		return err
	}
	for _, tc := range []struct {
		name     string
		password string
		fault    *npmtest.Fault
		down     bool
		call     func(context.Context, *npm.Client) error
		is       error
	}{
		{name: "bad login", password: "wrong", call: list, is: npm.ErrAuth},
		{name: "404 get", call: get, is: npm.ErrNotFound},
		{name: "404 fault", fault: &npmtest.Fault{Path: "/nginx/proxy-hosts", Status: 404, Message: "Not Found"}, call: list, is: npm.ErrNotFound},
		{name: "500 list", fault: &npmtest.Fault{Path: "/nginx/proxy-hosts"}, call: list},
		{name: "500 expose", fault: &npmtest.Fault{Method: "POST", Path: "/nginx/proxy-hosts"}, call: expose},
		{name: "refused", down: true, call: list, is: npm.ErrUnavailable},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := npmtest.Start(t)
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
			pw := npmtest.AdminPassword
			if tc.password != "" {
				pw = tc.password
			}
			c, err := npm.NewClient(url, npm.WithCredentials(npmtest.AdminEmail, secret.New(pw)), npm.WithRetries(0))
			require.NoError(t, err)
			t.Cleanup(func() { _ = c.Close() })
			err = tc.call(t.Context(), c)
			require.Error(t, err)
			t.Log(err)
			if tc.is != nil {
				assert.ErrorIs(t, err, tc.is)
			}
			assert.NoError(t, errtext.Check("npm", err))
		})
	}
}
