package proxmox_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/thehomelab/homelab/proxmox"
	"github.com/thehomelab/homelab/proxmox/proxmoxtest"
	"github.com/thehomelab/homelab/secret"
)

// newLab starts a seeded fake and returns it with a token client pinned
// to its certificate.
func newLab(t testing.TB, opts ...proxmoxtest.Option) (*proxmoxtest.Server, *proxmox.Client) {
	t.Helper()
	srv := proxmoxtest.NewServer(opts...)
	t.Cleanup(srv.Close)
	return srv, newClient(t, srv)
}

func newClient(t testing.TB, srv *proxmoxtest.Server, extra ...proxmox.Option) *proxmox.Client {
	t.Helper()
	opts := append([]proxmox.Option{
		proxmox.WithFingerprint(srv.Fingerprint()),
		proxmox.WithAPIToken(proxmoxtest.TokenID, secret.New(proxmoxtest.TokenSecret)),
		proxmox.WithPollInterval(5*time.Millisecond, 50*time.Millisecond),
		proxmox.WithRetries(0),
	}, extra...)
	c, err := proxmox.NewClient(srv.URL, opts...)
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// newRootClient holds both the token and a root@pam password login.
func newRootClient(t testing.TB, srv *proxmoxtest.Server) *proxmox.Client {
	t.Helper()
	return newClient(t, srv, proxmox.WithCredentials(proxmoxtest.RootUser, secret.New(proxmoxtest.RootPassword)))
}

var (
	nas    = proxmox.GuestRef{Node: proxmoxtest.Node, Type: proxmox.TypeVM, VMID: 100}
	docker = proxmox.GuestRef{Node: proxmoxtest.Node, Type: proxmox.TypeCT, VMID: 101}
	ha     = proxmox.GuestRef{Node: proxmoxtest.Node, Type: proxmox.TypeVM, VMID: 102}
)

// fieldsOf lists the keys of changes, nil when there are none.
func fieldsOf(cs []proxmox.Change) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.Field)
	}
	return out
}
