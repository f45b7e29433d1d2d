package proxmox

import (
	"maps"
	"regexp"
	"strconv"
	"strings"
)

// newVolumeRE is a request for a new volume in a drive or mount point:
// qemu-server src/PVE/QemuServer/Drive.pm $NEW_DISK_RE ([STORAGE:]GiB) and
// pve-container src/PVE/LXC.pm $NEW_DISK_RE (STORAGE:GiB).
var newVolumeRE = regexp.MustCompile(`^(?:([^/:\s]+):)?(\d+(?:\.\d+)?)$`)

// cloudinitNameRE is the volume name of a cloud-init drive (qemu-server
// Drive.pm drive_is_cloudinit), in either storage shape:
// "vm-100-cloudinit" or "100/vm-100-cloudinit.qcow2".
var cloudinitNameRE = regexp.MustCompile(`(?:^|/)vm-\d+-cloudinit(?:\.[a-z0-9]+)?$`)

// sameDiskSpec reports whether a disk key's current value (have) is what
// a new-volume request (want: "STORAGE:GiB[,opts]" or
// "STORAGE:cloudinit[,opts]") made of it: PVE replaces the request by the
// allocated volume ("local-lvm:vm-100-disk-1,size=32G" or, on a file
// storage, "local:100/vm-100-disk-1.qcow2,size=32G"), records size= and
// drops format=. Sending the request again would allocate another disk,
// so an Update is idempotent only if it counts the two as equal: same
// storage, same size (efidisk0 and tpmstate0 get a size of PVE's
// choosing, so theirs is not compared) and the same other options.
func sameDiskSpec(key, have, want string) bool {
	if !diskKeyRE.MatchString(key) || have == "" || want == "" {
		return false
	}
	dk := "file"
	if key == "rootfs" || strings.HasPrefix(key, "mp") {
		dk = "volume"
	}
	w, err := parseDriveKey(want, dk)
	if err != nil {
		return false
	}
	h, err := parseDriveKey(have, dk)
	if err != nil || h.IsPath() {
		return false
	}
	hsid, err := volStorage(h.File)
	if err != nil {
		return false
	}
	_, hname, _ := strings.Cut(h.File, ":")
	wo, ho := maps.Clone(w.Options), maps.Clone(h.Options)
	delete(wo, "format")
	delete(ho, "format")
	if wsid, ok := strings.CutSuffix(w.File, ":cloudinit"); ok {
		delete(ho, "media")
		delete(wo, "media")
		return wsid == hsid && cloudinitNameRE.MatchString(hname) && maps.Equal(wo, ho)
	}
	m := newVolumeRE.FindStringSubmatch(w.File)
	if m == nil || m[1] != hsid {
		return false
	}
	hsize, ok := parseDiskSize(ho["size"])
	delete(ho, "size")
	delete(wo, "size")
	if !maps.Equal(wo, ho) {
		return false
	}
	if key == "efidisk0" || key == "tpmstate0" {
		return true
	}
	gib, _ := strconv.ParseFloat(m[2], 64)
	// pve-common src/PVE/Tools.pm convert_size GiB → KiB rounds up.
	kb := gib * (1 << 20)
	wantKB := int64(kb)
	if kb > float64(wantKB) {
		wantKB++
	}
	return ok && hsize == wantKB*1024
}

// diskSizeRE is pve-common src/PVE/JSONSchema.pm parse_size: a number with
// an optional K, M, G or T (or KiB … TiB) suffix.
var diskSizeRE = regexp.MustCompile(`^(\d+(?:\.\d+)?)([KMGT](?:iB)?)?$`)

// parseDiskSize reads a size= value ("32G", "528K", "1536M", "1T", bytes)
// into bytes, as parse_size does.
func parseDiskSize(v string) (int64, bool) {
	m := diskSizeRE.FindStringSubmatch(v)
	if m == nil {
		return 0, false
	}
	n, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		return 0, false
	}
	switch strings.TrimSuffix(m[2], "iB") {
	case "K":
		n *= 1 << 10
	case "M":
		n *= 1 << 20
	case "G":
		n *= 1 << 30
	case "T":
		n *= 1 << 40
	}
	return int64(n), true
}
