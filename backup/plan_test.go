package backup

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const gib = int64(1) << 30

// labInventory is the seed lab: the NAS VM 100 serving the backups share
// from two passed-through SSDs, a docker container and a VM.
func labInventory() inventory {
	keep := Keep{Last: 2, Daily: 7}
	return inventory{
		Guests: []invGuest{
			{VMID: 100, Name: "nas", Type: "qemu", Node: "pve1", Running: true, Config: map[string]string{
				"scsi0":     "local-lvm:vm-100-disk-0,size=16G",
				"scsi1":     "/dev/disk/by-id/ata-Samsung_SSD_870_EVO_1TB_A,backup=0",
				"scsi2":     "/dev/disk/by-id/ata-Samsung_SSD_870_EVO_1TB_B,backup=0",
				"ide2":      "none,media=cdrom",
				"ipconfig0": "ip=192.168.1.5/24,gw=192.168.1.1",
			}},
			{VMID: 101, Name: "docker", Type: "lxc", Node: "pve1", Running: true, Config: map[string]string{
				"rootfs": "local-lvm:vm-101-disk-0,size=8G",
				"mp0":    "/mnt/nas/media,mp=/media",
				"net0":   "name=eth0,bridge=vmbr0,ip=192.168.1.6/24,gw=192.168.1.1",
			}},
			{VMID: 102, Name: "homeassistant", Type: "qemu", Node: "pve1", Config: map[string]string{"scsi0": "local-lvm:vm-102-disk-0,size=32G"}},
			{VMID: 9000, Name: "debian-template", Type: "qemu", Node: "pve1", Template: true},
		},
		Storages: []invStorage{
			{Node: "pve1", ID: "backups", Type: "cifs", Active: true, Enabled: true, Avail: 800 * gib, Server: "192.168.1.5", Keep: &keep},
			{Node: "pve1", ID: "local", Type: "dir", Active: true, Enabled: true, Avail: 40 * gib},
		},
		Archives: map[string][]Archive{"backups": {
			{Volid: "backups:backup/vzdump-qemu-100-2026_11_23-03_00_02.vma.zst", Size: 2 * gib},
			{Volid: "backups:backup/vzdump-qemu-100-2026_11_24-03_00_02.vma.zst", Size: 3 * gib},
			{Volid: "backups:backup/vzdump-lxc-101-2026_11_24-03_05_00.tar.zst", Size: gib},
			{Volid: "backups:backup/vzdump-lxc-101-2026_11_20-03_05_00.tar.zst", Size: gib},
			{Volid: "backups:backup/vzdump-qemu-100-2026_11_22-03_00_02.vma.zst", Size: 20 * gib},
			{Volid: "backups:backup/nas-before-upgrade.vma.zst", Size: 20 * gib},
		}},
	}
}

func planNow() time.Time { return time.Date(2026, 11, 25, 2, 0, 0, 0, time.UTC) }

func TestPlanLab(t *testing.T) {
	t.Parallel()
	p := buildPlan(labInventory(), Config{Storage: "backups", Location: time.UTC}, planNow())
	require.Len(t, p.Guests, 3, "the template is left out")
	assert.True(t, p.OK(), p.String())

	nas := p.Guests[0]
	assert.Equal(t, TwoStep, nas.Method)
	assert.Equal(t, "it serves storage backups: its address 192.168.1.5 is the share's server", nas.Why)
	assert.Equal(t, "local", nas.DumpStorage)
	assert.Equal(t, "backups", nas.Storage)
	assert.Equal(t, 3*gib, nas.NewestSize, "newest by name, not by size or listing order")
	assert.Equal(t, Keep{Last: 2, Daily: 7}, nas.Keep, "the share's own prune-backups")
	assert.Equal(t, "backups:backup/vzdump-qemu-100-2026_11_25-02_00_00.vma.zst", nas.Tonight)
	assert.Empty(t, nas.Removes(), "keep-last 2 + daily 7 keeps all four")

	assert.Equal(t, Direct, p.Guests[1].Method)
	assert.Equal(t, "backups", p.Guests[1].DumpStorage)
	assert.Equal(t, Direct, p.Guests[2].Method)

	assert.Equal(t, `backup plan 2026-11-25 02:00 UTC: 3 guests to storage backups
GUEST  NAME           NODE  METHOD    TARGET           RETENTION                 REMOVES  CHECKS
100    nas            pve1  two-step  local → backups  keep-last=2,keep-daily=7  0        ok
101    docker         pve1  direct    backups          keep-last=2,keep-daily=7  0        ok
102    homeassistant  pve1  direct    backups          keep-last=2,keep-daily=7  0        ok
  100: two-step: it serves storage backups: its address 192.168.1.5 is the share's server
  100: share active: ok (backups active on pve1)
  100: local space: ok (40.0 GiB free on local ≥ 3.6 GiB (1.2 × newest archive 3.0 GiB))
  100: passthrough disks: ok (scsi1, scsi2 flagged backup=0)
  101: share active: ok (backups active on pve1)
  102: share active: ok (backups active on pve1)
`, p.String())
}

func TestPlanRetentionPreview(t *testing.T) {
	t.Parallel()
	p := buildPlan(labInventory(), Config{Storage: "backups", Location: time.UTC, Keep: &Keep{Last: 2}, Guests: []int{100}}, planNow())
	require.Len(t, p.Guests, 1)
	var removed []string
	for _, d := range p.Guests[0].Removes() {
		removed = append(removed, baseName(d.Volid))
	}
	assert.Equal(t, []string{"vzdump-qemu-100-2026_11_23-03_00_02.vma.zst", "vzdump-qemu-100-2026_11_22-03_00_02.vma.zst"}, removed)
	assert.Contains(t, p.String(), "  100: retention removes vzdump-qemu-100-2026_11_22-03_00_02.vma.zst\n")
	for _, d := range p.Guests[0].Retention {
		assert.NotContains(t, d.Volid, "nas-before-upgrade", "another name is not the guest's")
	}
}

func TestPlanRefusals(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		change func(*inventory, *Config)
		guest  int
		check  string
		detail string
	}{
		{
			name: "passthrough disk without backup=0",
			change: func(inv *inventory, _ *Config) {
				inv.Guests[0].Config["scsi2"] = "/dev/disk/by-id/ata-Samsung_SSD_870_EVO_1TB_B"
			},
			guest: 100, check: "passthrough disks",
			detail: "scsi2 (/dev/disk/by-id/ata-Samsung_SSD_870_EVO_1TB_B) passed through and not flagged backup=0: vzdump would read it in full into the archive",
		},
		{
			name:   "local disk too small",
			change: func(inv *inventory, _ *Config) { inv.Storages[1].Avail = 3 * gib },
			guest:  100, check: "local space",
			detail: "3.0 GiB free on local < 3.6 GiB (1.2 × newest archive 3.0 GiB)",
		},
		{
			name:   "share not mounted",
			change: func(inv *inventory, c *Config) { inv.Storages[0].Active = false; c.Guests = []int{101} },
			guest:  101, check: "share active",
			detail: "storage backups is not active (mounted) on node pve1",
		},
		{
			name:   "unknown guest",
			change: func(_ *inventory, c *Config) { c.Guests = []int{101, 999} },
			guest:  999, check: "guest exists",
			detail: "no guest 999 in the cluster",
		},
		{
			name: "sync without a delete guard",
			change: func(_ *inventory, c *Config) {
				c.Offsite = []OffsiteSpec{{Source: "/mnt/pve/backups/dump", Remote: "mega:lab", Sync: true}}
			},
			check:  "offsite",
			detail: "sync to mega:lab without a max-delete guard could wipe the remote; set MaxDelete or use copy",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			inv := labInventory()
			cfg := Config{Storage: "backups", Location: time.UTC}
			tt.change(&inv, &cfg)
			p := buildPlan(inv, cfg, planNow())
			assert.False(t, p.OK())
			failed := p.Failed()
			require.Len(t, failed, 1, p.String())
			assert.Equal(t, Check{Guest: tt.guest, Name: tt.check, Detail: tt.detail}, failed[0])
			assert.Contains(t, p.String(), "refused: 1 pre-check failed\n")
		})
	}
}

func TestServesShare(t *testing.T) {
	t.Parallel()
	share := invStorage{ID: "backups", Server: "nas.lan"}
	why, ok := servesShare(invGuest{Name: "NAS"}, share)
	assert.True(t, ok)
	assert.Equal(t, "it serves storage backups: its name nas is the share's server nas.lan", why)
	_, ok = servesShare(invGuest{Name: "nasty"}, share)
	assert.False(t, ok)
	_, ok = servesShare(invGuest{Type: "lxc", Config: map[string]string{"hostname": "nas"}}, share)
	assert.True(t, ok)

	share.Server = "192.168.1.5"
	_, ok = servesShare(invGuest{Addrs: []netip.Addr{netip.MustParseAddr("192.168.1.5")}}, share)
	assert.True(t, ok, "address from the guest agent")
	_, ok = servesShare(invGuest{Type: "lxc", Config: map[string]string{"net0": "name=eth0,ip=192.168.1.5/24"}}, share)
	assert.True(t, ok)
	_, ok = servesShare(invGuest{Type: "qemu", Config: map[string]string{"ipconfig0": "ip=192.168.1.50/24"}}, share)
	assert.False(t, ok)
	_, ok = servesShare(invGuest{Name: "nas"}, invStorage{})
	assert.False(t, ok)
}

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	ok := Config{Storage: "backups"}.withDefaults()
	require.NoError(t, ok.validate())
	for name, c := range map[string]Config{
		"no storage":      {},
		"same storage":    {Storage: "local"},
		"mode":            {Storage: "backups", Mode: "fast"},
		"compressor":      {Storage: "backups", Compress: "xz"},
		"space factor":    {Storage: "backups", SpaceFactor: 0.5},
		"notes line feed": {Storage: "backups", NotesTemplate: "a\nb"},
		"keep":            {Storage: "backups", Keep: &Keep{All: true, Last: 1}},
	} {
		err := c.withDefaults().validate()
		assert.ErrorIs(t, err, ErrInvalid, name)
		assert.True(t, strings.HasPrefix(err.Error(), "backup: "), name)
	}
}
