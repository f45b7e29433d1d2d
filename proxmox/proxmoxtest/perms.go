package proxmoxtest

// permsRoutes answers GET /access/permissions from the fake's privilege
// model (SetPrivileges, Deny; access.go), as pve-access-control's
// src/PVE/API2/AccessControl.pm "permissions" does: with a path, the
// effective privileges of the caller on that path, {"<path>": {"<priv>":
// 1}}; without, the whole tree.
func (s *Server) permsRoutes() []route {
	return []route{
		{[]string{"GET /access/permissions"}, s.accessPermissions},
	}
}
