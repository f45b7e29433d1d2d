package routeros

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"net/netip"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/thehomelab/homelab/routeros/routerostest"
)

// lab starts a seeded fake router and a client logged in to it.
func lab(t testing.TB, opts ...routerostest.Option) (*routerostest.Server, *Client) {
	t.Helper()
	srv := routerostest.Start(t, opts...)
	c, err := Dial(context.Background(), srv.Addr(), WithUser(routerostest.DefaultUser, NewSecret(routerostest.DefaultPassword)))
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	return srv, c
}

func mustPrefix(s string) netip.Prefix { return netip.MustParsePrefix(s) }

func b64hex(h string) string {
	b, err := hex.DecodeString(h)
	if err != nil {
		panic(err)
	}
	return base64.StdEncoding.EncodeToString(b)
}
