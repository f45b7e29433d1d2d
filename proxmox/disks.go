package proxmox

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// Disk is a host disk as PVE lists it.
type Disk struct {
	DevPath string // /dev/sda
	Size    uint64
	Model   string
	Vendor  string
	Serial  string // "" when udev has none
	WWN     string
	Type    string // ssd, nvme, hdd, usb, unknown
	// RPM is the spindle speed; 0 for SSDs, -1 when unknown.
	RPM    int
	Health string
	// Wearout is the remaining life in percent; nil when PVE says "N/A".
	Wearout *int
	// Used says what occupies the disk ("LVM", "ZFS", "partitions" …);
	// empty when unused.
	Used    string
	Mounted bool
	GPT     bool
	// ByIDLink is the stable /dev/disk/by-id/ path (ata-, scsi-, nvme-);
	// empty for USB disks.
	ByIDLink string
}

type diskWire struct {
	DevPath  string `json:"devpath"`
	Size     num    `json:"size"`
	Model    string `json:"model"`
	Vendor   string `json:"vendor"`
	Serial   str    `json:"serial"`
	WWN      str    `json:"wwn"`
	Type     string `json:"type"`
	RPM      optNum `json:"rpm"`
	Health   string `json:"health"`
	Wearout  optNum `json:"wearout"`
	Used     string `json:"used"`
	Mounted  num    `json:"mounted"`
	GPT      num    `json:"gpt"`
	ByIDLink string `json:"by_id_link"`
}

// DiskService lists host disks and passes them through to VMs.
type DiskService struct{ c *Client }

// List reads the node's disks without running smartctl. It tolerates
// PVE's mixed types: wearout "N/A" or a number, rpm a number or a string.
//
// Proxmox API: GET /nodes/{node}/disks/list
func (s *DiskService) List(ctx context.Context, node string) ([]Disk, error) {
	op := "list disks of " + node
	if err := checkNode(op, node); err != nil {
		return nil, err
	}
	p := params{}
	setBool(p, "skipsmart", true)
	var ws []diskWire
	if err := s.c.call(ctx, nil, http.MethodGet, "/nodes/"+node+"/disks/list", p, &ws, nil); err != nil {
		return nil, opError(op, err)
	}
	out := make([]Disk, 0, len(ws))
	for _, w := range ws {
		d := Disk{DevPath: w.DevPath, Size: w.Size.u64(), Model: w.Model, Vendor: strings.TrimSpace(w.Vendor),
			Serial: string(w.Serial), WWN: string(w.WWN), Type: w.Type, RPM: -1, Health: w.Health, Used: w.Used,
			Mounted: w.Mounted.bool(), GPT: w.GPT.bool(), ByIDLink: w.ByIDLink}
		if d.Serial == "unknown" {
			d.Serial = ""
		}
		if d.WWN == "unknown" {
			d.WWN = ""
		}
		if w.RPM.set {
			d.RPM = int(w.RPM.v)
		}
		if w.Wearout.set {
			n := int(w.Wearout.v)
			d.Wearout = &n
		}
		out = append(out, d)
	}
	return out, nil
}

// Resolve finds a disk by serial, by-id path or device path and returns
// it; ErrNotFound if none matches.
//
// Proxmox API: GET /nodes/{node}/disks/list
func (s *DiskService) Resolve(ctx context.Context, node, disk string) (Disk, error) {
	ds, err := s.List(ctx, node)
	if err != nil {
		return Disk{}, err
	}
	return resolveDisk(node, ds, disk)
}

func resolveDisk(node string, ds []Disk, disk string) (Disk, error) {
	for _, d := range ds {
		if disk != "" && (d.Serial == disk || d.ByIDLink == disk || d.DevPath == disk) {
			return d, nil
		}
	}
	return Disk{}, refuse("resolve disk "+disk+" on "+node, ErrNotFound, "no disk with serial or path %q", disk)
}

// AttachOptions tune a passthrough.
type AttachOptions struct {
	// Bus is "scsi" (default), "sata" or "virtio".
	Bus string
	// Index picks the slot (scsi3); nil takes the first free one.
	Index *int
	// Backup includes the disk in vzdump backups; the default (false)
	// sends backup=0 so vzdump does not read the whole raw disk.
	Backup bool
	// NoSSD and NoDiscard turn off ssd=1 and discard=on (sent by default
	// for SSD and NVMe disks).
	NoSSD, NoDiscard bool
}

// Attachment reports a passthrough: the result of Attach and Detach.
type Attachment struct {
	Key   string // scsi1
	Value string // the drive property string
	Disk  Disk
	// Action is Created (attached), Deleted (detached) or Unchanged (the
	// disk already was where it was asked to be).
	Action Action
	// Changes lists the VM config key set or deleted.
	Changes []Change
}

// Changed reports whether the VM's config was changed.
func (a Attachment) Changed() bool { return a.Action != Unchanged }

var busMax = map[string]int{"scsi": 30, "sata": 5, "virtio": 15}

// Attach passes a whole host disk through to a VM by its /dev/disk/by-id
// path, as "scsiN" with backup=0, serial=<serial> and, for SSDs and NVMe
// only, ssd=1 (not on virtio) and discard=on. disk is a serial, by-id path or /dev path. Attaching a
// disk the VM already has changes nothing (Action Unchanged). It refuses the node's OS disk
// (any disk in use), a disk attached to another guest, and disks without
// a by-id link. PVE allows raw paths only for root@pam by ticket, so the
// client needs WithCredentials("root@pam", …); otherwise it fails with
// ErrRootRequired before sending anything.
//
// Proxmox API: GET /nodes/{node}/disks/list, GET /cluster/resources,
// GET /nodes/{node}/qemu/{vmid}/config, POST /nodes/{node}/qemu/{vmid}/config
func (s *DiskService) Attach(ctx context.Context, vm GuestRef, disk string, o AttachOptions) (Attachment, error) {
	op := fmt.Sprintf("attach disk %s to %s", disk, vm)
	if err := vm.validate(op); err != nil {
		return Attachment{}, err
	}
	if vm.Type != TypeVM {
		return Attachment{}, refuse(op, ErrInvalid, "disk passthrough needs a VM, not a container")
	}
	bus := o.Bus
	if bus == "" {
		bus = "scsi"
	}
	maxIdx, ok := busMax[bus]
	if !ok {
		return Attachment{}, refuse(op, ErrInvalid, "bus %q: want scsi, sata or virtio", bus)
	}
	if o.Index != nil && (*o.Index < 0 || *o.Index > maxIdx) {
		return Attachment{}, refuse(op, ErrInvalid, "%s index %d out of range 0-%d", bus, *o.Index, maxIdx)
	}
	root, err := s.c.root(op)
	if err != nil {
		return Attachment{}, err
	}
	d, err := s.Resolve(ctx, vm.Node, disk)
	if err != nil {
		return Attachment{}, opError(op, err)
	}
	cfg, err := s.c.config(ctx, vm)
	if err != nil {
		return Attachment{}, opError(op, err)
	}
	if key, val, ok := findDisk(cfg, d); ok {
		return Attachment{Key: key, Value: val, Disk: d}, nil
	}
	if d.Used != "" || d.Mounted {
		return Attachment{}, refuse(op, ErrConflict, "%s is in use on the host (%s); refusing to pass through the node's own disk", d.DevPath, orDefault(d.Used, "mounted"))
	}
	if d.ByIDLink == "" {
		return Attachment{}, refuse(op, ErrInvalid, "%s has no /dev/disk/by-id link (USB?); a stable path is required", d.DevPath)
	}
	if other, key, err := s.attachedElsewhere(ctx, vm, d); err != nil {
		return Attachment{}, opError(op, err)
	} else if other != nil {
		return Attachment{}, refuse(op, ErrConflict, "%s is already attached to %s as %s", d.ByIDLink, other, key)
	}
	idx := -1
	if o.Index != nil {
		idx = *o.Index
		if _, used := cfg.Raw[bus+strconv.Itoa(idx)]; used {
			return Attachment{}, refuse(op, ErrConflict, "%s%d is already in use", bus, idx)
		}
	} else {
		for i := 0; i <= maxIdx; i++ {
			if _, used := cfg.Raw[bus+strconv.Itoa(i)]; !used {
				idx = i
				break
			}
		}
		if idx < 0 {
			return Attachment{}, refuse(op, ErrConflict, "no free %s slot", bus)
		}
	}
	drv := Drive{File: d.ByIDLink, Options: map[string]string{"backup": b01(o.Backup)}}
	if d.Serial != "" {
		serial := d.Serial
		if len(serial) > 20 {
			serial = serial[len(serial)-20:]
		}
		drv.Options["serial"] = encodeSerial(serial)
	}
	if (d.Type == "ssd" || d.Type == "nvme") && bus != "virtio" && !o.NoSSD {
		drv.Options["ssd"] = "1"
	}
	// discard passes TRIM through, which only SSDs and NVMe use; on a
	// spinning disk it does nothing useful, so it is not sent
	if (d.Type == "ssd" || d.Type == "nvme") && !o.NoDiscard {
		drv.Options["discard"] = "on"
	}
	key := bus + strconv.Itoa(idx)
	p := params{}
	p.Set(key, drv.String())
	p.Set("digest", cfg.Digest)
	if _, err := s.c.runTask(ctx, root, op, http.MethodPost, vm.path()+"/config", p); err != nil {
		return Attachment{}, err
	}
	return Attachment{Key: key, Value: drv.String(), Disk: d, Action: Created,
		Changes: []Change{{Field: key, New: drv.String()}}}, nil
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

var passKeyRE = regexp.MustCompile(`^(scsi|sata|virtio|ide)\d+$`)

// findDisk returns the config key holding d. Besides the by-id link PVE
// reports and the /dev path, a disk attached by hand may use another of
// its /dev/disk/by-id names: wwn-<wwn>, or an ata-/scsi-/nvme-/usb- name
// ending in _<serial>.
func findDisk(cfg GuestConfig, d Disk) (string, string, bool) {
	keys := make([]string, 0, len(cfg.Disks))
	for k := range cfg.Disks {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if sameDisk(cfg.Disks[k].File, d) {
			return k, cfg.Raw[k], true
		}
	}
	return "", "", false
}

func sameDisk(file string, d Disk) bool {
	if file == "" {
		return false
	}
	if file == d.ByIDLink || file == d.DevPath {
		return true
	}
	name, ok := strings.CutPrefix(file, "/dev/disk/by-id/")
	if !ok {
		return false
	}
	if strings.Contains(name, "-part") {
		return false // a partition of the disk, not the disk
	}
	if d.WWN != "" && strings.EqualFold(name, "wwn-"+d.WWN) {
		return true
	}
	return len(d.Serial) >= 4 && strings.HasSuffix(name, "_"+d.Serial)
}

func (s *DiskService) attachedElsewhere(ctx context.Context, vm GuestRef, d Disk) (*GuestRef, string, error) {
	rs, err := s.c.resources(ctx, "vm")
	if err != nil {
		return nil, "", err
	}
	for _, r := range rs {
		g := r.guest()
		if (g.Type != TypeVM && g.Type != TypeCT) || g.Node != vm.Node || g.GuestRef == vm {
			continue
		}
		cfg, err := s.c.config(ctx, g.GuestRef)
		if err != nil {
			return nil, "", err
		}
		ref := g.GuestRef
		if key, _, ok := findDisk(cfg, d); ok { // VM drives, CT mount points
			return &ref, key, nil
		}
		if g.Type == TypeCT { // CT device passthrough: devN=[path=]/dev/…
			for k, v := range cfg.Raw {
				if !devKeyRE.MatchString(k) {
					continue
				}
				m, _, err := splitProperty(v, "path")
				if err == nil && sameDisk(m["path"], d) {
					return &ref, k, nil
				}
			}
		}
	}
	return nil, "", nil
}

var devKeyRE = regexp.MustCompile(`^dev[0-9]+$`)

// Detach removes a passed-through disk from a VM (the host disk is left
// untouched). disk is a serial, by-id path or /dev path, or the slot
// ("scsi1"); a disk that died and left the host's disk list is found by
// slot, by the serial it was attached with, or by its by-id path. A disk that is not attached gives Action Unchanged. PVE
// checks only VM.Config.Disk for removing a drive, raw or not (qemu-server
// PVE/API2/Qemu.pm update_vm), so the everyday identity does it.
//
// Proxmox API: POST /nodes/{node}/qemu/{vmid}/config (delete=<key>)
func (s *DiskService) Detach(ctx context.Context, vm GuestRef, disk string) (Attachment, error) {
	op := fmt.Sprintf("detach disk %s from %s", disk, vm)
	if err := vm.validate(op); err != nil {
		return Attachment{}, err
	}
	if disk == "" {
		return Attachment{}, refuse(op, ErrInvalid, "name the disk by serial, by-id path, /dev path or slot (scsi1)")
	}
	cfg, err := s.c.config(ctx, vm)
	if err != nil {
		return Attachment{}, opError(op, err)
	}
	var (
		d        Disk
		key, val string
		ok       bool
	)
	switch {
	case passKeyRE.MatchString(disk): // a slot: works for a disk that is gone
		key, val = disk, cfg.Raw[disk]
		if val == "" {
			return Attachment{}, nil
		}
		drv, err := parseDrive(val)
		if err != nil || !drv.IsPath() {
			return Attachment{}, refuse(op, ErrInvalid, "%s is %q, not a passed-through host disk", disk, val)
		}
		d, ok = Disk{ByIDLink: drv.File, Serial: drv.Options["serial"]}, true
	default:
		d, err = s.Resolve(ctx, vm.Node, disk)
		switch {
		case err == nil:
			key, val, ok = findDisk(cfg, d)
		case errors.Is(err, ErrNotFound):
			// a dead disk no longer shows on the host: find it in the
			// VM's config by the serial or path it was attached with
			key, val, ok = findDeadDisk(cfg, disk)
			if !ok {
				return Attachment{}, opError(op, err)
			}
			drv, _ := parseDrive(val)
			d = Disk{ByIDLink: drv.File, Serial: drv.Options["serial"]}
		default:
			return Attachment{}, opError(op, err)
		}
	}
	if !ok || !passKeyRE.MatchString(key) {
		return Attachment{Disk: d}, nil
	}
	id := s.c.def
	if why := rootOnly(TypeVM, cfg.Raw, []Change{{Field: key, Old: val}}, false); why != "" {
		if id, err = s.c.rootFor(op, why); err != nil {
			return Attachment{}, err
		}
	}
	p := params{"delete": {key}, "digest": {cfg.Digest}}
	if _, err := s.c.runTask(ctx, id, op, http.MethodPost, vm.path()+"/config", p); err != nil {
		return Attachment{}, err
	}
	return Attachment{Key: key, Value: val, Disk: d, Action: Deleted, Changes: []Change{{Field: key, Old: val}}}, nil
}

// findDeadDisk finds a raw-path drive by what the user knows of a disk
// that is gone: its serial (as sent in serial=, or ending its by-id name)
// or its path.
func findDeadDisk(cfg GuestConfig, disk string) (string, string, bool) {
	keys := make([]string, 0, len(cfg.Disks))
	for k := range cfg.Disks {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		drv := cfg.Disks[k]
		if !drv.IsPath() || !passKeyRE.MatchString(k) {
			continue
		}
		name := strings.TrimPrefix(drv.File, "/dev/disk/by-id/")
		if drv.File == disk || drv.Options["serial"] == encodeSerial(disk) ||
			(len(disk) >= 4 && strings.HasSuffix(name, "_"+disk)) {
			return k, cfg.Raw[k], true
		}
	}
	return "", "", false
}
