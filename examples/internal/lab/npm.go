package lab

import (
	"context"
	"fmt"

	"github.com/thehomelab/homelab/npm"
	"github.com/thehomelab/homelab/npm/npmtest"
	"github.com/thehomelab/homelab/secret"
)

// startProxy starts the fake Nginx Proxy Manager: the lab's apps behind a
// wildcard certificate for *.thehomelab.site.
func (l *Lab) startProxy(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	srv := npmtest.NewServer()
	l.closers = append(l.closers, srv.Close)
	c, err := npm.NewClient(srv.URL, npm.WithCredentials(npmtest.AdminEmail, secret.New(npmtest.AdminPassword)))
	if err != nil {
		return fmt.Errorf("lab: npm client: %w", err)
	}
	l.closers = append(l.closers, func() { _ = c.Close() })
	l.Proxy, l.ProxyServer = c, srv
	return nil
}
