package proxmoxtest

import (
	"fmt"
	"maps"
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
// the image-holding types that use src/PVE/Storage/Plugin.pm alloc_image
// (dir, nfs, cifs) or copy it (BTRFSPlugin.pm alloc_image). (cephfs holds
// no images.)
func fileStorage(typ string) bool {
	switch typ {
	case "dir", "nfs", "cifs", "btrfs":
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

// diskAllocator hands out the volume IDs of the disks one create, restore
// or config update allocates, each storage's lowest free number first, as
// src/PVE/Storage/Plugin.pm get_next_vm_diskname does. The fake keeps no
// image list per storage: a number is taken if this call or the guest's
// config (seed) took it. pve-storage numbers vm-, base- and subvol- names
// of a guest in one sequence on the storages that hold subvols
// ($get_vm_disk_number); a storage here holds one sequence in any case.
type diskAllocator struct {
	s    *Server
	vmid int
	used map[string]map[int]bool // storage → disk numbers taken
}

func newDiskAllocator(s *Server, vmid int) *diskAllocator {
	return &diskAllocator{s: s, vmid: vmid, used: map[string]map[int]bool{}}
}

// diskNumberRE is src/PVE/Storage/Plugin.pm $get_vm_disk_number, loosened
// to every prefix: the number of a guest's disk in its volume name.
var diskNumberRE = regexp.MustCompile(`(?:^|[:/])(?:vm|base|subvol|basevol)-(\d+)-disk-(\d+)(?:\.[a-z0-9]+)?(?:,|$)`)

// seed marks the disk numbers the guest's config already uses on each
// storage (find_free_diskname lists the storage's images of the guest;
// the fake's images are the volumes its guests' configs name).
func (a *diskAllocator) seed(cfg map[string]string) {
	for _, v := range cfg {
		vol, _, _ := strings.Cut(v, ",")
		vol = strings.TrimPrefix(strings.TrimPrefix(vol, "file="), "volume=")
		sid, _, ok := strings.Cut(vol, ":")
		if !ok {
			continue
		}
		if m := diskNumberRE.FindStringSubmatch(vol); m != nil && m[1] == strconv.Itoa(a.vmid) {
			n, _ := strconv.Atoi(m[2])
			a.take(sid, n)
		}
	}
}

func (a *diskAllocator) take(sid string, n int) {
	if a.used[sid] == nil {
		a.used[sid] = map[int]bool{}
	}
	a.used[sid][n] = true
}

// free is get_next_vm_diskname's loop: the lowest number not taken.
func (a *diskAllocator) free(sid string) int {
	n := 0
	for a.used[sid][n] {
		n++
	}
	a.take(sid, n)
	return n
}

// alloc is src/PVE/Storage.pm vdisk_alloc: "STORAGE:VOLNAME" of a new disk
// in format (empty: the storage's default). The volume name follows
// the storage type's alloc_image:
//   - dir, nfs, cifs, btrfs (Plugin.pm alloc_image →
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
	n := a.free(sid)
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

// newVMDiskRE is qemu-server src/PVE/QemuServer/Drive.pm $NEW_DISK_RE:
// [STORAGE:]GiB asks create_disks for a new volume.
var newVMDiskRE = regexp.MustCompile(`^(([^/:\s]+):)?(\d+(\.\d+)?)$`)

// vmNewDiskKeyRE are the drive keys the fake allocates new disks for
// (efidisk0, whose size create_efidisk takes from the OVMF vars file, is
// kept as given).
var vmNewDiskKeyRE = regexp.MustCompile(`^(ide|sata|scsi|virtio)\d+$|^tpmstate0$`)

// createVMDisks is qemu-server src/PVE/API2/Qemu.pm create_disks for a
// config update: a drive value STORAGE:GiB becomes a new volume on that
// storage in format= or the storage's default (storage_default_format),
// named by the storage's type (diskAllocator.alloc), size= set (a
// tpmstate0 is TPMSTATE_DISK_SIZE, 4 MiB) and format= dropped ("no
// longer needed"); STORAGE:cloudinit becomes vm-VMID-cloudinit (".FMT",
// default qcow2, on a storage with a path; raw elsewhere), media=cdrom.
// It returns the new values by key.
func (s *Server) createVMDisks(g *guest, params map[string]string) (map[string]string, *apiError) {
	out := map[string]string{}
	a := newDiskAllocator(s, g.vmid)
	a.seed(g.config)
	for _, k := range slices.Sorted(maps.Keys(params)) {
		if !vmNewDiskKeyRE.MatchString(k) {
			continue
		}
		file, opts, _ := strings.Cut(params[k], ",")
		file = strings.TrimPrefix(file, "file=")
		sid, volname, _ := strings.Cut(file, ":")
		m := newVMDiskRE.FindStringSubmatch(file)
		if m == nil && volname != "cloudinit" {
			continue
		}
		if m != nil {
			sid = m[2]
		}
		if sid == "" {
			// create_disks without a default storage (a config update).
			return nil, errf(500, "no storage ID specified (and no default storage)")
		}
		st := s.storages[sid]
		if st == nil {
			return nil, errf(500, "storage '%s' does not exist", sid)
		}
		format := optionValue(opts, "format")
		opts = dropOption(opts, "format")
		var vol string
		if m == nil {
			name := fmt.Sprintf("vm-%d-cloudinit", g.vmid)
			if fileStorage(st.typ) {
				if format == "" {
					format = "qcow2"
				}
				vol = fmt.Sprintf("%s:%d/%s.%s", sid, g.vmid, name, format)
			} else {
				vol = sid + ":" + name
			}
			opts = dropOption(opts, "media")
			out[k] = printDrive(vol, opts, "media=cdrom")
			continue
		}
		if format == "" {
			format = resolveFormat(st, "")
		}
		if !slices.Contains(append(imageFormats[st.typ], "raw"), format) && !fileStorage(st.typ) {
			// LvmThinPlugin.pm / ZFSPoolPlugin.pm alloc_image (the fake
			// leaves out Perl's " at … line N.").
			return nil, errf(500, "unsupported format '%s'", format)
		}
		// convert_size(GiB → KiB), rounding a fraction up.
		gib, _ := strconv.ParseFloat(m[3], 64)
		kb := gib * (1 << 20)
		sizeKB := int64(kb)
		if kb > float64(sizeKB) {
			sizeKB++
		}
		if k == "tpmstate0" {
			sizeKB = 4 << 10
		}
		vol = a.alloc(sid, format)
		opts = dropOption(opts, "size")
		out[k] = printDrive(vol, opts, "size="+formatDiskSize(sizeKB*1024))
	}
	return out, nil
}

// optionValue is the value of key= in a comma-separated option list.
func optionValue(opts, key string) string {
	for _, o := range strings.Split(opts, ",") {
		if v, ok := strings.CutPrefix(o, key+"="); ok {
			return v
		}
	}
	return ""
}

// printDrive is qemu-server print_drive → pve-common
// print_property_string: the volume first, then the options sorted by key.
func printDrive(vol, opts string, more ...string) string {
	var parts []string
	for _, o := range append(strings.Split(opts, ","), more...) {
		if o != "" {
			parts = append(parts, o)
		}
	}
	slices.Sort(parts)
	return strings.Join(append([]string{vol}, parts...), ",")
}
