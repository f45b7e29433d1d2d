package proxmox

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestRootOnly holds the root@pam decision to PVE's permission checks
// (pve-container PVE/LXC.pm check_ct_modify_config_perm; qemu-server
// PVE/API2/Qemu.pm update_vm, check_hostpci_perm, check_usb_perm;
// pve-storage check_volume_access), case by case.
func TestRootOnly(t *testing.T) {
	t.Parallel()
	set := func(k, v string) []Change { return []Change{{Field: k, New: v}} }
	del := func(k, old string) []Change { return []Change{{Field: k, Old: old}} }
	tests := []struct {
		name       string
		typ        GuestType
		old        map[string]string
		changes    []Change
		privileged bool
		root       bool
	}{
		{"ct nesting on", TypeCT, nil, set("features", "nesting=1"), false, false},
		{"ct keyctl on create", TypeCT, nil, set("features", "nesting=1,keyctl=1"), false, true},
		{"ct any flag when privileged", TypeCT, nil, set("features", "nesting=1"), true, true},
		{"ct keyctl=0 where unset", TypeCT, map[string]string{"features": "nesting=1"}, set("features", "nesting=1,keyctl=0"), false, true},
		{"ct yes equals 1", TypeCT, map[string]string{"features": "nesting=1,keyctl=1"}, set("features", "nesting=0,keyctl=yes"), false, false},
		{"ct delete nesting only", TypeCT, map[string]string{"features": "nesting=1"}, del("features", "nesting=1"), false, false},
		{"ct delete with keyctl", TypeCT, map[string]string{"features": "nesting=1,keyctl=1"}, del("features", "nesting=1,keyctl=1"), false, true},
		{"ct volume mount", TypeCT, nil, set("mp0", "local-lvm:8,mp=/data"), false, false},
		{"ct bind mount", TypeCT, nil, set("mp0", "/srv,mp=/data"), false, true},
		{"ct device mount", TypeCT, nil, set("mp1", "/dev/sdb1,mp=/data"), false, true},
		{"ct delete bind mount", TypeCT, map[string]string{"mp0": "/srv,mp=/data"}, del("mp0", "/srv,mp=/data"), false, false},
		{"ct delete dev", TypeCT, map[string]string{"dev0": "/dev/ttyUSB0"}, del("dev0", "/dev/ttyUSB0"), false, true},
		{"ct hookscript", TypeCT, nil, set("hookscript", "local:snippets/x.sh"), false, true},
		{"vm raw disk set", TypeVM, nil, set("scsi1", "/dev/disk/by-id/ata-X,backup=0"), false, true},
		{"vm volume disk set", TypeVM, nil, set("scsi1", "local-lvm:vm-100-disk-1"), false, false},
		{"vm raw disk delete", TypeVM, map[string]string{"scsi1": "/dev/disk/by-id/ata-X"}, del("scsi1", "/dev/disk/by-id/ata-X"), false, false},
		{"vm hostpci host", TypeVM, nil, set("hostpci0", "0000:01:00.0,pcie=1"), false, true},
		{"vm hostpci mapping", TypeVM, nil, set("hostpci0", "mapping=gpu,pcie=1"), false, false},
		{"vm hostpci delete host", TypeVM, map[string]string{"hostpci0": "host=0000:01:00.0"}, del("hostpci0", "host=0000:01:00.0"), false, true},
		{"vm usb spice", TypeVM, nil, set("usb0", "spice"), false, false},
		{"vm usb host", TypeVM, nil, set("usb0", "host=1234:5678"), false, true},
		{"vm serial socket", TypeVM, nil, set("serial0", "socket"), false, false},
		{"vm serial device", TypeVM, nil, set("serial0", "/dev/ttyS0"), false, true},
		{"vm args", TypeVM, nil, set("args", "-cpu host"), false, true},
		{"vm plain option", TypeVM, nil, set("cores", "4"), false, false},
	}
	for _, tt := range tests {
		got := rootOnly(tt.typ, tt.old, tt.changes, tt.privileged)
		assert.Equal(t, tt.root, got != "", "%s: %q", tt.name, got)
	}
}
