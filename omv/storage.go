package omv

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// DiskService lists disks and reads SMART data.
type DiskService struct{ c *Client }

// Disk is a physical or virtual disk (md devices are not listed).
type Disk struct {
	DeviceFile   string // "/dev/sda"
	Model        string
	Vendor       string
	SerialNumber string
	Size         int64 // bytes
	IsRoot       bool
	IsReadOnly   bool
}

// List enumerates the disks.
//
// OMV API: DiskMgmt.enumerateDevices
func (s *DiskService) List(ctx context.Context) ([]Disk, error) {
	var raw []struct {
		DeviceFile string  `json:"devicefile"`
		Model      string  `json:"model"`
		Vendor     string  `json:"vendor"`
		Serial     string  `json:"serialnumber"`
		Size       flexInt `json:"size"`
		IsRoot     bool    `json:"isroot"`
		IsReadOnly bool    `json:"isreadonly"`
	}
	if err := s.c.call(ctx, callOpts{read: true}, "DiskMgmt", "enumerateDevices", nil, &raw); err != nil {
		return nil, wrap("list disks", err)
	}
	out := make([]Disk, 0, len(raw))
	for _, d := range raw {
		out = append(out, Disk{DeviceFile: d.DeviceFile, Model: d.Model, Vendor: d.Vendor, SerialNumber: d.Serial,
			Size: int64(d.Size), IsRoot: d.IsRoot, IsReadOnly: d.IsReadOnly})
	}
	return out, nil
}

// SMARTStatus is a disk's overall SMART status with its attributes.
type SMARTStatus struct {
	DeviceFile string
	Model      string
	Status     string // OMV overallstatus: GOOD, BAD_ATTRIBUTE_IN_THE_PAST, BAD_SECTOR, BAD_ATTRIBUTE_NOW, BAD_SECTOR_MANY, BAD_STATUS
	Attributes []SMARTAttribute
}

// Good reports Status == "GOOD" and no attribute failing now.
func (s SMARTStatus) Good() bool {
	if s.Status != "GOOD" {
		return false
	}
	for _, a := range s.Attributes {
		if a.Failing {
			return false
		}
	}
	return true
}

// SMARTAttribute is one SMART attribute row.
type SMARTAttribute struct {
	ID         int
	Name       string
	Value      int
	Worst      int
	Threshold  int
	Raw        string
	WhenFailed string // "", "FAILING_NOW" or "In_the_past"
	Prefailure bool
	// Failing is true when the attribute is failing now (WhenFailed
	// FAILING_NOW, or a pre-failure value at or below a non-zero threshold).
	Failing bool
}

// SMART reads the overall status and attributes of every disk with SMART
// support (virtual disks without SMART are skipped by OMV).
//
// OMV API: Smart.getList + Smart.getAttributes {devicefile}
func (s *DiskService) SMART(ctx context.Context) ([]SMARTStatus, error) {
	var list struct {
		Data []struct {
			DeviceFile string `json:"devicefile"`
			Model      string `json:"model"`
			Status     string `json:"overallstatus"`
		} `json:"data"`
	}
	if err := s.c.call(ctx, callOpts{read: true}, "Smart", "getList", getlist(), &list); err != nil {
		return nil, wrap("smart list", err)
	}
	out := make([]SMARTStatus, 0, len(list.Data))
	for _, d := range list.Data {
		attrs, err := s.SMARTAttributes(ctx, d.DeviceFile)
		if err != nil {
			return nil, err
		}
		out = append(out, SMARTStatus{DeviceFile: d.DeviceFile, Model: d.Model, Status: d.Status, Attributes: attrs})
	}
	return out, nil
}

// SMARTAttributes reads the SMART attributes of one disk.
//
// OMV API: Smart.getAttributes {devicefile}
func (s *DiskService) SMARTAttributes(ctx context.Context, devicefile string) ([]SMARTAttribute, error) {
	var raw []struct {
		ID         flexInt `json:"id"`
		Name       string  `json:"attrname"`
		Value      flexInt `json:"value"`
		Worst      flexInt `json:"worst"`
		Threshold  flexInt `json:"threshold"`
		WhenFailed string  `json:"whenfailed"`
		Raw        string  `json:"rawvalue"`
		Prefailure bool    `json:"prefailure"`
	}
	if err := s.c.call(ctx, callOpts{read: true}, "Smart", "getAttributes", map[string]any{"devicefile": devicefile}, &raw); err != nil {
		return nil, wrap(fmt.Sprintf("smart attributes of %s", devicefile), err)
	}
	out := make([]SMARTAttribute, 0, len(raw))
	for _, a := range raw {
		at := SMARTAttribute{ID: int(a.ID), Name: a.Name, Value: int(a.Value), Worst: int(a.Worst), Threshold: int(a.Threshold),
			Raw: a.Raw, WhenFailed: strings.TrimSpace(a.WhenFailed), Prefailure: a.Prefailure}
		wf := strings.ToUpper(at.WhenFailed)
		at.Failing = wf == "FAILING_NOW" || (at.Prefailure && at.Threshold > 0 && at.Value <= at.Threshold)
		out = append(out, at)
	}
	return out, nil
}

func getlist() map[string]any { return map[string]any{"start": 0, "limit": nil} }

// RAIDService manages Linux MD arrays. It calls RaidMgmt on OMV 6.x and
// MdMgmt (plugin openmediavault-md) on 7.x and later.
type RAIDService struct{ c *Client }

// Array is an MD array as OMV lists it.
type Array struct {
	DeviceFile string   // "/dev/md0"
	Name       string   // "host:name"
	UUID       string   // mdadm colon form
	Level      string   // kernel name: "raid1" for a mirror
	Devices    []string // member device files
	Size       int64    // bytes
	State      string   // mdadm State plus mdstat progress, e.g. "clean, degraded, recovering (12.6% …)"
	Used       bool
}

// RAIDLevel is a level accepted by Create.
type RAIDLevel string

// Levels for Create. OMV names RAID 1 "mirror" on create but lists it as "raid1".
const (
	Mirror RAIDLevel = "mirror"
	Stripe RAIDLevel = "stripe"
	RAID5  RAIDLevel = "raid5"
	RAID6  RAIDLevel = "raid6"
	RAID10 RAIDLevel = "raid10"
)

func (s *RAIDService) service() string {
	s.c.mu.Lock()
	defer s.c.mu.Unlock()
	if s.c.raidSvc != "" {
		return s.c.raidSvc
	}
	if s.c.api == API6 || s.c.api == APIUnknown {
		return "RaidMgmt"
	}
	return "MdMgmt"
}

// call picks RaidMgmt or MdMgmt and switches once if OMV says the service
// does not exist (e.g. a 7.0 without session ids in the login reply).
func (s *RAIDService) call(ctx context.Context, o callOpts, method string, params, result any) error {
	if err := s.c.Login(ctx); err != nil {
		return err
	}
	svc := s.service()
	err := s.c.call(ctx, o, svc, method, params, result)
	var e *Error
	if errors.As(err, &e) && e.StatusCode == 404 && strings.HasPrefix(e.Message, "RPC service") {
		other := map[string]string{"RaidMgmt": "MdMgmt", "MdMgmt": "RaidMgmt"}[svc]
		if err2 := s.c.call(ctx, o, other, method, params, result); err2 == nil || !errors.Is(err2, ErrNotFound) {
			s.c.mu.Lock()
			s.c.raidSvc = other
			s.c.mu.Unlock()
			return err2
		}
	}
	return err
}

type rawArray struct {
	DeviceFile string          `json:"devicefile"`
	Name       string          `json:"name"`
	UUID       string          `json:"uuid"`
	Level      string          `json:"level"`
	Devices    []string        `json:"devices"`
	Size       flexInt         `json:"size"`
	State      string          `json:"state"`
	Used       json.RawMessage `json:"_used"`
}

func (r rawArray) array() Array {
	return Array{DeviceFile: r.DeviceFile, Name: r.Name, UUID: r.UUID, Level: r.Level, Devices: r.Devices,
		Size: int64(r.Size), State: r.State, Used: string(r.Used) == "true"}
}

// List returns the MD arrays.
//
// OMV API: RaidMgmt.getList / MdMgmt.getList {start: 0, limit: null}
func (s *RAIDService) List(ctx context.Context) ([]Array, error) {
	return s.list(ctx, callOpts{read: true})
}

func (s *RAIDService) list(ctx context.Context, o callOpts) ([]Array, error) {
	var res struct {
		Data []rawArray `json:"data"`
	}
	if err := s.call(ctx, o, "getList", getlist(), &res); err != nil {
		return nil, wrap("list raid arrays", err)
	}
	out := make([]Array, 0, len(res.Data))
	for _, r := range res.Data {
		out = append(out, r.array())
	}
	return out, nil
}

// Detail returns the `mdadm --detail` text of an array (without its first line).
//
// OMV API: RaidMgmt.getDetail / MdMgmt.getDetail {devicefile}
func (s *RAIDService) Detail(ctx context.Context, devicefile string) (string, error) {
	return s.detail(ctx, callOpts{read: true}, devicefile)
}

func (s *RAIDService) detail(ctx context.Context, o callOpts, devicefile string) (string, error) {
	var text string
	if err := s.call(ctx, o, "getDetail", map[string]any{"devicefile": devicefile}, &text); err != nil {
		return "", wrap(fmt.Sprintf("raid detail of %s", devicefile), err)
	}
	return text, nil
}

// CreateMirror creates a RAID 1 array from devices; name may be "". OMV
// runs mdadm at once; the initial resync then continues in the kernel and
// the mdadm and initramfs modules become dirty (apply with Config.Apply).
//
// OMV API: RaidMgmt.create / MdMgmt.create {devices, name, level: "mirror"}
func (s *RAIDService) CreateMirror(ctx context.Context, name string, devices ...string) (Array, error) {
	return s.Create(ctx, name, Mirror, devices...)
}

// Create creates an array of the given level.
//
// OMV API: RaidMgmt.create / MdMgmt.create {devices, name, level}
func (s *RAIDService) Create(ctx context.Context, name string, level RAIDLevel, devices ...string) (Array, error) {
	if len(devices) < 2 {
		return Array{}, errf(fmt.Sprintf("create raid %q", name), ErrInvalid, fmt.Sprintf("need at least 2 devices, got %d", len(devices)))
	}
	var r struct {
		DeviceFile string   `json:"devicefile"`
		Name       string   `json:"name"`
		Level      string   `json:"level"`
		Devices    []string `json:"devices"`
	}
	if err := s.call(ctx, callOpts{}, "create", map[string]any{"devices": devices, "name": name, "level": string(level)}, &r); err != nil {
		return Array{}, wrap(fmt.Sprintf("create raid %q", name), err)
	}
	// The echo carries the requested level; read the array back for the
	// kernel's view (level "raid1", state, size).
	arrays, err := s.List(ctx)
	if err != nil {
		return Array{}, err
	}
	for _, a := range arrays {
		if a.DeviceFile == r.DeviceFile {
			return a, nil
		}
	}
	return Array{DeviceFile: r.DeviceFile, Name: r.Name, Level: r.Level, Devices: r.Devices}, nil
}

// Health returns one verdict per array from OMV's `mdadm --detail` text,
// completed with speed and ETA from the state text. It only reads and does
// not keep the session alive.
//
// OMV API: RaidMgmt/MdMgmt.getList + getDetail {devicefile} per array
func (s *RAIDService) Health(ctx context.Context) ([]ArrayHealth, error) {
	o := callOpts{read: true, passive: true}
	arrays, err := s.list(ctx, o)
	if err != nil {
		return nil, err
	}
	out := make([]ArrayHealth, 0, len(arrays))
	for _, a := range arrays {
		text, err := s.detail(ctx, o, a.DeviceFile)
		if err != nil {
			return nil, err
		}
		h, err := ParseDetail([]byte(text))
		if err != nil {
			return nil, wrap(fmt.Sprintf("raid health of %s", a.DeviceFile), err)
		}
		h.Device = strings.TrimPrefix(a.DeviceFile, "/dev/")
		if h.Level == "" {
			h.Level = a.Level
		}
		mergeStateProgress(&h, a.State)
		out = append(out, h)
	}
	return out, nil
}

// mergeStateProgress adds the mdstat progress OMV appends to the state,
// e.g. "clean, degraded, recovering (12.6% (x/y) finish=1.2min speed=100K/sec)".
// When mdadm's State names no sync but /proc/mdstat shows one, OMV
// appends ", resyncing (<progress>)"; that sync is taken from OMV's text.
func mergeStateProgress(h *ArrayHealth, state string) {
	l := strings.ToLower(state)
	// Only an array that is up can be syncing; inactive, failed and
	// unknown verdicts stand.
	canSync := h.State != RAIDInactive && h.State != RAIDFailed && h.State != RAIDUnknown
	if strings.Contains(l, "(pending)") || strings.Contains(l, "(delayed)") {
		if !canSync {
			return
		}
		if h.Sync == nil {
			h.Sync = &SyncProgress{Action: "resync"}
		}
		h.Sync.Pending = true
		h.verdict(false, false)
		return
	}
	i := strings.Index(state, "(")
	if i < 0 {
		return
	}
	if h.Sync == nil {
		if !canSync || !strings.Contains(l[:i], "resyncing") {
			return
		}
		h.Sync = &SyncProgress{Action: "resync"}
		h.verdict(false, false)
	}
	m := reProgress.FindStringSubmatch(h.Sync.Action + " = " + state[i+1:])
	if m == nil {
		return
	}
	p := progressFrom(m)
	p.Action = h.Sync.Action
	h.Sync = p
}

// FilesystemService lists filesystems.
type FilesystemService struct{ c *Client }

// FilesystemStatus is OMV's status of a configured filesystem.
type FilesystemStatus int

// Filesystem states from FileSystemMgmt.getList.
const (
	FSOnline       FilesystemStatus = 1
	FSInitializing FilesystemStatus = 2 // mkfs running
	FSMissing      FilesystemStatus = 3 // configured, device absent
)

// Filesystem is a filesystem with a mount point configured in OMV.
type Filesystem struct {
	UUID       string // filesystem UUID (used by quotas)
	Label      string
	Type       string // "ext4"
	DeviceFile string
	Parent     string // parent device, e.g. "/dev/md0"
	MountPoint string
	Mounted    bool
	Size       int64 // bytes
	Available  int64 // bytes
	Used       int64 // bytes (Size - Available)
	Percentage int   // -1 when unknown
	Status     FilesystemStatus
}

// List returns the configured filesystems with usage.
//
// OMV API: FileSystemMgmt.getList {start: 0, limit: null}
func (s *FilesystemService) List(ctx context.Context) ([]Filesystem, error) {
	var res struct {
		Data []struct {
			UUID       string  `json:"uuid"`
			Label      string  `json:"label"`
			Type       string  `json:"type"`
			DeviceFile string  `json:"devicefile"`
			Parent     string  `json:"parentdevicefile"`
			MountPoint string  `json:"mountpoint"`
			Mounted    bool    `json:"mounted"`
			Size       flexInt `json:"size"`
			Available  flexInt `json:"available"`
			Percentage flexInt `json:"percentage"`
			Status     flexInt `json:"status"`
		} `json:"data"`
	}
	if err := s.c.call(ctx, callOpts{read: true}, "FileSystemMgmt", "getList", getlist(), &res); err != nil {
		return nil, wrap("list filesystems", err)
	}
	out := make([]Filesystem, 0, len(res.Data))
	for _, f := range res.Data {
		fs := Filesystem{UUID: f.UUID, Label: f.Label, Type: f.Type, DeviceFile: f.DeviceFile, Parent: f.Parent,
			MountPoint: f.MountPoint, Mounted: f.Mounted, Size: int64(f.Size), Available: int64(f.Available),
			Percentage: int(f.Percentage), Status: FilesystemStatus(f.Status)}
		if fs.Size >= fs.Available {
			fs.Used = fs.Size - fs.Available
		}
		out = append(out, fs)
	}
	return out, nil
}

// Create makes a filesystem of fstype on devicefile and waits for it:
// StartCreate then Job.Wait.
//
// OMV API: FileSystemMgmt.create {devicefile, type} (async) + Exec.getOutput
func (s *FilesystemService) Create(ctx context.Context, devicefile, fstype string) error {
	job, err := s.StartCreate(ctx, devicefile, fstype)
	if err != nil {
		return err
	}
	return job.Wait(ctx)
}

// StartCreate starts making a filesystem of fstype ("ext4", "xfs",
// "btrfs"…) on devicefile and returns the job; OMV wipes and (except on md
// devices) partitions it first. While the job runs, List shows the
// filesystem as FSInitializing. The new filesystem needs SetMountPoint and
// Config.Apply before it is mounted.
//
// OMV API: FileSystemMgmt.create {devicefile, type} (async)
func (s *FilesystemService) StartCreate(ctx context.Context, devicefile, fstype string) (*Job, error) {
	var file string
	if err := s.c.call(ctx, callOpts{}, "FileSystemMgmt", "create", map[string]any{"devicefile": devicefile, "type": fstype}, &file); err != nil {
		return nil, wrap(fmt.Sprintf("create %s filesystem on %s", fstype, devicefile), err)
	}
	return s.c.newJob("create filesystem on "+devicefile, file), nil
}

// SetMountPoint creates the mount-point config object of a filesystem
// (id: filesystem UUID or device file) and returns its UUID. It does not
// mount: the fstab module becomes dirty and Config.Apply mounts it.
//
// OMV API: FileSystemMgmt.setMountPoint {id}
func (s *FilesystemService) SetMountPoint(ctx context.Context, id string) (string, error) {
	var r struct {
		UUID string `json:"uuid"`
	}
	if err := s.c.call(ctx, callOpts{}, "FileSystemMgmt", "setMountPoint", map[string]any{"id": id}, &r); err != nil {
		return "", wrap(fmt.Sprintf("set mount point of %s", id), err)
	}
	return r.UUID, nil
}
