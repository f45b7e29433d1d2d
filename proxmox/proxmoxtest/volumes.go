package proxmoxtest

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// How a new guest disk is named, by storage type. The fake allocates no
// bytes; it only hands out the volume ID pve-storage would.

// imageFormats is the image formats each storage type accepts, the first
// its default: pve-storage's plugindata "format" (src/PVE/Storage/
// DirPlugin.pm, NFSPlugin.pm, CIFSPlugin.pm, BTRFSPlugin.pm,
// ZFSPoolPlugin.pm, LVMPlugin.pm). A type without one (LvmThinPlugin.pm,
// RBDPlugin.pm) has raw only (src/PVE/Storage/Plugin.pm get_formats).
var imageFormats = map[string][]string{
	"dir":     {"raw", "qcow2", "vmdk", "subvol"},
	"nfs":     {"raw", "qcow2", "vmdk"},
	"cifs":    {"raw", "qcow2", "vmdk"},
	"btrfs":   {"raw", "subvol"},
	"zfspool": {"raw", "subvol"},
	"lvm":     {"raw", "qcow2"},
}

// fileStorage reports whether a storage type keeps images as files under
// its path (images/VMID/NAME.FMT), so its volume names are "VMID/NAME.FMT":
// the types that use src/PVE/Storage/Plugin.pm alloc_image (dir, nfs,
// cifs, cephfs) or copy it (BTRFSPlugin.pm alloc_image).
func fileStorage(typ string) bool {
	switch typ {
	case "dir", "nfs", "cifs", "cephfs", "btrfs":
		return true
	}
	return false
}

// resolveFormat is pve-storage src/PVE/Storage.pm resolve_format_hint: the
// hint if the storage accepts it, else the storage's default (its format=
// option, else the type's default, Plugin.pm get_formats).
func resolveFormat(st *storage, hint string) string {
	valid := imageFormats[st.typ]
	if hint != "" && slices.Contains(valid, hint) {
		return hint
	}
	if f := st.config["format"]; f != "" {
		return f
	}
	if len(valid) > 0 {
		return valid[0]
	}
	return "raw"
}

// diskAllocator hands out the volume IDs of the disks one create or
// restore allocates, numbering each storage's disks from 0 as
// src/PVE/Storage/Plugin.pm get_next_vm_diskname does for a guest that
// has none there yet (the fake keeps no image list per storage, so a disk
// number is free unless this call took it). pve-storage numbers vm-,
// base- and subvol- names of a guest in one sequence on the storages that
// hold subvols ($get_vm_disk_number), and a storage here holds one
// sequence in any case.
type diskAllocator struct {
	s    *Server
	vmid int
	next map[string]int
}

func newDiskAllocator(s *Server, vmid int) *diskAllocator {
	return &diskAllocator{s: s, vmid: vmid, next: map[string]int{}}
}

// alloc is src/PVE/Storage.pm vdisk_alloc: "STORAGE:VOLNAME" of a new disk
// in format (empty: the storage's default). The volume name follows
// the storage type's alloc_image:
//   - dir, nfs, cifs, cephfs, btrfs (Plugin.pm alloc_image →
//     find_free_diskname with $add_fmt_suffix; BTRFSPlugin.pm alloc_image):
//     "VMID/vm-VMID-disk-N.FMT", a subvol "VMID/subvol-VMID-disk-N.subvol";
//   - zfspool (ZFSPoolPlugin.pm alloc_image, no suffix): "vm-VMID-disk-N",
//     a subvol "subvol-VMID-disk-N";
//   - lvm (LVMPlugin.pm find_free_diskname adds the suffix for qcow2 only):
//     "vm-VMID-disk-N" or "vm-VMID-disk-N.qcow2";
//   - lvmthin, rbd and the rest: "vm-VMID-disk-N".
//
// An unknown storage gets the block shape.
func (a *diskAllocator) alloc(sid, format string) string {
	st := a.s.storages[sid]
	typ := ""
	if st != nil {
		typ = st.typ
		format = resolveFormat(st, format)
	}
	if format == "" {
		format = "raw"
	}
	n := a.next[sid]
	a.next[sid]++
	prefix := "vm"
	if format == "subvol" {
		prefix = "subvol"
	}
	name := fmt.Sprintf("%s-%d-disk-%d", prefix, a.vmid, n)
	switch {
	case fileStorage(typ):
		return fmt.Sprintf("%s:%d/%s.%s", sid, a.vmid, name, format)
	case typ == "lvm" && format == "qcow2":
		return sid + ":" + name + ".qcow2"
	}
	return sid + ":" + name
}

// cloudinit is the cloud-init disk qemu-server src/PVE/QemuServer.pm
// restore_allocate_devices asks vdisk_alloc for by name: vm-VMID-cloudinit,
// with ".FMT" on a storage with a path, where alloc_image puts it under
// "VMID/" (Plugin.pm alloc_image). It takes no disk number.
func (a *diskAllocator) cloudinit(sid, format string) string {
	st := a.s.storages[sid]
	name := fmt.Sprintf("vm-%d-cloudinit", a.vmid)
	if st != nil && fileStorage(st.typ) {
		return fmt.Sprintf("%s:%d/%s.%s", sid, a.vmid, name, resolveFormat(st, format))
	}
	return sid + ":" + name
}

// allocCT is pve-container src/PVE/LXC.pm alloc_disk: a storage with a
// path and content rootdir gets a raw image, or a subvol for size 0 (and
// on btrfs with quotas, which BTRFSPlugin.pm alloc_image then refuses for
// a sized one; the fake names it all the same); zfspool always a subvol;
// any other storage a raw image.
func (a *diskAllocator) allocCT(sid string, sizeKB int64) string {
	st := a.s.storages[sid]
	format := "raw"
	switch {
	case st == nil:
	case fileStorage(st.typ) && (sizeKB == 0 || (st.typ == "btrfs" && isTrue(st.config["quotas"]))):
		format = "subvol"
	case st.typ == "zfspool":
		format = "subvol"
	}
	return a.alloc(sid, format)
}

func isTrue(v string) bool {
	switch strings.ToLower(v) {
	case "1", "yes", "on", "true":
		return true
	}
	return false
}

// volumeFormatRE reads a format off a volume name: pve-storage
// src/PVE/Storage/Plugin.pm parse_name_dir (NAME.raw|qcow2|vmdk|subvol, the
// file storages) and LVMPlugin.pm parse_volname (".qcow2").
var volumeFormatRE = regexp.MustCompile(`\.(raw|qcow2|vmdk|subvol)$`)

// volumeFormat is the format of an existing volume as vzdump records it
// for a restore (qemu-server src/PVE/VZDump/QemuServer.pm writes
// "#qmdump#map:…:STORAGE:FORMAT:" from the volume's parse_volname):
// the file extension of a file storage's volume, "subvol" for a zfspool
// subvol-, else raw.
func volumeFormat(volid string) string {
	_, name, _ := strings.Cut(volid, ":")
	if m := volumeFormatRE.FindStringSubmatch(name); m != nil {
		return m[1]
	}
	if strings.HasPrefix(name, "subvol-") || strings.HasPrefix(name, "basevol-") {
		return "subvol"
	}
	return "raw"
}

// diskSizeKB is a GiB count as create_disks turns it into KiB:
// int(GiB * 1024) * 1024 (pve-container src/PVE/LXC.pm create_disks).
func diskSizeKB(gib string) int64 {
	gb, _ := strconv.ParseFloat(gib, 64)
	return int64(gb*1024) * 1024
}
