package routeros

import (
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRealRouter runs the read-only operations against a real RouterOS
// (or CHR) when HOMELAB_ROUTEROS_ADDR is set, to catch drift between the
// fake and the device. Optional: HOMELAB_ROUTEROS_USER (default admin),
// HOMELAB_ROUTEROS_PASSWORD, HOMELAB_ROUTEROS_FINGERPRINT (use API-SSL with
// that pin). It changes nothing on the router.
func TestRealRouter(t *testing.T) {
	addr := os.Getenv("HOMELAB_ROUTEROS_ADDR")
	if addr == "" {
		t.Skip("HOMELAB_ROUTEROS_ADDR not set; no real router to test against")
	}
	user := os.Getenv("HOMELAB_ROUTEROS_USER")
	if user == "" {
		user = "admin"
	}
	opts := []Option{WithUser(user, NewSecret(os.Getenv("HOMELAB_ROUTEROS_PASSWORD")))}
	if fp := os.Getenv("HOMELAB_ROUTEROS_FINGERPRINT"); fp != "" {
		opts = append(opts, WithFingerprint(fp))
	}
	ctx := t.Context()
	c, err := Dial(ctx, addr, opts...)
	require.NoError(t, err)
	defer c.Close()

	res, err := c.System.Resource(ctx)
	require.NoError(t, err)
	assert.NotEmpty(t, res.Version)
	assert.Positive(t, res.Uptime)
	_, err = c.System.Identity(ctx)
	require.NoError(t, err)
	_, err = c.System.Clock(ctx)
	require.NoError(t, err)
	_, err = c.IP.Addresses(ctx)
	require.NoError(t, err)
	_, err = c.IP.Routes(ctx)
	require.NoError(t, err)
	_, err = c.DHCP.Leases(ctx)
	require.NoError(t, err)
	_, err = c.Firewall.FilterRules(ctx)
	require.NoError(t, err)
	_, err = c.WireGuard.Interfaces(ctx)
	require.NoError(t, err)
	_, err = c.WireGuard.Peers(ctx, "")
	require.NoError(t, err)
	_, err = c.Scripts.Scripts(ctx)
	require.NoError(t, err)
	_, err = c.Scripts.Schedules(ctx)
	require.NoError(t, err)
	if _, err := c.WAN.PublicIP(ctx, ""); err != nil {
		assert.ErrorIs(t, err, ErrNotFound)
	}
	r, err := c.Run(ctx, "/ip/firewall/address-list/print", "?list=homelab-test-no-such-list")
	require.NoError(t, err)
	assert.Empty(t, r.Records)
	_, err = c.Run(ctx, "/no/such/menu/print")
	assert.ErrorIs(t, err, ErrUnknownCommand)
}
