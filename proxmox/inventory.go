package proxmox

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// GuestType tells VMs from containers.
type GuestType string

// Guest types as PVE names them in paths and /cluster/resources.
const (
	TypeVM GuestType = "qemu"
	TypeCT GuestType = "lxc"
)

// VMID is a guest's id, unique in the cluster (100-999999999).
type VMID int

// String formats the id in decimal, as PVE writes it.
func (id VMID) String() string { return strconv.Itoa(int(id)) }

// GuestRef names one guest: the node hosting it, its type and vmid.
type GuestRef struct {
	Node string
	Type GuestType
	VMID VMID
}

// String reads "vm 101 on proxmox1" or "ct 102 on proxmox1".
func (r GuestRef) String() string {
	kind := "vm"
	if r.Type == TypeCT {
		kind = "ct"
	}
	return fmt.Sprintf("%s %d on %s", kind, r.VMID, r.Node)
}

func (r GuestRef) path() string {
	return "/nodes/" + r.Node + "/" + string(r.Type) + "/" + r.VMID.String()
}

var nodeNameRE = regexp.MustCompile(`^[a-zA-Z0-9]([a-zA-Z0-9\-]*[a-zA-Z0-9])?$`)

func (r GuestRef) validate(op string) error {
	if !nodeNameRE.MatchString(r.Node) {
		return refuse(op, ErrInvalid, "node name %q", r.Node)
	}
	if r.Type != TypeVM && r.Type != TypeCT {
		return refuse(op, ErrInvalid, "guest type %q", r.Type)
	}
	if r.VMID < 100 || r.VMID > 999999999 {
		return refuse(op, ErrInvalid, "vmid %d out of range 100-999999999", r.VMID)
	}
	return nil
}

func checkNode(op, node string) error {
	if !nodeNameRE.MatchString(node) {
		return refuse(op, ErrInvalid, "node name %q", node)
	}
	return nil
}

// Version is the PVE release.
type Version struct {
	Version string // "9.0.3"
	Release string // "9.0"
	RepoID  string
}

// Version reads the API version (via go-proxmox).
//
// Proxmox API: GET /version
func (c *Client) Version(ctx context.Context) (Version, error) {
	ctx, cancel := c.cfg.WithTimeout(ctx)
	defer cancel()
	v, err := c.def.gp.Version(ctx)
	if err != nil {
		return Version{}, opError("version", gpErr(ctx, http.MethodGet, "/version", err))
	}
	if v == nil || v.Version == "" {
		return Version{}, &Error{Op: "version", Method: http.MethodGet, Path: "/version", Message: "malformed reply: no version"}
	}
	return Version{Version: v.Version, Release: v.Release, RepoID: v.RepoID}, nil
}

// AtLeast reports whether the release is major.minor or newer; an
// unparsable version is not.
func (v Version) AtLeast(major, minor int) bool {
	rel := v.Release
	if rel == "" {
		rel = v.Version
	}
	parts := strings.SplitN(rel, ".", 3)
	if len(parts) < 2 {
		return false
	}
	lead := func(s string) string { // "2-3" → "2"
		if i := strings.IndexFunc(s, func(r rune) bool { return r < '0' || r > '9' }); i >= 0 {
			return s[:i]
		}
		return s
	}
	ma, err1 := strconv.Atoi(lead(parts[0]))
	mi, err2 := strconv.Atoi(lead(parts[1]))
	if err1 != nil || err2 != nil {
		return false
	}
	return ma > major || (ma == major && mi >= minor)
}

// version returns the cluster's PVE version, read once per client (a
// failed read is tried again next time).
func (c *Client) version(ctx context.Context) (Version, error) {
	c.verMu.Lock()
	defer c.verMu.Unlock()
	if c.ver != nil {
		return *c.ver, nil
	}
	v, err := c.Version(ctx)
	if err != nil {
		return Version{}, err
	}
	c.ver = &v
	return v, nil
}

// Node is one cluster member.
type Node struct {
	Name   string
	Status string // online, offline, unknown
	// SSLFingerprint is the SHA-256 fingerprint of the node's certificate,
	// usable with WithFingerprint.
	SSLFingerprint string
	CPU            float64 // load fraction
	MaxCPU         int
	Mem, MaxMem    uint64
	Disk, MaxDisk  uint64
	Uptime         time.Duration
}

// Online reports whether the cluster sees the node.
func (n Node) Online() bool { return n.Status == "online" }

// NodeService lists the cluster's nodes and reads their status.
type NodeService struct{ c *Client }

// List lists the cluster's nodes with their certificate fingerprints
// (via go-proxmox).
//
// Proxmox API: GET /nodes
func (s *NodeService) List(ctx context.Context) ([]Node, error) {
	ctx, cancel := s.c.cfg.WithTimeout(ctx)
	defer cancel()
	ns, err := s.c.def.gp.Nodes(ctx)
	if err != nil {
		return nil, opError("list nodes", gpErr(ctx, http.MethodGet, "/nodes", err))
	}
	out := make([]Node, 0, len(ns))
	for _, n := range ns {
		if n == nil {
			continue
		}
		out = append(out, Node{Name: n.Node, Status: n.Status, SSLFingerprint: n.SSLFingerprint, CPU: n.CPU,
			MaxCPU: n.MaxCPU, Mem: n.Mem, MaxMem: n.MaxMem, Disk: n.Disk, MaxDisk: n.MaxDisk,
			Uptime: time.Duration(n.Uptime) * time.Second})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// Guest is a VM or container as listed cluster-wide.
type Guest struct {
	GuestRef
	Name     string
	Status   string // running, stopped, paused …
	Template bool
	Tags     []string
	Lock     string
	HAState  string
	Pool     string
	CPU      float64
	MaxCPU   int
	Mem      uint64
	MaxMem   uint64
	Disk     uint64
	MaxDisk  uint64
	Uptime   time.Duration
}

// Running reports whether the guest runs.
func (g Guest) Running() bool { return g.Status == "running" }

// StorageInfo is a storage as one node sees it.
type StorageInfo struct {
	Node       string
	ID         string
	PluginType string // dir, cifs, lvmthin …
	Content    []string
	Shared     bool
	Status     string // available, unknown
	Used, Size uint64
}

// Inventory is the whole cluster at one moment.
type Inventory struct {
	Nodes   []Node
	Guests  []Guest
	Storage []StorageInfo
}

type resourceWire struct {
	ID         string `json:"id"`
	Type       string `json:"type"`
	Node       string `json:"node"`
	Name       string `json:"name"`
	Status     string `json:"status"`
	VMID       num    `json:"vmid"`
	Template   num    `json:"template"`
	Tags       string `json:"tags"`
	Lock       string `json:"lock"`
	HAState    string `json:"hastate"`
	Pool       string `json:"pool"`
	CPU        num    `json:"cpu"`
	MaxCPU     num    `json:"maxcpu"`
	Mem        num    `json:"mem"`
	MaxMem     num    `json:"maxmem"`
	Disk       num    `json:"disk"`
	MaxDisk    num    `json:"maxdisk"`
	Uptime     num    `json:"uptime"`
	Storage    string `json:"storage"`
	PluginType string `json:"plugintype"`
	Content    string `json:"content"`
	Shared     num    `json:"shared"`
}

func (r resourceWire) guest() Guest {
	tags := strings.FieldsFunc(r.Tags, func(r rune) bool { return r == ';' || r == ',' || r == ' ' })
	return Guest{GuestRef: GuestRef{Node: r.Node, Type: GuestType(r.Type), VMID: VMID(r.VMID.int())}, Name: r.Name,
		Status: r.Status, Template: r.Template.bool(), Tags: tags, Lock: r.Lock, HAState: r.HAState, Pool: r.Pool,
		CPU: r.CPU.float(), MaxCPU: r.MaxCPU.int(), Mem: r.Mem.u64(), MaxMem: r.MaxMem.u64(), Disk: r.Disk.u64(),
		MaxDisk: r.MaxDisk.u64(), Uptime: time.Duration(r.Uptime.i64()) * time.Second}
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// resources reads /cluster/resources, optionally filtered by type.
func (c *Client) resources(ctx context.Context, typ string) ([]resourceWire, error) {
	var p params
	if typ != "" {
		p = params{"type": {typ}}
	}
	var rs []resourceWire
	if err := c.call(ctx, nil, http.MethodGet, "/cluster/resources", p, &rs, nil); err != nil {
		return nil, err
	}
	return rs, nil
}

// Inventory reads every node, guest and storage of the cluster in two
// concurrent round trips: one GET /cluster/resources for everything and
// GET /nodes for the certificate fingerprints.
//
// Proxmox API: GET /cluster/resources, GET /nodes
func (c *Client) Inventory(ctx context.Context) (*Inventory, error) {
	var (
		wg    sync.WaitGroup
		nodes []Node
		nerr  error
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		nodes, nerr = c.Nodes.List(ctx)
	}()
	rs, rerr := c.resources(ctx, "")
	wg.Wait()
	if cerr := ctx.Err(); cerr != nil {
		return nil, cerr
	}
	if rerr != nil {
		return nil, opError("inventory", rerr)
	}
	if nerr != nil {
		return nil, opError("inventory", nerr)
	}
	inv := &Inventory{}
	fp := map[string]Node{}
	for _, n := range nodes {
		fp[n.Name] = n
	}
	for _, r := range rs {
		switch r.Type {
		case "node":
			n := fp[r.Node]
			n.Name = r.Node
			if r.Status != "" {
				n.Status = r.Status
			}
			n.CPU, n.MaxCPU, n.Mem, n.MaxMem = r.CPU.float(), r.MaxCPU.int(), r.Mem.u64(), r.MaxMem.u64()
			n.Disk, n.MaxDisk, n.Uptime = r.Disk.u64(), r.MaxDisk.u64(), time.Duration(r.Uptime.i64())*time.Second
			inv.Nodes = append(inv.Nodes, n)
			delete(fp, r.Node)
		case "qemu", "lxc":
			inv.Guests = append(inv.Guests, r.guest())
		case "storage":
			inv.Storage = append(inv.Storage, StorageInfo{Node: r.Node, ID: r.Storage, PluginType: r.PluginType,
				Content: splitList(r.Content), Shared: r.Shared.bool(), Status: r.Status, Used: r.Disk.u64(), Size: r.MaxDisk.u64()})
		}
	}
	for _, n := range fp { // nodes /cluster/resources did not list
		inv.Nodes = append(inv.Nodes, n)
	}
	sort.Slice(inv.Nodes, func(i, j int) bool { return inv.Nodes[i].Name < inv.Nodes[j].Name })
	sort.Slice(inv.Guests, func(i, j int) bool { return inv.Guests[i].VMID < inv.Guests[j].VMID })
	sort.Slice(inv.Storage, func(i, j int) bool {
		if inv.Storage[i].Node != inv.Storage[j].Node {
			return inv.Storage[i].Node < inv.Storage[j].Node
		}
		return inv.Storage[i].ID < inv.Storage[j].ID
	})
	return inv, nil
}

// Get finds a guest by vmid anywhere in the cluster (ErrNotFound if none).
//
// Proxmox API: GET /cluster/resources?type=vm
func (s *GuestService) Get(ctx context.Context, vmid VMID) (Guest, error) {
	op := fmt.Sprintf("find guest %d", vmid)
	rs, err := s.c.resources(ctx, "vm")
	if err != nil {
		return Guest{}, opError(op, err)
	}
	for _, r := range rs {
		if (r.Type == "qemu" || r.Type == "lxc") && VMID(r.VMID.int()) == vmid {
			return r.guest(), nil
		}
	}
	return Guest{}, refuse(op, ErrNotFound, "no guest with vmid %d", vmid)
}

// Find finds a guest by name anywhere in the cluster (ErrNotFound if
// none).
//
// Proxmox API: GET /cluster/resources?type=vm
func (s *GuestService) Find(ctx context.Context, name string) (Guest, error) {
	op := fmt.Sprintf("find guest %q", name)
	rs, err := s.c.resources(ctx, "vm")
	if err != nil {
		return Guest{}, opError(op, err)
	}
	for _, r := range rs {
		if (r.Type == "qemu" || r.Type == "lxc") && r.Name == name {
			return r.guest(), nil
		}
	}
	return Guest{}, refuse(op, ErrNotFound, "no guest named %q", name)
}

// GuestConfig is a guest's configuration: the common keys typed, every
// key raw.
type GuestConfig struct {
	Ref         GuestRef
	Name        string // VM name or CT hostname
	Cores       int
	MemoryMiB   int
	OnBoot      bool
	Startup     Startup
	Description string
	// Disks holds scsiN/sataN/virtioN/ideN/efidisk0 (VM) or rootfs/mpN (CT).
	Disks map[string]Drive
	// Nets holds netN values as sent.
	Nets map[string]string
	// Unprivileged and Features apply to containers.
	Unprivileged bool
	Features     map[string]string
	// Digest guards updates against concurrent changes.
	Digest string
	// Raw is every key as PVE sent it.
	Raw map[string]string
}

var diskKeyRE = regexp.MustCompile(`^(scsi([0-9]|[12][0-9]|30)|sata[0-5]|virtio([0-9]|1[0-5])|ide[0-3]|efidisk0|tpmstate0|rootfs|mp([0-9]|[1-9][0-9]|1[0-9][0-9]|2[0-4][0-9]|25[0-5]))$`)
var netKeyRE = regexp.MustCompile(`^net[0-9]+$`)

func parseConfig(ref GuestRef, raw rawConfig) GuestConfig {
	g := GuestConfig{Ref: ref, Raw: map[string]string(raw), Disks: map[string]Drive{}, Nets: map[string]string{}}
	g.Name = raw["name"]
	if ref.Type == TypeCT {
		g.Name = raw["hostname"]
	}
	g.Cores, _ = strconv.Atoi(raw["cores"])
	g.MemoryMiB, _ = strconv.Atoi(raw["memory"])
	g.OnBoot, _ = parsePropBool(raw["onboot"])
	g.Startup, _ = parseStartup(raw["startup"])
	g.Description = raw["description"]
	g.Digest = raw["digest"]
	g.Unprivileged, _ = parsePropBool(raw["unprivileged"])
	if f := raw["features"]; f != "" {
		g.Features, _, _ = splitProperty(f, "")
	}
	for k, v := range raw {
		switch {
		case diskKeyRE.MatchString(k):
			dk := "file"
			if k == "rootfs" || strings.HasPrefix(k, "mp") {
				dk = "volume"
			}
			if d, err := parseDriveKey(v, dk); err == nil {
				g.Disks[k] = d
			}
		case netKeyRE.MatchString(k):
			g.Nets[k] = v
		}
	}
	return g
}

func parseDriveKey(v, defaultKey string) (Drive, error) {
	if defaultKey == "file" {
		return parseDrive(v)
	}
	m, _, err := splitProperty(v, "volume")
	if err != nil {
		return Drive{}, err
	}
	f := m["volume"]
	delete(m, "volume")
	if f == "" {
		return Drive{}, fmt.Errorf("%w: no volume", ErrInvalid)
	}
	return Drive{File: f, Options: m}, nil
}

// Config reads a guest's current configuration.
//
// Proxmox API: GET /nodes/{node}/qemu/{vmid}/config, GET /nodes/{node}/lxc/{vmid}/config
func (s *GuestService) Config(ctx context.Context, ref GuestRef) (GuestConfig, error) {
	return s.c.config(ctx, ref)
}

func (c *Client) config(ctx context.Context, ref GuestRef) (GuestConfig, error) {
	op := "read config of " + ref.String()
	if err := ref.validate(op); err != nil {
		return GuestConfig{}, err
	}
	var raw rawConfig
	if err := c.call(ctx, nil, http.MethodGet, ref.path()+"/config", nil, &raw, nil); err != nil {
		return GuestConfig{}, opError(op, err)
	}
	return parseConfig(ref, raw), nil
}

// NodeStatus is a node's detailed state.
type NodeStatus struct {
	Name       string
	Uptime     time.Duration
	CPU        float64 // load fraction
	CPUs       int
	CPUModel   string
	MemTotal   uint64
	MemUsed    uint64
	RootTotal  uint64
	RootUsed   uint64
	LoadAvg    []float64
	PVEVersion string // "pve-manager/9.0.3/…"
	Kernel     string
}

// Status reads a node's detailed status (via go-proxmox).
//
// Proxmox API: GET /nodes/{node}/status
func (s *NodeService) Status(ctx context.Context, node string) (NodeStatus, error) {
	op := "status of node " + node
	if err := checkNode(op, node); err != nil {
		return NodeStatus{}, err
	}
	ctx, cancel := s.c.cfg.WithTimeout(ctx)
	defer cancel()
	n := s.c.def.gp.NodeRef(node)
	if err := n.Status(ctx); err != nil {
		return NodeStatus{}, opError(op, gpErr(ctx, http.MethodGet, "/nodes/"+node+"/status", err))
	}
	st := NodeStatus{Name: node, Uptime: time.Duration(n.Uptime) * time.Second, CPU: n.CPU, CPUs: n.CPUInfo.CPUs,
		CPUModel: n.CPUInfo.Model, MemTotal: n.Memory.Total, MemUsed: n.Memory.Used, RootTotal: n.RootFS.Total,
		RootUsed: n.RootFS.Used, PVEVersion: n.PVEVersion, Kernel: n.Kversion}
	for _, l := range n.LoadAvg {
		f, err := strconv.ParseFloat(l, 64)
		if err == nil {
			st.LoadAvg = append(st.LoadAvg, f)
		}
	}
	return st, nil
}
