package lab

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestStartAndClose(t *testing.T) {
	t.Parallel()
	l, err := Start(t.Context())
	require.NoError(t, err)
	require.NotNil(t, l.Router)
	require.NotNil(t, l.DNS)
	require.NotNil(t, l.Proxmox)
	require.NotNil(t, l.NAS)
	require.NotNil(t, l.Proxy)
	require.NotNil(t, l.UPS)

	ip, err := l.Router.WAN.PublicIP(t.Context(), "")
	require.NoError(t, err)
	assert.Equal(t, "203.0.113.45", ip.String())
	recs := l.DNSServer.Records(VPNName)
	require.Len(t, recs, 1)
	assert.Equal(t, StaleVPNAddr, recs[0].Content)

	var b strings.Builder
	l.Describe(&b)
	for _, want := range []string{"router     routerostest  127.0.0.1:", "cloudflare dnstest       http://127.0.0.1:",
		"proxmox    proxmoxtest   https://127.0.0.1:", "pve shell  lab.Node      in-process", "nas        omvtest", "proxy      npmtest", "ups        upstest       127.0.0.1:"} {
		assert.Contains(t, b.String(), want)
	}

	l.Close()
	l.Close() // idempotent
	_, err = l.Router.WAN.PublicIP(t.Context(), "")
	assert.Error(t, err, "the router client is closed")
}

func TestStartCancelled(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	l, err := Start(ctx)
	assert.ErrorIs(t, err, context.Canceled)
	assert.Nil(t, l)
}
