package proxmoxtest

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// HA-managed guests, as pve-ha-manager and the guest APIs treat them:
//
//   - a guest's HA resource has a requested state (started, stopped,
//     disabled, ignored …), read and set through /cluster/ha/resources
//     (pve-ha-manager src/PVE/API2/HA/Resources.pm; update needs
//     Sys.Console on /);
//   - /cluster/resources reports it as "hastate" (pve-manager
//     PVE/API2/Cluster.pm), status/current as ha.managed and ha.state;
//   - start, shutdown and stop of an HA guest do not act on the guest: they
//     run a task "hastart" or "hastop" that only asks the HA stack
//     (ha-manager set --state started, crm-command stop) and ends at once
//     (qemu-server PVE/API2/Qemu.pm vm_start/vm_shutdown/vm_stop;
//     pve-container's Status.pm does the same), and stop refuses
//     overrule-shutdown ("Not applicable for HA resources.");
//   - the node's local resource manager then starts or stops the guest in
//     a task of its own, which the fake runs as root@pam after the guest's
//     start, shutdown or stop time.

// haRequest records the requested state and lets the "LRM" act on it.
// Called with s.mu held.
func (s *Server) haRequest(g *guest, state string, hard bool) {
	g.ha = state
	prefix := "vz"
	if g.typ == "qemu" {
		prefix = "qm"
	}
	id := strconv.Itoa(g.vmid)
	running := g.status == "running" || g.status == "paused"
	switch {
	case state == "started" && !running:
		s.newTask(g.node, prefix+"start", id, RootUser, g.startTime, func() string {
			if g.ha == "started" {
				g.status, g.started = "running", s.clock()
			}
			return "OK"
		})
	case (state == "stopped" || state == "disabled") && running:
		d, kind := g.shutdownTime, "shutdown"
		if hard {
			d, kind = g.stopTime, "stop"
		}
		if d < 0 {
			// a guest that ignores the request: HA's own timeout (default
			// 180 s in crm-command stop) ends in a hard stop
			d = 180 * time.Second
		}
		s.newTask(g.node, prefix+kind, id, RootUser, d, func() string {
			if g.ha == "stopped" || g.ha == "disabled" {
				g.status = "stopped"
			}
			return "OK"
		})
	}
}

func haSID(g *guest) string {
	if g.typ == "lxc" {
		return "ct:" + strconv.Itoa(g.vmid)
	}
	return "vm:" + strconv.Itoa(g.vmid)
}

func (s *Server) haEntry(g *guest) map[string]any {
	typ, _, _ := strings.Cut(haSID(g), ":")
	return map[string]any{"sid": haSID(g), "type": typ, "state": g.ha, "digest": configDigest(map[string]string{"ha": g.ha}),
		"max_relocate": 1, "max_restart": 1}
}

// haGuest resolves a sid ("vm:102", "ct:101" or a bare vmid).
func (s *Server) haGuest(sid string) (*guest, *apiError) {
	id := sid
	if _, rest, ok := strings.Cut(sid, ":"); ok {
		id = rest
	}
	g := s.guests[atoi(id)]
	if g == nil || g.ha == "" {
		// pve-ha-manager PVE/HA/Config.pm: die "no such resource '$sid'\n"
		return nil, errf(500, "no such resource '%s'", sid)
	}
	return g, nil
}

func (s *Server) haRoutes() []route {
	return []route{
		{[]string{"GET /cluster/ha/resources"}, func(r *http.Request, rc *reqCtx, tmpl string, pp map[string]string) (any, int, *apiError) {
			out := []map[string]any{}
			for _, g := range s.sortedGuests() {
				if g.ha != "" && (rc.str("type") == "" || strings.HasPrefix(haSID(g), rc.str("type")+":")) {
					out = append(out, s.haEntry(g))
				}
			}
			return out, -1, nil
		}},
		{[]string{"GET /cluster/ha/resources/{sid}"}, func(r *http.Request, rc *reqCtx, tmpl string, pp map[string]string) (any, int, *apiError) {
			g, err := s.haGuest(pp["sid"])
			if err != nil {
				return nil, -1, err
			}
			return s.haEntry(g), -1, nil
		}},
		{[]string{"PUT /cluster/ha/resources/{sid}"}, func(r *http.Request, rc *reqCtx, tmpl string, pp map[string]string) (any, int, *apiError) {
			if err := s.perm(rc, "/", "Sys.Console"); err != nil {
				return nil, -1, err
			}
			g, err := s.haGuest(pp["sid"])
			if err != nil {
				return nil, -1, err
			}
			if st := rc.str("state"); st != "" {
				s.haRequest(g, st, false)
			}
			return nil, -1, nil
		}},
	}
}

// haPower answers start, shutdown and stop of an HA-managed guest the way
// qemu-server's vm_start, vm_shutdown and vm_stop do (src/PVE/API2/Qemu.pm,
// their vm_is_ha_managed branches: hastart, hastop). Those are the only
// power commands PVE routes through the HA manager (vm_reboot does not), so
// the 501 below is a guard, documented in the package doc.
func (s *Server) haPower(rc *reqCtx, g *guest, cmd string) (any, *apiError) {
	id := strconv.Itoa(g.vmid)
	switch cmd {
	case "start":
		return s.newTask(g.node, "hastart", id, rc.identity, 0, func() string {
			s.haRequest(g, "started", false)
			return "OK"
		}).upid, nil
	case "stop", "shutdown":
		if cmd == "stop" && rc.boolean("overrule-shutdown", false) {
			return nil, paramErr(map[string]string{"overrule-shutdown": "Not applicable for HA resources."})
		}
		return s.newTask(g.node, "hastop", id, rc.identity, 0, func() string {
			s.haRequest(g, "stopped", cmd == "stop")
			return "OK"
		}).upid, nil
	}
	return nil, errf(501, "HA command %s not modelled by proxmoxtest", cmd)
}

func (s *Server) haStatus(g *guest) map[string]any {
	if g.ha == "" {
		return map[string]any{"managed": 0}
	}
	return map[string]any{"managed": 1, "state": g.ha, "group": nil}
}

// HAState returns the requested HA state of a guest ("" when it is not
// HA-managed).
func (s *Server) HAState(vmid int) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if g := s.guests[vmid]; g != nil {
		return g.ha
	}
	return ""
}
