package proxmoxtest

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"regexp"
	"slices"
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
				// Real PVE creates a VM from the options here (qemu-server
				// src/PVE/API2/Qemu.pm create_vm, worker qmcreate); the
				// fake does not (package doc).
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
			// qemu-server src/PVE/API2/Qemu/Agent.pm register_command →
			// src/PVE/QemuServer/Agent.pm assert_agent_available: no
			// agent key at all, then not running, then qga_check_running
			// (a guest-ping, which also fails when the key says
			// enabled=0: QEMU then has no agent channel).
			agent := g.config["agent"]
			switch {
			case !hasKey(g.config, "agent"):
				return nil, -1, errf(500, "No QEMU guest agent configured")
			case g.status != "running":
				return nil, -1, errf(500, "VM %d is not running", g.vmid)
			case s.agentDown[g.vmid], agent == "0", strings.HasPrefix(agent, "0,"), strings.Contains(","+agent+",", ",enabled=0,"):
				return nil, -1, errf(500, "QEMU guest agent is not running")
			}
			return map[string]any{"result": map[string]any{}}, -1, nil
		}},
	}
}

// restoreGuest creates vmid from a backup archive, as qemu-server
// src/PVE/API2/Qemu.pm create_vm does with archive= (worker qmrestore) and
// pve-container src/PVE/API2/LXC.pm create_vm with ostemplate= and
// restore=1 (worker vzrestore): drive options conflict with archive,
// unique=1 gives every NIC a new MAC, storage= receives the disks, start=1
// starts the guest afterwards. A restored VM leaves out the drives vzdump
// did not archive (passthrough and backup=0 ones, qemu-server
// PVE/QemuConfig.pm get_backup_volumes). A restored container gets the
// disks rootfs=/mpN= ask for, or without rootfs= every archived mount point
// (see archivedMounts).
//
// Each refusal comes where upstream raises it, with upstream's text: some
// before the task (HTTP 500), the rest in the worker (the task fails). The
// guest's config exists from the request on, locked "create"
// (pve-guest-common src/PVE/AbstractConfig.pm create_and_lock_config). A
// VM whose restore fails keeps it, unlocked and empty (create_vm's
// qmrestore worker: "VM $vmid state is NOT cleaned up"); a new container
// whose restore fails is removed again (create_vm's vzrestore worker,
// $destroy_config_on_error).
func (s *Server) restoreGuest(rc *reqCtx, typ, archive string) (any, *apiError) {
	if typ == "lxc" {
		// The mpN format check comes with the parameters, before the body.
		if err := checkCTMounts(rc); err != nil {
			return nil, err
		}
	}
	vmid := rc.integer("vmid", 0)
	if vmid < 100 {
		return nil, paramErr(map[string]string{"vmid": "value must have a minimum value of 100"})
	}
	force := rc.boolean("force", false)
	old := s.guests[vmid]
	// pve-cluster src/PVE/Cluster.pm check_vmid_unused names the type of
	// the guest that holds the vmid. pve-container checks it first and
	// unprefixed; qemu-server only in create_and_lock_config, after the
	// archive (below).
	taken := old != nil && (!force || old.typ != typ)
	if typ == "lxc" && taken {
		return nil, errf(500, "%s %d already exists on node '%s'", guestKind(old), vmid, old.node)
	}
	if typ == "lxc" && old != nil && force {
		// pve-container src/PVE/API2/LXC.pm create_vm, restore over an
		// existing container.
		if old.status == "running" || old.status == "paused" {
			return nil, errf(500, "can't overwrite running container")
		}
		if old.config["protection"] == "1" {
			// pve-guest-common src/PVE/AbstractConfig.pm check_protection
			return nil, errf(500, "unable to restore CT %d - protection mode enabled", vmid)
		}
	}
	if err := s.perm(rc, "/vms/"+strconv.Itoa(vmid), "VM.Allocate"); err != nil {
		return nil, err
	}
	if typ == "lxc" {
		// pve-container src/PVE/API2/LXC.pm create_vm runs
		// check_ct_modify_config_perm on a restore's parameters too, with
		// unprivileged= as given (unset counts as privileged there).
		if err := checkCTPerm(rc, nil, !rc.boolean("unprivileged", false)); err != nil {
			return nil, err
		}
	}
	if typ == "qemu" {
		for k := range rc.p {
			if restoreDriveRE.MatchString(k) {
				// qemu-server src/PVE/API2/Qemu.pm create_vm
				return nil, paramErr(map[string]string{k: "option conflicts with option 'archive'"})
			}
		}
	}
	// pve-storage src/PVE/Storage.pm check_volume_access → parse_volname
	// → storage_config: the archive's storage must exist.
	stID, _, isVolume := strings.Cut(archive, ":")
	st := s.storages[stID]
	if isVolume && st == nil {
		return nil, errf(500, "storage '%s' does not exist", stID)
	}
	var vol *volume
	if st != nil {
		for _, v := range st.volumes {
			if v.volid == archive {
				vol = v
			}
		}
	}
	target := rc.str("storage")
	if typ == "qemu" {
		if vol == nil {
			// qemu-server src/PVE/API2/Qemu.pm $classify_restore_archive →
			// pve-storage src/PVE/Storage.pm abs_filesystem_path.
			return nil, errf(500, "can't find file '%s'", archive)
		}
		if taken {
			// create_and_lock_config's error behind create_vm's $emsg.
			return nil, errf(500, "unable to restore VM %d - %s %d already exists on node '%s'", vmid, guestKind(old), vmid, old.node)
		}
	}
	var mpParam map[string]string
	if typ == "lxc" {
		var err *apiError
		if mpParam, err = s.ctMountParam(rc, target); err != nil {
			return nil, err
		}
	}
	if typ == "lxc" && mpParam == nil {
		// create_vm checks and activates the default storage= (default
		// "local") when rootfs is not given.
		if target == "" {
			target = "local"
		}
		if err := s.checkRootdirStorage(target); err != nil {
			return nil, err
		}
	}

	nodeName := rc.pp["node"]
	locked := old
	if locked == nil {
		locked = &guest{vmid: vmid, node: nodeName, typ: typ, status: "stopped", config: map[string]string{}}
		s.guests[vmid] = locked
	}
	locked.config["lock"] = "create"
	// fail ends the worker the way upstream cleans up (see above).
	fail := func(msg string) string {
		delete(locked.config, "lock")
		if typ == "lxc" && old == nil && s.guests[vmid] == locked {
			delete(s.guests, vmid)
		}
		return msg
	}
	start := rc.boolean("start", false)
	root := rc.root
	unique := rc.boolean("unique", false)
	worker := map[string]string{"qemu": "qmrestore", "lxc": "vzrestore"}[typ]
	t := s.newTask(nodeName, worker, strconv.Itoa(vmid), rc.identity, -1, func() string {
		switch {
		case typ == "qemu" && old != nil && old.config["protection"] == "1":
			// qemu-server create_vm $restorefn, check_protection($conf, $emsg)
			return fail(fmt.Sprintf("unable to restore VM %d - protection mode enabled", vmid))
		case typ == "qemu" && old != nil && (old.status == "running" || old.status == "paused"):
			// qemu-server create_vm $restorefn
			return fail(fmt.Sprintf("unable to restore VM %d - vm is running", vmid))
		case typ == "qemu" && vol.subtype != "qemu":
			// qemu-server src/PVE/QemuServer.pm restore_file_archive takes
			// a .tar as a tar backup; restore_tar_archive refuses one
			// without qemu-server.conf first.
			return fail(fmt.Sprintf("ERROR: file '%s' does not look like a QemuServer vzdump backup", archivePath(st, archive)))
		case typ == "qemu" && s.vmRestoreStorageErr(archivedConfig(s, vol, typ), target) != "":
			return fail(s.vmRestoreStorageErr(archivedConfig(s, vol, typ), target))
		case typ == "lxc" && vol == nil:
			// pve-container src/PVE/LXC/Create.pm recover_config →
			// pve-storage abs_filesystem_path, with create_vm's $emsg.
			return fail(fmt.Sprintf("unable to restore CT %d - can't find file '%s'", vmid, archive))
		case typ == "lxc" && vol.subtype != "lxc":
			// pve-container recover_config_from_tar → pve-storage
			// src/PVE/Storage.pm extract_vzdump_config_tar: a VMA holds
			// no ./etc/vzdump/pct.conf.
			return fail(fmt.Sprintf("unable to restore CT %d - ERROR: archive contains no configuration file", vmid))
		}
		disks, delayed := mpParam, map[string]string(nil)
		if typ == "lxc" && mpParam == nil {
			var msg string
			disks, delayed, msg = archivedMounts(archivedConfig(s, vol, typ), target, root)
			if msg != "" {
				return fail(fmt.Sprintf("unable to restore CT %d - %s", vmid, msg))
			}
		}
		s.guests[vmid] = restoredGuest(s, vol, typ, vmid, nodeName, target, disks, delayed, unique, start)
		return "OK"
	})
	if typ == "lxc" {
		// pve-container src/PVE/API2/LXC.pm create_vm prints this first.
		t.log = append(t.log, fmt.Sprintf("recovering backed-up configuration from '%s'", archive))
	} else {
		// qemu-server src/PVE/QemuServer.pm restore_vma_archive prints
		// the extract command after this prefix; the fake the volid.
		t.log = append(t.log, fmt.Sprintf("restore vma archive: %s", archive))
	}
	return t.upid, nil
}

// ctMountParam is pve-container src/PVE/API2/LXC.pm create_vm's $mp_param
// for a create or a restore: rootfs= and mpN= as given, a bare size going
// on storage= (default "local"); nil when none is given (a restore's
// storage-only mode). Mount points without rootfs are refused, and every
// volume's storage must exist and hold container directories.
//
// Given any, a restore makes exactly those disks (create_disks) and takes
// no mount point from the archive: storage-only mode is off, and
// src/PVE/LXC/Create.pm sanitize_and_merge_config skips the archived
// rootfs and mpN.
func (s *Server) ctMountParam(rc *reqCtx, defStorage string) (map[string]string, *apiError) {
	if defStorage == "" {
		defStorage = "local"
	}
	var mpParam map[string]string
	for k := range rc.p {
		if k != "rootfs" && !lxcMountKeyRE.MatchString(k) {
			continue
		}
		if mpParam == nil {
			mpParam = map[string]string{}
		}
		v := rc.str(k)
		if bareSizeRE.MatchString(v) {
			v = defStorage + ":" + v
		}
		mpParam[k] = v
	}
	if mpParam != nil && !hasKey(mpParam, "rootfs") {
		return nil, errf(500, "mount points configured, but 'rootfs' not set - aborting")
	}
	// create_vm's foreach_volume over $mp_param: a volume's storage
	// gets $check_and_activate_storage. (Its "Only root can pass
	// arbitrary filesystem paths." for a bind or device mount is never
	// reached: check_ct_modify_config_perm, run before, refused it already.)
	for _, k := range lxcVolumeKeys(mpParam) {
		vol, _ := splitMountpoint(mpParam[k])
		if strings.HasPrefix(vol, "/") {
			continue
		}
		// pve-storage src/PVE/Storage.pm parse_volume_id
		sid, _, ok := strings.Cut(vol, ":")
		if !ok || sid == "" {
			return nil, errf(500, "unable to parse volume ID '%s'", vol)
		}
		if err := s.checkRootdirStorage(sid); err != nil {
			return nil, err
		}
	}
	return mpParam, nil
}

// checkRootdirStorage is pve-container src/PVE/API2/LXC.pm create_vm
// $check_and_activate_storage: pve-storage storage_check_enabled →
// storage_config, then the rootdir content check.
func (s *Server) checkRootdirStorage(sid string) *apiError {
	st := s.storages[sid]
	if st == nil {
		return errf(500, "storage '%s' does not exist", sid)
	}
	if !slices.Contains(strings.Split(st.config["content"], ","), "rootdir") {
		return paramErr(map[string]string{"storage": fmt.Sprintf("storage '%s' does not support container directories", sid)})
	}
	return nil
}

// lxcMountKeyRE matches a container mount point key (pve-container
// src/PVE/LXC/Config.pm valid_volume_keys: mp0 … mp255).
var lxcMountKeyRE = regexp.MustCompile(`^mp(0|[1-9][0-9]{0,2})$`)

// bareSizeRE is create_vm's "simple number" rootfs/mpN value, a size in GiB
// that goes on storage=.
var bareSizeRE = regexp.MustCompile(`^\d+(\.\d+)?$`)

// newDiskRE is pve-container src/PVE/LXC.pm $NEW_DISK_RE: STORAGE:SIZE (GiB)
// asks create_disks for a new volume.
var newDiskRE = regexp.MustCompile(`^([^:\s]+):(\d+(\.\d+)?)$`)

// lxcVolumeKeys lists the mount point keys of m in pve-container
// src/PVE/LXC/Config.pm valid_volume_keys order (rootfs, mp0, mp1, …), the
// order foreach_volume visits them.
func lxcVolumeKeys(m map[string]string) []string {
	var keys []string
	if hasKey(m, "rootfs") {
		keys = append(keys, "rootfs")
	}
	var mps []int
	for k := range m {
		if lxcMountKeyRE.MatchString(k) {
			n, _ := strconv.Atoi(k[2:])
			mps = append(mps, n)
		}
	}
	slices.Sort(mps)
	for _, n := range mps {
		keys = append(keys, "mp"+strconv.Itoa(n))
	}
	return keys
}

// splitMountpoint splits a mount point property string into its volume
// (the default key, or volume=) and its other options.
func splitMountpoint(v string) (string, map[string]string) {
	vol, opts := "", map[string]string{}
	for i, part := range strings.Split(v, ",") {
		k, val, ok := strings.Cut(part, "=")
		switch {
		case !ok && i == 0:
			vol = part
		case k == "volume":
			vol = val
		case ok:
			opts[k] = val
		}
	}
	return vol, opts
}

// printMountpoint is pve-container src/PVE/LXC/Config.pm
// print_ct_mountpoint → pve-common src/PVE/JSONSchema.pm
// print_property_string: the volume first, then the required mp (mount
// points only; rootfs skips it), then the other options sorted by key.
func printMountpoint(key, vol string, opts map[string]string) string {
	out := vol
	if mp, ok := opts["mp"]; ok && key != "rootfs" {
		out += ",mp=" + mp
	}
	keys := make([]string, 0, len(opts))
	for k := range opts {
		if k != "mp" {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	for _, k := range keys {
		out += "," + k + "=" + opts[k]
	}
	return out
}

// formatDiskSize is pve-common src/PVE/JSONSchema.pm format_size: bytes in
// the largest unit that divides them exactly.
func formatDiskSize(b int64) string {
	for _, u := range []string{"", "K", "M", "G"} {
		if b%1024 != 0 {
			return strconv.FormatInt(b, 10) + u
		}
		b /= 1024
	}
	return strconv.FormatInt(b, 10) + "T"
}

// createDisks is pve-container src/PVE/LXC.pm create_disks for the fake: a
// STORAGE:SIZE volume becomes a new disk on that storage, named as
// alloc_disk names it for the storage's type (diskAllocator.allocCT), with
// size= set to SIZE GiB rounded down to MiB; any other volume is kept as
// given.
func createDisks(cfg map[string]string, a *diskAllocator, mpParam map[string]string) {
	for _, k := range lxcVolumeKeys(mpParam) {
		vol, opts := splitMountpoint(mpParam[k])
		if m := newDiskRE.FindStringSubmatch(vol); m != nil {
			sizeKB := diskSizeKB(m[2])
			vol = a.allocCT(m[1], sizeKB)
			opts["size"] = formatDiskSize(sizeKB * 1024)
		}
		cfg[k] = printMountpoint(k, vol, opts)
	}
}

// archivedConfig is the config inside a backup archive: the snapshot the
// fake took when it made the backup, else (an archive added for a guest
// that did not exist) the guest's current config, or a bare one if that
// guest is gone.
func archivedConfig(s *Server, vol *volume, typ string) map[string]string {
	if vol.config != nil {
		return vol.config
	}
	if g := s.guests[vol.vmid]; g != nil {
		return g.config
	}
	if typ == "lxc" {
		return map[string]string{"rootfs": "local-lvm:vm-0-disk-0,size=8G"}
	}
	return map[string]string{"scsi0": "local-lvm:vm-0-disk-0,size=8G"}
}

// archivedMounts is pve-container src/PVE/API2/LXC.pm create_vm's
// storage-only restore (no rootfs= given): every mount point of the
// archived config comes back. A volume one (backed up or not: vzdump
// archives the whole config, src/PVE/VZDump/LXC.pm assemble) becomes a new
// disk on storage at its archived size, STORAGE:GiB for create_disks; a
// bind or device one is kept as it was and written after extraction
// (delayed), for root@pam only. The message is the worker's refusal.
func archivedMounts(src map[string]string, storage string, root bool) (disks, delayed map[string]string, msg string) {
	if !hasKey(src, "rootfs") {
		return nil, nil, "rootfs configuration could not be recovered, please check and specify manually!"
	}
	disks, delayed = map[string]string{}, map[string]string{}
	for _, k := range lxcVolumeKeys(src) {
		vol, opts := splitMountpoint(src[k])
		if strings.HasPrefix(vol, "/") {
			// src/PVE/LXC/Config.pm classify_mountpoint
			kind := "bind"
			if strings.HasPrefix(vol, "/dev/") {
				kind = "device"
			}
			if k == "rootfs" {
				return nil, nil, fmt.Sprintf("restoring rootfs to %s mount is only possible by specifying -rootfs manually!", kind)
			}
			if !root {
				return nil, nil, fmt.Sprintf("restoring '%s' to %s mount is only possible for root", k, kind)
			}
			delayed[k] = printMountpoint(k, vol, opts)
			continue
		}
		size, ok := parseDiskSize(opts["size"])
		if !ok {
			return nil, nil, fmt.Sprintf("unable to detect disk size - please specify %s (size)", k)
		}
		delete(opts, "size")
		gib := strconv.FormatFloat(float64(size)/(1<<30), 'f', -1, 64)
		disks[k] = printMountpoint(k, storage+":"+gib, opts)
	}
	return disks, delayed, ""
}

// parseDiskSize is pve-common src/PVE/JSONSchema.pm parse_size: a number
// with an optional K/M/G/T (or KiB…TiB) suffix, in bytes.
func parseDiskSize(v string) (int64, bool) {
	m := diskSizeRE.FindStringSubmatch(v)
	if m == nil {
		return 0, false
	}
	n, _ := strconv.ParseFloat(m[1], 64)
	switch strings.TrimSuffix(m[3], "iB") {
	case "K":
		n *= 1 << 10
	case "M":
		n *= 1 << 20
	case "G":
		n *= 1 << 30
	case "T":
		n *= 1 << 40
	}
	return int64(n), true
}

var diskSizeRE = regexp.MustCompile(`^(\d+(\.\d+)?)([KMGT](?:iB)?)?$`)

// restoredGuest builds the guest a successful restore leaves from the
// archived config (archivedConfig). A container gets the disks in mpParam
// (the request's rootfs= and mpN=, or the archived ones, archivedMounts)
// and the delayed bind/device mounts; sanitize_and_merge_config takes no
// other mount point from the archive (see restoreGuest).
func restoredGuest(s *Server, vol *volume, typ string, vmid int, nodeName, target string, mpParam, delayed map[string]string, unique, start bool) *guest {
	src := archivedConfig(s, vol, typ)
	cfg := map[string]string{}
	alloc := newDiskAllocator(s, vmid)
	if g := s.guests[vmid]; typ == "lxc" && g != nil {
		// pve-container src/PVE/API2/LXC.pm create_vm makes the new disks
		// (create_disks) before it destroys a forced-over container's
		// old ones, so their numbers are taken. qemu-server's
		// restore_vma_archive destroys the old VM first.
		alloc.seed(g.config)
	}
	// Disks are numbered in the order they are restored: a container's in
	// foreach_volume order (rootfs, mp0, mp1, …; pve-container
	// src/PVE/LXC/Config.pm valid_volume_keys). The fake takes a VM's in
	// key order.
	var keys []string
	if typ == "lxc" {
		keys = lxcVolumeKeys(src)
	}
	for _, k := range slices.Sorted(maps.Keys(src)) {
		if !slices.Contains(keys, k) {
			keys = append(keys, k)
		}
	}
	for _, k := range keys {
		v := src[k]
		if k == "digest" || k == "lock" {
			continue
		}
		if typ == "lxc" && (k == "rootfs" || lxcMountKeyRE.MatchString(k)) {
			continue // sanitize_and_merge_config: "don't recover mountpoints"
		}
		if restoreDriveRE.MatchString(k) {
			d := archivedDrive(k, v, target)
			switch d.kind {
			case driveKept:
				cfg[k] = v
			case driveNew:
				// qemu-server src/PVE/QemuServer.pm
				// restore_allocate_devices: vdisk_alloc on the disk's
				// storage in the archived volume's format if that
				// storage takes it (resolve_format_hint).
				cfg[k] = alloc.alloc(d.storage, volumeFormat(d.file))
			case driveCloudinit:
				// restore_allocate_devices names a cloud-init disk
				// vm-VMID-cloudinit, with the format as extension on a
				// storage with a path.
				cfg[k] = alloc.cloudinit(d.storage, volumeFormat(d.file))
			}
			if d.kind == driveNew || d.kind == driveCloudinit {
				// restore_update_config_line then drops format= ("format
				// can change on restore").
				if opts := dropOption(d.opts, "format"); opts != "" {
					cfg[k] += "," + opts
				}
			}
			continue
		}
		if unique && strings.HasPrefix(k, "net") {
			v = newMAC(v, vmid)
		}
		cfg[k] = v
	}
	if typ == "lxc" {
		createDisks(cfg, alloc, mpParam)
		maps.Copy(cfg, delayed)
	}
	g := &guest{vmid: vmid, node: nodeName, typ: typ, status: "stopped", config: cfg}
	if start {
		g.status, g.started = "running", s.clock()
	}
	return g
}

// How a VM restore treats an archived drive.
const (
	driveSkipped   = iota // not in the archive, not in the restored config
	driveKept             // kept as archived (a cdrom)
	driveNew              // a new disk with the archived data
	driveCloudinit        // a new cloud-init disk
)

type restoreDrive struct {
	kind                int
	storage, file, opts string
}

// cloudinitRE is qemu-server src/PVE/QemuServer/Drive.pm drive_is_cloudinit.
var cloudinitRE = regexp.MustCompile(`[:/](vm-\d+-)?cloudinit(\.(raw|qcow2|qed|vmdk|cloop|cow|vpc|vdi))?$`)

// archivedDrive classifies a drive of the archived VM config for a
// restore: a backup=0 or passthrough drive is not in the archive (the fake
// keeps no passthrough data), a cdrom stays as it was, unless it is a
// cloud-init drive on ide/sata/scsi, which qemu-server
// src/PVE/QemuServer.pm $parse_backup_hints allocates anew; every other
// drive is a new disk ("#qmdump#map:…"). Its storage is storage= if given,
// else the archived volume's own (parse_backup_hints: an empty one is
// "local").
func archivedDrive(key, v, target string) restoreDrive {
	file, opts, _ := strings.Cut(v, ",")
	file = strings.TrimPrefix(file, "file=")
	o := "," + opts + ","
	d := restoreDrive{file: file, opts: opts, storage: target}
	if d.storage == "" {
		d.storage, _, _ = strings.Cut(file, ":")
		if d.storage == "" || strings.HasPrefix(file, "/") {
			d.storage = "local"
		}
	}
	switch {
	case strings.Contains(o, ",media=cdrom,"):
		d.kind = driveKept
		if cloudinitRE.MatchString(file) && !strings.HasPrefix(key, "virtio") && !strings.HasPrefix(key, "efidisk") && !strings.HasPrefix(key, "tpmstate") {
			d.kind = driveCloudinit
		}
	case strings.HasPrefix(file, "/"), strings.Contains(o, ",backup=0,"):
		d.kind = driveSkipped
	default:
		d.kind = driveNew
	}
	return d
}

// vmRestoreStorageErr is qemu-server src/PVE/QemuServer.pm
// restore_vma_archive → $parse_backup_hints: every disk the restore makes
// needs its storage (pve-storage storage_config) with content images
// ($check_storage), checked in config order.
func (s *Server) vmRestoreStorageErr(src map[string]string, target string) string {
	for _, k := range slices.Sorted(maps.Keys(src)) {
		if !restoreDriveRE.MatchString(k) {
			continue
		}
		d := archivedDrive(k, src[k], target)
		if d.kind != driveNew && d.kind != driveCloudinit {
			continue
		}
		st := s.storages[d.storage]
		if st == nil {
			return fmt.Sprintf("storage '%s' does not exist", d.storage)
		}
		if !slices.Contains(strings.Split(st.config["content"], ","), "images") {
			return fmt.Sprintf("Content type 'images' is not available on storage '%s'", d.storage)
		}
	}
	return ""
}

// dropOption removes key= from a comma-separated option list.
func dropOption(opts, key string) string {
	var keep []string
	for _, o := range strings.Split(opts, ",") {
		if o != "" && !strings.HasPrefix(o, key+"=") {
			keep = append(keep, o)
		}
	}
	return strings.Join(keep, ",")
}

func hasKey(m map[string]string, k string) bool {
	_, ok := m[k]
	return ok
}

// guestKind is "VM" or "CT", as PVE names a guest in messages.
func guestKind(g *guest) string {
	if g.typ == "qemu" {
		return "VM"
	}
	return "CT"
}

// archivePath is where pve-storage's abs_filesystem_path finds a backup
// volume: <storage path>/dump/<file> (network storages mount at
// /mnt/pve/<id>).
func archivePath(st *storage, volid string) string {
	dir := st.config["path"]
	if dir == "" {
		dir = "/mnt/pve/" + st.id
	}
	_, name, _ := strings.Cut(volid, ":backup/")
	return dir + "/dump/" + name
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
	// Protection first, then running, in both: qemu-server destroy_vm
	// (check_protection($conf, "can't remove VM $vmid"), then "… is running
	// - destroy failed") and pve-container destroy_vm ($early_checks, then
	// $running_error_msg); check_protection appends " - protection mode
	// enabled" (pve-guest-common src/PVE/AbstractConfig.pm).
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
