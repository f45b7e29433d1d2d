package lab

import (
	"context"
	"fmt"
	"time"

	"github.com/thehomelab/homelab/proxmox"
	"github.com/thehomelab/homelab/proxmox/proxmoxtest"
	"github.com/thehomelab/homelab/secret"
)

// NASDisks are the serial numbers of the two SSDs the lab's Proxmox node
// passes through to the NAS VM.
var NASDisks = []string{"S6PNNS0T100001", "S6PNNS0T100002"}

// startProxmox starts the fake Proxmox VE node proxmox1 (HTTPS with a
// self-signed certificate, pinned by fingerprint): VM 100 nas, CT 101
// docker, VM 102 homeassistant.
func (l *Lab) startProxmox(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	srv := proxmoxtest.NewServer()
	l.closers = append(l.closers, srv.Close)
	c, err := proxmox.NewClient(srv.URL,
		proxmox.WithFingerprint(srv.Fingerprint()),
		proxmox.WithAPIToken(proxmoxtest.TokenID, secret.New(proxmoxtest.TokenSecret)),
		// Raw disk passthrough is reserved to root@pam by password.
		proxmox.WithCredentials(proxmoxtest.RootUser, secret.New(proxmoxtest.RootPassword)),
		// The fake's tasks end at once; PVE's take seconds.
		proxmox.WithPollInterval(time.Millisecond, 10*time.Millisecond))
	if err != nil {
		return fmt.Errorf("lab: proxmox client: %w", err)
	}
	l.closers = append(l.closers, func() { _ = c.Close() })
	l.Proxmox, l.ProxmoxServer = c, srv
	return nil
}
