package lab

import (
	"context"
	"fmt"

	"github.com/thehomelab/homelab/secret"
	"github.com/thehomelab/homelab/ups"
	"github.com/thehomelab/homelab/ups/upstest"
)

// UPSName, UPSUser and UPSPassword are the lab UPS and the upsmon account
// the power-loss guard logs in with.
const (
	UPSName     = "ups"
	UPSUser     = "upsmon"
	UPSPassword = "upsmon-secret"
)

// startUPS starts the fake NUT upsd serving the PowerWalker VI 1000 STL on
// line power, with an upsmon primary account allowed to set FSD.
func (l *Lab) startUPS(ctx context.Context) error {
	srv := upstest.NewServer()
	l.closers = append(l.closers, srv.Close)
	srv.AddUPS(UPSName, "PowerWalker VI 1000 STL", upstest.DefaultVars())
	srv.AddUser(UPSUser, upstest.User{Password: UPSPassword, Actions: []string{"FSD"}, Upsmon: "primary"})
	c, err := ups.Dial(ctx, srv.Addr(), ups.WithCredentials(UPSUser, secret.New(UPSPassword)))
	if err != nil {
		return fmt.Errorf("lab: ups client: %w", err)
	}
	l.closers = append(l.closers, func() { _ = c.Close() })
	l.UPS, l.UPSServer = c.Device(UPSName), srv
	return nil
}
