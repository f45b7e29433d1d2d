package proxmox_test

import (
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/thehomelab/homelab/proxmox"
	"github.com/thehomelab/homelab/proxmox/proxmoxtest"
	"github.com/thehomelab/homelab/secret"
)

func TestDisksListToleratesMixedTypes(t *testing.T) {
	t.Parallel()
	srv, c := newLab(t)
	ds, err := c.Disks.List(t.Context(), proxmoxtest.Node)
	require.NoError(t, err)
	require.Len(t, ds, 6)
	byDev := map[string]proxmox.Disk{}
	for _, d := range ds {
		byDev[d.DevPath] = d
	}
	require.NotNil(t, byDev["/dev/sda"].Wearout)
	assert.Equal(t, 99, *byDev["/dev/sda"].Wearout)
	assert.Nil(t, byDev["/dev/sdc"].Wearout, `"N/A"`)
	assert.Equal(t, 5400, byDev["/dev/sdd"].RPM, "rpm as a string")
	assert.Equal(t, -1, byDev["/dev/sde"].RPM)
	assert.Empty(t, byDev["/dev/sde"].Serial, `"unknown" serial`)
	assert.Empty(t, byDev["/dev/sde"].ByIDLink)
	assert.True(t, byDev["/dev/nvme0n1"].Mounted)
	assert.Equal(t, "LVM", byDev["/dev/nvme0n1"].Used)
	last := srv.Requests()[len(srv.Requests())-1]
	assert.Equal(t, "skipsmart=1", last.RawQuery)
}

func TestAttachDetachPassthrough(t *testing.T) {
	t.Parallel()
	srv := proxmoxtest.NewServer()
	t.Cleanup(srv.Close)
	c := newRootClient(t, srv)
	ctx := t.Context()

	a, err := c.Disks.Attach(ctx, nas, "S6PNNS0T100001", proxmox.AttachOptions{})
	require.NoError(t, err)
	assert.True(t, a.Changed())
	assert.Equal(t, "scsi1", a.Key)
	want := "/dev/disk/by-id/ata-Samsung_SSD_870_EVO_2TB_S6PNNS0T100001,backup=0,discard=on,serial=S6PNNS0T100001,ssd=1"
	assert.Equal(t, want, a.Value)
	assert.Equal(t, want, srv.GuestConfig(100)["scsi1"])
	last := srv.Requests()[len(srv.Requests())-2]
	assert.Equal(t, "root@pam", last.Identity, "passthrough goes as root@pam by ticket")

	again, err := c.Disks.Attach(ctx, nas, "/dev/disk/by-id/ata-Samsung_SSD_870_EVO_2TB_S6PNNS0T100001", proxmox.AttachOptions{})
	require.NoError(t, err)
	assert.False(t, again.Changed())
	assert.Equal(t, "scsi1", again.Key)

	idx := 3
	b, err := c.Disks.Attach(ctx, nas, "/dev/sdb", proxmox.AttachOptions{Bus: "sata", Index: &idx, Backup: true})
	require.NoError(t, err)
	assert.Equal(t, "sata3", b.Key)
	assert.Contains(t, b.Value, "backup=1")

	_, err = c.Disks.Attach(ctx, ha, "S6PNNS0T100001", proxmox.AttachOptions{})
	require.ErrorIs(t, err, proxmox.ErrConflict)
	assert.Contains(t, err.Error(), "already attached to vm 100 on proxmox1 as scsi1")

	_, err = c.Disks.Attach(ctx, ha, "/dev/nvme0n1", proxmox.AttachOptions{})
	require.ErrorIs(t, err, proxmox.ErrConflict)
	assert.Contains(t, err.Error(), "node's own disk")

	_, err = c.Disks.Attach(ctx, ha, "/dev/sde", proxmox.AttachOptions{})
	require.ErrorIs(t, err, proxmox.ErrInvalid)
	_, err = c.Disks.Attach(ctx, ha, "nope", proxmox.AttachOptions{})
	require.ErrorIs(t, err, proxmox.ErrNotFound)
	_, err = c.Disks.Attach(ctx, docker, "/dev/sdc", proxmox.AttachOptions{})
	require.ErrorIs(t, err, proxmox.ErrInvalid)
	_, err = c.Disks.Attach(ctx, ha, "/dev/sdc", proxmox.AttachOptions{Bus: "virtio"})
	require.NoError(t, err)
	assert.NotContains(t, srv.GuestConfig(102)["virtio0"], "ssd=", "ssd is not valid on virtio")

	d, err := c.Disks.Detach(ctx, nas, "S6PNNS0T100001")
	require.NoError(t, err)
	assert.True(t, d.Changed())
	assert.NotContains(t, srv.GuestConfig(100), "scsi1")
	d, err = c.Disks.Detach(ctx, nas, "S6PNNS0T100001")
	require.NoError(t, err)
	assert.False(t, d.Changed())
}

func TestPassthroughNeedsRootTicket(t *testing.T) {
	t.Parallel()
	srv, c := newLab(t) // token only
	srv.ResetRequests()
	_, err := c.Disks.Attach(t.Context(), nas, "S6PNNS0T100001", proxmox.AttachOptions{})
	require.ErrorIs(t, err, proxmox.ErrRootRequired)
	assert.Contains(t, err.Error(), "root@pam")
	assert.Empty(t, srv.Requests(), "nothing sent")

	srv.AddUser("admin@pam", "pw", "")
	c2 := newClient(t, srv, proxmox.WithCredentials("admin@pam", secret.New("pw")))
	// removing a drive needs only VM.Config.Disk (qemu-server
	// PVE/API2/Qemu.pm update_vm): no root refusal, the disk is just unknown
	_, err = c2.Disks.Detach(t.Context(), nas, "x")
	require.ErrorIs(t, err, proxmox.ErrNotFound)

	// what PVE says when a token tries anyway
	err = c.Do(t.Context(), "POST", "/nodes/proxmox1/qemu/100/config",
		url.Values{"scsi5": {"/dev/disk/by-id/ata-X"}}, nil)
	require.ErrorIs(t, err, proxmox.ErrPermission)
	assert.Contains(t, err.Error(), "Only root can pass arbitrary filesystem paths.")
}

func TestFakeValidatesDriveStrings(t *testing.T) {
	t.Parallel()
	_, c := newLab(t)
	for _, body := range []map[string]string{
		{"scsi31": "local-lvm:vm-100-disk-1"},
		{"virtio0": "local-lvm:vm-100-disk-1,ssd=1"},
		{"sata0": "local-lvm:vm-100-disk-1,iothread=1"},
		{"scsi2": "local-lvm:vm-100-disk-1,bogus=1"},
		{"scsi2": "local-lvm:vm-100-disk-1,discard=yes"},
		{"startup": "order=1,later=2"},
		{"scsi2": "local-lvm:vm-100-disk-1,serial=A+B"}, // PVE's urlencoded format has no "+"
		{"scsi2": "local-lvm:vm-100-disk-1,serial=A:B"},
	} {
		p := url.Values{}
		for k, v := range body {
			p.Set(k, v)
		}
		err := c.Do(t.Context(), "PUT", "/nodes/proxmox1/qemu/100/config", p, nil)
		assert.ErrorIs(t, err, proxmox.ErrInvalid, "%v", body)
	}
	err := c.Do(t.Context(), "PUT", "/nodes/proxmox1/qemu/100/config", url.Values{"digest": {"0000000000000000000000000000000000000000"}, "cores": {"4"}}, nil)
	assert.ErrorContains(t, err, "detected modified configuration")
}

func TestAttachEncodesSerialForPVE(t *testing.T) {
	t.Parallel()
	srv := proxmoxtest.NewServer()
	t.Cleanup(srv.Close)
	c := newRootClient(t, srv)
	// USB-SATA bridges and some HBAs report serials with spaces; PVE's
	// "urlencoded" format refuses url.QueryEscape's "+".
	srv.AddDisk(proxmoxtest.Node, proxmoxtest.Disk{DevPath: "/dev/sdf", Size: 1 << 40, Model: "Ext HDD", Serial: "2019 0815:AB+CD",
		Type: "hdd", RPM: "7200", Wearout: "N/A", Health: "PASSED", ByIDLink: "/dev/disk/by-id/ata-Ext_HDD_2019_0815_AB_CD"})
	a, err := c.Disks.Attach(t.Context(), nas, "/dev/sdf", proxmox.AttachOptions{})
	require.NoError(t, err)
	assert.Contains(t, a.Value, ",serial=2019%200815%3AAB%2BCD")
	assert.Equal(t, a.Value, srv.GuestConfig(100)[a.Key])
}

func TestAttachSeesDisksAttachedUnderOtherByIDNames(t *testing.T) {
	t.Parallel()
	srv := proxmoxtest.NewServer()
	t.Cleanup(srv.Close)
	c := newRootClient(t, srv)
	// attached by hand (qm set) under names other than the by_id_link
	srv.AddGuest(proxmoxtest.Guest{VMID: 140, Node: proxmoxtest.Node, Type: "qemu", Name: "byhand-wwn",
		Config: map[string]string{"scsi1": "/dev/disk/by-id/wwn-0x5002538f00000002,backup=0"}})
	srv.AddGuest(proxmoxtest.Guest{VMID: 141, Node: proxmoxtest.Node, Type: "qemu", Name: "byhand-scsi",
		Config: map[string]string{"sata0": "/dev/disk/by-id/scsi-SATA_CT1000MX500SSD1_2233E6A00001,backup=0"}})
	for disk, owner := range map[string]string{"/dev/sdb": "vm 140", "2233E6A00001": "vm 141"} {
		_, err := c.Disks.Attach(t.Context(), nas, disk, proxmox.AttachOptions{})
		require.ErrorIs(t, err, proxmox.ErrConflict, disk)
		assert.Contains(t, err.Error(), "already attached to "+owner, disk)
	}
	a, err := c.Disks.Attach(t.Context(), proxmox.GuestRef{Node: proxmoxtest.Node, Type: proxmox.TypeVM, VMID: 140}, "/dev/sdb", proxmox.AttachOptions{})
	require.NoError(t, err)
	assert.False(t, a.Changed(), "already there under its wwn- name")
	assert.Equal(t, "scsi1", a.Key)
	assert.NotContains(t, srv.GuestConfig(100), "scsi1", "nothing was attached to the nas")
}

func TestAttachSeesDisksGivenToContainers(t *testing.T) {
	t.Parallel()
	srv := proxmoxtest.NewServer()
	t.Cleanup(srv.Close)
	c := newRootClient(t, srv)
	srv.AddGuest(proxmoxtest.Guest{VMID: 170, Node: proxmoxtest.Node, Type: "lxc", Name: "ct-mp",
		Config: map[string]string{"mp0": "/dev/disk/by-id/wwn-0x5002538f00000002,mp=/data"}})
	srv.AddGuest(proxmoxtest.Guest{VMID: 171, Node: proxmoxtest.Node, Type: "lxc", Name: "ct-dev",
		Config: map[string]string{"dev0": "path=/dev/sdc,mode=0660"}})
	for disk, owner := range map[string]string{"/dev/sdb": "ct 170 on proxmox1 as mp0", "/dev/sdc": "ct 171 on proxmox1 as dev0"} {
		_, err := c.Disks.Attach(t.Context(), nas, disk, proxmox.AttachOptions{})
		require.ErrorIs(t, err, proxmox.ErrConflict, disk)
		assert.Contains(t, err.Error(), "already attached to "+owner, disk)
	}
}

// discard=on passes TRIM, which only flash uses: the doc said SSDs and
// the code sent it for every disk; now both say SSD and NVMe only.
func TestAttachSendsDiscardForFlashOnly(t *testing.T) {
	t.Parallel()
	srv := proxmoxtest.Start(t)
	c := newRootClient(t, srv)
	srv.AddDisk(proxmoxtest.Node, proxmoxtest.Disk{DevPath: "/dev/sdg", Size: 4 << 40, Model: "WDC WD40EFRX", Serial: "WD-WCC4E1234567",
		Type: "hdd", RPM: "5400", Wearout: "N/A", Health: "PASSED", ByIDLink: "/dev/disk/by-id/ata-WDC_WD40EFRX_WD-WCC4E1234567"})
	a, err := c.Disks.Attach(t.Context(), nas, "WD-WCC4E1234567", proxmox.AttachOptions{})
	require.NoError(t, err)
	assert.NotContains(t, a.Value, "discard")
	assert.NotContains(t, a.Value, "ssd=1")
	ds, err := c.Disks.List(t.Context(), proxmoxtest.Node)
	require.NoError(t, err)
	for _, d := range ds {
		if d.Type == "ssd" && d.Used == "" && d.ByIDLink != "" {
			a, err := c.Disks.Attach(t.Context(), nas, d.Serial, proxmox.AttachOptions{})
			require.NoError(t, err)
			assert.Contains(t, a.Value, "discard=on")
			break
		}
	}
}

// A passed-through disk that died is gone from /nodes/{node}/disks/list;
// Detach still finds it by slot, by the serial it was attached with, or by
// its by-id path (issue 14).
func TestDetachDeadDisk(t *testing.T) {
	t.Parallel()
	srv, c := newLab(t) // the everyday token: removing a drive needs no root
	srv.AddGuest(proxmoxtest.Guest{VMID: 190, Node: proxmoxtest.Node, Type: "qemu", Name: "nas2", Config: map[string]string{
		"scsi0": "local-lvm:vm-190-disk-0,size=32G",
		"scsi1": "/dev/disk/by-id/ata-WDC_WD40EFRX_WD-DEAD0001,backup=0,serial=WD-DEAD0001",
		"scsi2": "/dev/disk/by-id/ata-WDC_WD40EFRX_WD-DEAD0002,backup=0",
		"scsi3": "/dev/disk/by-id/ata-WDC_WD40EFRX_WD-DEAD0003,backup=0"}})
	vm := proxmox.GuestRef{Node: proxmoxtest.Node, Type: proxmox.TypeVM, VMID: 190}
	for disk, key := range map[string]string{
		"WD-DEAD0001": "scsi1", // serial= it was attached with
		"WD-DEAD0002": "scsi2", // the serial ending its by-id name
		"scsi3":       "scsi3", // the slot
	} {
		a, err := c.Disks.Detach(t.Context(), vm, disk)
		require.NoError(t, err, disk)
		assert.Equal(t, key, a.Key, disk)
		assert.Equal(t, proxmox.Deleted, a.Action, disk)
		assert.NotContains(t, srv.GuestConfig(190), key, disk)
	}
	_, err := c.Disks.Detach(t.Context(), vm, "scsi0")
	assert.ErrorIs(t, err, proxmox.ErrInvalid, "a storage volume is no passthrough")
	_, err = c.Disks.Detach(t.Context(), vm, "WD-NEVER")
	assert.ErrorIs(t, err, proxmox.ErrNotFound)
	a, err := c.Disks.Detach(t.Context(), vm, "scsi3")
	require.NoError(t, err)
	assert.False(t, a.Changed(), "already gone")
}

// Host devices are root@pam's in qemu-server (check_hostpci_perm,
// check_usb_perm, serial): the SDK refuses before sending and the fake
// refuses the same write from a token; mapped devices and spice are not.
func TestHostDevicesNeedRoot(t *testing.T) {
	t.Parallel()
	srv, tok := newLab(t)
	ctx := t.Context()
	for k, v := range map[string]string{"hostpci0": "0000:01:00.0,pcie=1", "usb0": "host=1234:5678", "serial0": "/dev/ttyS0"} {
		srv.ResetRequests()
		_, err := tok.Guests.Update(ctx, ha, proxmox.ConfigChange{Set: map[string]string{k: v}})
		assert.ErrorIs(t, err, proxmox.ErrRootRequired, k)
		for _, r := range srv.Requests() {
			assert.Equal(t, "GET", r.Method, "%s: nothing written", k)
		}
		err = tok.Do(ctx, "PUT", "/nodes/proxmox1/qemu/102/config", url.Values{k: {v}}, nil)
		assert.ErrorContains(t, err, "only root can set '"+k+"'", k)
	}
	_, err := tok.Guests.Update(ctx, ha, proxmox.ConfigChange{Set: map[string]string{"usb1": "spice", "serial1": "socket"}})
	assert.NoError(t, err)
}
