package proxmoxtest

import (
	"net/http"
)

// allPrivs are the privileges of the fake's identities before Deny: the
// Administrator role's, as far as the fake checks them.
var allPrivs = []string{"Datastore.Allocate", "Datastore.AllocateSpace", "Datastore.Audit", "Sys.Audit", "Sys.Console",
	"Sys.Modify", "Sys.PowerMgmt", "VM.Allocate", "VM.Audit", "VM.Config.Disk", "VM.Config.Options", "VM.PowerMgmt"}

// permsRoutes answers GET /access/permissions as pve-access-control's
// src/PVE/API2/AccessControl.pm "permissions" does: with a path, the
// effective privileges of the caller on that path, {"<path>": {"<priv>":
// 1}}; without, those on "/". The fake's Deny is path-independent, so
// every path gets the same set.
func (s *Server) permsRoutes() []route {
	return []route{
		{[]string{"GET /access/permissions"}, func(r *http.Request, rc *reqCtx, tmpl string, pp map[string]string) (any, int, *apiError) {
			path := rc.str("path")
			if path == "" {
				path = "/"
			}
			privs := map[string]int{}
			for _, p := range allPrivs {
				if d := s.denied[rc.identity]; d == nil || !d[p] {
					privs[p] = 1
				}
			}
			return map[string]any{path: privs}, -1, nil
		}},
	}
}
