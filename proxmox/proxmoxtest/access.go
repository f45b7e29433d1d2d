package proxmoxtest

import (
	"net/http"
	"sort"
	"strings"
)

// allPrivileges is every privilege of PVE 9 (pve-access-control
// src/PVE/AccessControl.pm $privgroups plus the standalone ones); an
// identity without SetPrivileges holds them all, as root@pam does.
var allPrivileges = []string{
	"Datastore.Allocate", "Datastore.AllocateSpace", "Datastore.AllocateTemplate", "Datastore.Audit",
	"Group.Allocate", "Mapping.Audit", "Mapping.Modify", "Mapping.Use", "Permissions.Modify",
	"Pool.Allocate", "Pool.Audit", "Realm.Allocate", "Realm.AllocateUser",
	"SDN.Allocate", "SDN.Audit", "SDN.Use",
	"Sys.AccessNetwork", "Sys.Audit", "Sys.Console", "Sys.Incoming", "Sys.Modify", "Sys.PowerMgmt", "Sys.Syslog",
	"User.Modify",
	"VM.Allocate", "VM.Audit", "VM.Backup", "VM.Clone", "VM.Config.CDROM", "VM.Config.CPU", "VM.Config.Cloudinit",
	"VM.Config.Disk", "VM.Config.HWType", "VM.Config.Memory", "VM.Config.Network", "VM.Config.Options",
	"VM.Console", "VM.GuestAgent.Audit", "VM.GuestAgent.FileRead", "VM.GuestAgent.FileSystemMgmt",
	"VM.GuestAgent.FileWrite", "VM.GuestAgent.Unrestricted", "VM.Migrate", "VM.PowerMgmt", "VM.Replicate",
	"VM.Snapshot", "VM.Snapshot.Rollback",
}

// defaultACLPaths are the paths PVE always lists in the permission tree
// (PVE::RPCEnvironment::get_effective_permissions).
var defaultACLPaths = []string{"/", "/access", "/access/groups", "/nodes", "/pool", "/sdn", "/storage", "/vms"}

// SetPrivileges gives identity (a user or token id) exactly privs on path
// and, propagating, below it, as an ACL entry with a role holding privs
// would: a deeper entry overrides what comes from above. No privs leaves
// none there. Without any entry an identity holds every
// privilege (the default, as root@pam). Deny still removes a privilege
// everywhere. Calls needing a privilege the identity lacks get 403
// "Permission check failed (<path>, <priv>)", and GET /access/permissions
// answers from this model.
func (s *Server) SetPrivileges(identity, path string, privs ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.acl == nil {
		s.acl = map[string]map[string][]string{}
	}
	if s.acl[identity] == nil {
		s.acl[identity] = map[string][]string{}
	}
	s.acl[identity][aclPath(path)] = append([]string{}, privs...)
}

// RevokeToken stops accepting an API token, as deleting it in PVE does:
// its next request gets 401.
func (s *Server) RevokeToken(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.tokens, id)
}

func aclPath(p string) string { return "/" + strings.Trim(p, "/") }

// privileges returns what identity holds on path: the deepest ACL entry
// at or above path (PVE::AccessControl::roles walks the tree the same
// way), else everything; minus what Deny removed. Callers hold s.mu.
func (s *Server) privileges(identity, path string) map[string]bool {
	path = aclPath(path)
	privs := allPrivileges
	if entries := s.acl[identity]; entries != nil {
		for q := path; ; {
			if p, ok := entries[q]; ok {
				privs = p
				break
			}
			if q == "/" {
				break
			}
			if i := strings.LastIndex(q, "/"); i > 0 {
				q = q[:i]
			} else {
				q = "/"
			}
		}
	}
	out := map[string]bool{}
	for _, p := range privs {
		if !s.denied[identity][p] {
			out[p] = true
		}
	}
	return out
}

// allowed reports whether identity holds priv on path. Callers hold s.mu.
func (s *Server) allowed(identity, path, priv string) bool {
	return s.privileges(identity, path)[priv]
}

// accessPermissions answers GET /access/permissions: an identity may read
// its own permissions and those of its tokens; another identity's need
// Sys.Audit on /access. With path the answer is {path: privs} (or {} with
// none there), else every default path and every path with an entry. The
// numbers say whether a privilege propagates; the fake's always do.
// pve-access-control src/PVE/API2/AccessControl.pm "permissions".
func (s *Server) accessPermissions(r *http.Request, rc *reqCtx, tmpl string, pp map[string]string) (any, int, *apiError) {
	who := rc.identity
	if rc.has("userid") && rc.str("userid") != who {
		owner, _, _ := strings.Cut(rc.str("userid"), "!")
		if owner != who {
			if err := s.perm(rc, "/access", "Sys.Audit"); err != nil {
				return nil, -1, err
			}
		}
		who = rc.str("userid")
	}
	dump := func(path string) map[string]int {
		m := map[string]int{}
		for p := range s.privileges(who, path) {
			m[p] = 1
		}
		return m
	}
	out := map[string]map[string]int{}
	if rc.has("path") && rc.str("path") != "" {
		path := rc.str("path")
		if m := dump(path); len(m) > 0 {
			out[path] = m
		}
		return out, -1, nil
	}
	paths := append([]string{}, defaultACLPaths...)
	for p := range s.acl[who] {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		out[p] = dump(p)
	}
	return out, -1, nil
}
