package routeros

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestSmoke(t *testing.T) {
	_, c := lab(t)
	r, err := c.System.Resource(t.Context())
	require.NoError(t, err)
	t.Logf("%+v", r)
	ip, err := c.WAN.PublicIP(t.Context(), "")
	require.NoError(t, err)
	t.Log(ip)
	rep, err := c.Firewall.AuditIsolation(t.Context(), mustPrefix("10.1.1.0/24"), mustPrefix("192.168.1.0/24"))
	require.NoError(t, err)
	t.Logf("%+v", rep)
	ob, err := c.WireGuard.Onboard(t.Context(), OnboardRequest{Name: "tablet"})
	require.NoError(t, err)
	t.Log(ob.Config.Reveal(), len(ob.QR))
	txt, err := c.System.Export(t.Context(), ExportOptions{ChunkSize: 100})
	require.NoError(t, err)
	t.Log(txt)
}
