package proxmoxtest

import (
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// route is one endpoint: its "METHOD /path" keys in PVE's schema
// notation and the handler.
type route struct {
	keys []string
	h    func(r *http.Request, rc *reqCtx, tmpl string, pp map[string]string) (any, int, *apiError)
}

// dispatch runs what PVE runs before any handler: authentication, the
// token check, path and parameter validation against the schema, and the
// node checks; then the handler under s.mu.
func (s *Server) dispatch(r *http.Request, rc *reqCtx, method, tmpl string, h func(*http.Request, *reqCtx, string, map[string]string) (any, int, *apiError)) (any, int, *apiError) {
	if rc.perr != nil {
		return nil, -1, rc.perr
	}
	ms, ok := s.schema[tmpl][method]
	if !ok {
		return nil, -1, errf(501, "Method '%s %s' not implemented", rc.method, rc.path)
	}
	s.mu.Lock()
	ver := s.version
	s.mu.Unlock()
	for name, since := range paramSince[method+" "+tmpl] {
		if _, sent := rc.p[name]; sent && !versionAtLeast(ver, since) {
			// older schemas do not know the parameter: additionalProperties => 0
			return nil, -1, paramErr(map[string]string{name: "property is not defined in schema and the schema does not allow additional properties"})
		}
	}
	pp := map[string]string{}
	for _, m := range pathParamRE.FindAllStringSubmatch(tmpl, -1) {
		pp[m[1]] = r.PathValue(m[1])
	}
	rc.pp = pp
	if tmpl == "/access/ticket" && method == http.MethodPost {
		if strings.HasPrefix(r.Header.Get("Authorization"), "PVEAPIToken") {
			return nil, -1, errf(403, "Permission check failed (URI '/access/ticket' not available with API token, need proper ticket.)")
		}
		if errs := ms.validate(pp, rc.p); len(errs) > 0 {
			return nil, -1, paramErr(errs)
		}
		d, err := s.login(rc)
		return d, -1, err
	}
	if err := s.authenticate(r, rc); err != nil {
		return nil, -1, err
	}
	if rc.token && ms.AllowToken == 0 {
		return nil, -1, errf(403, "Permission check failed (URI '%s' not available with API token, need proper ticket.)", rc.path)
	}
	perrs := map[string]string{}
	if n, ok := pp["node"]; ok && !nodeRE.MatchString(n) {
		perrs["node"] = fmt.Sprintf("value '%s' does not look like a valid node name", n)
	}
	if v, ok := pp["vmid"]; ok && !intRE.MatchString(v) {
		perrs["vmid"] = fmt.Sprintf("type check ('integer') failed - got '%s'", v)
	}
	for k, v := range ms.validate(pp, rc.p) {
		perrs[k] = v
	}
	if len(perrs) > 0 {
		return nil, -1, paramErr(perrs)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.advance()
	if n, ok := pp["node"]; ok {
		nd := s.nodes[n]
		if nd == nil {
			return nil, -1, errf(500, "hostname lookup '%s' failed - failed to get address info for: %s: Name or service not known", n, n)
		}
		if !nd.online {
			return nil, -1, errf(595, "Errors during connection establishment, proxy handshake: No route to host")
		}
	}
	return h(r, rc, tmpl, pp)
}

// paramSince lists parameters newer than the oldest PVE the fake plays,
// with the release that added them:
//   - overrule-shutdown on qemu and lxc stop: qemu-server 8.1.2 and
//     pve-container 5.0.10 ("fix #4474", April 2024), shipped with PVE 8.2;
//   - force-stop and timeout on stopall: pve-manager 7.3-5 ("api: node
//     stop-all: expose setting force-stop behavior"), PVE 7.3.
var paramSince = map[string]map[string]string{
	"POST /nodes/{node}/qemu/{vmid}/status/stop": {"overrule-shutdown": "8.2"},
	"POST /nodes/{node}/lxc/{vmid}/status/stop":  {"overrule-shutdown": "8.2"},
	"POST /nodes/{node}/stopall":                 {"force-stop": "7.3", "timeout": "7.3"},
}

// release is "9.0" for "9.0.3".
func release(v string) string {
	parts := strings.SplitN(v, ".", 3)
	if len(parts) < 2 {
		return v
	}
	return parts[0] + "." + parts[1]
}

// versionAtLeast compares "major.minor[.patch]" versions numerically.
func versionAtLeast(v, min string) bool {
	a, b := strings.Split(v, "."), strings.Split(min, ".")
	for i := range b {
		x, y := 0, atoi(b[i])
		if i < len(a) {
			x = atoi(a[i])
		}
		if x != y {
			return x > y
		}
	}
	return true
}

var pathParamRE = regexp.MustCompile(`\{([a-z]+)\}`)

// routes lists every endpoint the fake serves: method and path as in the
// PVE API schema, and the handler. They are registered on an
// http.ServeMux as method+path patterns; the handler runs after
// authentication, schema validation and the node checks, under s.mu.
func (s *Server) routes() []route {
	return append(s.restoreRoutes(), []route{
		// answered in dispatch: the one call without authentication
		{[]string{"POST /access/ticket"}, nil},
		{[]string{"GET /version"}, func(r *http.Request, rc *reqCtx, tmpl string, pp map[string]string) (any, int, *apiError) {
			return map[string]any{"version": s.version, "release": release(s.version), "repoid": "025864202ebb6109"}, -1, nil
		}},
		{[]string{"GET /nodes"}, func(r *http.Request, rc *reqCtx, tmpl string, pp map[string]string) (any, int, *apiError) {
			return s.listNodes(), -1, nil
		}},
		{[]string{"GET /nodes/{node}/status"}, func(r *http.Request, rc *reqCtx, tmpl string, pp map[string]string) (any, int, *apiError) {
			return s.nodeStatus(pp["node"]), -1, nil
		}},
		{[]string{"POST /nodes/{node}/status"}, func(r *http.Request, rc *reqCtx, tmpl string, pp map[string]string) (any, int, *apiError) {
			if err := s.perm(rc, "/nodes/"+pp["node"], "Sys.PowerMgmt"); err != nil {
				return nil, -1, err
			}
			nd := s.nodes[pp["node"]]
			nd.online = false
			for _, g := range s.guests {
				if g.node == nd.name {
					g.status = "stopped"
				}
			}
			return nil, -1, nil
		}},
		{[]string{"GET /cluster/resources"}, func(r *http.Request, rc *reqCtx, tmpl string, pp map[string]string) (any, int, *apiError) {
			return s.resources(rc.str("type")), -1, nil
		}},
		{[]string{"GET /cluster/status"}, func(r *http.Request, rc *reqCtx, tmpl string, pp map[string]string) (any, int, *apiError) {
			out := []map[string]any{{"type": "cluster", "name": "homelab", "nodes": len(s.nodes), "quorate": 1, "version": 1, "id": "cluster"}}
			local := s.localNode()
			for i, n := range s.nodeNames() {
				e := map[string]any{"type": "node", "name": n, "id": "node/" + n, "nodeid": i + 1, "ip": fmt.Sprintf("192.168.88.%d", 2+i),
					"online": 0, "local": 0, "level": ""}
				if s.nodes[n].online {
					e["online"] = 1
				}
				if n == local {
					e["local"] = 1
				}
				out = append(out, e)
			}
			return out, -1, nil
		}},
		{[]string{"GET /nodes/{node}/qemu", "GET /nodes/{node}/lxc"}, func(r *http.Request, rc *reqCtx, tmpl string, pp map[string]string) (any, int, *apiError) {
			return s.listGuests(pp["node"], strings.Split(tmpl, "/")[3]), -1, nil
		}},
		{[]string{"GET /nodes/{node}/qemu/{vmid}/status/current", "GET /nodes/{node}/lxc/{vmid}/status/current"}, func(r *http.Request, rc *reqCtx, tmpl string, pp map[string]string) (any, int, *apiError) {
			g, err := s.guest(rc, tmpl)
			if err != nil {
				return nil, -1, err
			}
			return s.guestEntry(g, true), -1, nil
		}},
		{[]string{"POST /nodes/{node}/qemu/{vmid}/status/start", "POST /nodes/{node}/lxc/{vmid}/status/start", "POST /nodes/{node}/qemu/{vmid}/status/stop", "POST /nodes/{node}/lxc/{vmid}/status/stop", "POST /nodes/{node}/qemu/{vmid}/status/shutdown", "POST /nodes/{node}/lxc/{vmid}/status/shutdown", "POST /nodes/{node}/qemu/{vmid}/status/reboot", "POST /nodes/{node}/lxc/{vmid}/status/reboot"}, func(r *http.Request, rc *reqCtx, tmpl string, pp map[string]string) (any, int, *apiError) {
			g, err := s.guest(rc, tmpl)
			if err != nil {
				return nil, -1, err
			}
			if err := s.perm(rc, "/vms/"+pp["vmid"], "VM.PowerMgmt"); err != nil {
				return nil, -1, err
			}
			d, err := s.power(rc, g, tmpl[strings.LastIndexByte(tmpl, '/')+1:])
			return d, -1, err
		}},
		{[]string{"GET /nodes/{node}/qemu/{vmid}/config", "GET /nodes/{node}/lxc/{vmid}/config"}, func(r *http.Request, rc *reqCtx, tmpl string, pp map[string]string) (any, int, *apiError) {
			g, err := s.guest(rc, tmpl)
			if err != nil {
				return nil, -1, err
			}
			out := map[string]any{}
			spec := s.schema[tmpl]["PUT"]
			for k, v := range g.config {
				out[k] = typed(spec, k, v)
			}
			out["digest"] = configDigest(g.config)
			return out, -1, nil
		}},
		{[]string{"POST /nodes/{node}/qemu/{vmid}/config", "PUT /nodes/{node}/qemu/{vmid}/config"}, func(r *http.Request, rc *reqCtx, tmpl string, pp map[string]string) (any, int, *apiError) {
			g, err := s.guest(rc, tmpl)
			if err != nil {
				return nil, -1, err
			}
			if err := s.updateQemu(rc, g); err != nil {
				return nil, -1, err
			}
			if rc.method == http.MethodPut {
				return nil, -1, nil
			}
			return s.newTask(g.node, "qmconfig", pp["vmid"], rc.identity, -1, nil).upid, -1, nil
		}},
		{[]string{"PUT /nodes/{node}/lxc/{vmid}/config"}, func(r *http.Request, rc *reqCtx, tmpl string, pp map[string]string) (any, int, *apiError) {
			g, err := s.guest(rc, tmpl)
			if err != nil {
				return nil, -1, err
			}
			return nil, -1, s.updateLXC(rc, g)
		}},
		{[]string{"POST /nodes/{node}/lxc"}, func(r *http.Request, rc *reqCtx, tmpl string, pp map[string]string) (any, int, *apiError) {
			d, err := s.createLXC(rc)
			return d, -1, err
		}},
		{[]string{"GET /nodes/{node}/tasks/{upid}/status"}, func(r *http.Request, rc *reqCtx, tmpl string, pp map[string]string) (any, int, *apiError) {
			d, err := s.taskStatus(rc)
			return d, -1, err
		}},
		{[]string{"GET /nodes/{node}/tasks/{upid}/log"}, func(r *http.Request, rc *reqCtx, tmpl string, pp map[string]string) (any, int, *apiError) {
			return s.taskLog(rc)
		}},
		{[]string{"GET /nodes/{node}/tasks"}, func(r *http.Request, rc *reqCtx, tmpl string, pp map[string]string) (any, int, *apiError) {
			return s.listTasks(rc)
		}},
		{[]string{"DELETE /nodes/{node}/tasks/{upid}"}, func(r *http.Request, rc *reqCtx, tmpl string, pp map[string]string) (any, int, *apiError) {
			if _, err := s.taskStatus(rc); err != nil {
				return nil, -1, err
			}
			t := s.tasks[pp["upid"]]
			if !t.stopped {
				t.finish = func() string { return "unexpected status" }
				s.stopTask(t)
			}
			return nil, -1, nil
		}},
		{[]string{"POST /nodes/{node}/stopall", "POST /nodes/{node}/startall"}, func(r *http.Request, rc *reqCtx, tmpl string, pp map[string]string) (any, int, *apiError) {
			if err := s.perm(rc, "/", "VM.PowerMgmt"); err != nil {
				return nil, -1, err
			}
			return s.bulk(rc, strings.HasSuffix(tmpl, "startall")), -1, nil
		}},
		{[]string{"GET /cluster/backup"}, func(r *http.Request, rc *reqCtx, tmpl string, pp map[string]string) (any, int, *apiError) {
			out := []map[string]any{}
			var ids []string
			for id := range s.jobs {
				ids = append(ids, id)
			}
			sort.Strings(ids)
			for _, id := range ids {
				out = append(out, s.jobOut(id))
			}
			return out, -1, nil
		}},
		{[]string{"GET /cluster/backup/{id}"}, func(r *http.Request, rc *reqCtx, tmpl string, pp map[string]string) (any, int, *apiError) {
			if s.jobs[pp["id"]] == nil {
				return nil, -1, noSuchJob(pp["id"])
			}
			return s.jobOut(pp["id"]), -1, nil
		}},
		{[]string{"POST /cluster/backup", "PUT /cluster/backup/{id}", "DELETE /cluster/backup/{id}"}, func(r *http.Request, rc *reqCtx, tmpl string, pp map[string]string) (any, int, *apiError) {
			if err := s.perm(rc, "/", "Sys.Modify"); err != nil {
				return nil, -1, err
			}
			return nil, -1, s.jobWrite(rc)
		}},
		{[]string{"GET /nodes/{node}/disks/list"}, func(r *http.Request, rc *reqCtx, tmpl string, pp map[string]string) (any, int, *apiError) {
			if err := s.perm(rc, "/nodes/"+pp["node"], "Sys.Audit"); err != nil {
				return nil, -1, err
			}
			return s.disksList(pp["node"], rc.str("type")), -1, nil
		}},
		{[]string{"GET /storage"}, func(r *http.Request, rc *reqCtx, tmpl string, pp map[string]string) (any, int, *apiError) {
			return s.storageConfigs(rc.str("type")), -1, nil
		}},
		{[]string{"POST /storage"}, func(r *http.Request, rc *reqCtx, tmpl string, pp map[string]string) (any, int, *apiError) {
			d, err := s.createStorage(rc)
			return d, -1, err
		}},
		{[]string{"GET /storage/{storage}"}, func(r *http.Request, rc *reqCtx, tmpl string, pp map[string]string) (any, int, *apiError) {
			st := s.storages[pp["storage"]]
			if st == nil {
				return nil, -1, errf(500, "storage '%s' does not exist", pp["storage"])
			}
			return s.storageConfig(st), -1, nil
		}},
		{[]string{"PUT /storage/{storage}"}, func(r *http.Request, rc *reqCtx, tmpl string, pp map[string]string) (any, int, *apiError) {
			d, err := s.updateStorage(rc)
			return d, -1, err
		}},
		{[]string{"DELETE /storage/{storage}"}, func(r *http.Request, rc *reqCtx, tmpl string, pp map[string]string) (any, int, *apiError) {
			if err := s.perm(rc, "/storage", "Datastore.Allocate"); err != nil {
				return nil, -1, err
			}
			if s.storages[pp["storage"]] == nil {
				return nil, -1, errf(500, "storage '%s' does not exist", pp["storage"])
			}
			delete(s.storages, pp["storage"])
			return nil, -1, nil
		}},
		{[]string{"GET /nodes/{node}/storage"}, func(r *http.Request, rc *reqCtx, tmpl string, pp map[string]string) (any, int, *apiError) {
			return s.nodeStorages(rc), -1, nil
		}},
		{[]string{"GET /nodes/{node}/storage/{storage}"}, func(r *http.Request, rc *reqCtx, tmpl string, pp map[string]string) (any, int, *apiError) {
			if s.storages[pp["storage"]] == nil {
				return nil, -1, errf(500, "storage '%s' does not exist", pp["storage"])
			}
			return []map[string]any{{"subdir": "content"}, {"subdir": "download-url"}, {"subdir": "file-restore"},
				{"subdir": "import-metadata"}, {"subdir": "prunebackups"}, {"subdir": "rrd"}, {"subdir": "rrddata"},
				{"subdir": "status"}, {"subdir": "upload"}}, -1, nil
		}},
		{[]string{"GET /nodes/{node}/storage/{storage}/status"}, func(r *http.Request, rc *reqCtx, tmpl string, pp map[string]string) (any, int, *apiError) {
			st := s.storages[pp["storage"]]
			if st == nil {
				return nil, -1, errf(500, "storage '%s' does not exist", pp["storage"])
			}
			return s.storageStatus(st), -1, nil
		}},
		{[]string{"GET /nodes/{node}/storage/{storage}/content"}, func(r *http.Request, rc *reqCtx, tmpl string, pp map[string]string) (any, int, *apiError) {
			d, err := s.content(rc)
			return d, -1, err
		}},
		{[]string{"GET /nodes/{node}/storage/{storage}/content/{volume}", "PUT /nodes/{node}/storage/{storage}/content/{volume}", "DELETE /nodes/{node}/storage/{storage}/content/{volume}"}, func(r *http.Request, rc *reqCtx, tmpl string, pp map[string]string) (any, int, *apiError) {
			d, err := s.volumeOp(rc)
			return d, -1, err
		}},
		{[]string{"GET /nodes/{node}/storage/{storage}/prunebackups", "DELETE /nodes/{node}/storage/{storage}/prunebackups"}, func(r *http.Request, rc *reqCtx, tmpl string, pp map[string]string) (any, int, *apiError) {
			d, err := s.pruneOp(rc)
			return d, -1, err
		}},
		{[]string{"POST /nodes/{node}/vzdump"}, func(r *http.Request, rc *reqCtx, tmpl string, pp map[string]string) (any, int, *apiError) {
			d, err := s.vzdump(rc)
			return d, -1, err
		}},
	}...)
}

// localNode is the node whose pveproxy answers: Node when present, else
// the first node by name.
func (s *Server) localNode() string {
	if s.nodes[Node] != nil {
		return Node
	}
	if names := s.nodeNames(); len(names) > 0 {
		return names[0]
	}
	return ""
}

func (s *Server) perm(rc *reqCtx, path, priv string) *apiError {
	if !s.allowed(rc.identity, path, priv) {
		return errf(403, "Permission check failed (%s, %s)", path, priv)
	}
	return nil
}

func (s *Server) login(rc *reqCtx) (any, *apiError) {
	name := rc.str("username")
	if rc.has("realm") && !strings.Contains(name, "@") {
		name += "@" + rc.str("realm")
	}
	s.mu.Lock()
	u := s.users[name]
	s.mu.Unlock()
	fail := errf(401, "authentication failure")
	if u == nil {
		return nil, fail
	}
	pw := rc.str("password")
	if ch := rc.str("tfa-challenge"); ch != "" {
		tu, ok := s.verifyTicket(strings.Replace(ch, "PVE:!tfa!", "PVE:", 1))
		if !ok || tu != name || u.totp == "" || pw != "totp:"+u.totp {
			return nil, fail
		}
		return s.ticketReply(name), nil
	}
	if tu, ok := s.verifyTicket(pw); ok && tu == name {
		return s.ticketReply(name), nil // renewal
	}
	if pw != u.password {
		return nil, fail
	}
	if u.totp != "" {
		if otp := rc.str("otp"); otp != "" {
			if otp != u.totp {
				return nil, fail
			}
			return s.ticketReply(name), nil
		}
		t, _ := s.makeTicket(name)
		return map[string]any{"username": name, "ticket": strings.Replace(t, "PVE:", "PVE:!tfa!", 1),
			"CSRFPreventionToken": "", "NeedTFA": 1}, nil
	}
	return s.ticketReply(name), nil
}

func (s *Server) ticketReply(name string) map[string]any {
	t, c := s.makeTicket(name)
	return map[string]any{"username": name, "ticket": t, "CSRFPreventionToken": c, "clustername": "homelab",
		"cap": map[string]any{"vms": map[string]int{"VM.PowerMgmt": 1}, "nodes": map[string]int{"Sys.PowerMgmt": 1}}}
}

func (s *Server) nodeNames() []string {
	var out []string
	for n := range s.nodes {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

func (s *Server) listNodes() []map[string]any {
	fp := s.fp
	var out []map[string]any
	for _, name := range s.nodeNames() {
		n := s.nodes[name]
		e := map[string]any{"node": name, "id": "node/" + name, "type": "node", "level": "", "ssl_fingerprint": fp,
			"status": "offline"}
		if n.online {
			e["status"] = "online"
			e["cpu"], e["maxcpu"], e["mem"], e["maxmem"] = 0.05, n.cpus, n.mem/4, n.mem
			e["disk"], e["maxdisk"], e["uptime"] = uint64(10<<30), uint64(100<<30), int64(s.clock().Sub(n.started)/time.Second)
		}
		out = append(out, e)
	}
	return out
}

func (s *Server) nodeStatus(name string) map[string]any {
	n := s.nodes[name]
	return map[string]any{"cpu": 0.05, "uptime": int64(s.clock().Sub(n.started) / time.Second),
		"cpuinfo":  map[string]any{"cpus": n.cpus, "cores": n.cpus / 2, "sockets": 1, "model": "Intel(R) N100", "mhz": "3400.000"},
		"memory":   map[string]any{"total": n.mem, "used": n.mem / 4, "free": n.mem / 4 * 3, "available": n.mem / 4 * 3},
		"swap":     map[string]any{"total": 0, "used": 0, "free": 0},
		"rootfs":   map[string]any{"total": uint64(100 << 30), "used": uint64(10 << 30), "free": uint64(90 << 30), "avail": uint64(85 << 30)},
		"loadavg":  []string{"0.10", "0.20", "0.30"},
		"kversion": "Linux 6.14.8-2-pve #1 SMP PREEMPT_DYNAMIC", "pveversion": "pve-manager/" + s.version + "/025864202ebb6109",
		"wait": 0, "idle": 0, "ksm": map[string]any{"shared": 0},
		"boot-info":      map[string]any{"mode": "efi", "secureboot": 0},
		"current-kernel": map[string]any{"sysname": "Linux", "release": "6.14.8-2-pve", "machine": "x86_64", "version": "#1 SMP"}}
}

func (s *Server) sortedGuests() []*guest {
	var gs []*guest
	for _, g := range s.guests {
		gs = append(gs, g)
	}
	sort.Slice(gs, func(i, j int) bool { return gs[i].vmid < gs[j].vmid })
	return gs
}

func (s *Server) guestEntry(g *guest, current bool) map[string]any {
	mem := atoi(g.config["memory"])
	if mem == 0 {
		mem = 512
	}
	maxmem := uint64(mem) << 20
	// PVE's status is the process state: a paused VM is "running" and
	// only qmpstatus says "paused".
	status := g.status
	if status == "paused" {
		status = "running"
	}
	e := map[string]any{"vmid": g.vmid, "name": g.name(), "status": status, "cpus": max(1, atoi(g.config["cores"])),
		"maxmem": maxmem, "maxdisk": uint64(32 << 30), "disk": 0, "cpu": 0, "mem": 0, "uptime": 0,
		"netin": 0, "netout": 0, "diskread": 0, "diskwrite": 0}
	if g.typ == "lxc" {
		e["type"] = "lxc"
		e["swap"], e["maxswap"] = 0, uint64(atoi(g.config["swap"]))<<20
	}
	if g.template {
		e["template"] = 1
		e["pid"] = nil
	}
	if status == "running" {
		e["mem"] = maxmem / 2
		e["cpu"] = 0.02
		e["uptime"] = int64(s.clock().Sub(g.started) / time.Second)
		e["pid"] = 1000 + g.vmid
	}
	if g.ha != "" && !current {
		e["hastate"] = g.ha
	}
	if current {
		e["ha"] = s.haStatus(g)
		if g.typ == "qemu" {
			e["qmpstatus"] = g.status
			e["agent"] = 0
		}
	}
	if s.noise {
		e["vmid"] = strconv.Itoa(g.vmid)
	}
	return e
}

func (g *guest) name() string {
	if g.typ == "lxc" {
		return g.config["hostname"]
	}
	return g.config["name"]
}

func (s *Server) listGuests(nodeName, typ string) []map[string]any {
	out := []map[string]any{}
	for _, g := range s.sortedGuests() {
		if g.node == nodeName && g.typ == typ {
			out = append(out, s.guestEntry(g, false))
		}
	}
	return out
}

func (s *Server) resources(typ string) []map[string]any {
	out := []map[string]any{}
	if typ == "" || typ == "node" {
		out = append(out, s.listNodes()...)
	}
	if typ == "" || typ == "vm" {
		for _, g := range s.sortedGuests() {
			e := s.guestEntry(g, false)
			e["id"] = fmt.Sprintf("%s/%d", g.typ, g.vmid)
			e["type"] = g.typ
			e["node"] = g.node
			e["maxcpu"] = e["cpus"]
			delete(e, "cpus")
			e["template"] = 0
			if g.template {
				e["template"] = 1
			}
			if s.noise {
				e["mem"] = fmt.Sprint(e["mem"])
			}
			if t := g.config["tags"]; t != "" {
				e["tags"] = t
			}
			out = append(out, e)
		}
	}
	if typ == "" || typ == "storage" {
		for _, n := range s.nodeNames() {
			for _, id := range s.storageIDs() {
				st := s.storages[id]
				shared := 0
				if st.typ == "cifs" || st.typ == "nfs" || st.typ == "pbs" {
					shared = 1
				}
				out = append(out, map[string]any{"id": "storage/" + n + "/" + id, "type": "storage", "node": n, "storage": id,
					"plugintype": st.typ, "content": st.config["content"], "shared": shared, "status": "available",
					"disk": st.used, "maxdisk": st.total})
			}
		}
	}
	return out
}

func (s *Server) storageIDs() []string {
	var ids []string
	for id := range s.storages {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

func (s *Server) guest(rc *reqCtx, tmpl string) (*guest, *apiError) {
	typ := strings.Split(tmpl, "/")[3]
	vmid := atoi(rc.pp["vmid"])
	g := s.guests[vmid]
	if g == nil || g.typ != typ || g.node != rc.pp["node"] {
		if typ == "lxc" {
			return nil, errf(500, "Configuration file 'nodes/%s/lxc/%d.conf' does not exist", rc.pp["node"], vmid)
		}
		return nil, errf(500, "Configuration file 'nodes/%s/qemu-server/%d.conf' does not exist", rc.pp["node"], vmid)
	}
	return g, nil
}

// power implements the start/stop/shutdown/reboot state machines with
// PVE's VM/CT asymmetries.
func (s *Server) power(rc *reqCtx, g *guest, cmd string) (any, *apiError) {
	if g.ha != "" && cmd != "reboot" {
		return s.haPower(rc, g, cmd)
	}
	vm := g.typ == "qemu"
	kind := "CT"
	prefix := "vz"
	if vm {
		kind, prefix = "VM", "qm"
	}
	running := g.status == "running" || g.status == "paused"
	id := strconv.Itoa(g.vmid)
	switch cmd {
	case "start":
		if running && !vm {
			return nil, errf(500, "CT %d already running", g.vmid)
		}
		if running {
			return s.newTask(g.node, "qmstart", id, rc.identity, 0, func() string {
				return fmt.Sprintf("VM %d already running", g.vmid)
			}).upid, nil
		}
		return s.newTask(g.node, prefix+"start", id, rc.identity, g.startTime, func() string {
			g.status, g.started = "running", s.clock()
			return "OK"
		}).upid, nil
	case "stop":
		if !running {
			if !vm {
				return nil, errf(500, "CT %d not running", g.vmid)
			}
			return s.newTask(g.node, "qmstop", id, rc.identity, 0, nil).upid, nil
		}
		if rc.boolean("overrule-shutdown", false) {
			for _, t := range s.tasks {
				if !t.stopped && t.id == id && strings.HasSuffix(t.typ, "shutdown") {
					t.finish = func() string { return "shutdown aborted by stop" }
					s.stopTask(t)
				}
			}
		}
		return s.newTask(g.node, prefix+"stop", id, rc.identity, g.stopTime, func() string {
			g.status = "stopped"
			return "OK"
		}).upid, nil
	case "shutdown":
		if !running {
			if !vm {
				return nil, errf(500, "CT %d not running", g.vmid)
			}
			return s.newTask(g.node, "qmshutdown", id, rc.identity, 0, nil).upid, nil
		}
		if vm && g.status == "paused" && !rc.boolean("forceStop", false) {
			return nil, errf(500, "VM is paused - cannot shutdown")
		}
		timeout := time.Duration(rc.integer("timeout", 60)) * time.Second
		// qemu-server's vm_stop falls back to startup down= (then 60 s);
		// pve-container's vm_shutdown takes "timeout // 60" and ignores it
		if !rc.has("timeout") && vm {
			if st := parseDown(g.config["startup"]); st > 0 {
				timeout = st
			}
		}
		force := rc.boolean("forceStop", false)
		d := g.shutdownTime
		if d >= 0 && d <= timeout {
			return s.newTask(g.node, prefix+"shutdown", id, rc.identity, d, func() string {
				g.status = "stopped"
				return "OK"
			}).upid, nil
		}
		return s.newTask(g.node, prefix+"shutdown", id, rc.identity, timeout, func() string {
			if force {
				g.status = "stopped"
				return "OK"
			}
			if vm {
				return "VM quit/powerdown failed - got timeout"
			}
			return "container did not stop"
		}).upid, nil
	case "reboot":
		if !running {
			return nil, errf(500, "%s %d not running", kind, g.vmid)
		}
		return s.newTask(g.node, prefix+"reboot", id, rc.identity, g.shutdownTime+g.startTime, func() string {
			g.status, g.started = "running", s.clock()
			return "OK"
		}).upid, nil
	}
	return nil, errf(501, "unknown command %s", cmd)
}

func parseDown(startup string) time.Duration {
	for _, p := range strings.Split(startup, ",") {
		if v, ok := strings.CutPrefix(p, "down="); ok {
			return time.Duration(atoi(v)) * time.Second
		}
	}
	return 0
}

func (s *Server) disksList(nodeName, typ string) []map[string]any {
	out := []map[string]any{}
	for _, d := range s.nodes[nodeName].disks {
		if typ == "unused" && d.Used != "" {
			continue
		}
		wwn := d.WWN
		if wwn == "" {
			wwn = "unknown"
		}
		e := map[string]any{"devpath": d.DevPath, "size": d.Size, "model": d.Model, "vendor": d.Vendor, "serial": d.Serial,
			"wwn": wwn, "type": d.Type, "rpm": d.RPM, "health": d.Health, "wearout": d.Wearout, "gpt": 0, "osdid": -1,
			"osdid-list": nil}
		if d.Vendor == "" {
			e["vendor"] = "ATA     "
		}
		if d.GPT {
			e["gpt"] = 1
		}
		if d.Mounted {
			e["mounted"] = 1
		}
		if d.Used != "" {
			e["used"] = d.Used
		}
		if d.ByIDLink != "" {
			e["by_id_link"] = d.ByIDLink
		}
		out = append(out, e)
	}
	return out
}

var driveOpts = map[string]string{
	// option: buses allowed (s=scsi, a=sata, v=virtio, i=ide)
	"backup": "savi", "replicate": "savi", "serial": "savi", "discard": "savi", "cache": "savi", "aio": "savi",
	"media": "savi", "size": "savi", "format": "savi", "snapshot": "savi", "detect_zeroes": "savi", "shared": "savi",
	"werror": "savi", "rerror": "savi", "import-from": "savi", "mbps": "savi", "iops": "savi",
	"ssd": "sai", "wwn": "sai", "iothread": "sv", "ro": "sv", "scsiblock": "s", "product": "s", "vendor": "s",
	"queues": "s", "model": "i",
}

// urlencodedRE is pve-common's "urlencoded" format (drive serials).
var urlencodedRE = regexp.MustCompile(`^[-%a-zA-Z0-9_.!~*'()]*$`)

var driveBools = map[string]bool{"backup": true, "replicate": true, "ssd": true, "iothread": true, "ro": true,
	"scsiblock": true, "shared": true, "snapshot": true, "detect_zeroes": true}

func checkDrive(key, v string, root bool) (map[string]string, *apiError) {
	bus := "s"
	switch {
	case strings.HasPrefix(key, "sata"):
		bus = "a"
	case strings.HasPrefix(key, "virtio"):
		bus = "v"
	case strings.HasPrefix(key, "ide"):
		bus = "i"
	}
	bad := func(msg string) *apiError { return paramErr(map[string]string{key: msg}) }
	parts := strings.Split(v, ",")
	file := parts[0]
	if strings.Contains(file, "=") {
		k, val, _ := strings.Cut(file, "=")
		if k != "file" && k != "volume" {
			return nil, bad("invalid format - format error\n" + key + ".file: property is missing and it is not optional")
		}
		file = val
	}
	if file == "" {
		return nil, bad("invalid format - missing file")
	}
	for _, p := range parts[1:] {
		k, val, ok := strings.Cut(p, "=")
		if !ok {
			return nil, bad(fmt.Sprintf("invalid format - format error\n%s: property is not defined in schema", p))
		}
		buses, known := driveOpts[k]
		if !known {
			return nil, bad(fmt.Sprintf("invalid format - format error\n%s.%s: property is not defined in schema and the schema does not allow additional properties", key, k))
		}
		if !strings.Contains(buses, bus) {
			return nil, bad(fmt.Sprintf("invalid format - format error\n%s.%s: property is not defined in schema and the schema does not allow additional properties", key, k))
		}
		if driveBools[k] {
			switch strings.ToLower(val) {
			case "0", "1", "yes", "no", "on", "off", "true", "false":
			default:
				return nil, bad(fmt.Sprintf("invalid format - format error\n%s.%s: type check ('boolean') failed - got '%s'", key, k, val))
			}
		}
		if k == "discard" && val != "on" && val != "ignore" {
			return nil, bad(fmt.Sprintf("invalid format - format error\n%s.discard: value '%s' does not have a value in the enumeration 'ignore, on'", key, val))
		}
		if k == "serial" && len(val) > 60 {
			return nil, bad("invalid format - format error\n" + key + ".serial: value may only be 60 characters long")
		}
		if k == "serial" && !urlencodedRE.MatchString(val) {
			return nil, bad("invalid format - format error\n" + key + ".serial: invalid urlencoded string: " + val)
		}
	}
	if strings.HasPrefix(file, "/") && !root {
		return nil, errf(500, "Only root can pass arbitrary filesystem paths. at /usr/share/perl5/PVE/Storage.pm line 583.")
	}
	return nil, nil
}

func (s *Server) checkDigest(rc *reqCtx, g *guest) *apiError {
	if d := rc.str("digest"); d != "" && d != configDigest(g.config) {
		return errf(500, "detected modified configuration - file changed by other user? Try again.")
	}
	return nil
}

var skipKeys = map[string]bool{"digest": true, "delete": true, "node": true, "vmid": true, "skiplock": true,
	"background_delay": true, "force": true, "revert": true}

func (s *Server) updateQemu(rc *reqCtx, g *guest) *apiError {
	if err := s.perm(rc, "/vms/"+rc.pp["vmid"], "VM.Config.Disk"); err != nil {
		return err
	}
	if err := s.checkDigest(rc, g); err != nil {
		return err
	}
	for k, v := range rc.p {
		if mm := indexedRE.FindStringSubmatch(k); mm != nil && (mm[1] == "scsi" || mm[1] == "sata" || mm[1] == "virtio" || mm[1] == "ide") {
			if _, err := checkDrive(k, v.s, rc.root); err != nil {
				return err
			}
		}
	}
	if err := checkStartup(rc); err != nil {
		return err
	}
	if err := checkVMDevicePerm(rc, g.config); err != nil {
		return err
	}
	params := map[string]string{}
	for k, v := range rc.p {
		params[k] = v.s
	}
	// qemu-server src/PVE/API2/Qemu.pm update_vm_api → create_disks.
	created, aerr := s.createVMDisks(g, params)
	if aerr != nil {
		return aerr
	}
	for _, k := range strings.Split(rc.str("delete"), ",") {
		if k = strings.TrimSpace(k); k != "" {
			delete(g.config, k)
		}
	}
	for k, v := range rc.p {
		if !skipKeys[k] {
			g.config[k] = v.s
			if c, ok := created[k]; ok {
				g.config[k] = c
			}
		}
	}
	return nil
}

// checkCTNet verifies the netN values of a container as pve-container's
// PVE/LXC/Config.pm declares them: ip in format pve-ipv4-config
// (IPv4/CIDR|dhcp|manual), gw an ipv4, ip6 in format pve-ipv6-config
// (IPv6/CIDR|auto|dhcp|manual), gw6 an ipv6; the texts are pve-common's
// PVE/JSONSchema.pm pve_verify_ipv4_config and friends.
func checkCTNet(rc *reqCtx) *apiError {
	errs := map[string]string{}
	for k, v := range rc.p {
		if m := indexedRE.FindStringSubmatch(k); m == nil || m[1] != "net" {
			continue
		}
		for _, part := range strings.Split(v.s, ",") {
			key, val, _ := strings.Cut(part, "=")
			var bad string
			switch key {
			case "ip":
				if p, err := netip.ParsePrefix(val); (err != nil || !p.Addr().Is4()) && val != "dhcp" && val != "manual" {
					bad = "value does not look like a valid ipv4 network configuration"
				}
			case "ip6":
				if p, err := netip.ParsePrefix(val); (err != nil || !p.Addr().Is6() || p.Addr().Is4In6()) && val != "auto" && val != "dhcp" && val != "manual" {
					bad = "value does not look like a valid ipv6 network configuration"
				}
			case "gw":
				if a, err := netip.ParseAddr(val); err != nil || !a.Is4() {
					bad = "value does not look like a valid IPv4 address"
				}
			case "gw6":
				if a, err := netip.ParseAddr(val); err != nil || !a.Is6() || a.Is4In6() {
					bad = "value does not look like a valid IPv6 address"
				}
			}
			if bad != "" {
				if errs[k] != "" {
					errs[k] += "\n"
				}
				errs[k] += "invalid format - " + key + ": " + bad
			}
		}
	}
	if len(errs) > 0 {
		return paramErr(errs)
	}
	return nil
}

// checkVMDevicePerm is what qemu-server's PVE/API2/Qemu.pm refuses to
// anyone but root@pam besides raw disk paths: hostpciN with a host device
// (check_hostpci_perm), usbN with a host device other than spice
// (check_usb_perm), serialN other than a socket, for the value set or, on
// delete, the value removed; and args ($check_vm_modify_config_perm: "only
// root can set 'args' config"). All are plain dies: 500.
func checkVMDevicePerm(rc *reqCtx, old map[string]string) *apiError {
	if rc.root {
		return nil
	}
	check := func(k, v string, del bool) *apiError {
		m := indexedRE.FindStringSubmatch(k)
		verb := "set"
		if del {
			verb = "delete"
		}
		switch {
		case k == "args" && !del:
			return errf(500, "only root can set 'args' config")
		case m == nil:
			return nil
		case m[1] == "hostpci" && !strings.Contains(v, "mapping="):
			return errf(500, "only root can set '%s' config for non-mapped devices", k)
		case m[1] == "usb" && !strings.Contains(v, "mapping=") && !strings.EqualFold(strings.TrimPrefix(v, "host="), "spice"):
			return errf(500, "only root can set '%s' config for real devices", k)
		case m[1] == "serial" && v != "socket":
			return errf(500, "only root can %s '%s' config for real devices", verb, k)
		}
		return nil
	}
	for k, v := range rc.p {
		if err := check(k, v.s, false); err != nil {
			return err
		}
	}
	for _, k := range strings.Split(rc.str("delete"), ",") {
		if k = strings.TrimSpace(k); k != "" && old[k] != "" {
			if err := check(k, old[k], true); err != nil {
				return err
			}
		}
	}
	return nil
}

var startupPartRE = regexp.MustCompile(`^((order=)?\d+|up=\d+|down=\d+)$`)

// checkStartup verifies a "startup" value as pve-common's
// PVE/JSONSchema.pm pve_verify_startup_order does: pve_parse_startup_order
// returns undef for an empty value and for any part other than [order=]N,
// up=N or down=N, and the format check then dies "unable to parse startup
// options". So "startup=" is refused; deleting the key is the way to unset
// it.
func checkStartup(rc *reqCtx) *apiError {
	if !rc.has("startup") {
		return nil
	}
	v := rc.str("startup")
	ok := v != "" && v != "0"
	for _, part := range strings.Split(v, ",") {
		if strings.TrimSpace(part) != "" && !startupPartRE.MatchString(part) {
			ok = false
		}
	}
	if !ok {
		return paramErr(map[string]string{"startup": "unable to parse startup options"})
	}
	return nil
}

// checkCTPerm is pve-container's PVE/LXC.pm check_ct_modify_config_perm
// for the parts that only root@pam passes (old is nil on create):
// feature flags of a privileged container, feature flags other than
// nesting compared old against new key by key (booleans as 1/0, unset as
// ""), deleting features holding more than nesting, mount points (rootfs,
// mpN) that are not volumes, devN set or deleted, and hookscript. Tokens, root@pam's
// included, are not root@pam.
func checkCTPerm(rc *reqCtx, old map[string]string, privileged bool) *apiError {
	deny := func(msg string) *apiError { return errf(403, "Permission check failed (%s)", msg) }
	deleted := map[string]bool{}
	for _, k := range strings.Split(rc.str("delete"), ",") {
		if k = strings.TrimSpace(k); k != "" {
			deleted[k] = true
		}
	}
	if f, set := rc.p["features"]; (set || deleted["features"]) && !rc.root {
		if privileged {
			return deny("changing feature flags for privileged container is only allowed for root@pam")
		}
		if ctFeaturesBeyondNesting(old["features"], f.s, !set) {
			return deny("changing feature flags (except nesting) is only allowed for root@pam")
		}
	}
	if rc.root {
		return nil
	}
	for k := range deleted {
		if m := indexedRE.FindStringSubmatch(k); (m != nil && m[1] == "dev") || k == "hookscript" {
			if k == "hookscript" {
				return deny("changing the hookscript is only allowed for root@pam")
			}
			return deny("configuring device passthrough is only allowed for root@pam")
		}
	}
	for k, v := range rc.p {
		if k == "hookscript" {
			return deny("changing the hookscript is only allowed for root@pam")
		}
		mm := indexedRE.FindStringSubmatch(k)
		if k == "rootfs" {
			mm = []string{k, "mp", ""} // rootfs is checked as a mount point
		}
		if mm == nil {
			continue
		}
		switch mm[1] {
		case "mp":
			vol, _, _ := strings.Cut(v.s, ",")
			vol = strings.TrimPrefix(vol, "volume=")
			if strings.HasPrefix(vol, "/dev/") {
				return deny("mount point type device is only allowed for root@pam")
			}
			if strings.HasPrefix(vol, "/") {
				return deny("mount point type bind is only allowed for root@pam")
			}
		case "dev":
			return deny("configuring device passthrough is only allowed for root@pam")
		}
	}
	return nil
}

// checkCTMounts is the format check of mpN: mp= is required. The text is
// pve-common's: src/PVE/JSONSchema.pm parse_property_string raises
// "format error\n" with check_object's "property is missing and it is not
// optional" per key, check_prop adds it as "invalid format - $@", and
// src/PVE/Exception.pm stringify appends each error as "key: text\n".
func checkCTMounts(rc *reqCtx) *apiError {
	for k, v := range rc.p {
		if mm := indexedRE.FindStringSubmatch(k); mm != nil && mm[1] == "mp" && !strings.Contains(v.s, "mp=") {
			return paramErr(map[string]string{k: "invalid format - format error\n" + k + ".mp: property is missing and it is not optional"})
		}
	}
	return nil
}

// ctFeaturesBeyondNesting is the feature comparison of
// check_ct_modify_config_perm.
func ctFeaturesBeyondNesting(old, new string, del bool) bool {
	parse := func(v string) map[string]string {
		m := map[string]string{}
		for _, p := range strings.Split(v, ",") {
			if p = strings.TrimSpace(p); p == "" {
				continue
			}
			k, x, _ := strings.Cut(p, "=")
			switch strings.ToLower(x) {
			case "1", "yes", "on", "true":
				x = "1"
			case "0", "no", "off", "false":
				x = "0"
			}
			m[k] = x
		}
		return m
	}
	beyond := func(m map[string]string) bool {
		_, nesting := m["nesting"]
		return len(m) > 1 || (len(m) == 1 && !nesting)
	}
	if del {
		return beyond(parse(old))
	}
	n := parse(new)
	if old == "" {
		return beyond(n)
	}
	o := parse(old)
	for _, m := range []map[string]string{o, n} {
		for k := range m {
			if k != "nesting" && o[k] != n[k] {
				return true
			}
		}
	}
	return false
}

func (s *Server) updateLXC(rc *reqCtx, g *guest) *apiError {
	if err := s.checkDigest(rc, g); err != nil {
		return err
	}
	if err := checkStartup(rc); err != nil {
		return err
	}
	if err := checkCTNet(rc); err != nil {
		return err
	}
	if err := checkCTMounts(rc); err != nil {
		return err
	}
	if err := checkCTPerm(rc, g.config, g.config["unprivileged"] != "1"); err != nil {
		return err
	}
	// pve-container src/PVE/LXC/Config.pm update_pct_config →
	// vmconfig_apply_pending → src/PVE/LXC.pm create_disks: an
	// mpN=STORAGE:GiB becomes a new volume on a storage that holds
	// container directories (the fake applies it at once, running or not).
	newMPs := map[string]string{}
	for k, v := range rc.p {
		if !lxcMountKeyRE.MatchString(k) {
			continue
		}
		if vol, _ := splitMountpoint(v.s); newDiskRE.MatchString(vol) {
			sid, _, _ := strings.Cut(vol, ":")
			if err := s.checkRootdirStorage(sid); err != nil {
				return err
			}
			newMPs[k] = v.s
		}
	}
	created := map[string]string{}
	if len(newMPs) > 0 {
		alloc := newDiskAllocator(s, g.vmid)
		alloc.seed(g.config)
		createDisks(created, alloc, newMPs)
	}
	for _, k := range strings.Split(rc.str("delete"), ",") {
		if k = strings.TrimSpace(k); k != "" {
			delete(g.config, k)
		}
	}
	for k, v := range rc.p {
		if !skipKeys[k] {
			g.config[k] = v.s
			if c, ok := created[k]; ok {
				g.config[k] = c
			}
		}
	}
	return nil
}

var ctCreateOnly = map[string]bool{"ostemplate": true, "password": true, "ssh-public-keys": true, "storage": true,
	"start": true, "restore": true, "unique": true, "ignore-unpack-errors": true, "pool": true, "bwlimit": true,
	"ha-managed": true}

func (s *Server) createLXC(rc *reqCtx) (any, *apiError) {
	if rc.boolean("restore", false) {
		return s.restoreGuest(rc, "lxc", rc.str("ostemplate"))
	}
	vmid := rc.integer("vmid", 0)
	if vmid < 100 {
		return nil, paramErr(map[string]string{"vmid": "value must have a minimum value of 100"})
	}
	if err := s.perm(rc, "/vms/"+strconv.Itoa(vmid), "VM.Allocate"); err != nil {
		return nil, err
	}
	if g := s.guests[vmid]; g != nil && !rc.boolean("force", false) {
		// pve-cluster src/PVE/Cluster.pm check_vmid_unused (the holder's type)
		return nil, errf(500, "%s %d already exists on node '%s'", guestKind(g), vmid, g.node)
	}
	unpriv := s.mode != "pve8"
	if rc.has("unprivileged") {
		unpriv = rc.boolean("unprivileged", unpriv)
	}
	if err := checkCTMounts(rc); err != nil {
		return nil, err
	}
	if err := checkCTPerm(rc, nil, !unpriv); err != nil {
		return nil, err
	}
	if err := checkStartup(rc); err != nil {
		return nil, err
	}
	if err := checkCTNet(rc); err != nil {
		return nil, err
	}
	tmpl := rc.str("ostemplate")
	if !strings.Contains(tmpl, ":vztmpl/") && !strings.HasPrefix(tmpl, "/") {
		return nil, errf(500, "unable to parse volume ID '%s'", tmpl)
	}
	cfg := map[string]string{"arch": "amd64", "ostype": "debian", "memory": "512", "swap": "512", "hostname": "CT" + strconv.Itoa(vmid)}
	for k, v := range rc.p {
		if !ctCreateOnly[k] && !skipKeys[k] {
			cfg[k] = v.s
		}
	}
	// pve-container src/PVE/API2/LXC.pm create_vm: rootfs= and mpN= (or
	// "$storage:4" without them) go to src/PVE/LXC.pm create_disks, which
	// names each new disk as its storage's type does (createDisks).
	storage := rc.str("storage")
	mpParam, aerr := s.ctMountParam(rc, storage)
	if aerr != nil {
		return nil, aerr
	}
	if mpParam == nil {
		if storage != "" {
			if err := s.checkRootdirStorage(storage); err != nil {
				return nil, err
			}
		} else {
			// create_vm checks the default storage "local" for rootdir
			// content too; the fake's local lacks it (as on a stock
			// install) and lets it pass, so tests need not name a storage.
			storage = "local"
		}
		mpParam = map[string]string{"rootfs": storage + ":4"}
	}
	alloc := newDiskAllocator(s, vmid)
	if old := s.guests[vmid]; old != nil {
		// create_vm makes the new disks before it destroys the old
		// container's (force=1), so their numbers are taken.
		alloc.seed(old.config)
	}
	createDisks(cfg, alloc, mpParam)
	cfg["unprivileged"] = "0"
	if unpriv {
		cfg["unprivileged"] = "1"
	}
	start := rc.boolean("start", false)
	nodeName := rc.pp["node"]
	return s.newTask(nodeName, "vzcreate", strconv.Itoa(vmid), rc.identity, -1, func() string {
		g := &guest{vmid: vmid, node: nodeName, typ: "lxc", status: "stopped", config: cfg}
		if start {
			g.status, g.started = "running", s.clock()
		}
		s.guests[vmid] = g
		return "OK"
	}).upid, nil
}

func (s *Server) storageConfig(st *storage) map[string]any {
	out := map[string]any{"storage": st.id, "type": st.typ, "digest": configDigest(st.config)}
	for k, v := range st.config {
		out[k] = v
	}
	if st.typ == "cifs" || st.typ == "nfs" || st.typ == "pbs" {
		out["shared"] = 1
	}
	return out
}

func (s *Server) storageConfigs(typ string) []map[string]any {
	out := []map[string]any{}
	for _, id := range s.storageIDs() {
		st := s.storages[id]
		if typ == "" || st.typ == typ {
			out = append(out, s.storageConfig(st))
		}
	}
	return out
}

var storageWriteOnly = map[string]bool{"password": true, "storage": true, "type": true, "delete": true, "digest": true,
	"encryption-key": true, "keyring": true, "master-pubkey": true}

func (s *Server) createStorage(rc *reqCtx) (any, *apiError) {
	if err := s.perm(rc, "/storage", "Datastore.Allocate"); err != nil {
		return nil, err
	}
	id, typ := rc.str("storage"), rc.str("type")
	if !storIDRE.MatchString(id) {
		return nil, paramErr(map[string]string{"storage": fmt.Sprintf("invalid storage ID '%s'", id)})
	}
	if typ == "cifs" {
		errs := map[string]string{}
		for _, k := range []string{"server", "share"} {
			if rc.str(k) == "" {
				errs[k] = "property is missing and it is not optional"
			}
		}
		if len(errs) > 0 {
			return nil, paramErr(errs)
		}
		if v := rc.str("smbversion"); v != "" {
			switch v {
			case "default", "2.0", "2.1", "3", "3.0", "3.11":
			default:
				return nil, paramErr(map[string]string{"smbversion": "value '" + v + "' does not have a value in the enumeration 'default, 2.0, 2.1, 3, 3.0, 3.11'"})
			}
		}
	}
	if typ == "dir" && rc.str("path") == "" {
		return nil, paramErr(map[string]string{"path": "property is missing and it is not optional"})
	}
	if s.storages[id] != nil {
		return nil, errf(500, "create storage failed: storage ID '%s' already defined", id)
	}
	if typ == "cifs" && s.mountErr != "" {
		return nil, errf(500, "create storage failed: mount error: %s", s.mountErr)
	}
	st := &storage{id: id, typ: typ, config: map[string]string{}, total: 4 << 40, used: 1 << 40, password: rc.str("password")}
	for k, v := range rc.p {
		if !storageWriteOnly[k] {
			st.config[k] = v.s
		}
	}
	if typ == "cifs" && st.config["path"] == "" {
		st.config["path"] = "/mnt/pve/" + id
	}
	if st.config["content"] == "" {
		st.config["content"] = "images"
	}
	s.storages[id] = st
	return map[string]any{"storage": id, "type": typ}, nil
}

func (s *Server) updateStorage(rc *reqCtx) (any, *apiError) {
	if err := s.perm(rc, "/storage", "Datastore.Allocate"); err != nil {
		return nil, err
	}
	st := s.storages[rc.pp["storage"]]
	if st == nil {
		return nil, errf(500, "storage '%s' does not exist", rc.pp["storage"])
	}
	if d := rc.str("digest"); d != "" && d != configDigest(st.config) {
		return nil, errf(500, "detected modified configuration - file changed by other user? Try again.")
	}
	// pve-storage: a plugin's "fixed" options (CIFS server, share, path)
	// are set on create only (SectionConfig check_config).
	for _, k := range []string{"server", "share", "path", "export", "vgname", "thinpool"} {
		if rc.has(k) {
			return nil, errf(500, "can't change value of fixed parameter '%s'", k)
		}
	}
	for _, k := range strings.Split(rc.str("delete"), ",") {
		if k = strings.TrimSpace(k); k != "" {
			delete(st.config, k)
		}
	}
	for k, v := range rc.p {
		if !storageWriteOnly[k] {
			st.config[k] = v.s
		}
	}
	if rc.has("password") {
		st.password = rc.str("password")
	}
	return map[string]any{"storage": st.id, "type": st.typ}, nil
}

func (s *Server) storageStatus(st *storage) map[string]any {
	shared := 0
	if st.typ == "cifs" || st.typ == "nfs" {
		shared = 1
	}
	return map[string]any{"type": st.typ, "content": st.config["content"], "enabled": 1, "active": 1, "shared": shared,
		"total": st.total, "used": st.used, "avail": st.total - st.used}
}

func (s *Server) nodeStorages(rc *reqCtx) []map[string]any {
	out := []map[string]any{}
	for _, id := range s.storageIDs() {
		st := s.storages[id]
		if f := rc.str("storage"); f != "" && f != id {
			continue
		}
		if c := rc.str("content"); c != "" && !strings.Contains(","+st.config["content"]+",", ","+c+",") {
			continue
		}
		e := s.storageStatus(st)
		e["storage"] = id
		e["used_fraction"] = float64(st.used) / float64(max(st.total, 1))
		out = append(out, e)
	}
	return out
}

func (s *Server) findVolume(rc *reqCtx) (*storage, *volume, *apiError) {
	st := s.storages[rc.pp["storage"]]
	if st == nil {
		return nil, nil, errf(500, "storage '%s' does not exist", rc.pp["storage"])
	}
	vol, _ := url.PathUnescape(rc.pp["volume"])
	if !strings.Contains(vol, ":") {
		vol = st.id + ":" + vol
	}
	for _, v := range st.volumes {
		if v.volid == vol {
			return st, v, nil
		}
	}
	return st, nil, errf(500, "volume '%s' does not exist", vol)
}

func (s *Server) content(rc *reqCtx) (any, *apiError) {
	st := s.storages[rc.pp["storage"]]
	if st == nil {
		return nil, errf(500, "storage '%s' does not exist", rc.pp["storage"])
	}
	if err := s.perm(rc, "/storage/"+st.id, "Datastore.Audit"); err != nil {
		return nil, err
	}
	out := []map[string]any{}
	if c := rc.str("content"); c != "" && c != "backup" {
		return out, nil
	}
	vmid := rc.integer("vmid", 0)
	for _, v := range st.volumes {
		if vmid != 0 && v.vmid != vmid {
			continue
		}
		notes, _, _ := strings.Cut(v.notes, "\n")
		e := map[string]any{"volid": v.volid, "content": "backup", "subtype": v.subtype, "format": v.format,
			"size": v.size, "ctime": v.ctime, "vmid": v.vmid}
		if notes != "" {
			e["notes"] = notes
		}
		if v.protected {
			e["protected"] = 1
		}
		out = append(out, e)
	}
	return out, nil
}

func (s *Server) volumeOp(rc *reqCtx) (any, *apiError) {
	st, v, err := s.findVolume(rc)
	if err != nil {
		return nil, err
	}
	switch rc.method {
	case http.MethodGet:
		out := map[string]any{"path": st.config["path"] + "/dump/" + strings.TrimPrefix(v.volid, st.id+":backup/"),
			"size": v.size, "used": v.size, "format": v.format, "notes": v.notes}
		if v.protected {
			out["protected"] = 1
		}
		return out, nil
	case http.MethodPut:
		if rc.has("notes") {
			v.notes = rc.str("notes")
		}
		if rc.has("protected") {
			v.protected = rc.boolean("protected", false)
		}
		return nil, nil
	}
	if err := s.perm(rc, "/storage/"+st.id, "Datastore.Allocate"); err != nil {
		return nil, err
	}
	return s.newTask(rc.pp["node"], "imgdel", fmt.Sprintf("%d@%s", v.vmid, st.id), rc.identity, -1, func() string {
		if v.protected {
			return fmt.Sprintf("cannot remove protected volume '%s' on '%s'", strings.TrimPrefix(v.volid, st.id+":"), st.id)
		}
		s.removeVolume(st, v)
		return "OK"
	}).upid, nil
}

func (s *Server) removeVolume(st *storage, v *volume) {
	for i, x := range st.volumes {
		if x == v {
			st.volumes = append(st.volumes[:i], st.volumes[i+1:]...)
			st.used -= min(st.used, v.size)
			return
		}
	}
}

func (s *Server) pruneOp(rc *reqCtx) (any, *apiError) {
	st := s.storages[rc.pp["storage"]]
	if st == nil {
		return nil, errf(500, "storage '%s' does not exist", rc.pp["storage"])
	}
	spec := rc.str("prune-backups")
	if !rc.has("prune-backups") {
		spec = st.config["prune-backups"]
		if spec == "" {
			return nil, errf(500, "no prune-backups options configured for storage '%s'", st.id)
		}
	}
	ps, err := parsePrune(spec)
	if err != nil {
		return nil, paramErr(map[string]string{"prune-backups": err.Error()})
	}
	marks := s.pruneMarks(st, ps, rc.str("type"), rc.integer("vmid", 0))
	if rc.method == http.MethodGet {
		out := []map[string]any{}
		for _, m := range marks {
			e := map[string]any{"volid": m.v.volid, "ctime": m.v.ctime, "mark": m.mark, "type": m.v.subtype}
			if m.v.vmid != 0 {
				e["vmid"] = m.v.vmid
			}
			out = append(out, e)
		}
		return out, nil
	}
	id := st.id
	if vmid := rc.integer("vmid", 0); vmid != 0 {
		id = fmt.Sprintf("%d@%s", vmid, st.id)
	}
	return s.newTask(rc.pp["node"], "prunebackups", id, rc.identity, -1, func() string {
		for _, m := range marks {
			if m.mark == "remove" {
				s.removeVolume(st, m.v)
			}
		}
		return "OK"
	}).upid, nil
}

func (s *Server) vzdump(rc *reqCtx) (any, *apiError) {
	if rc.boolean("stop", false) {
		return "OK", nil
	}
	for _, k := range []string{"dumpdir", "tmpdir", "script", "job-id"} {
		if rc.has(k) && !rc.root {
			return nil, errf(403, "Permission check failed (option '%s' is only allowed for root@pam)", k)
		}
	}
	if (rc.has("notes-template") || rc.has("protected")) && !rc.has("storage") {
		return nil, paramErr(map[string]string{"storage": "property is missing and it is not optional"})
	}
	nodeName := rc.pp["node"]
	var local []*guest
	if rc.boolean("all", false) || rc.has("exclude") {
		excl := "," + rc.str("exclude") + ","
		for _, g := range s.sortedGuests() {
			if g.node == nodeName && !strings.Contains(excl, ","+strconv.Itoa(g.vmid)+",") {
				local = append(local, g)
			}
		}
	} else if rc.has("vmid") {
		for _, id := range strings.Split(rc.str("vmid"), ",") {
			g := s.guests[atoi(id)]
			if g == nil {
				return nil, errf(500, "unable to find VM '%s'", id)
			}
			if g.node == nodeName {
				local = append(local, g)
			}
		}
	} else if !rc.has("pool") {
		return nil, paramErr(map[string]string{"vmid": "property is missing and it is not optional"})
	}
	if len(local) == 0 {
		return "OK", nil
	}
	stID := rc.str("storage")
	if stID == "" {
		stID = "local"
	}
	st := s.storages[stID]
	if st == nil {
		return nil, errf(500, "storage '%s' does not exist", stID)
	}
	if !strings.Contains(","+st.config["content"]+",", ",backup,") {
		return nil, errf(500, "storage '%s' does not support backups", stID)
	}
	id := ""
	if len(local) == 1 {
		id = strconv.Itoa(local[0].vmid)
	}
	tmpl := rc.str("notes-template")
	protected := rc.boolean("protected", false)
	remove := rc.boolean("remove", true)
	spec := rc.str("prune-backups")
	if spec == "" {
		spec = st.config["prune-backups"]
	}
	compress := rc.str("compress")
	var t *task
	t = s.newTask(nodeName, "vzdump", id, rc.identity, -1, func() string {
		failed := false
		for _, g := range local {
			t.log = append(t.log, fmt.Sprintf("INFO: Starting Backup of VM %d (%s)", g.vmid, g.typ))
			if reason := s.backupErr[g.vmid]; reason != "" {
				t.log = append(t.log, fmt.Sprintf("ERROR: Backup of VM %d failed - %s", g.vmid, reason))
				failed = true
				continue
			}
			notes := strings.NewReplacer("{{vmid}}", strconv.Itoa(g.vmid), "{{guestname}}", g.name(), "{{node}}", nodeName,
				"{{cluster}}", "homelab", `\n`, "\n", `\\`, `\`).Replace(tmpl)
			b := Backup{Storage: stID, VMID: g.vmid, Type: g.typ, Time: s.clock(), Notes: notes, Protected: protected}
			vol := s.addVolume(st, b, compress)
			// pve-manager PVE/VZDump.pm exec_backup_task logs the archive's
			// path ("$dumpdir/$basename$ext"), its size (format_size) and the
			// time taken (format_time).
			target := vol
			if dir := st.config["path"]; dir != "" {
				target = dir + "/dump/" + strings.TrimPrefix(vol, st.id+":backup/")
			}
			t.log = append(t.log, "INFO: creating vzdump archive '"+target+"'", "INFO: archive file size: 1.00GB",
				fmt.Sprintf("INFO: Finished Backup of VM %d (00:00:01)", g.vmid))
			if remove && spec != "" {
				if ps, err := parsePrune(spec); err == nil {
					for _, m := range s.pruneMarks(st, ps, g.typ, g.vmid) {
						if m.mark == "remove" {
							t.log = append(t.log, "INFO: removing backup '"+m.v.volid+"'")
							s.removeVolume(st, m.v)
						}
					}
				}
			}
		}
		if failed {
			return "job errors"
		}
		return "OK"
	})
	return t.upid, nil
}

// typed converts a stored config value to the JSON type PVE uses for it:
// integers and booleans as numbers, everything else as a string.
func typed(m methodSpec, key, v string) any {
	sp, ok := m.Params[key]
	if !ok {
		if mm := indexedRE.FindStringSubmatch(key); mm != nil {
			sp, ok = m.Params[mm[1]+"[n]"]
		}
	}
	if !ok {
		return v
	}
	switch sp.Type {
	case "integer", "boolean":
		if n, err := strconv.ParseInt(v, 10, 64); err == nil {
			return n
		}
	case "number":
		if f, err := strconv.ParseFloat(v, 64); err == nil {
			return f
		}
	}
	return v
}

type orderKey struct {
	has   bool
	order int
}

func startupOrder(startup string) orderKey {
	for i, p := range strings.Split(startup, ",") {
		k, v, ok := strings.Cut(p, "=")
		if !ok && i == 0 && intRE.MatchString(p) {
			return orderKey{true, atoi(p)}
		}
		if k == "order" {
			return orderKey{true, atoi(v)}
		}
	}
	return orderKey{}
}

// bulk implements startall/stopall: groups by startup order (no order =
// +inf, started last, stopped first), one group after another; down=
// replaces the timeout per guest; onboot-only unless force or vms.
func (s *Server) bulk(rc *reqCtx, start bool) string {
	nodeName := rc.pp["node"]
	var sel []*guest
	vms := "," + rc.str("vms") + ","
	for _, g := range s.sortedGuests() {
		if g.node != nodeName || g.template {
			continue
		}
		if rc.has("vms") && !strings.Contains(vms, ","+strconv.Itoa(g.vmid)+",") {
			continue
		}
		if start && !rc.has("vms") && !rc.boolean("force", false) && g.config["onboot"] != "1" {
			continue
		}
		if (g.status == "running" || g.status == "paused") == start {
			continue
		}
		sel = append(sel, g)
	}
	sort.SliceStable(sel, func(i, j int) bool {
		a, b := startupOrder(sel[i].config["startup"]), startupOrder(sel[j].config["startup"])
		less := (a.has && !b.has) || (a.has && b.has && a.order < b.order)
		if start {
			return less || (a == b && sel[i].vmid < sel[j].vmid)
		}
		greater := (!a.has && b.has) || (a.has && b.has && a.order > b.order)
		return greater || (a == b && sel[i].vmid > sel[j].vmid)
	})
	timeout := time.Duration(rc.integer("timeout", 180)) * time.Second
	force := rc.boolean("force-stop", true)
	var total, groupMax time.Duration
	var cur *orderKey
	for _, g := range sel {
		k := startupOrder(g.config["startup"])
		if cur == nil || *cur != k {
			total += groupMax
			groupMax = 0
			cur = &k
		}
		d := g.startTime
		if !start {
			to := timeout
			if down := parseDown(g.config["startup"]); down > 0 {
				to = down
			}
			d = g.shutdownTime
			if d < 0 || d > to {
				d = to
			}
		}
		groupMax = max(groupMax, d)
	}
	total += groupMax
	typ := "stopall"
	if start {
		typ = "startall"
	}
	var t *task
	t = s.newTask(nodeName, typ, "", rc.identity, total, func() string {
		for _, g := range sel {
			if start {
				g.status, g.started = "running", s.clock()
				t.log = append(t.log, fmt.Sprintf("Starting %s %d", strings.ToUpper(map[string]string{"qemu": "VM", "lxc": "CT"}[g.typ]), g.vmid))
				continue
			}
			to := timeout
			if down := parseDown(g.config["startup"]); down > 0 {
				to = down
			}
			if g.shutdownTime >= 0 && g.shutdownTime <= to || force {
				g.status = "stopped"
				t.log = append(t.log, fmt.Sprintf("Stopping %d", g.vmid))
			} else {
				t.log = append(t.log, fmt.Sprintf("unable to stop %d - got timeout", g.vmid))
			}
		}
		return "OK"
	})
	return t.upid
}

var jobBools = map[string]bool{"all": true, "enabled": true, "protected": true, "remove": true, "repeat-missed": true,
	"stdexcludes": true, "quiet": true, "stop": true}

func (s *Server) jobOut(id string) map[string]any {
	j := s.jobs[id]
	out := map[string]any{"id": id, "type": "vzdump"}
	for k, v := range j {
		switch {
		case k == "prune-backups" || k == "fleecing" || k == "performance":
			obj := map[string]any{}
			for _, p := range strings.Split(v, ",") {
				if kk, vv, ok := strings.Cut(p, "="); ok {
					obj[kk] = vv // PVE sends the values as strings
				}
			}
			out[k] = obj
		case jobBools[k]:
			out[k] = atoi(v)
		default:
			out[k] = v
		}
	}
	if _, ok := out["enabled"]; !ok {
		out["enabled"] = 1
	}
	if out["enabled"] == 1 {
		out["next-run"] = s.clock().Add(time.Hour).Truncate(time.Hour).Unix()
	}
	return out
}

// noSuchJob is how read_job, update_job and delete_job answer a job id
// they do not know: a parameter exception, so 400 with errors.id
// (pve-manager PVE/API2/Backup.pm: raise_param_exc({ id => "No such job
// '$id'" })).
func noSuchJob(id string) *apiError {
	return paramErr(map[string]string{"id": fmt.Sprintf("No such job '%s'", id)})
}

func (s *Server) jobWrite(rc *reqCtx) *apiError {
	if s.jobs == nil {
		s.jobs = map[string]map[string]string{}
	}
	for _, k := range []string{"dumpdir", "tmpdir", "script"} {
		if rc.has(k) && !rc.root {
			return errf(403, "Permission check failed (option '%s' is only allowed for root@pam)", k)
		}
	}
	id := rc.pp["id"]
	switch rc.method {
	case http.MethodDelete:
		if s.jobs[id] == nil {
			return noSuchJob(id)
		}
		delete(s.jobs, id)
		return nil
	case http.MethodPost:
		id = rc.str("id")
		if id == "" {
			s.jobSeq++
			id = fmt.Sprintf("backup-%08x-%04x", 0x5eed0000+s.jobSeq, s.jobSeq)
		}
		if s.jobs[id] != nil {
			return errf(500, "Job '%s' already exists", id)
		}
		if !rc.has("schedule") && !rc.has("starttime") {
			return paramErr(map[string]string{"schedule": "neither 'starttime' nor 'schedule' were set"})
		}
		if !rc.has("vmid") && !rc.boolean("all", false) && !rc.has("pool") && !rc.has("exclude") {
			return paramErr(map[string]string{"vmid": "property is missing and it is not optional"})
		}
		j := map[string]string{}
		for k, v := range rc.p {
			if k != "id" {
				j[k] = v.s
			}
		}
		s.jobs[id] = j
		return nil
	}
	j := s.jobs[id]
	if j == nil {
		return noSuchJob(id)
	}
	for _, k := range strings.Split(rc.str("delete"), ",") {
		if k = strings.TrimSpace(k); k != "" {
			delete(j, k)
		}
	}
	for k, v := range rc.p {
		if k != "id" && k != "delete" {
			j[k] = v.s
		}
	}
	return nil
}
