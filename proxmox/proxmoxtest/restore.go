package proxmoxtest

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
)

// Restore drills: create a guest from a backup archive, ping its guest
// agent, destroy it.

// schema_restore.json holds the PVE 9 schema entries (pve-docs
// api-viewer/apidata.js) of the paths only this file serves.
//
//go:embed schema_restore.json
var restoreSchemaJSON []byte

func mergeRestoreSchema(s schema) error {
	var more schema
	if err := json.Unmarshal(restoreSchemaJSON, &more); err != nil {
		return fmt.Errorf("proxmoxtest: embedded restore schema: %w", err)
	}
	for path, methods := range more {
		if s[path] == nil {
			s[path] = map[string]methodSpec{}
		}
		for m, spec := range methods {
			s[path][m] = spec
		}
	}
	return nil
}

// restoreDriveRE matches the VM drive keys (qemu-server
// PVE::QemuServer::Drive::is_valid_drivename).
var restoreDriveRE = regexp.MustCompile(`^(ide[0-3]|sata[0-5]|scsi([0-9]|[12][0-9]|30)|virtio([0-9]|1[0-5])|efidisk0|tpmstate0)$`)

// SetAgentRunning says whether a running VM's guest agent answers (default:
// it does whenever the VM runs with agent enabled in its config).
func (s *Server) SetAgentRunning(vmid int, up bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.agentDown == nil {
		s.agentDown = map[int]bool{}
	}
	s.agentDown[vmid] = !up
}

func (s *Server) restoreRoutes() []route {
	return []route{
		{[]string{"POST /nodes/{node}/qemu"}, func(r *http.Request, rc *reqCtx, tmpl string, pp map[string]string) (any, int, *apiError) {
			if !rc.has("archive") {
				return nil, -1, errf(501, "proxmoxtest: creating VMs without an archive is not modelled")
			}
			d, err := s.restoreGuest(rc, "qemu", rc.str("archive"))
			return d, -1, err
		}},
		{[]string{"DELETE /nodes/{node}/qemu/{vmid}", "DELETE /nodes/{node}/lxc/{vmid}"}, func(r *http.Request, rc *reqCtx, tmpl string, pp map[string]string) (any, int, *apiError) {
			g, err := s.guest(rc, tmpl)
			if err != nil {
				return nil, -1, err
			}
			d, err := s.destroyGuest(rc, g)
			return d, -1, err
		}},
		{[]string{"POST /nodes/{node}/qemu/{vmid}/agent/ping"}, func(r *http.Request, rc *reqCtx, tmpl string, pp map[string]string) (any, int, *apiError) {
			g, err := s.guest(rc, tmpl)
			if err != nil {
				return nil, -1, err
			}
			// qemu-server src/PVE/QemuServer/Agent.pm assert_agent_available
			switch {
			case g.config["agent"] == "" || strings.HasPrefix(g.config["agent"], "0") || strings.Contains(g.config["agent"], "enabled=0"):
				return nil, -1, errf(500, "No QEMU guest agent configured")
			case g.status != "running":
				return nil, -1, errf(500, "VM %d is not running", g.vmid)
			case s.agentDown[g.vmid]:
				return nil, -1, errf(500, "QEMU guest agent is not running")
			}
			return map[string]any{"result": map[string]any{}}, -1, nil
		}},
	}
}

// restoreGuest creates vmid from a backup archive, as qemu-server
// src/PVE/API2/Qemu.pm create_vm does with archive= (worker qmrestore) and
// pve-container src/PVE/API2/LXC.pm create_vm with ostemplate= and
// restore=1 (worker vzrestore): the vmid must be free (unless force), drive
// options conflict with archive, unique=1 gives every NIC a new MAC,
// storage= receives the disks, start=1 starts the guest afterwards. The
// restored config leaves out the disks vzdump did not archive
// (passthrough and backup=0 drives; container mount points without
// backup=1, qemu-server PVE/QemuConfig.pm and pve-container
// PVE/LXC/Config.pm get_backup_volumes).
func (s *Server) restoreGuest(rc *reqCtx, typ, archive string) (any, *apiError) {
	vmid := rc.integer("vmid", 0)
	kind := map[string]string{"qemu": "VM", "lxc": "CT"}[typ]
	if vmid < 100 {
		return nil, paramErr(map[string]string{"vmid": "value must have a minimum value of 100"})
	}
	if err := s.perm(rc, "/vms/"+strconv.Itoa(vmid), "VM.Allocate"); err != nil {
		return nil, err
	}
	if typ == "qemu" {
		for k := range rc.p {
			if restoreDriveRE.MatchString(k) {
				return nil, paramErr(map[string]string{k: "option conflicts with option 'archive'"})
			}
		}
	}
	if g := s.guests[vmid]; g != nil && !rc.boolean("force", false) {
		// pve-cluster PVE::Cluster::check_vmid_unused
		return nil, errf(500, "unable to restore %s %d - %s %d already exists on node '%s'", kind, vmid, kind, vmid, g.node)
	}
	stID, volname, ok := strings.Cut(archive, ":")
	st := s.storages[stID]
	var vol *volume
	if ok && st != nil {
		for _, v := range st.volumes {
			if v.volid == archive {
				vol = v
			}
		}
	}
	if vol == nil {
		return nil, errf(500, "unable to restore %s %d - volume '%s' does not exist", kind, vmid, strings.TrimPrefix(volname, "backup/"))
	}
	if vol.subtype != typ {
		return nil, errf(500, "unable to restore %s %d - archive '%s' is a %s backup", kind, vmid, archive, vol.subtype)
	}
	target := rc.str("storage")
	if target == "" {
		target = "local-lvm"
	}
	if s.storages[target] == nil {
		return nil, errf(500, "storage '%s' does not exist", target)
	}
	// The fake keeps no config inside archives: it restores the archived
	// guest's current config, or a bare one if that guest is gone.
	src := map[string]string{"scsi0": "local-lvm:vm-0-disk-0,size=8G"}
	if typ == "lxc" {
		src = map[string]string{"rootfs": "local-lvm:vm-0-disk-0,size=8G"}
	}
	if g := s.guests[vol.vmid]; g != nil {
		src = g.config
	}
	cfg := map[string]string{}
	disk := 0
	for k, v := range src {
		if k == "digest" {
			continue
		}
		if restoreDriveRE.MatchString(k) || k == "rootfs" || strings.HasPrefix(k, "mp") {
			file, opts, _ := strings.Cut(v, ",")
			file = strings.TrimPrefix(strings.TrimPrefix(file, "file="), "volume=")
			o := "," + opts + ","
			switch {
			case strings.Contains(o, ",media=cdrom,"):
				cfg[k] = v
				continue
			case strings.HasPrefix(file, "/"), strings.Contains(o, ",backup=0,"):
				continue // not in the archive
			case strings.HasPrefix(k, "mp") && !strings.Contains(o, ",backup=1,"):
				continue
			}
			cfg[k] = fmt.Sprintf("%s:vm-%d-disk-%d", target, vmid, disk)
			if opts != "" {
				cfg[k] += "," + opts
			}
			disk++
			continue
		}
		if rc.boolean("unique", false) && strings.HasPrefix(k, "net") {
			v = newMAC(v, vmid)
		}
		cfg[k] = v
	}
	start := rc.boolean("start", false)
	nodeName := rc.pp["node"]
	worker := map[string]string{"qemu": "qmrestore", "lxc": "vzrestore"}[typ]
	t := s.newTask(nodeName, worker, strconv.Itoa(vmid), rc.identity, -1, func() string {
		g := &guest{vmid: vmid, node: nodeName, typ: typ, status: "stopped", config: cfg}
		if start {
			g.status, g.started = "running", s.clock()
		}
		s.guests[vmid] = g
		return "OK"
	})
	t.log = append(t.log, fmt.Sprintf("restore vma archive: %s", archive))
	return t.upid, nil
}

// newMAC replaces the MAC address of a NIC property string (virtio=…,
// hwaddr=…), as unique=1 does.
func newMAC(v string, vmid int) string {
	parts := strings.Split(v, ",")
	for i, p := range parts {
		k, _, ok := strings.Cut(p, "=")
		if !ok {
			continue
		}
		switch k {
		case "virtio", "e1000", "e1000e", "rtl8139", "vmxnet3", "hwaddr", "macaddr":
			parts[i] = fmt.Sprintf("%s=BC:24:11:%02X:%02X:%02X", k, (vmid>>16)&0xff, (vmid>>8)&0xff, vmid&0xff)
		}
	}
	return strings.Join(parts, ",")
}

// destroyGuest removes a stopped guest and its disks, as qemu-server
// src/PVE/API2/Qemu.pm destroy_vm (worker qmdestroy) and pve-container
// src/PVE/API2/LXC.pm destroy_vm (worker vzdestroy) do: a running guest
// or one with protection=1 is refused; purge=1 also drops it from backup
// jobs.
func (s *Server) destroyGuest(rc *reqCtx, g *guest) (any, *apiError) {
	if err := s.perm(rc, "/vms/"+strconv.Itoa(g.vmid), "VM.Allocate"); err != nil {
		return nil, err
	}
	if g.config["protection"] == "1" {
		if g.typ == "qemu" {
			return nil, errf(500, "can't remove VM %d - protection mode enabled", g.vmid)
		}
		return nil, errf(500, "can't remove CT %d - protection mode enabled", g.vmid)
	}
	if g.status == "running" || g.status == "paused" {
		if g.typ == "qemu" {
			return nil, errf(500, "VM %d is running - destroy failed", g.vmid)
		}
		return nil, errf(500, "unable to destroy CT %d - container is running", g.vmid)
	}
	worker := map[string]string{"qemu": "qmdestroy", "lxc": "vzdestroy"}[g.typ]
	purge := rc.boolean("purge", false)
	return s.newTask(g.node, worker, strconv.Itoa(g.vmid), rc.identity, -1, func() string {
		if s.guests[g.vmid] != g {
			return "OK"
		}
		delete(s.guests, g.vmid)
		if purge {
			for _, j := range s.jobs {
				if ids := j["vmid"]; ids != "" {
					var keep []string
					for _, id := range strings.Split(ids, ",") {
						if id != strconv.Itoa(g.vmid) {
							keep = append(keep, id)
						}
					}
					j["vmid"] = strings.Join(keep, ",")
				}
			}
		}
		return "OK"
	}).upid, nil
}
