package proxmox_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/thehomelab/homelab/proxmox"
)

func FuzzParseUPID(f *testing.F) {
	f.Add("UPID:pve1:0001A2B3:00C4D5E6:6650A1B2:vzdump:100:root@pam!sdk:")
	f.Add("UPID:proxmox1:0001a2b3:1c4d5e6ff:6650a1b2:startall::root@pam:")
	f.Add("OK")
	f.Fuzz(func(t *testing.T, s string) {
		u, err := proxmox.ParseUPID(s)
		if err != nil {
			return
		}
		assert.Equal(t, s, u.String())
		again, err := proxmox.ParseUPID(u.String())
		require.NoError(t, err)
		assert.Equal(t, u.Node, again.Node)
		assert.NotEmpty(t, u.Node)
		assert.NotEmpty(t, u.Type)
		assert.NotEmpty(t, u.User)
	})
}

func FuzzParseDrive(f *testing.F) {
	f.Add("/dev/disk/by-id/ata-X_SN1,backup=0,serial=SN1,ssd=1,discard=on")
	f.Add("local-lvm:vm-100-disk-0,iothread=1,size=32G")
	f.Add("file=none,media=cdrom")
	f.Fuzz(func(t *testing.T, s string) {
		d, err := proxmox.ParseDrive(s)
		if err != nil {
			return
		}
		assert.NotEmpty(t, d.File)
		if d.IsPath() {
			assert.Equal(t, byte('/'), d.File[0])
		}
		again, err := proxmox.ParseDrive(d.String())
		if err == nil {
			assert.Equal(t, d.File, again.File)
		}
	})
}

func FuzzParseStartup(f *testing.F) {
	f.Add("order=1,up=30,down=120")
	f.Add("3")
	f.Add("down=60")
	f.Add("order=1,later=2")
	f.Fuzz(func(t *testing.T, s string) {
		st, err := proxmox.ParseStartup(s)
		if err != nil {
			return
		}
		again, err := proxmox.ParseStartup(st.String())
		require.NoError(t, err, "%q -> %q", s, st.String())
		assert.Equal(t, st, again)
	})
}

func FuzzParsePruneSpec(f *testing.F) {
	f.Add("keep-last=3,keep-daily=7,keep-weekly=4,keep-monthly=6")
	f.Add("keep-all=1")
	f.Add("keep-hourly=24,keep-yearly=2")
	f.Fuzz(func(t *testing.T, s string) {
		p, err := proxmox.ParsePruneSpec(s)
		if err != nil {
			return
		}
		again, err := proxmox.ParsePruneSpec(p.String())
		require.NoError(t, err, "%q -> %q", s, p.String())
		if p.Last|p.Hourly|p.Daily|p.Weekly|p.Monthly|p.Yearly == 0 {
			assert.True(t, again.KeepAll)
		} else {
			assert.Equal(t, p, again)
		}
	})
}
