package lab

import (
	"context"
	"fmt"

	"github.com/thehomelab/homelab/routeros"
	"github.com/thehomelab/homelab/routeros/routerostest"
	"github.com/thehomelab/homelab/secret"
)

// startRouter starts the fake MikroTik: pppoe-out1 with a public address,
// LAN, Guest isolated from the LAN by a forward drop rule, WireGuard with
// two peers.
func (l *Lab) startRouter(ctx context.Context) error {
	srv := routerostest.NewServer()
	l.closers = append(l.closers, srv.Close)
	c, err := routeros.Dial(ctx, srv.Addr(),
		routeros.WithCredentials(routerostest.DefaultUser, secret.New(routerostest.DefaultPassword)))
	if err != nil {
		return fmt.Errorf("lab: router client: %w", err)
	}
	l.closers = append(l.closers, func() { _ = c.Close() })
	l.Router, l.RouterServer = c, srv
	return nil
}
