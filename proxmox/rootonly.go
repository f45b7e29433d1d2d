package proxmox

import (
	"regexp"
	"strings"
)

// rootOnly says why PVE's permission checks would refuse a config change
// to any identity but the literal user root@pam (API tokens of root@pam
// included), or "" when they would not. It decides from the change as a
// whole, old values and deletions included, the way PVE does:
//
//   - containers: pve-container PVE/LXC.pm check_ct_modify_config_perm:
//     feature flags of a privileged container; feature flags other than
//     nesting, compared old against new key by key (so keyctl=0 where
//     keyctl was unset is a change), and deleting features that hold more
//     than nesting; mount points (rootfs, mpN) that are not storage
//     volumes (bind and device mounts), when set; devN, set or deleted;
//     hookscript.
//   - VMs: qemu-server PVE/API2/Qemu.pm: a drive set to a raw host path
//     (pve-storage check_volume_access: "Only root can pass arbitrary
//     filesystem paths."); hostpciN and usbN with a host device rather
//     than a mapping (check_hostpci_perm, check_usb_perm, for the value
//     set or, on delete, the value removed); serialN other than a socket;
//     args and other options outside the known groups. Deleting a drive,
//     raw or not, needs only VM.Config.Disk (update_vm: check_drive_perms).
func rootOnly(typ GuestType, old map[string]string, changes []Change, privileged bool) string {
	for _, c := range changes {
		k, del := c.Field, c.New == ""
		if typ == TypeCT {
			switch {
			case k == "features":
				if privileged {
					return "changing feature flags for privileged container is only allowed for root@pam"
				}
				if featuresBeyondNesting(old[k], c.New, del) {
					return "changing feature flags (except nesting) is only allowed for root@pam"
				}
			case k == "rootfs" || ctMountKeyRE.MatchString(k):
				if t := mountType(c.New); !del && t != "volume" {
					return "mount point type " + t + " is only allowed for root@pam"
				}
			case devKeyRE.MatchString(k):
				return "configuring device passthrough is only allowed for root@pam"
			case k == "hookscript":
				return "changing the hookscript is only allowed for root@pam"
			}
			continue
		}
		val := c.New
		if del {
			val = old[k]
		}
		switch {
		case passKeyRE.MatchString(k) || k == "efidisk0" || k == "tpmstate0":
			if d, err := parseDrive(c.New); !del && err == nil && d.IsPath() {
				return "Only root can pass arbitrary filesystem paths."
			}
		case hostpciKeyRE.MatchString(k):
			if m, _, err := splitProperty(val, "host"); err != nil || m["mapping"] == "" {
				return "only root can set '" + k + "' config for non-mapped devices"
			}
		case usbKeyRE.MatchString(k):
			m, _, err := splitProperty(val, "host")
			if err != nil || (m["mapping"] == "" && !strings.EqualFold(m["host"], "spice")) {
				return "only root can set '" + k + "' config for real devices"
			}
		case serialKeyRE.MatchString(k):
			if val != "socket" {
				return "only root can set '" + k + "' config for real devices"
			}
		case k == "args" || k == "lock":
			return "only root can set '" + k + "' config"
		}
	}
	return ""
}

var (
	ctMountKeyRE = regexp.MustCompile(`^mp[0-9]+$`)
	hostpciKeyRE = regexp.MustCompile(`^hostpci[0-9]+$`)
	usbKeyRE     = regexp.MustCompile(`^usb[0-9]+$`)
	serialKeyRE  = regexp.MustCompile(`^serial[0-9]+$`)
)

// mountType classifies a container mount point value as pve-container's
// parse_volume does: a path under /dev is a device, another absolute path a
// bind mount, anything else a storage volume.
func mountType(v string) string {
	m, _, err := splitProperty(v, "volume")
	if err != nil {
		return "volume"
	}
	vol := m["volume"]
	switch {
	case strings.HasPrefix(vol, "/dev/"):
		return "device"
	case strings.HasPrefix(vol, "/"):
		return "bind"
	}
	return "volume"
}

// featuresBeyondNesting mirrors the feature comparison of
// check_ct_modify_config_perm: on delete, old features holding anything
// but nesting; on set with old features, any key other than nesting whose
// value differs (booleans compared as 1/0, an unset key as ""); on set
// without old features, any key other than nesting.
func featuresBeyondNesting(old, new string, del bool) bool {
	if del {
		o := features(old)
		_, nesting := o["nesting"]
		return len(o) > 1 || (len(o) == 1 && !nesting)
	}
	n := features(new)
	if old == "" {
		_, nesting := n["nesting"]
		return len(n) > 1 || (len(n) == 1 && !nesting)
	}
	o := features(old)
	for _, m := range []map[string]string{o, n} {
		for k := range m {
			if k != "nesting" && o[k] != n[k] {
				return true
			}
		}
	}
	return false
}

// features parses a features value with booleans normalised to 1/0, as
// PVE's property-string parser does; an unparsable value counts as one
// unknown flag (root decides).
func features(v string) map[string]string {
	m, _, err := splitProperty(v, "")
	if err != nil {
		return map[string]string{"?": v}
	}
	for k, x := range m {
		if b, err := parsePropBool(x); err == nil {
			m[k] = b01(b)
		}
	}
	return m
}
