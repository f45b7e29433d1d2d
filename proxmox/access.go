package proxmox

import (
	"context"
	"fmt"
	"strings"
)

// AccessService reads what the client's API identity may do.
type AccessService struct{ c *Client }

// Privileges PVE checks before powering guests and nodes on or off
// (qemu-server/pve-container status handlers, pve-manager
// PVE/API2/Nodes.pm "status" POST, and for HA-managed guests the HA
// resource update).
const (
	PrivVMPowerMgmt  = "VM.PowerMgmt"
	PrivSysPowerMgmt = "Sys.PowerMgmt"
	// PrivSysConsole on / lets a guest's HA resource state be set.
	PrivSysConsole = "Sys.Console"
)

// Permissions is the effective privilege map of an identity as PVE
// resolves it: ACL path → privilege → whether it propagates to the
// paths below. The map holds PVE's top-level paths (/, /vms, /nodes, …),
// every path with an ACL entry and every guest of a pool, each already
// resolved by PVE (groups, roles, pools, token privilege separation).
type Permissions map[string]map[string]bool

// Has reports whether the identity holds priv on path. An entry for path
// itself answers; otherwise the nearest ancestor listed does, with only
// its propagating privileges, as PVE's own check walks the ACL tree: a
// deeper ACL entry replaces what comes from above, and a role granted
// without propagation applies to its own path only.
func (p Permissions) Has(path, priv string) bool {
	path = cleanACLPath(path)
	if privs, ok := p[path]; ok {
		_, has := privs[priv]
		return has
	}
	for q := parentACLPath(path); ; q = parentACLPath(q) {
		if privs, ok := p[q]; ok {
			return privs[priv]
		}
		if q == "/" {
			return false
		}
	}
}

func cleanACLPath(p string) string {
	p = "/" + strings.Trim(p, "/")
	return p
}

func parentACLPath(p string) string {
	i := strings.LastIndex(p, "/")
	if i <= 0 {
		return "/"
	}
	return p[:i]
}

// Permissions returns the effective privileges of the client's default
// identity (the API token when one is configured, else the password
// login). An empty path asks for the whole tree; a path ("/vms/101")
// asks for that path only, and the answer then holds that one entry (or
// none, when the identity has no privilege there).
//
// Proxmox API: GET /access/permissions [path] (pve-access-control
// src/PVE/API2/AccessControl.pm "permissions": every identity may read
// its own; the tree comes from PVE::RPCEnvironment::get_effective_permissions,
// a path from ::permissions). The reply is {path: {priv: 0|1}} where the
// number says whether the privilege propagates.
func (s *AccessService) Permissions(ctx context.Context, path string) (Permissions, error) {
	p := params{}
	if path != "" {
		p.Set("path", cleanACLPath(path))
	}
	var raw map[string]map[string]num
	if err := s.c.call(ctx, nil, "GET", "/access/permissions", p, &raw, nil); err != nil {
		return nil, opError("read permissions", err)
	}
	out := make(Permissions, len(raw))
	for path, privs := range raw {
		m := make(map[string]bool, len(privs))
		for priv, prop := range privs {
			m[priv] = prop.bool()
		}
		out[path] = m
	}
	return out, nil
}

// Identity is the user or token id the client's calls run as by default
// ("root@pam!sdk", "ups@pve").
func (s *AccessService) Identity() string { return s.c.def.user }

// MissingPrivilege is one thing a plan needs and the identity may not do.
type MissingPrivilege struct {
	// Path and Privilege name the ACL entry that is missing, e.g.
	// "/vms/101" and "VM.PowerMgmt".
	Path, Privilege string
	// Guest is set for a guest of the plan, Node for a node it powers off.
	Guest *Guest
	Node  string
}

// String reads "vm 101 on proxmox1 (nas): VM.PowerMgmt on /vms/101".
func (m MissingPrivilege) String() string {
	what := "node " + m.Node
	if m.Guest != nil {
		what = m.Guest.GuestRef.String()
		if m.Guest.Name != "" {
			what += " (" + m.Guest.Name + ")"
		}
	}
	return fmt.Sprintf("%s: %s on %s", what, m.Privilege, m.Path)
}

// PrivilegesError lists what a plan needs that the identity lacks. It
// matches ErrPermission; Check returns it inside an *Error.
type PrivilegesError struct {
	Identity string
	Missing  []MissingPrivilege
}

// Error names the identity, every missing privilege, and what to grant.
func (e *PrivilegesError) Error() string {
	parts := make([]string, len(e.Missing))
	var vm, node, console bool
	for i, m := range e.Missing {
		parts[i] = m.String()
		vm = vm || m.Privilege == PrivVMPowerMgmt
		node = node || m.Privilege == PrivSysPowerMgmt
		console = console || m.Privilege == PrivSysConsole
	}
	var grant []string
	if vm {
		grant = append(grant, "VM.PowerMgmt on /vms (the PVEVMUser role has it)")
	}
	if console {
		grant = append(grant, "Sys.Console on / (for HA-managed guests)")
	}
	if node {
		grant = append(grant, "Sys.PowerMgmt on /nodes (a role of its own: pveum role add PowerMgmt -privs Sys.PowerMgmt)")
	}
	return fmt.Sprintf("permission denied: %s may not power off %s; grant %s; with privilege separation a token needs it granted to both the token and its user",
		e.Identity, strings.Join(parts, ", "), strings.Join(grant, " and "))
}

// Unwrap makes the error match ErrPermission.
func (e *PrivilegesError) Unwrap() error { return ErrPermission }

// Preflight checks, changing nothing, that this client could apply the
// plan now: that the API answers and takes the credentials, and that the
// identity holds what each step needs: VM.PowerMgmt on /vms/{vmid} for
// every guest, Sys.Console on / for HA-managed ones (their HA resource
// state is set), and Sys.PowerMgmt on /nodes/{node} for every node the
// plan powers off. A guard that waits for a power cut calls it at start
// and again while it waits: a plan that cannot be applied is no plan. It
// reads the identity's permissions once. Everything missing comes back
// together: an *Error wrapping a *PrivilegesError that lists it (errors.Is
// ErrPermission); a refused token is ErrAuth, an unreachable API
// ErrUnavailable, as for every call.
//
// Proxmox API: GET /access/permissions
func (s *PowerService) Preflight(ctx context.Context, plan PowerPlan) error {
	const op = "preflight"
	perms, err := s.c.Access.Permissions(ctx, "")
	if err != nil {
		return opError(op, err)
	}
	var missing []MissingPrivilege
	console := false
	for _, g := range plan.Groups {
		for _, st := range g.Steps {
			path := "/vms/" + st.Guest.VMID.String()
			gu := st.Guest
			if !perms.Has(path, PrivVMPowerMgmt) {
				missing = append(missing, MissingPrivilege{Path: path, Privilege: PrivVMPowerMgmt, Guest: &gu})
			}
			if st.HA && !console && !perms.Has("/", PrivSysConsole) {
				console = true // once: the one path serves every HA guest
				missing = append(missing, MissingPrivilege{Path: "/", Privilege: PrivSysConsole, Guest: &gu})
			}
		}
	}
	for _, nd := range plan.Nodes {
		path := "/nodes/" + nd
		if !perms.Has(path, PrivSysPowerMgmt) {
			missing = append(missing, MissingPrivilege{Path: path, Privilege: PrivSysPowerMgmt, Node: nd})
		}
	}
	if len(missing) == 0 {
		return nil
	}
	return &Error{Op: op, Err: &PrivilegesError{Identity: s.c.def.user, Missing: missing}}
}
