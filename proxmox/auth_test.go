package proxmox_test

import (
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/thehomelab/homelab/proxmox"
	"github.com/thehomelab/homelab/proxmox/proxmoxtest"
	"github.com/thehomelab/homelab/secret"
)

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func TestTicketRenewalAndExpiry(t *testing.T) {
	t.Parallel()
	clk := &fakeClock{t: time.Now()}
	srv := proxmoxtest.NewServer(proxmoxtest.WithClock(clk.Now))
	t.Cleanup(srv.Close)
	srv.AddUser("ops@pve", "first", "")
	c, err := proxmox.NewClient(srv.URL, proxmox.WithFingerprint(srv.Fingerprint()),
		proxmox.WithCredentials("ops@pve", secret.New("first")))
	require.NoError(t, err)
	proxmox.SetNow(c, clk.Now)
	logins := func() int {
		n := 0
		for _, r := range srv.Requests() {
			if r.Path == "/access/ticket" {
				n++
			}
		}
		return n
	}
	_, err = c.Inventory(t.Context())
	require.NoError(t, err)
	assert.Equal(t, 1, logins())

	srv.AddUser("ops@pve", "second", "") // password changed: only a renewal with the ticket can work
	clk.Add(30 * time.Minute)
	_, err = c.Inventory(t.Context())
	require.NoError(t, err)
	assert.Equal(t, 1, logins(), "ticket still fresh")

	clk.Add(45 * time.Minute)
	_, err = c.Inventory(t.Context())
	require.NoError(t, err, "renewed with the ticket as password")
	assert.Equal(t, 2, logins())

	clk.Add(3 * time.Hour) // the ticket expired: a full login with the old password fails
	_, err = c.Inventory(t.Context())
	require.ErrorIs(t, err, proxmox.ErrAuth)
}

func TestRevokedTicketLogsInAgain(t *testing.T) {
	t.Parallel()
	srv := proxmoxtest.NewServer()
	t.Cleanup(srv.Close)
	c, err := proxmox.NewClient(srv.URL, proxmox.WithFingerprint(srv.Fingerprint()),
		proxmox.WithCredentials(proxmoxtest.RootUser, secret.New(proxmoxtest.RootPassword)),
		proxmox.WithPollInterval(5*time.Millisecond, 20*time.Millisecond))
	require.NoError(t, err)
	_, err = c.Inventory(t.Context())
	require.NoError(t, err)
	srv.RevokeTickets()
	out, err := c.Guests.Stop(t.Context(), ha) // GET then POST with a fresh ticket and CSRF token
	require.NoError(t, err)
	assert.Equal(t, proxmox.Stopped, out)
}
