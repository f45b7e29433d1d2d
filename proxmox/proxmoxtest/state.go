package proxmoxtest

import (
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"maps"
	"sort"
	"strconv"
	"strings"
	"time"
)

type node struct {
	name    string
	online  bool
	disks   []Disk
	cpus    int
	mem     uint64
	started time.Time
}

type guest struct {
	vmid   int
	node   string
	typ    string // qemu, lxc
	status string // running, stopped, paused
	config map[string]string
	// ShutdownTime: how long a clean shutdown takes; <0 never.
	shutdownTime time.Duration
	stopTime     time.Duration
	startTime    time.Duration
	template     bool
	started      time.Time
	ha           string // requested HA state; "" when not HA-managed
}

type storage struct {
	id       string
	typ      string
	config   map[string]string // without password
	password string
	total    uint64
	used     uint64
	volumes  []*volume
}

type volume struct {
	volid     string
	vmid      int
	subtype   string
	format    string
	ctime     int64
	size      uint64
	notes     string
	protected bool
	// config is the guest config the archive holds: a copy of the
	// guest's config when the backup was made (vzdump archives the config
	// file, pve-manager PVE/VZDump/QemuServer.pm and PVE/VZDump/LXC.pm);
	// nil when the guest did not exist then.
	config map[string]string
}

// Disk is a host disk as GET /nodes/{node}/disks/list reports it. RPM and
// Wearout are any so the fake can send PVE's mixed types ("N/A", "7200").
type Disk struct {
	DevPath  string
	Size     uint64
	Model    string
	Vendor   string
	Serial   string
	WWN      string
	Type     string // ssd, nvme, hdd, usb
	RPM      any    // number or numeric string
	Wearout  any    // number or "N/A"
	Health   string
	Used     string // "LVM", "partitions", "" …
	Mounted  bool
	GPT      bool
	ByIDLink string // empty for USB
}

// Guest describes a guest to add with AddGuest.
type Guest struct {
	VMID    int
	Node    string
	Type    string // "qemu" or "lxc"
	Name    string
	Running bool
	// Config keys beyond name/hostname, e.g. "startup": "order=1,down=120".
	Config map[string]string
	// ShutdownTime is how long a clean shutdown takes; negative means the
	// guest ignores shutdown requests. StopTime and StartTime are the
	// durations of stop and start tasks.
	ShutdownTime, StopTime, StartTime time.Duration
	Template                          bool
	// HA makes the guest HA-managed with this requested state ("started",
	// "stopped" …); empty means not HA-managed.
	HA string
}

// AddNode adds an online node with no disks.
func (s *Server) AddNode(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nodes[name] = &node{name: name, online: true, cpus: 8, mem: 32 << 30, started: s.clock().Add(-72 * time.Hour)}
}

// SetNodeOnline marks a node online or offline.
func (s *Server) SetNodeOnline(name string, online bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if n := s.nodes[name]; n != nil {
		n.online = online
	}
}

// NodeOnline reports whether the node is online (false after a
// POST /nodes/{node}/status command=shutdown).
func (s *Server) NodeOnline(name string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := s.nodes[name]
	return n != nil && n.online
}

// AddDisk adds a host disk to a node.
func (s *Server) AddDisk(nodeName string, d Disk) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if n := s.nodes[nodeName]; n != nil {
		n.disks = append(n.disks, d)
	}
}

// AddGuest adds (or replaces) a guest.
func (s *Server) AddGuest(g Guest) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cfg := map[string]string{}
	for k, v := range g.Config {
		cfg[k] = v
	}
	if g.Type == "lxc" {
		if _, ok := cfg["hostname"]; !ok {
			cfg["hostname"] = g.Name
		}
	} else if _, ok := cfg["name"]; !ok {
		cfg["name"] = g.Name
	}
	st := "stopped"
	if g.Running {
		st = "running"
	}
	s.guests[g.VMID] = &guest{vmid: g.VMID, node: g.Node, typ: g.Type, status: st, config: cfg,
		shutdownTime: g.ShutdownTime, stopTime: g.StopTime, startTime: g.StartTime, template: g.Template,
		started: s.clock().Add(-time.Hour), ha: g.HA}
}

// GuestStatus returns "running", "stopped" or "" for an unknown vmid.
func (s *Server) GuestStatus(vmid int) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.advance()
	if g := s.guests[vmid]; g != nil {
		return g.status
	}
	return ""
}

// SetGuestStatus forces a guest's state ("running", "stopped", "paused").
func (s *Server) SetGuestStatus(vmid int, status string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if g := s.guests[vmid]; g != nil {
		g.status = status
	}
}

// GuestConfig returns a copy of a guest's config (nil if unknown).
func (s *Server) GuestConfig(vmid int) map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.advance()
	g := s.guests[vmid]
	if g == nil {
		return nil
	}
	out := map[string]string{}
	for k, v := range g.config {
		out[k] = v
	}
	return out
}

// Storage describes a storage to add with AddStorage.
type Storage struct {
	ID      string
	Type    string // dir, cifs, lvmthin …
	Content string // "backup,iso,vztmpl"
	Path    string
	Config  map[string]string // further keys, e.g. "prune-backups"
	Total   uint64
	Used    uint64
}

// AddStorage adds a storage definition available on every node.
func (s *Server) AddStorage(st Storage) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cfg := map[string]string{"content": st.Content}
	if st.Path != "" {
		cfg["path"] = st.Path
	}
	for k, v := range st.Config {
		cfg[k] = v
	}
	s.storages[st.ID] = &storage{id: st.ID, typ: st.Type, config: cfg, total: st.Total, used: st.Used}
}

// StoragePassword returns the password a CIFS storage was created with,
// so tests can check it arrived (GET never returns it).
func (s *Server) StoragePassword(id string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if st := s.storages[id]; st != nil {
		return st.password
	}
	return ""
}

// FailMount makes the next CIFS storage creations fail to mount with
// reason; empty turns it off.
func (s *Server) FailMount(reason string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mountErr = reason
}

// FailBackup makes vzdump fail for one guest with reason (empty clears
// it): no volume is written for it, the others are backed up, and the task
// ends with PVE's "job errors".
func (s *Server) FailBackup(vmid int, reason string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.backupErr == nil {
		s.backupErr = map[int]string{}
	}
	if reason == "" {
		delete(s.backupErr, vmid)
		return
	}
	s.backupErr[vmid] = reason
}

// Backup describes an existing backup volume for AddBackup.
type Backup struct {
	Storage   string
	VMID      int
	Type      string // qemu or lxc
	Time      time.Time
	Notes     string
	Protected bool
	Size      uint64
	// Name overrides the standard file name (for "renamed" entries).
	Name string
}

// AddBackup adds a backup volume and returns its volid. Like a vzdump run,
// the archive holds the guest's config as it is now (when the guest
// exists with that type); a later change to the guest does not reach it.
func (s *Server) AddBackup(b Backup) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.storages[b.Storage]
	if st == nil {
		return ""
	}
	return s.addVolume(st, b, "zstd")
}

func (s *Server) addVolume(st *storage, b Backup, compress string) string {
	ext := "vma"
	if b.Type == "lxc" {
		ext = "tar"
	}
	switch compress {
	case "zstd":
		ext += ".zst"
	case "gzip":
		ext += ".gz"
	case "1", "lzo":
		ext += ".lzo"
	}
	name := b.Name
	if name == "" {
		name = fmt.Sprintf("vzdump-%s-%d-%s.%s", b.Type, b.VMID, b.Time.In(s.loc).Format("2006_01_02-15_04_05"), ext)
	}
	if b.Size == 0 {
		b.Size = 1 << 30
	}
	v := &volume{volid: st.id + ":backup/" + name, vmid: b.VMID, subtype: b.Type, format: ext,
		ctime: b.Time.Unix(), size: b.Size, notes: b.Notes, protected: b.Protected}
	if g := s.guests[b.VMID]; g != nil && g.typ == b.Type {
		v.config = maps.Clone(g.config)
		delete(v.config, "digest")
		delete(v.config, "lock")
	}
	st.volumes = append(st.volumes, v)
	st.used += b.Size
	return v.volid
}

// Backups lists the volids of a storage, sorted.
func (s *Server) Backups(storageID string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.advance()
	st := s.storages[storageID]
	if st == nil {
		return nil
	}
	var out []string
	for _, v := range st.volumes {
		out = append(out, v.volid)
	}
	sort.Strings(out)
	return out
}

// seed builds the lab: node proxmox1 with VM 100 "nas" (order 1, last to
// stop), LXC 101 "docker" (order 2), VM 102 "homeassistant" (no order),
// storages local (dir) and backups (cifs), an NVMe OS disk, three SSDs, an
// HDD and a USB disk.
func (s *Server) seed() {
	s.AddNode(Node)
	s.AddGuest(Guest{VMID: 100, Node: Node, Type: "qemu", Name: "nas", Running: true,
		Config: map[string]string{"cores": "2", "memory": "4096", "onboot": "1", "startup": "order=1,up=60,down=300",
			"scsi0": "local-lvm:vm-100-disk-0,iothread=1,size=32G", "scsihw": "virtio-scsi-single",
			"net0": "virtio=BC:24:11:00:01:00,bridge=vmbr0", "ostype": "l26"}})
	s.AddGuest(Guest{VMID: 101, Node: Node, Type: "lxc", Name: "docker", Running: true,
		Config: map[string]string{"cores": "4", "memory": "8192", "swap": "512", "onboot": "1", "startup": "order=2,down=60",
			"rootfs": "local-lvm:vm-101-disk-0,size=32G", "unprivileged": "1", "features": "nesting=1,keyctl=1",
			"net0": "name=eth0,bridge=vmbr0,hwaddr=BC:24:11:00:01:01,ip=dhcp,type=veth", "ostype": "debian", "arch": "amd64"}})
	s.AddGuest(Guest{VMID: 102, Node: Node, Type: "qemu", Name: "homeassistant", Running: true,
		Config: map[string]string{"cores": "2", "memory": "2048", "onboot": "1",
			"scsi0": "local-lvm:vm-102-disk-0,size=32G", "net0": "virtio=BC:24:11:00:01:02,bridge=vmbr0"}})
	s.AddStorage(Storage{ID: "local", Type: "dir", Content: "iso,vztmpl,backup", Path: "/var/lib/vz", Total: 100 << 30, Used: 20 << 30})
	s.AddStorage(Storage{ID: "local-lvm", Type: "lvmthin", Content: "images,rootdir", Total: 800 << 30, Used: 100 << 30,
		Config: map[string]string{"thinpool": "data", "vgname": "pve"}})
	s.AddStorage(Storage{ID: "backups", Type: "cifs", Content: "backup", Path: "/mnt/pve/backups", Total: 4 << 40, Used: 1 << 40,
		Config: map[string]string{"server": "192.168.88.10", "share": "backups", "username": "proxmox",
			"prune-backups": "keep-daily=7,keep-weekly=4,keep-monthly=6"}})
	s.mu.Lock()
	s.storages["backups"].password = "smb-secret"
	s.mu.Unlock()
	for _, d := range []Disk{
		{DevPath: "/dev/nvme0n1", Size: 512110190592, Model: "Samsung SSD 980 PRO 500GB", Serial: "S5GXNX0W100001", Type: "nvme",
			RPM: 0, Wearout: 98, Health: "PASSED", Used: "LVM", Mounted: true, GPT: true,
			ByIDLink: "/dev/disk/by-id/nvme-Samsung_SSD_980_PRO_500GB_S5GXNX0W100001"},
		{DevPath: "/dev/sda", Size: 2000398934016, Model: "Samsung_SSD_870_EVO_2TB", Serial: "S6PNNS0T100001", Type: "ssd",
			RPM: 0, Wearout: 99, Health: "PASSED", GPT: false, WWN: "0x5002538f00000001",
			ByIDLink: "/dev/disk/by-id/ata-Samsung_SSD_870_EVO_2TB_S6PNNS0T100001"},
		{DevPath: "/dev/sdb", Size: 2000398934016, Model: "Samsung_SSD_870_EVO_2TB", Serial: "S6PNNS0T100002", Type: "ssd",
			RPM: 0, Wearout: 97, Health: "PASSED", WWN: "0x5002538f00000002",
			ByIDLink: "/dev/disk/by-id/ata-Samsung_SSD_870_EVO_2TB_S6PNNS0T100002"},
		{DevPath: "/dev/sdc", Size: 1000204886016, Model: "CT1000MX500SSD1", Serial: "2233E6A00001", Type: "ssd",
			RPM: 0, Wearout: "N/A", Health: "PASSED", WWN: "unknown",
			ByIDLink: "/dev/disk/by-id/ata-CT1000MX500SSD1_2233E6A00001"},
		{DevPath: "/dev/sdd", Size: 4000787030016, Model: "WDC_WD40EFRX-68N32N0", Serial: "WD-WCC7K0000001", Type: "hdd",
			RPM: "5400", Wearout: "N/A", Health: "PASSED", WWN: "0x50014ee200000001",
			ByIDLink: "/dev/disk/by-id/ata-WDC_WD40EFRX-68N32N0_WD-WCC7K0000001"},
		{DevPath: "/dev/sde", Size: 64023257088, Model: "Ultra", Serial: "unknown", Type: "usb",
			RPM: -1, Wearout: "N/A", Health: "UNKNOWN", WWN: "unknown"},
	} {
		s.AddDisk(Node, d)
	}
}

func configDigest(cfg map[string]string) string {
	keys := make([]string, 0, len(cfg))
	for k := range cfg {
		if k != "digest" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	h := sha1.New()
	for _, k := range keys {
		h.Write([]byte(k + ": " + cfg[k] + "\n"))
	}
	return hex.EncodeToString(h.Sum(nil))
}

func atoi(s string) int {
	n, _ := strconv.Atoi(strings.TrimSpace(s))
	return n
}
