package proxmoxtest

import (
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// volumeLab is a fake with one storage of each kind that takes images and
// container directories.
func volumeLab(t *testing.T) *Server {
	t.Helper()
	srv := Start(t)
	for _, st := range []Storage{
		{ID: "vmdir", Type: "dir", Content: "images,rootdir", Path: "/srv/vmdir"},
		{ID: "qdir", Type: "dir", Content: "images,rootdir", Path: "/srv/qdir", Config: map[string]string{"format": "qcow2"}},
		{ID: "tank", Type: "zfspool", Content: "images,rootdir", Config: map[string]string{"pool": "tank/data"}},
		{ID: "nas", Type: "nfs", Content: "images,rootdir", Path: "/mnt/pve/nas"},
		{ID: "bt", Type: "btrfs", Content: "images,rootdir", Path: "/mnt/bt"},
		{ID: "btq", Type: "btrfs", Content: "images,rootdir", Path: "/mnt/btq", Config: map[string]string{"quotas": "1"}},
		{ID: "ceph", Type: "rbd", Content: "images,rootdir"},
		{ID: "thick", Type: "lvm", Content: "images,rootdir"},
		{ID: "images", Type: "dir", Content: "images", Path: "/srv/images"},
	} {
		srv.AddStorage(st)
	}
	return srv
}

// New disks are named by the storage's type, as pve-storage's
// alloc_image does: STORAGE:VMID/vm-VMID-disk-N.FMT on file storages,
// STORAGE:vm-VMID-disk-N on block ones, and a container's subvol on a dir
// storage only for size 0 (pve-container alloc_disk), on zfspool always.
func TestDiskAllocatorNames(t *testing.T) {
	t.Parallel()
	srv := volumeLab(t)
	a := newDiskAllocator(srv, 120)
	for _, tt := range []struct {
		sid, format, want string
	}{
		{"local-lvm", "", "local-lvm:vm-120-disk-0"},
		{"local-lvm", "qcow2", "local-lvm:vm-120-disk-1"}, // lvmthin takes raw only
		{"local", "", "local:120/vm-120-disk-0.raw"},
		{"local", "qcow2", "local:120/vm-120-disk-1.qcow2"},
		{"local", "vmdk", "local:120/vm-120-disk-2.vmdk"},
		{"local", "subvol", "local:120/subvol-120-disk-3.subvol"},
		{"qdir", "", "qdir:120/vm-120-disk-0.qcow2"}, // the storage's format= default
		{"qdir", "raw", "qdir:120/vm-120-disk-1.raw"},
		{"nas", "subvol", "nas:120/vm-120-disk-0.raw"}, // nfs has no subvol
		{"tank", "", "tank:vm-120-disk-0"},
		{"tank", "subvol", "tank:subvol-120-disk-1"},
		{"tank", "qcow2", "tank:vm-120-disk-2"},
		{"bt", "raw", "bt:120/vm-120-disk-0.raw"},
		{"ceph", "", "ceph:vm-120-disk-0"},
		{"thick", "qcow2", "thick:vm-120-disk-0.qcow2"},
		{"thick", "raw", "thick:vm-120-disk-1"},
	} {
		assert.Equal(t, tt.want, a.alloc(tt.sid, tt.format), "%s %q", tt.sid, tt.format)
	}

	ct := newDiskAllocator(srv, 121)
	for _, tt := range []struct {
		sid    string
		sizeKB int64
		want   string
	}{
		{"local-lvm", 8 << 20, "local-lvm:vm-121-disk-0"},
		{"vmdir", 8 << 20, "vmdir:121/vm-121-disk-0.raw"},
		{"vmdir", 0, "vmdir:121/subvol-121-disk-1.subvol"},
		{"nas", 4 << 20, "nas:121/vm-121-disk-0.raw"},
		{"tank", 8 << 20, "tank:subvol-121-disk-0"},
		{"bt", 8 << 20, "bt:121/vm-121-disk-0.raw"},
		{"btq", 8 << 20, "btq:121/subvol-121-disk-0.subvol"},
		{"ceph", 8 << 20, "ceph:vm-121-disk-0"},
	} {
		assert.Equal(t, tt.want, ct.allocCT(tt.sid, tt.sizeKB), "%s %d", tt.sid, tt.sizeKB)
	}
}

func TestVolumeFormat(t *testing.T) {
	t.Parallel()
	for volid, want := range map[string]string{
		"local-lvm:vm-100-disk-0":                                   "raw",
		"local:100/vm-100-disk-0.qcow2":                             "qcow2",
		"local:100/vm-100-disk-1.raw":                               "raw",
		"nas:100/vm-100-disk-2.vmdk":                                "vmdk",
		"local:100/subvol-100-disk-0.subvol":                        "subvol",
		"tank:subvol-100-disk-0":                                    "subvol",
		"tank:vm-100-disk-0":                                        "raw",
		"thick:vm-100-disk-0.qcow2":                                 "qcow2",
		"local:100/base-100-disk-0.qcow2":                           "qcow2",
		"local:9000/base-9000-disk-0.qcow2/100/vm-100-disk-0.qcow2": "qcow2",
	} {
		assert.Equal(t, want, volumeFormat(volid), volid)
	}
}

// Creating and restoring guests onto file storages gives their disks the
// file shape; the size suffix follows format_size.
func TestNewDisksFollowStorageType(t *testing.T) {
	t.Parallel()
	srv := volumeLab(t)
	wait := func(code int, data []byte, msg string) {
		t.Helper()
		require.Equal(t, 200, code, msg)
		upid := upidOf(t, data)
		require.Eventually(t, func() bool { return srv.TaskExit(upid) != "" }, 5*time.Second, 5*time.Millisecond)
		require.Equal(t, "OK", srv.TaskExit(upid))
	}

	code, data, msg := call(t, srv, "POST", "/nodes/"+Node+"/lxc", url.Values{"vmid": {"200"}, "ostemplate": {"local:vztmpl/x.tar.zst"},
		"rootfs": {"vmdir:8"}, "mp0": {"tank:0.5,mp=/data"}, "mp1": {"vmdir:0,mp=/share"}})
	wait(code, data, msg)
	conf := srv.GuestConfig(200)
	assert.Equal(t, "vmdir:200/vm-200-disk-0.raw,size=8G", conf["rootfs"])
	assert.Equal(t, "tank:subvol-200-disk-0,mp=/data,size=512M", conf["mp0"])
	assert.Equal(t, "vmdir:200/subvol-200-disk-1.subvol,mp=/share,size=0T", conf["mp1"], "format_size(0) is 0T")

	code, data, msg = call(t, srv, "POST", "/nodes/"+Node+"/lxc", url.Values{"vmid": {"201"}, "ostemplate": {"local:vztmpl/x.tar.zst"}})
	wait(code, data, msg)
	assert.Equal(t, "local:201/vm-201-disk-0.raw,size=4G", srv.GuestConfig(201)["rootfs"], "the default $storage:4")

	code, _, msg = call(t, srv, "POST", "/nodes/"+Node+"/lxc", url.Values{"vmid": {"202"}, "ostemplate": {"local:vztmpl/x.tar.zst"}, "rootfs": {"nope:8"}})
	assert.Equal(t, 500, code)
	assert.Equal(t, "storage 'nope' does not exist", msg)
	code, _, msg = call(t, srv, "POST", "/nodes/"+Node+"/lxc", url.Values{"vmid": {"202"}, "ostemplate": {"local:vztmpl/x.tar.zst"}, "rootfs": {"images:8"}})
	assert.Equal(t, 400, code, msg)

	// A VM restore keeps each disk's format where the target takes it.
	srv.AddGuest(Guest{VMID: 110, Node: Node, Type: "qemu", Name: "web", Config: map[string]string{
		"scsi0": "local:110/vm-110-disk-0.qcow2,format=qcow2,size=32G", "scsi1": "local-lvm:vm-110-disk-0,size=4G",
		"efidisk0": "local:110/vm-110-disk-1.raw,efitype=4m,size=528K"}})
	vol := srv.AddBackup(Backup{Storage: "backups", VMID: 110, Type: "qemu", Time: time.Date(2026, 11, 24, 3, 0, 0, 0, time.UTC)})
	code, data, msg = call(t, srv, "POST", "/nodes/"+Node+"/qemu", url.Values{"vmid": {"9110"}, "archive": {vol}, "storage": {"vmdir"}})
	wait(code, data, msg)
	conf = srv.GuestConfig(9110)
	assert.Equal(t, "vmdir:9110/vm-9110-disk-0.raw,efitype=4m,size=528K", conf["efidisk0"])
	assert.Equal(t, "vmdir:9110/vm-9110-disk-1.qcow2,size=32G", conf["scsi0"], "format= dropped (qemu-server restore_update_config_line)")
	assert.Equal(t, "vmdir:9110/vm-9110-disk-2.raw,size=4G", conf["scsi1"])

	code, data, msg = call(t, srv, "POST", "/nodes/"+Node+"/qemu", url.Values{"vmid": {"9111"}, "archive": {vol}, "storage": {"tank"}})
	wait(code, data, msg)
	conf = srv.GuestConfig(9111)
	assert.Equal(t, "tank:vm-9111-disk-1,size=32G", conf["scsi0"], "zfspool takes no qcow2: raw")

	// A container restore onto a dir storage.
	srv.AddGuest(Guest{VMID: 130, Node: Node, Type: "lxc", Name: "ct", Config: map[string]string{
		"rootfs": "local-lvm:vm-130-disk-0,size=8G", "mp0": "local-lvm:vm-130-disk-1,mp=/data,backup=1,size=1536M"}})
	ctVol := srv.AddBackup(Backup{Storage: "backups", VMID: 130, Type: "lxc", Time: time.Date(2026, 11, 24, 3, 0, 0, 0, time.UTC)})
	code, data, msg = call(t, srv, "POST", "/nodes/"+Node+"/lxc", url.Values{"vmid": {"9130"}, "ostemplate": {ctVol}, "restore": {"1"}, "storage": {"vmdir"}})
	wait(code, data, msg)
	conf = srv.GuestConfig(9130)
	assert.Equal(t, "vmdir:9130/vm-9130-disk-0.raw,size=8G", conf["rootfs"])
	assert.Equal(t, "vmdir:9130/vm-9130-disk-1.raw,mp=/data,backup=1,size=1536M", conf["mp0"])
}

// parse_size and format_size (pve-common src/PVE/JSONSchema.pm): bytes or
// a K/M/G/T (KiB…TiB) suffix in, the largest exact unit out.
func TestDiskSizeUnits(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]int64{
		"4294967297": 4294967297, "528K": 528 << 10, "528KiB": 528 << 10, "4M": 4 << 20, "1536M": 1536 << 20,
		"32G": 32 << 30, "32GiB": 32 << 30, "1.5G": 3 << 29, "1T": 1 << 40, "2TiB": 2 << 40, "0": 0,
	} {
		got, ok := parseDiskSize(in)
		assert.True(t, ok, in)
		assert.Equal(t, want, got, in)
	}
	for _, bad := range []string{"", "G", "1.5X", "-1G", "1g", "1 G", "1GB"} {
		_, ok := parseDiskSize(bad)
		assert.False(t, ok, bad)
	}
	for b, want := range map[int64]string{
		4294967297: "4294967297", 528 << 10: "528K", 1536 << 20: "1536M", 32 << 30: "32G", 1 << 40: "1T", 0: "0T",
	} {
		assert.Equal(t, want, formatDiskSize(b), b)
	}
}

// Without storage= a VM restore puts each disk back on its archived
// storage; a cloud-init drive is made anew as vm-VMID-cloudinit; a disk's
// storage must exist and hold images (qemu-server $parse_backup_hints,
// restore_allocate_devices).
func TestVMRestoreStorages(t *testing.T) {
	t.Parallel()
	srv := volumeLab(t)
	restore := func(vmid string, form url.Values) (string, map[string]string) {
		t.Helper()
		form.Set("vmid", vmid)
		code, data, msg := call(t, srv, "POST", "/nodes/"+Node+"/qemu", form)
		require.Equal(t, 200, code, msg)
		upid := upidOf(t, data)
		require.Eventually(t, func() bool { return srv.TaskExit(upid) != "" }, 5*time.Second, 5*time.Millisecond)
		id, _ := strconv.Atoi(vmid)
		return srv.TaskExit(upid), srv.GuestConfig(id)
	}
	srv.AddGuest(Guest{VMID: 140, Node: Node, Type: "qemu", Name: "ci", Config: map[string]string{
		"scsi0": "vmdir:140/vm-140-disk-0.qcow2,size=16G", "scsi1": "local-lvm:vm-140-disk-0,size=4G",
		"ide2": "vmdir:140/vm-140-cloudinit.qcow2,media=cdrom", "ide0": "local:iso/debian.iso,media=cdrom"}})
	vol := srv.AddBackup(Backup{Storage: "backups", VMID: 140, Type: "qemu", Time: time.Date(2026, 11, 24, 3, 0, 0, 0, time.UTC)})

	exit, conf := restore("9140", url.Values{"archive": {vol}})
	require.Equal(t, "OK", exit)
	assert.Equal(t, "vmdir:9140/vm-9140-disk-0.qcow2,size=16G", conf["scsi0"])
	assert.Equal(t, "local-lvm:vm-9140-disk-0,size=4G", conf["scsi1"])
	assert.Equal(t, "vmdir:9140/vm-9140-cloudinit.qcow2,media=cdrom", conf["ide2"])
	assert.Equal(t, "local:iso/debian.iso,media=cdrom", conf["ide0"])

	exit, conf = restore("9141", url.Values{"archive": {vol}, "storage": {"ceph"}})
	require.Equal(t, "OK", exit)
	assert.Equal(t, "ceph:vm-9141-disk-0,size=16G", conf["scsi0"])
	assert.Equal(t, "ceph:vm-9141-disk-1,size=4G", conf["scsi1"])
	assert.Equal(t, "ceph:vm-9141-cloudinit,media=cdrom", conf["ide2"])

	exit, _ = restore("9142", url.Values{"archive": {vol}, "storage": {"local"}})
	assert.Equal(t, "Content type 'images' is not available on storage 'local'", exit)
	exit, _ = restore("9143", url.Values{"archive": {vol}, "storage": {"nope"}})
	assert.Equal(t, "storage 'nope' does not exist", exit)
}

// A config update's STORAGE:GiB drive becomes a new disk named by the
// storage type, numbered after the guest's disks there (qemu-server
// create_disks, pve-storage get_next_vm_diskname).
func TestVMConfigNewDisks(t *testing.T) {
	t.Parallel()
	srv := volumeLab(t)
	put := func(form url.Values) (int, string) {
		t.Helper()
		code, _, msg := call(t, srv, "PUT", "/nodes/"+Node+"/qemu/100/config", form)
		return code, msg
	}
	code, msg := put(url.Values{"scsi1": {"local-lvm:32,iothread=1"}, "scsi2": {"vmdir:8,ssd=1,format=qcow2"}, "scsi3": {"tank:0.5"},
		"scsi4": {"vmdir:1"}, "ide2": {"vmdir:cloudinit"}, "tpmstate0": {"ceph:1,version=v2.0"}})
	require.Equal(t, 200, code, msg)
	conf := srv.GuestConfig(100)
	assert.Equal(t, "local-lvm:vm-100-disk-0,iothread=1,size=32G", conf["scsi0"], "untouched")
	assert.Equal(t, "local-lvm:vm-100-disk-1,iothread=1,size=32G", conf["scsi1"])
	assert.Equal(t, "vmdir:100/vm-100-disk-0.qcow2,size=8G,ssd=1", conf["scsi2"])
	assert.Equal(t, "tank:vm-100-disk-0,size=512M", conf["scsi3"])
	assert.Equal(t, "vmdir:100/vm-100-disk-1.raw,size=1G", conf["scsi4"])
	assert.Equal(t, "vmdir:100/vm-100-cloudinit.qcow2,media=cdrom", conf["ide2"])
	assert.Equal(t, "ceph:vm-100-disk-0,size=4M,version=v2.0", conf["tpmstate0"])

	code, msg = put(url.Values{"scsi5": {"local-lvm:4,format=qcow2"}})
	assert.Equal(t, 500, code)
	assert.Equal(t, "unsupported format 'qcow2'", msg)
	code, msg = put(url.Values{"scsi5": {"nope:4"}})
	assert.Equal(t, 500, code)
	assert.Equal(t, "storage 'nope' does not exist", msg)
	code, msg = put(url.Values{"scsi5": {"4"}})
	assert.Equal(t, 500, code)
	assert.Equal(t, "no storage ID specified (and no default storage)", msg)
}

// A container created or restored over an existing one (force=1) gets
// disks numbered after the old ones, which create_vm destroys only after
// create_disks.
func TestContainerForceNumbersAfterOldDisks(t *testing.T) {
	t.Parallel()
	srv := volumeLab(t)
	srv.AddGuest(Guest{VMID: 150, Node: Node, Type: "lxc", Name: "old", Config: map[string]string{
		"rootfs": "vmdir:150/vm-150-disk-0.raw,size=8G", "mp0": "tank:subvol-150-disk-0,mp=/data,size=8G"}})
	vol := srv.AddBackup(Backup{Storage: "backups", VMID: 150, Type: "lxc", Time: time.Date(2026, 11, 24, 3, 0, 0, 0, time.UTC)})
	code, data, msg := call(t, srv, "POST", "/nodes/"+Node+"/lxc", url.Values{"vmid": {"150"}, "ostemplate": {vol}, "restore": {"1"},
		"force": {"1"}, "rootfs": {"vmdir:8"}, "mp0": {"tank:2,mp=/data"}})
	require.Equal(t, 200, code, msg)
	upid := upidOf(t, data)
	require.Eventually(t, func() bool { return srv.TaskExit(upid) != "" }, 5*time.Second, 5*time.Millisecond)
	require.Equal(t, "OK", srv.TaskExit(upid))
	conf := srv.GuestConfig(150)
	assert.Equal(t, "vmdir:150/vm-150-disk-1.raw,size=8G", conf["rootfs"])
	assert.Equal(t, "tank:subvol-150-disk-1,mp=/data,size=2G", conf["mp0"])
}
