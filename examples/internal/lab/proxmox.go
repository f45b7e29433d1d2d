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

// NASAddr is the NAS VM's address, the server of the backups share.
const NASAddr = "192.168.88.10"

// Now is the lab's clock: the time now, moved on by AdvanceClock. The fake
// Proxmox node names its backups by it.
func (l *Lab) Now() time.Time {
	return time.Now().Add(time.Duration(l.clockOffset.Load())).UTC()
}

// AdvanceClock moves the lab's clock on by d, e.g. so that a second backup
// run gets archives of its own names. Keep d under the two hours a Proxmox
// ticket lives.
func (l *Lab) AdvanceClock(d time.Duration) { l.clockOffset.Add(int64(d)) }

// startProxmox starts the fake Proxmox VE node proxmox1 (HTTPS with a
// self-signed certificate, pinned by fingerprint): VM 100 nas, CT 101
// docker, VM 102 homeassistant, nine nights of archives on the backups
// share, and the double of the node's shell (Node).
func (l *Lab) startProxmox(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	srv := proxmoxtest.NewServer(proxmoxtest.WithClock(l.Now))
	l.closers = append(l.closers, srv.Close)
	// The NAS VM's cloud-init address is the server of the backups share,
	// which is how the backup plan knows to back it up in two steps.
	nas := srv.GuestConfig(100)
	nas["ipconfig0"] = "ip=" + NASAddr + "/24,gw=192.168.88.1"
	srv.AddGuest(proxmoxtest.Guest{VMID: 100, Node: proxmoxtest.Node, Type: "qemu", Name: "nas", Running: true, Config: nas})
	// Nine nights of archives on the share, for retention to work on.
	night := time.Date(l.Now().Year(), l.Now().Month(), l.Now().Day(), 3, 0, 0, 0, time.UTC)
	for d := 1; d <= 9; d++ {
		for _, g := range []struct {
			vmid int
			typ  string
		}{{100, "qemu"}, {101, "lxc"}, {102, "qemu"}} {
			srv.AddBackup(proxmoxtest.Backup{Storage: "backups", VMID: g.vmid, Type: g.typ, Time: night.AddDate(0, 0, -d), Size: 3 << 30})
		}
	}
	l.Node = newNode(srv)
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
