package proxmox_test

import (
	"context"
	"net"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/thehomelab/homelab/internal/errtext"
	"github.com/thehomelab/homelab/proxmox"
	"github.com/thehomelab/homelab/proxmox/proxmoxtest"
	"github.com/thehomelab/homelab/secret"
)

// TestErrorTextSaysEachPartOnce provokes the usual failures (401, 404,
// 500, 400, 596, a malformed 200, a refused connection) through Do and typed calls and
// checks every text has one "proxmox: " and no part said twice in a row:
// a review saw "POST /nodes/proxmox1/lxc: POST /nodes/proxmox1/lxc: 401".
func TestErrorTextSaysEachPartOnce(t *testing.T) {
	t.Parallel()
	type call func(ctx context.Context, c *proxmox.Client) error
	do := func(method, path string) call {
		return func(ctx context.Context, c *proxmox.Client) error { return c.Do(ctx, method, path, nil, nil) }
	}
	start := func(ctx context.Context, c *proxmox.Client) error { _, err := c.Guests.Start(ctx, nas); return err }
	version := func(ctx context.Context, c *proxmox.Client) error { _, err := c.Version(ctx); return err }
	nodes := func(ctx context.Context, c *proxmox.Client) error { _, err := c.Nodes.List(ctx); return err }
	for _, tc := range []struct {
		name  string
		fault *proxmoxtest.Fault
		token string // a wrong token secret when set
		down  bool   // the API is not listening
		call  call
		is    error
	}{
		{name: "401 Do", token: "wrong", call: do(http.MethodPost, "/nodes/proxmox1/lxc"), is: proxmox.ErrAuth},
		{name: "401 typed", token: "wrong", call: start, is: proxmox.ErrAuth},
		{name: "404 Do", fault: &proxmoxtest.Fault{Status: 404, Reason: "Not Found"}, call: do(http.MethodGet, "/nodes/proxmox1/nothing"), is: proxmox.ErrNotFound},
		{name: "500 Do", fault: &proxmoxtest.Fault{Status: 500, Reason: "Configuration file 'nodes/proxmox1/lxc/9900.conf' does not exist"}, call: do(http.MethodGet, "/nodes/proxmox1/lxc/9900/config"), is: proxmox.ErrNotFound},
		{name: "500 typed", fault: &proxmoxtest.Fault{Status: 500, Reason: "unable to start"}, call: start},
		{name: "400 Do", fault: &proxmoxtest.Fault{Status: 400, Reason: "Parameter verification failed.", Body: `{"data":null,"errors":{"vmid":"invalid format"}}`}, call: do(http.MethodPost, "/nodes/proxmox1/qemu"), is: proxmox.ErrInvalid},
		{name: "596 typed", fault: &proxmoxtest.Timeout596, call: nodes, is: proxmox.ErrUnavailable},
		{name: "malformed typed", fault: &proxmoxtest.Fault{Path: "^/version$", Status: 200, Body: `{"data":`}, call: version},
		{name: "malformed Do", fault: &proxmoxtest.Fault{Path: "^/version$", Status: 200, Body: `{"data":`}, call: do(http.MethodGet, "/version")},
		{name: "refused Do", down: true, call: do(http.MethodPost, "/nodes/proxmox1/lxc"), is: proxmox.ErrUnavailable},
		{name: "refused typed", down: true, call: start, is: proxmox.ErrUnavailable},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := proxmoxtest.Start(t)
			if tc.fault != nil {
				srv.Inject(*tc.fault)
			}
			url := srv.URL
			if tc.down {
				l, err := net.Listen("tcp", "127.0.0.1:0")
				require.NoError(t, err)
				url = "https://" + l.Addr().String()
				require.NoError(t, l.Close())
			}
			opts := []proxmox.Option{}
			if tc.token != "" {
				opts = append(opts, proxmox.WithAPIToken(proxmoxtest.TokenID, secret.New(tc.token)))
			}
			c, err := proxmox.NewClient(url, append([]proxmox.Option{
				proxmox.WithFingerprint(srv.Fingerprint()),
				proxmox.WithAPIToken(proxmoxtest.TokenID, secret.New(proxmoxtest.TokenSecret)),
				proxmox.WithRetries(0),
			}, opts...)...)
			require.NoError(t, err)
			t.Cleanup(func() { _ = c.Close() })
			err = tc.call(t.Context(), c)
			require.Error(t, err)
			t.Log(err)
			if tc.is != nil {
				assert.ErrorIs(t, err, tc.is)
			}
			assert.NoError(t, errtext.Check("proxmox", err))
		})
	}
}
