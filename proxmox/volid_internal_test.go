package proxmox

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Volume IDs as PVE writes them (pve-storage src/PVE/Storage/Plugin.pm
// parse_volname/parse_name_dir, LvmThinPlugin.pm, ZFSPoolPlugin.pm,
// RBDPlugin.pm, LVMPlugin.pm): block storages name a disk
// STORAGE:vm-ID-disk-N (base-/subvol- for templates and zfs subvols),
// file storages STORAGE:ID/vm-ID-disk-N.FMT.
var volidSamples = []struct {
	volid, storage string
}{
	{"local-lvm:vm-100-disk-0", "local-lvm"},
	{"local-lvm:base-9000-disk-0", "local-lvm"},
	{"local-lvm:vm-100-cloudinit", "local-lvm"},
	{"tank:vm-100-disk-1", "tank"},
	{"tank:subvol-101-disk-0", "tank"},
	{"tank:base-9000-disk-0/vm-100-disk-0", "tank"},
	{"ceph:base-9000-disk-0/vm-100-disk-0", "ceph"},
	{"thick:vm-100-disk-0.qcow2", "thick"},
	{"local:100/vm-100-disk-0.qcow2", "local"},
	{"local:100/vm-100-disk-1.raw", "local"},
	{"local:100/vm-100-cloudinit.qcow2", "local"},
	{"nas:100/vm-100-disk-2.vmdk", "nas"},
	{"local:101/subvol-101-disk-0.subvol", "local"},
	{"local:9000/base-9000-disk-0.qcow2/100/vm-100-disk-0.qcow2", "local"},
	{"bt.fast:100/vm-100-disk-0.raw", "bt.fast"},
	{"backups:backup/vzdump-qemu-100-2026_11_25-03_00_02.vma.zst", "backups"},
	{"local:backup/vzdump-lxc-101-2026_11_25-03_00_02.tar.zst", "local"},
	{"local:iso/debian-12.8.0-amd64-netinst.iso", "local"},
}

func TestVolStorageBothShapes(t *testing.T) {
	t.Parallel()
	for _, tt := range volidSamples {
		got, err := volStorage(tt.volid)
		require.NoError(t, err, tt.volid)
		assert.Equal(t, tt.storage, got, tt.volid)
	}
	for _, bad := range []string{"", "vm-100-disk-0", "local:", ":100/vm-100-disk-0.raw", "/dev/sdb", "9x:vm-100-disk-0"} {
		_, err := volStorage(bad)
		assert.ErrorIs(t, err, ErrInvalid, bad)
	}
}

// A drive or mount point keeps its volume ID whole, whichever storage
// shape, with the size in any of PVE's units (format_size: bytes, K, M,
// G, T).
func TestParseDriveBothShapes(t *testing.T) {
	t.Parallel()
	sizes := []string{"32G", "528K", "4M", "1T", "1536M", "4294967297"}
	for i, tt := range volidSamples {
		size := sizes[i%len(sizes)]
		for _, in := range []string{tt.volid + ",size=" + size, "file=" + tt.volid + ",size=" + size, "volume=" + tt.volid + ",size=" + size} {
			d, err := ParseDrive(in)
			require.NoError(t, err, in)
			assert.Equal(t, tt.volid, d.File, in)
			assert.Equal(t, map[string]string{"size": size}, d.Options, in)
			assert.False(t, d.IsPath(), in)
			assert.Equal(t, tt.volid+",size="+size, d.String(), in)
		}
	}
}

func TestParseConfigDisksBothShapes(t *testing.T) {
	t.Parallel()
	vm := parseConfig(GuestRef{Node: "pve", Type: TypeVM, VMID: 100}, rawConfig{
		"scsi0":     "local:100/vm-100-disk-0.qcow2,discard=on,iothread=1,size=32G",
		"scsi1":     "local-lvm:vm-100-disk-1,size=4G",
		"virtio0":   "nas:100/vm-100-disk-2.vmdk,size=1T",
		"efidisk0":  "local:100/vm-100-disk-1.raw,efitype=4m,pre-enrolled-keys=1,size=528K",
		"tpmstate0": "tank:vm-100-disk-3,size=4M,version=v2.0",
		"ide2":      "local:100/vm-100-cloudinit.qcow2,media=cdrom",
		"unused0":   "local:100/vm-100-disk-9.qcow2",
	})
	for k, want := range map[string]string{
		"scsi0": "local:100/vm-100-disk-0.qcow2", "scsi1": "local-lvm:vm-100-disk-1", "virtio0": "nas:100/vm-100-disk-2.vmdk",
		"efidisk0": "local:100/vm-100-disk-1.raw", "tpmstate0": "tank:vm-100-disk-3", "ide2": "local:100/vm-100-cloudinit.qcow2",
	} {
		assert.Equal(t, want, vm.Disks[k].File, k)
	}
	assert.Equal(t, "528K", vm.Disks["efidisk0"].Options["size"])
	assert.NotContains(t, vm.Disks, "unused0")

	ct := parseConfig(GuestRef{Node: "pve", Type: TypeCT, VMID: 101}, rawConfig{
		"rootfs": "local:101/vm-101-disk-0.raw,size=8G",
		"mp0":    "local:101/subvol-101-disk-1.subvol,mp=/srv,backup=1,size=0T",
		"mp1":    "tank:subvol-101-disk-2,mp=/data,size=512M",
		"mp2":    "volume=nas:101/vm-101-disk-3.raw,mp=/nas,size=1536M",
		"mp3":    "/mnt/bindmounts/media,mp=/media",
	})
	for k, want := range map[string]string{
		"rootfs": "local:101/vm-101-disk-0.raw", "mp0": "local:101/subvol-101-disk-1.subvol",
		"mp1": "tank:subvol-101-disk-2", "mp2": "nas:101/vm-101-disk-3.raw", "mp3": "/mnt/bindmounts/media",
	} {
		assert.Equal(t, want, ct.Disks[k].File, k)
	}
	assert.True(t, ct.Disks["mp3"].IsPath())
	assert.Equal(t, "/srv", ct.Disks["mp0"].Options["mp"])
}

// pve-container parse_volume: a volume ID of either shape is a volume,
// not a bind mount.
func TestMountTypeBothShapes(t *testing.T) {
	t.Parallel()
	for _, tt := range volidSamples {
		assert.Equal(t, "volume", mountType(tt.volid+",mp=/srv,size=8G"), tt.volid)
		assert.Equal(t, "volume", mountType("volume="+tt.volid+",mp=/srv"), tt.volid)
	}
	assert.Equal(t, "volume", mountType("local-lvm:8,mp=/srv"), "a new STORAGE:GiB volume")
	assert.Equal(t, "bind", mountType("/mnt/pve/backups,mp=/backups"))
	assert.Equal(t, "device", mountType("/dev/sdb1,mp=/mnt/disk"))
}

// A volume ID never matches a host disk by path, whichever its shape.
func TestSameDiskIgnoresVolumes(t *testing.T) {
	t.Parallel()
	d := Disk{DevPath: "/dev/sdb", ByIDLink: "/dev/disk/by-id/ata-WDC_WD40EFRX_WD-WCC4E1234567", Serial: "WD-WCC4E1234567", WWN: "0x50014ee2b5a7c3d1"}
	for _, tt := range volidSamples {
		assert.False(t, sameDisk(tt.volid, d), tt.volid)
	}
	assert.True(t, sameDisk("/dev/disk/by-id/wwn-0x50014ee2b5a7c3d1", d))
}

// A new-volume request and the volume PVE made of it are the same value,
// in either storage shape and any size unit.
func TestSameDiskSpec(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		key, have, want string
		same            bool
	}{
		{"scsi1", "local-lvm:vm-100-disk-1,size=32G", "local-lvm:32", true},
		{"scsi1", "local:100/vm-100-disk-1.qcow2,size=32G", "local:32,format=qcow2", true},
		{"scsi1", "local:100/vm-100-disk-1.raw,iothread=1,size=32G", "local:32,iothread=1", true},
		{"scsi1", "nas:100/vm-100-disk-0.vmdk,size=1T", "nas:1024", true},
		{"scsi1", "local-lvm:vm-100-disk-1,size=512M", "local-lvm:0.5", true},
		{"scsi1", "local-lvm:vm-100-disk-1,size=33554432K", "local-lvm:32", true},
		{"scsi1", "local-lvm:vm-100-disk-1,size=34359738368", "local-lvm:32", true},
		{"rootfs", "local:101/vm-101-disk-0.raw,size=8G", "local:8", true},
		{"rootfs", "tank:subvol-101-disk-0,size=8G", "tank:8", true},
		{"mp0", "local:101/subvol-101-disk-1.subvol,mp=/srv,size=0T", "local:0,mp=/srv", true},
		{"mp0", "tank:subvol-101-disk-2,mp=/data,backup=1,size=512M", "tank:0.5,mp=/data,backup=1", true},
		{"ide2", "local-lvm:vm-100-cloudinit,media=cdrom", "local-lvm:cloudinit", true},
		{"ide2", "local:100/vm-100-cloudinit.qcow2,media=cdrom", "local:cloudinit", true},
		{"efidisk0", "local-lvm:vm-100-disk-1,efitype=4m,size=4M", "local-lvm:1,efitype=4m", true},
		{"tpmstate0", "local:100/vm-100-disk-2.raw,size=4M,version=v2.0", "local:1,version=v2.0", true},

		{"scsi1", "local-lvm:vm-100-disk-1,size=32G", "local-lvm:64", false},
		{"scsi1", "local-lvm:vm-100-disk-1,size=32G", "tank:32", false},
		{"scsi1", "local:100/vm-100-disk-1.raw,size=32G", "local:32,ssd=1", false},
		{"scsi1", "local-lvm:vm-100-disk-1", "local-lvm:32", false},
		{"scsi1", "/dev/disk/by-id/ata-X,size=32G", "local-lvm:32", false},
		{"scsi1", "", "local-lvm:32", false},
		{"scsi1", "local-lvm:vm-100-disk-1,size=32G", "32", false},
		{"scsi1", "local-lvm:vm-100-disk-1,size=32G", "local-lvm:vm-100-disk-2", false},
		{"mp0", "local:101/subvol-101-disk-1.subvol,mp=/srv,size=0T", "local:0,mp=/other", false},
		{"ide2", "local-lvm:vm-100-cloudinit,media=cdrom", "tank:cloudinit", false},
		{"cores", "32", "local-lvm:32", false},
	} {
		assert.Equal(t, tt.same, sameDiskSpec(tt.key, tt.have, tt.want), "%s: %q vs %q", tt.key, tt.have, tt.want)
	}
}

func TestParseDiskSizeUnits(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]int64{
		"4294967297": 4294967297, "528K": 528 << 10, "528KiB": 528 << 10, "4M": 4 << 20, "1536M": 1536 << 20,
		"32G": 32 << 30, "1.5G": 3 << 29, "1T": 1 << 40, "2TiB": 2 << 40, "0T": 0,
	} {
		got, ok := parseDiskSize(in)
		assert.True(t, ok, in)
		assert.Equal(t, want, got, in)
	}
	for _, bad := range []string{"", "G", "1.5X", "-1G", "1g", "1GB", "1 G"} {
		_, ok := parseDiskSize(bad)
		assert.False(t, ok, bad)
	}
}
