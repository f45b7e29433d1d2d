package backup

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/thehomelab/homelab/internal/errtext"
	"github.com/thehomelab/homelab/proxmox"
	"github.com/thehomelab/homelab/proxmox/proxmoxtest"
	"github.com/thehomelab/homelab/secret"
)

// TestErrorTextSaysEachPartOnce provokes the usual failures of the
// Proxmox API under Plan and VerifyRestore (401, 404, 500, a refused
// connection) and checks each text has one "backup: " and no part said
// twice in a row: a review saw "restore … into 9900: proxmox: POST
// /nodes/proxmox1/lxc: POST /nodes/proxmox1/lxc: 401 …".
func TestErrorTextSaysEachPartOnce(t *testing.T) {
	t.Parallel()
	plan := func(ctx context.Context, cfg Config) error { _, err := Plan(ctx, cfg); return err }
	drill := func(ctx context.Context, cfg Config) error {
		_, err := VerifyRestore(ctx, cfg, RestoreOptions{VMID: 101, ScratchVMID: 9900, Storage: "local-lvm"})
		return err
	}
	for _, tc := range []struct {
		name  string
		fault proxmoxtest.Fault
		down  bool
		call  func(context.Context, Config) error
		is    error
	}{
		{name: "401 restore", fault: proxmoxtest.Fault{Method: "POST", Path: "^/nodes/proxmox1/lxc$", Status: 401, Reason: "authentication failure"}, call: drill, is: ErrAuth},
		{name: "500 restore", fault: proxmoxtest.Fault{Method: "POST", Path: "^/nodes/proxmox1/lxc$", Status: 500, Reason: "unable to restore"}, call: drill, is: ErrUnavailable},
		{name: "401 plan", fault: proxmoxtest.Fault{Status: 401, Reason: "authentication failure"}, call: plan, is: ErrAuth},
		{name: "404 plan", fault: proxmoxtest.Fault{Path: "^/storage/", Status: 404, Reason: "Not Found"}, call: plan, is: ErrNotFound},
		{name: "500 plan", fault: proxmoxtest.Fault{Path: "/config$", Status: 500, Reason: "got timeout"}, call: plan},
		{name: "refused plan", down: true, call: plan, is: ErrUnavailable},
		{name: "refused drill", down: true, call: drill, is: ErrUnavailable},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv, c := labFake(t)
			if tc.down {
				l, err := net.Listen("tcp", "127.0.0.1:0")
				require.NoError(t, err)
				require.NoError(t, l.Close())
				c, err = proxmox.NewClient("https://"+l.Addr().String(), proxmox.WithFingerprint(srv.Fingerprint()),
					proxmox.WithAPIToken(proxmoxtest.TokenID, secret.New(proxmoxtest.TokenSecret)), proxmox.WithRetries(0))
				require.NoError(t, err)
				t.Cleanup(func() { c.Close() })
			} else {
				srv.Inject(tc.fault)
			}
			err := tc.call(t.Context(), Config{Client: c, Storage: "backups", Now: func() time.Time { return night }})
			require.Error(t, err)
			t.Log(err)
			if tc.is != nil {
				assert.ErrorIs(t, err, tc.is)
			}
			assert.NoError(t, errtext.Check("backup", err))
		})
	}
}
