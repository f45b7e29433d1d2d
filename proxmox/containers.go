package proxmox

import (
	"context"
	"fmt"
	"net/http"
	"net/netip"
	"strconv"
	"strings"

	"github.com/thehomelab/homelab/secret"
)

// ContainerService creates and configures LXC containers.
type ContainerService struct{ c *Client }

// MountPoint is an LXC mount point (mpN).
type MountPoint struct {
	// Volume is a storage volume, "<storage>:<GiB>" to allocate a new one,
	// or an absolute host path for a bind mount (root@pam only).
	Volume string
	// Path is the mount path inside the container.
	Path string
	// Backup includes a volume mount point in vzdump backups.
	Backup   bool
	ReadOnly bool
}

func (m MountPoint) value() string {
	v := m.Volume + ",mp=" + m.Path
	if m.Backup {
		v += ",backup=1"
	}
	if m.ReadOnly {
		v += ",ro=1"
	}
	return v
}

// ContainerSpec describes a container to create. The zero values of the
// optional fields mean PVE's defaults.
type ContainerSpec struct {
	VMID     VMID
	Hostname string
	// Template is the ostemplate volid, e.g.
	// "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst".
	Template string
	Cores    int
	// MemoryMiB and SwapMiB size RAM and swap.
	MemoryMiB, SwapMiB int
	// RootFS is "<storage>:<GiB>", e.g. "local-lvm:16".
	RootFS string
	// Bridge is the bridge of net0 (default vmbr0); IP is its IPv4
	// address (invalid = DHCP) and Gateway its IPv4 gateway.
	Bridge  string
	IP      netip.Prefix
	Gateway netip.Addr
	// IP6 is net0's IPv6 address and Gateway6 its IPv6 gateway; IP6Mode
	// "auto" (SLAAC) or "dhcp" asks for an address instead. All unset
	// leaves IPv6 unconfigured.
	IP6      netip.Prefix
	Gateway6 netip.Addr
	IP6Mode  string
	// MountPoints become mp0, mp1 ….
	MountPoints []MountPoint
	// Docker turns on nesting=1,keyctl=1 for Docker inside the container;
	// keyctl needs root@pam by ticket.
	Docker bool
	// Privileged creates a privileged container; the default sends
	// unprivileged=1 explicitly (PVE 8 defaults to privileged).
	Privileged    bool
	OnBoot        bool
	Startup       *Startup
	Start         bool
	Password      secret.Secret
	SSHPublicKeys []string
	Nameserver    string
	Tags          []string
}

// netValue renders net0 the way pve-container's LXC/Config.pm defines it:
// ip= takes IPv4/CIDR|dhcp|manual and gw= an IPv4 address, ip6= takes
// IPv6/CIDR|auto|dhcp|manual and gw6= an IPv6 address.
func netValue(s ContainerSpec) (string, error) {
	bridge := s.Bridge
	if bridge == "" {
		bridge = "vmbr0"
	}
	v := "name=eth0,bridge=" + bridge
	switch {
	case s.IP.IsValid() && !s.IP.Addr().Is4():
		return "", fmt.Errorf("IP %s is not IPv4: put an IPv6 address in IP6", s.IP)
	case s.Gateway.IsValid() && !s.Gateway.Is4():
		return "", fmt.Errorf("gateway %s is not IPv4: put an IPv6 gateway in Gateway6", s.Gateway)
	case s.IP.IsValid():
		v += ",ip=" + s.IP.String()
		if s.Gateway.IsValid() {
			v += ",gw=" + s.Gateway.String()
		}
	default:
		v += ",ip=dhcp"
	}
	switch {
	case s.IP6.IsValid() && (!s.IP6.Addr().Is6() || s.IP6.Addr().Is4In6()):
		return "", fmt.Errorf("IP6 %s is not IPv6", s.IP6)
	case s.Gateway6.IsValid() && (!s.Gateway6.Is6() || s.Gateway6.Is4In6()):
		return "", fmt.Errorf("gateway6 %s is not IPv6", s.Gateway6)
	case s.IP6.IsValid() && s.IP6Mode != "":
		return "", fmt.Errorf("IP6 and IP6Mode %q exclude each other", s.IP6Mode)
	case s.IP6.IsValid():
		v += ",ip6=" + s.IP6.String()
	case s.IP6Mode == "auto" || s.IP6Mode == "dhcp":
		v += ",ip6=" + s.IP6Mode
	case s.IP6Mode != "":
		return "", fmt.Errorf("IP6Mode %q: want auto or dhcp", s.IP6Mode)
	}
	if s.Gateway6.IsValid() {
		v += ",gw6=" + s.Gateway6.String()
	}
	return v, nil
}

// Create creates a container and waits for the vzcreate task. Docker and
// bind mounts need root@pam by ticket (PVE refuses feature flags other
// than nesting and bind mounts for everyone else, root@pam tokens
// included); without it Create fails with ErrRootRequired before sending.
//
// Proxmox API: POST /nodes/{node}/lxc
func (s *ContainerService) Create(ctx context.Context, node string, spec ContainerSpec) (GuestRef, error) {
	ref := GuestRef{Node: node, Type: TypeCT, VMID: spec.VMID}
	op := "create " + ref.String()
	if err := ref.validate(op); err != nil {
		return GuestRef{}, err
	}
	if spec.Template == "" {
		return GuestRef{}, refuse(op, ErrInvalid, "template is required")
	}
	p := params{"vmid": {spec.VMID.String()}, "ostemplate": {spec.Template}}
	if spec.Hostname != "" {
		p.Set("hostname", spec.Hostname)
	}
	if spec.Cores > 0 {
		p.Set("cores", strconv.Itoa(spec.Cores))
	}
	if spec.MemoryMiB > 0 {
		p.Set("memory", strconv.Itoa(spec.MemoryMiB))
	}
	if spec.SwapMiB > 0 {
		p.Set("swap", strconv.Itoa(spec.SwapMiB))
	}
	if spec.RootFS != "" {
		p.Set("rootfs", spec.RootFS)
	}
	net0, err := netValue(spec)
	if err != nil {
		return GuestRef{}, refuse(op, ErrInvalid, "net0: %v", err)
	}
	p.Set("net0", net0)
	for i, m := range spec.MountPoints {
		if m.Path == "" || !strings.HasPrefix(m.Path, "/") || strings.Contains(m.Path, "/../") || strings.Contains(m.Path, "/./") {
			return GuestRef{}, refuse(op, ErrInvalid, "mount point %d: path %q", i, m.Path)
		}
		p.Set("mp"+strconv.Itoa(i), m.value())
	}
	setBool(p, "unprivileged", !spec.Privileged)
	if spec.Docker {
		p.Set("features", "nesting=1,keyctl=1")
	}
	if spec.OnBoot {
		setBool(p, "onboot", true)
	}
	if spec.Startup != nil && spec.Startup.String() != "" {
		// empty means unset: "startup=" is not a value PVE can parse
		p.Set("startup", spec.Startup.String())
	}
	if spec.Start {
		setBool(p, "start", true)
	}
	if !spec.Password.IsZero() {
		p.Set("password", spec.Password.Reveal())
	}
	if len(spec.SSHPublicKeys) > 0 {
		p.Set("ssh-public-keys", strings.Join(spec.SSHPublicKeys, "\n"))
	}
	if spec.Nameserver != "" {
		p.Set("nameserver", spec.Nameserver)
	}
	if len(spec.Tags) > 0 {
		p.Set("tags", strings.Join(spec.Tags, ";"))
	}
	// what PVE's check_ct_modify_config_perm says of a new container
	// (no old config): feature flags beyond nesting, any flag on a
	// privileged one, bind and device mounts, devN
	id := s.c.def
	created := make([]Change, 0, len(p))
	for k := range p {
		created = append(created, Change{Field: k, New: p.Get(k)})
	}
	if why := rootOnly(TypeCT, nil, created, spec.Privileged); why != "" {
		r, err := s.c.rootFor(op, why)
		if err != nil {
			return GuestRef{}, err
		}
		id = r
	}
	if _, err := s.c.runTask(ctx, id, op, http.MethodPost, "/nodes/"+node+"/lxc", p); err != nil {
		return GuestRef{}, err
	}
	return ref, nil
}

// Config reads a container's configuration.
//
// Proxmox API: GET /nodes/{node}/lxc/{vmid}/config
func (s *ContainerService) Config(ctx context.Context, ref GuestRef) (GuestConfig, error) {
	if ref.Type != TypeCT {
		return GuestConfig{}, refuse("read config of "+ref.String(), ErrInvalid, "not a container")
	}
	return s.c.config(ctx, ref)
}

// Update applies only the keys whose value differs from the current
// config (and deletes only keys that exist), guarded by the config digest.
// Nothing to change sends nothing.
// Changing features other than nesting, or adding bind mounts, needs
// root@pam by ticket.
//
// Proxmox API: GET and PUT /nodes/{node}/lxc/{vmid}/config
func (s *ContainerService) Update(ctx context.Context, ref GuestRef, ch ConfigChange) (ConfigResult, error) {
	if ref.Type != TypeCT {
		return ConfigResult{Ref: ref}, refuse("update config of "+ref.String(), ErrInvalid, "not a container")
	}
	return s.c.Guests.Update(ctx, ref, ch)
}

// String names a mount point for messages.
func (m MountPoint) String() string { return fmt.Sprintf("%s at %s", m.Volume, m.Path) }
