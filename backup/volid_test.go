package backup

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// Guest configs as PVE writes them on file storages (dir, nfs, cifs,
// btrfs: STORAGE:ID/vm-ID-disk-N.FMT, pve-storage src/PVE/Storage/
// Plugin.pm parse_name_dir) and block ones (lvmthin, zfspool, rbd:
// STORAGE:vm-ID-disk-N, subvol- on zfs), sizes in format_size units.
func TestDiskKeysBothShapes(t *testing.T) {
	t.Parallel()
	qemu := map[string]string{
		"scsi0":     "local:100/vm-100-disk-0.qcow2,discard=on,size=32G",
		"scsi1":     "nas:100/vm-100-disk-2.vmdk,backup=0,size=1T",
		"scsi2":     "ceph:base-9000-disk-0/vm-100-disk-4,size=10G",
		"sata0":     "local:9000/base-9000-disk-0.qcow2/100/vm-100-disk-5.qcow2,size=20G",
		"virtio0":   "file=bt:100/vm-100-disk-3.raw,size=1536M",
		"efidisk0":  "local:100/vm-100-disk-1.raw,efitype=4m,size=528K",
		"tpmstate0": "tank:vm-100-disk-6,size=4M,version=v2.0",
		"ide0":      "local:100/vm-100-cloudinit.qcow2,media=cdrom",
		"ide2":      "local:iso/debian-12.8.0-amd64-netinst.iso,media=cdrom,size=631M",
		"scsi3":     "/dev/disk/by-id/ata-WDC_WD40EFRX_WD-WCC4E1234567,backup=0",
		"unused0":   "local:100/vm-100-disk-9.qcow2",
	}
	assert.Equal(t, []string{"efidisk0", "sata0", "scsi0", "scsi2", "tpmstate0", "virtio0"}, diskKeys("qemu", qemu))
	included, excluded := includedPassthrough(invGuest{Type: "qemu", Config: qemu})
	assert.Empty(t, included, "no volume ID is a passthrough disk")
	assert.Equal(t, []string{"scsi3"}, excluded)

	lxc := map[string]string{
		"rootfs": "local:101/vm-101-disk-0.raw,size=8G",
		"mp0":    "local:101/subvol-101-disk-1.subvol,mp=/srv,backup=1,size=0T",
		"mp1":    "tank:subvol-101-disk-2,mp=/data,backup=1,size=512M",
		"mp2":    "volume=nas:101/vm-101-disk-3.raw,mp=/nas,backup=1,size=1536M",
		"mp3":    "nas:101/vm-101-disk-4.raw,mp=/cache,size=4G",
		"mp4":    "/mnt/bindmounts/media,mp=/media,backup=1",
	}
	assert.Equal(t, []string{"mp0", "mp1", "mp2", "rootfs"}, diskKeys("lxc", lxc))
	zfsRoot := map[string]string{"rootfs": "tank:subvol-102-disk-0,size=8G"}
	assert.Equal(t, []string{"rootfs"}, diskKeys("lxc", zfsRoot))
}

// Archive names read the same from a dir storage's volid, a CIFS/NFS
// storage's volid, a path or a bare name; disk volume IDs of either shape
// are no archives.
func TestArchiveNameBothShapes(t *testing.T) {
	t.Parallel()
	want := ArchiveName{Type: "qemu", VMID: 100, Time: time.Date(2026, 11, 25, 3, 0, 2, 0, time.UTC), Format: "vma", Compression: "zst"}
	for _, name := range []string{
		"local:backup/vzdump-qemu-100-2026_11_25-03_00_02.vma.zst",
		"backups:backup/vzdump-qemu-100-2026_11_25-03_00_02.vma.zst",
		"/var/lib/vz/dump/vzdump-qemu-100-2026_11_25-03_00_02.vma.zst",
		"/mnt/pve/backups/dump/vzdump-qemu-100-2026_11_25-03_00_02.vma.zst",
		"vzdump-qemu-100-2026_11_25-03_00_02.vma.zst",
	} {
		got, ok := ParseArchiveName(name, time.UTC)
		assert.True(t, ok, name)
		assert.Equal(t, want, got, name)
		assert.Equal(t, "vzdump-qemu-100-2026_11_25-03_00_02.vma.zst", baseName(name), name)
	}
	for _, volid := range []string{
		"local-lvm:vm-100-disk-0", "tank:subvol-101-disk-0", "local:100/vm-100-disk-0.qcow2",
		"local:101/subvol-101-disk-0.subvol", "local:iso/debian.iso",
	} {
		_, ok := ParseArchiveName(volid, time.UTC)
		assert.False(t, ok, volid)
	}
	assert.Equal(t, "vm-100-disk-0.qcow2", baseName("local:100/vm-100-disk-0.qcow2"))
	assert.Equal(t, "vm-100-disk-0", baseName("local-lvm:vm-100-disk-0"))
	assert.Equal(t, "backups:backup/vzdump-lxc-101-2026_11_25-03_00_02.tar.zst",
		volidOf("backups", "/mnt/pve/backups/dump/vzdump-lxc-101-2026_11_25-03_00_02.tar.zst"))
}
