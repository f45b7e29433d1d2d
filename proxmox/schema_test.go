package proxmox_test

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/thehomelab/homelab/proxmox"
	"github.com/thehomelab/homelab/proxmox/proxmoxtest"
	"github.com/thehomelab/homelab/secret"
)

// This file checks every request the SDK sends in its main flows against
// the PVE 9 API schema (pve-docs api-viewer/apidata.js; proxmoxtest embeds
// the part of it that the SDK uses). The checker is written here, apart
// from the fake's own validation, so a gap in the fake cannot hide an
// invalid request, and it also checks the formats the fake leaves alone
// (property strings, urlencoded serials, id lists, no exponent numbers).

type schemaParam struct {
	Type     string   `json:"type"`
	Format   string   `json:"format"`
	Optional int      `json:"optional"`
	Enum     []string `json:"enum"`
}

type schemaMethod struct {
	Params map[string]schemaParam `json:"params"`
}

type apiSchema map[string]map[string]schemaMethod

func loadAPISchema(t *testing.T) apiSchema {
	t.Helper()
	b, err := os.ReadFile("proxmoxtest/schema.json")
	require.NoError(t, err)
	var s apiSchema
	require.NoError(t, json.Unmarshal(b, &s))
	return s
}

// route finds the schema path of a concrete path; {volume} takes the rest
// of the path, as PVE's router does.
func (s apiSchema) route(path string) (string, map[string]string) {
	segs := strings.Split(strings.Trim(path, "/"), "/")
	var best string
	var bestPP map[string]string
	for tmpl := range s {
		ts := strings.Split(strings.Trim(tmpl, "/"), "/")
		pp := map[string]string{}
		ok := len(ts) == len(segs) || (ts[len(ts)-1] == "{volume}" && len(segs) >= len(ts))
		for i := 0; ok && i < len(ts); i++ {
			switch {
			case ts[i] == "{volume}" && i == len(ts)-1:
				pp["volume"] = strings.Join(segs[i:], "/")
			case strings.HasPrefix(ts[i], "{"):
				pp[strings.Trim(ts[i], "{}")] = segs[i]
			default:
				ok = ts[i] == segs[i]
			}
		}
		// prefer literal segments over parameters (…/status/current over {x})
		if ok && (best == "" || strings.Count(tmpl, "{") < strings.Count(best, "{")) {
			best, bestPP = tmpl, pp
		}
	}
	return best, bestPP
}

var (
	schemaIndexed = regexp.MustCompile(`^([a-z]+)([0-9]+)$`)
	schemaInt     = regexp.MustCompile(`^-?[0-9]+$`)
	schemaNumber  = regexp.MustCompile(`^-?[0-9]+(\.[0-9]+)?$`) // never exponent form
	schemaNode    = regexp.MustCompile(`^[a-zA-Z0-9]([a-zA-Z0-9\-]*[a-zA-Z0-9])?$`)
	schemaStorage = regexp.MustCompile(`^[a-z][a-z0-9\-_.]*[a-z0-9]$`)
	schemaConfID  = regexp.MustCompile(`^[a-z][a-z0-9_-]+$`)
	schemaURLEnc  = regexp.MustCompile(`^[-%a-zA-Z0-9_.!~*'()]*$`)
	schemaTag     = regexp.MustCompile(`^[a-z0-9_][a-z0-9_\-+.]*$`)
	schemaIndexes = map[string]int{"scsi": 30, "sata": 5, "virtio": 15, "ide": 3, "net": 31, "mp": 255, "unused": 255, "dev": 255}
)

// driveOptions lists the drive property keys and the buses taking them
// (s scsi, a sata, v virtio, i ide), after qemu-server's Drive.pm.
var driveOptions = map[string]string{"backup": "savi", "replicate": "savi", "serial": "savi", "discard": "savi",
	"cache": "savi", "aio": "savi", "media": "savi", "size": "savi", "format": "savi", "snapshot": "savi",
	"detect_zeroes": "savi", "shared": "savi", "werror": "savi", "rerror": "savi", "mbps": "savi", "iops": "savi",
	"ssd": "sai", "wwn": "sai", "iothread": "sv", "ro": "sv", "scsiblock": "s", "product": "s", "vendor": "s"}

func checkProps(v string, known map[string]func(string) bool, defaultKey string) string {
	seen := map[string]bool{}
	for i, part := range strings.Split(v, ",") {
		k, val, ok := strings.Cut(part, "=")
		if !ok {
			if i != 0 || defaultKey == "" {
				return fmt.Sprintf("%q has no value", part)
			}
			k, val = defaultKey, part
		}
		check, ok := known[k]
		if !ok {
			return fmt.Sprintf("unknown key %q", k)
		}
		if seen[k] {
			return fmt.Sprintf("duplicate key %q", k)
		}
		seen[k] = true
		if !check(val) {
			return fmt.Sprintf("bad value %s=%q", k, val)
		}
	}
	return ""
}

func isUint(s string) bool { return regexp.MustCompile(`^[0-9]+$`).MatchString(s) }
func isBool01(s string) bool {
	switch s {
	case "0", "1":
		return true
	}
	return false
}

// checkFormat validates the formats of the schema the SDK's requests use.
func checkFormat(format, v string) string {
	list := func(re *regexp.Regexp, sep string) string {
		for _, p := range strings.Split(v, sep) {
			if !re.MatchString(strings.TrimSpace(p)) {
				return fmt.Sprintf("%s: bad element %q", format, p)
			}
		}
		return ""
	}
	switch format {
	case "pve-node":
		if !schemaNode.MatchString(v) {
			return "not a node name"
		}
	case "pve-storage-id":
		if !schemaStorage.MatchString(strings.ToLower(v)) {
			return "not a storage id"
		}
	case "pve-vmid":
		if !isUint(v) {
			return "not a vmid"
		}
	case "pve-vmid-list":
		return list(regexp.MustCompile(`^[0-9]+$`), ",")
	case "pve-configid":
		if !schemaConfID.MatchString(v) {
			return "not a config id"
		}
	case "pve-configid-list":
		return list(schemaConfID, ",")
	case "pve-node-list":
		return list(schemaNode, ",")
	case "pve-tag-list":
		return list(schemaTag, ";")
	case "pve-storage-content-list":
		return list(regexp.MustCompile(`^(images|rootdir|vztmpl|iso|backup|snippets|import)$`), ",")
	case "pve-volume-id":
		if st, rest, ok := strings.Cut(v, ":"); !ok || rest == "" || !schemaStorage.MatchString(strings.ToLower(st)) {
			return "not a volume id"
		}
	case "urlencoded":
		if !schemaURLEnc.MatchString(v) {
			return "not urlencoded"
		}
	case "pve-startup-order":
		return checkProps(v, map[string]func(string) bool{"order": isUint, "up": isUint, "down": isUint}, "order")
	case "prune-backups":
		keep := map[string]func(string) bool{"keep-all": isBool01}
		for _, k := range []string{"last", "hourly", "daily", "weekly", "monthly", "yearly"} {
			keep["keep-"+k] = isUint
		}
		return checkProps(v, keep, "")
	}
	return ""
}

// checkDriveValue validates a scsiN/sataN/virtioN/ideN property string.
func checkDriveValue(key, v string) string {
	bus := map[string]byte{"scsi": 's', "sata": 'a', "virtio": 'v', "ide": 'i'}[schemaIndexed.FindStringSubmatch(key)[1]]
	known := map[string]func(string) bool{"file": func(s string) bool { return s != "" }}
	for k, buses := range driveOptions {
		if strings.IndexByte(buses, bus) < 0 {
			continue
		}
		switch k {
		case "backup", "replicate", "ssd", "iothread", "ro", "scsiblock", "shared", "snapshot", "detect_zeroes":
			known[k] = isBool01 // the SDK promises 1/0 inside property strings too
		case "serial":
			known[k] = func(s string) bool { return len(s) <= 60 && schemaURLEnc.MatchString(s) }
		case "discard":
			known[k] = func(s string) bool { return s == "on" || s == "ignore" }
		default:
			known[k] = func(string) bool { return true }
		}
	}
	return checkProps(v, known, "file")
}

// violations lists what PVE would refuse in one request.
func (s apiSchema) violations(r proxmoxtest.Request) []string {
	tmpl, pp := s.route(r.Path)
	if tmpl == "" {
		return []string{"no such path in the PVE API"}
	}
	m, ok := s[tmpl][r.Method]
	if !ok {
		return []string{"method not allowed on " + tmpl}
	}
	var out []string
	for k, vs := range r.Params {
		spec, ok := m.Params[k]
		if !ok {
			if mm := schemaIndexed.FindStringSubmatch(k); mm != nil {
				spec, ok = m.Params[mm[1]+"[n]"]
				if n := mm[2]; ok && (len(n) > 1 && n[0] == '0' || len(n) > 3 || atoiOr(n) > schemaIndexes[mm[1]]) {
					ok = false
				}
			}
		}
		if !ok {
			out = append(out, k+": not defined in the schema")
			continue
		}
		if len(vs) != 1 && spec.Type != "array" {
			out = append(out, k+": sent more than once")
			continue
		}
		v := vs[0]
		if k == "password" { // the fake redacts it; only its presence matters
			continue
		}
		switch spec.Type {
		case "boolean":
			if !isBool01(v) {
				out = append(out, fmt.Sprintf("%s: boolean %q is not 1/0", k, v))
			}
		case "integer":
			if !schemaInt.MatchString(v) {
				out = append(out, fmt.Sprintf("%s: integer %q", k, v))
			}
		case "number":
			if !schemaNumber.MatchString(v) {
				out = append(out, fmt.Sprintf("%s: number %q", k, v))
			}
		}
		if len(spec.Enum) > 0 && !contains(spec.Enum, v) {
			out = append(out, fmt.Sprintf("%s: %q not in %v", k, v, spec.Enum))
		}
		if msg := checkFormat(spec.Format, v); msg != "" {
			out = append(out, fmt.Sprintf("%s=%q: %s", k, v, msg))
		}
		if mm := schemaIndexed.FindStringSubmatch(k); mm != nil && strings.Contains("scsi sata virtio ide", mm[1]) {
			if msg := checkDriveValue(k, v); msg != "" {
				out = append(out, fmt.Sprintf("%s=%q: %s", k, v, msg))
			}
		}
	}
	for k, spec := range m.Params {
		if spec.Optional == 1 || strings.HasSuffix(k, "[n]") {
			continue
		}
		if _, ok := r.Params[k]; ok {
			continue
		}
		if _, ok := pp[k]; ok {
			continue
		}
		out = append(out, k+": required but missing")
	}
	for k, v := range pp {
		if spec, ok := m.Params[k]; ok {
			if msg := checkFormat(spec.Format, v); msg != "" {
				out = append(out, fmt.Sprintf("path {%s}=%q: %s", k, v, msg))
			}
		}
	}
	sort.Strings(out)
	return out
}

func contains(list []string, v string) bool {
	for _, e := range list {
		if e == v {
			return true
		}
	}
	return false
}

func atoiOr(s string) int {
	n := 0
	for _, c := range s {
		n = n*10 + int(c-'0')
	}
	return n
}

// TestEveryRequestIsValidInTheSchema runs the SDK's main flows against the
// fake and checks every request it recorded, successful or not.
func TestEveryRequestIsValidInTheSchema(t *testing.T) {
	t.Parallel()
	schema := loadAPISchema(t)
	srv := proxmoxtest.NewServer()
	t.Cleanup(srv.Close)
	c := newRootClient(t, srv)
	ctx := t.Context()
	srv.AddNode("proxmox2")
	srv.AddGuest(proxmoxtest.Guest{VMID: 200, Node: "proxmox2", Type: "qemu", Name: "remote", Running: true})
	addOrdered(srv)
	srv.AddDisk(proxmoxtest.Node, proxmoxtest.Disk{DevPath: "/dev/sdf", Size: 1 << 40, Model: "Ext HDD", Serial: "2019 0815:AB",
		Type: "hdd", RPM: "7200", Wearout: "N/A", Health: "PASSED", ByIDLink: "/dev/disk/by-id/ata-Ext_HDD_2019_0815_AB"})

	must := func(err error) {
		t.Helper()
		require.NoError(t, err)
	}
	// inventory
	_, err := c.Inventory(ctx)
	must(err)
	_, err = c.Version(ctx)
	must(err)
	_, err = c.Nodes.Status(ctx, proxmoxtest.Node)
	must(err)
	_, err = c.Guests.Find(ctx, "nas")
	must(err)
	_, err = c.Guests.Get(ctx, 101)
	must(err)
	// lifecycle, VM and CT, in every state
	for _, ref := range []proxmox.GuestRef{ha, docker} {
		_, err = c.Guests.Reboot(ctx, ref)
		must(err)
		_, err = c.Guests.Shutdown(ctx, ref, proxmox.ShutdownOptions{Timeout: 90 * time.Second, ForceStop: true})
		must(err)
		_, err = c.Guests.Stop(ctx, ref)
		must(err)
		_, err = c.Guests.Start(ctx, ref)
		must(err)
		_, err = c.Guests.Start(ctx, ref)
		must(err)
		_, err = c.Guests.Stop(ctx, ref)
		must(err)
		_, err = c.Guests.Reboot(ctx, ref)
		must(err)
	}
	_, err = c.Guests.SetStartup(ctx, ha, proxmox.Startup{Order: 4, HasOrder: true, Up: 30 * time.Second, Down: 120 * time.Second})
	must(err)
	_, err = c.Guests.Update(ctx, ha, proxmox.ConfigChange{Set: map[string]string{"onboot": "1", "tags": "prod;web"}, Delete: []string{"scsihw"}})
	must(err)
	// passthrough
	_, err = c.Disks.Attach(ctx, nas, "S6PNNS0T100001", proxmox.AttachOptions{})
	must(err)
	idx := 2
	_, err = c.Disks.Attach(ctx, nas, "/dev/sdf", proxmox.AttachOptions{Bus: "sata", Index: &idx, Backup: true})
	must(err)
	_, err = c.Disks.Attach(ctx, nas, "/dev/sdb", proxmox.AttachOptions{Bus: "virtio"})
	must(err)
	_, err = c.Disks.Detach(ctx, nas, "/dev/sdf")
	must(err)
	// containers
	_, err = c.Containers.Create(ctx, proxmoxtest.Node, dockerSpec())
	must(err)
	_, err = c.Containers.Create(ctx, proxmoxtest.Node, proxmox.ContainerSpec{VMID: 131, Template: "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst",
		IP: netip.MustParsePrefix("192.168.88.31/24"), Tags: []string{"docker", "lab"}, SSHPublicKeys: []string{"ssh-ed25519 AAAA x@y"},
		Nameserver: "192.168.88.1", SwapMiB: 256})
	must(err)
	_, err = c.Containers.Update(ctx, proxmox.GuestRef{Node: proxmoxtest.Node, Type: proxmox.TypeCT, VMID: 131},
		proxmox.ConfigChange{Set: map[string]string{"cores": "2", "features": "nesting=1"}, Delete: []string{"nameserver"}})
	must(err)
	// storage
	cifs := proxmox.CIFSStorage{ID: "nas-backups", Server: "192.168.88.10", Share: "backups", Username: "proxmox",
		Password: secret.New("smb-pass"), Domain: "WORKGROUP", SMBVersion: "3.0", Content: []string{"backup"},
		Nodes: []string{proxmoxtest.Node}, PruneBackups: &proxmox.PruneSpec{Daily: 7, Weekly: 4}, Subdir: "/pve"}
	_, err = c.Storage.EnsureCIFS(ctx, cifs)
	must(err)
	cifs.Content, cifs.Nodes, cifs.Domain, cifs.PruneBackups = []string{"backup", "iso"}, nil, "", &proxmox.PruneSpec{Last: 3}
	_, err = c.Storage.EnsureCIFS(ctx, cifs)
	must(err)
	must(c.Storage.SetPassword(ctx, "nas-backups", secret.New("new-pass")))
	_, err = c.Storage.List(ctx, "cifs")
	must(err)
	_, err = c.Storage.Status(ctx, proxmoxtest.Node, "backups")
	must(err)
	_, err = c.Storage.Usage(ctx, proxmoxtest.Node, "backup")
	must(err)
	must(c.Storage.Remove(ctx, "nas-backups"))
	// backups
	must(c.Backups.Vzdump(ctx, []proxmox.VMID{100, 101, 200}, proxmox.VzdumpOptions{Storage: "backups", Mode: "snapshot", Compress: "zstd",
		NotesTemplate: `{{guestname}} on {{node}}\n{{vmid}}`, Protected: true, PruneBackups: &proxmox.PruneSpec{Daily: 7}}))
	must(c.Backups.Vzdump(ctx, []proxmox.VMID{102}, proxmox.VzdumpOptions{Storage: "backups", NoPrune: true}))
	vols, err := c.Backups.List(ctx, proxmoxtest.Node, "backups", proxmox.ListOptions{VMID: 100})
	must(err)
	require.NotEmpty(t, vols)
	must(c.Backups.SetNotes(ctx, proxmoxtest.Node, vols[0].VolID, "line 1\nline 2"))
	must(c.Backups.SetProtected(ctx, proxmoxtest.Node, vols[0].VolID, false))
	must(c.Backups.Delete(ctx, proxmoxtest.Node, vols[0].VolID))
	_, err = c.Backups.PrunePreview(ctx, proxmoxtest.Node, "backups", proxmox.PruneOptions{Spec: &proxmox.PruneSpec{Last: 1, Monthly: 2}, Type: proxmox.TypeVM, VMID: 102})
	must(err)
	_, err = c.Backups.PrunePreview(ctx, proxmoxtest.Node, "backups", proxmox.PruneOptions{})
	must(err)
	must(c.Backups.Prune(ctx, proxmoxtest.Node, "backups", proxmox.PruneOptions{Spec: &proxmox.PruneSpec{Last: 1}, Type: proxmox.TypeVM, VMID: 102}))
	job := proxmox.BackupJob{ID: "nightly", Schedule: "02:00", VMIDs: []proxmox.VMID{100, 101}, Storage: "backups", Mode: "snapshot",
		Compress: "zstd", NotesTemplate: "{{guestname}}", Protected: true, RepeatMissed: true, Comment: "lab",
		PruneBackups: &proxmox.PruneSpec{Daily: 7, Weekly: 4}, Node: proxmoxtest.Node}
	_, err = c.Backups.EnsureJob(ctx, job)
	must(err)
	job.VMIDs, job.All, job.Exclude, job.Disabled, job.NotesTemplate, job.PruneBackups = nil, true, []proxmox.VMID{102}, true, "", nil
	_, err = c.Backups.EnsureJob(ctx, job)
	must(err)
	_, err = c.Backups.Jobs(ctx)
	must(err)
	must(c.Backups.DeleteJob(ctx, "nightly"))
	// tasks
	_, err = c.Tasks.List(ctx, proxmoxtest.Node, proxmox.TaskFilter{Type: "vzdump", VMID: 100, Since: time.Unix(1_700_000_000, 0), Errors: true, Limit: 20})
	must(err)
	_, err = c.Tasks.List(ctx, proxmoxtest.Node, proxmox.TaskFilter{Running: true})
	must(err)
	upid, err := proxmox.ParseUPID(srv.Tasks()[0])
	must(err)
	for _, err := range c.Tasks.Task(upid).Log(ctx) {
		must(err)
	}
	// bulk power and ordered start-up and shutdown, node last
	must(c.Power.StopAll(ctx, proxmoxtest.Node, proxmox.BulkOptions{VMIDs: []proxmox.VMID{110, 111}, Timeout: 30 * time.Second, NoForceStop: true, MaxWorkers: 2}))
	must(c.Power.StartAll(ctx, proxmoxtest.Node, proxmox.BulkOptions{VMIDs: []proxmox.VMID{110, 111}, Force: true, MaxWorkers: 2}))
	plan, err := c.Power.PlanStartUp(ctx, proxmox.PlanOptions{Last: []string{"nas"}})
	must(err)
	_, err = c.Power.Apply(ctx, plan, proxmox.ApplyOptions{})
	must(err)
	plan, err = c.Power.PlanShutdown(ctx, proxmox.PlanOptions{Last: []string{"nas"}, Nodes: []string{proxmoxtest.Node},
		DefaultTimeout: 45 * time.Second, ShutdownNodes: true})
	must(err)
	_, err = c.Power.Apply(ctx, plan, proxmox.ApplyOptions{})
	must(err)

	reqs := srv.Requests()
	require.Greater(t, len(reqs), 100, "the flows ran")
	seen := map[string]bool{}
	for _, r := range reqs {
		tmpl, _ := schema.route(r.Path)
		seen[r.Method+" "+tmpl] = true
		if v := schema.violations(r); len(v) > 0 {
			t.Errorf("%s %s?%s (as %s): PVE would refuse: %s", r.Method, r.Path, r.Params.Encode(), r.Identity, strings.Join(v, "; "))
		}
	}
	for _, want := range []string{
		"POST /access/ticket", "GET /cluster/resources", "GET /nodes", "GET /version", "GET /nodes/{node}/status",
		"POST /nodes/{node}/status", "POST /nodes/{node}/qemu/{vmid}/status/shutdown", "POST /nodes/{node}/lxc/{vmid}/status/start",
		"POST /nodes/{node}/qemu/{vmid}/config", "PUT /nodes/{node}/lxc/{vmid}/config",
		"GET /nodes/{node}/disks/list", "POST /nodes/{node}/lxc", "POST /storage", "PUT /storage/{storage}",
		"DELETE /storage/{storage}", "GET /nodes/{node}/storage/{storage}/status", "POST /nodes/{node}/vzdump",
		"GET /nodes/{node}/storage/{storage}/content", "PUT /nodes/{node}/storage/{storage}/content/{volume}",
		"DELETE /nodes/{node}/storage/{storage}/content/{volume}", "GET /nodes/{node}/storage/{storage}/prunebackups",
		"DELETE /nodes/{node}/storage/{storage}/prunebackups", "POST /cluster/backup", "PUT /cluster/backup/{id}",
		"GET /nodes/{node}/tasks", "GET /nodes/{node}/tasks/{upid}/log", "GET /nodes/{node}/tasks/{upid}/status",
		"POST /nodes/{node}/stopall", "POST /nodes/{node}/startall",
	} {
		assert.True(t, seen[want], "flow covers %s", want)
	}
}

// TestSchemaCheckerCatchesWhatPVERefuses keeps the checker above honest.
func TestSchemaCheckerCatchesWhatPVERefuses(t *testing.T) {
	t.Parallel()
	schema := loadAPISchema(t)
	req := func(method, path string, kv ...string) proxmoxtest.Request {
		r := proxmoxtest.Request{Method: method, Path: path, Params: map[string][]string{}}
		for i := 0; i+1 < len(kv); i += 2 {
			r.Params.Set(kv[i], kv[i+1])
		}
		return r
	}
	bad := []proxmoxtest.Request{
		req("GET", "/nodes/proxmox1/tasks", "since", "1.7e+09"),
		req("POST", "/nodes/proxmox1/qemu/100/status/shutdown", "forceStop", "true"),
		req("POST", "/nodes/proxmox1/qemu/100/status/shutdown", "force-stop", "1"),
		req("POST", "/nodes/proxmox1/qemu/100/config", "scsi1", "/dev/disk/by-id/ata-X,serial=A+B"),
		req("POST", "/nodes/proxmox1/qemu/100/config", "virtio1", "/dev/disk/by-id/ata-X,ssd=1"),
		req("POST", "/nodes/proxmox1/qemu/100/config", "scsi31", "local-lvm:vm-100-disk-1"),
		req("PUT", "/nodes/proxmox1/qemu/100/config", "startup", "order=1,later=2"),
		req("POST", "/nodes/proxmox1/vzdump", "vmid", "100", "prune-backups", "keep-daily=x"),
		req("POST", "/nodes/proxmox1/vzdump", "vmid", "100 101"),
		req("POST", "/storage", "storage", "x1", "type", "cifs", "server", "s", "share", "b", "content", "backups"),
		req("POST", "/storage", "type", "cifs"),
		req("GET", "/nodes/proxmox1/storage/backups"+"/nope"),
		req("PATCH", "/nodes"),
	}
	for _, r := range bad {
		assert.NotEmpty(t, schema.violations(r), "%s %s %v", r.Method, r.Path, r.Params)
	}
	good := req("POST", "/nodes/proxmox1/qemu/100/config", "scsi1", "/dev/disk/by-id/ata-X,backup=0,serial=A%20B,ssd=1,discard=on", "digest", "ab")
	assert.Empty(t, schema.violations(good))
	assert.Empty(t, schema.violations(req("DELETE", "/nodes/proxmox1/storage/backups/content/backups:backup/vzdump-qemu-100-2026_11_26-02_00_03.vma.zst")))
}
