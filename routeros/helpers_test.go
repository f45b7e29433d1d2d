package routeros

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"net/netip"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/thehomelab/homelab/routeros/routerostest"
	"github.com/thehomelab/homelab/secret"
)

// lab starts a seeded fake router and a client logged in to it.
func lab(t testing.TB, opts ...routerostest.Option) (*routerostest.Server, *Client) {
	t.Helper()
	srv := routerostest.Start(t, opts...)
	c, err := Dial(context.Background(), srv.Addr(), WithCredentials(routerostest.DefaultUser, secret.New(routerostest.DefaultPassword)))
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

// changedFields lists the properties an Ensure call changed.
func changedFields(cs []Change) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.Field)
	}
	return out
}
