package lab

import (
	"context"
	"fmt"
	"time"

	"github.com/thehomelab/homelab/omv"
	"github.com/thehomelab/homelab/omv/omvtest"
	"github.com/thehomelab/homelab/secret"
)

// startNAS starts the fake OpenMediaVault: md0 RAID 1 over two SSDs, ext4
// on it, the shares backups, documents and media.
func (l *Lab) startNAS(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	srv := omvtest.NewServer()
	l.closers = append(l.closers, srv.Close)
	c, err := omv.NewClient(srv.URL, omv.WithHTTPClient(srv.Client()),
		omv.WithCredentials(omvtest.AdminUser, secret.New(omvtest.AdminPassword)),
		// The fake's jobs finish at once; OMV's web UI polls every second.
		omv.WithPollInterval(time.Millisecond, time.Millisecond))
	if err != nil {
		return fmt.Errorf("lab: omv client: %w", err)
	}
	l.closers = append(l.closers, func() { _ = c.Close() })
	l.NAS, l.NASServer = c, srv
	return nil
}
