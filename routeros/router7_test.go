package routeros

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/thehomelab/homelab/routeros/routerostest"
)

// What RouterOS 7 does that the client models (issue 13).

func TestCloudDDNSThreeValued(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		version, set string
		want         DDNSMode
	}{
		{"7.16.2", "no", DDNSOff},
		{"7.16.2", "yes", DDNSOn},
		{"7.17", "auto", DDNSAuto},
		{"7.20.5", "no", DDNSOff},
		{"7.20.5", "yes", DDNSOn},
	} {
		srv, c := lab(t, routerostest.WithVersion(tc.version))
		_, err := srv.Run("/ip/cloud/set", "=ddns-enabled="+tc.set)
		require.NoError(t, err)
		cl, err := c.WAN.Cloud(t.Context())
		require.NoError(t, err)
		assert.Equal(t, tc.want, cl.DDNSEnabled, "%s %s", tc.version, tc.set)
	}
}
