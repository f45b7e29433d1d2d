package omvtest

import (
	"fmt"
	"sort"
	"strings"
)

type job struct {
	start    int64
	lines    []string
	revealed int
	buf      string
	done     bool
	fail     string
	action   func() *rpcError
}

// methods returns the RPC handlers by lower-cased service; method names
// are case-sensitive as in OMV. RaidMgmt serves MdMgmt too.
func (s *Server) methods() map[string]map[string]handler {
	return map[string]map[string]handler{
		"system": {
			"getInformation": s.getInformation,
			"noop":           func(any) (any, *rpcError) { return nil, nil },
		},
		"config": {
			"isDirty":        s.isDirty,
			"applyChanges":   func(p any) (any, *rpcError) { return nil, s.apply(p) },
			"applyChangesBg": s.applyBg,
			"revertChanges":  func(any) (any, *rpcError) { s.revert(); return nil, nil },
		},
		"exec": {
			"getOutput": s.getOutput,
			"isRunning": s.isRunning,
			"stop": func(p any) (any, *rpcError) {
				name := pstr(pm(p), "filename")
				if s.jobs[name] == nil {
					return nil, errf(500, "Failed to open file (filename=%s, mode=r).", name)
				}
				delete(s.jobs, name)
				return nil, nil
			},
			"enumerate": func(any) (any, *rpcError) {
				out := map[string]any{}
				for name, j := range s.jobs {
					if !j.done {
						out[name] = map[string]any{"startTime": j.start}
					}
				}
				return out, nil
			},
		},
		"diskmgmt": {"enumerateDevices": s.enumerateDisks},
		"smart": {
			"getList":       s.smartList,
			"getAttributes": s.smartAttributes,
		},
		"raidmgmt": {
			"enumerateDevices": func(any) (any, *rpcError) { return s.raidObjects(), nil },
			"getList":          func(p any) (any, *rpcError) { return paginate(s.raidObjects(), p), nil },
			"getDetail":        s.raidDetail,
			"create":           s.raidCreate,
		},
		"filesystemmgmt": {"getList": s.fsList, "create": s.fsCreate, "setMountPoint": s.fsSetMountPoint},
		"fstab":          {"enumerateEntries": s.fstabEntries},
		"sharemgmt": {
			"getList":       s.folderList,
			"set":           s.folderSet,
			"delete":        s.folderDelete,
			"getPrivileges": s.getPrivileges,
			"setPrivileges": s.setPrivileges,
		},
		"smb": {
			"getSettings":  func(any) (any, *rpcError) { return copyMap(s.m.smb), nil },
			"setSettings":  s.smbSetSettings,
			"getShareList": s.smbShareList,
			"setShare":     s.smbSetShare,
			"deleteShare":  s.smbDeleteShare,
			// emptyRecycleBin {uuid} empties a share's recycle bin in the
			// background; refused while samba is dirty (smb.inc).
			"emptyRecycleBin": func(p any) (any, *rpcError) {
				if s.dirty["samba"] {
					return nil, errf(500, "Please apply the configuration changes first.")
				}
				id := pstr(pm(p), "uuid")
				for _, sh := range s.m.shares {
					if sh["uuid"] == id {
						return s.startJob(nil), nil
					}
				}
				return nil, errf(500, "Failed to execute XPath query '//services/smb/shares/share[uuid='%s']'.", id)
			},
			"getStats": func(any) (any, *rpcError) {
				if s.dirty["samba"] {
					return nil, errf(500, "Please apply the configuration changes first.")
				}
				return "Samba version 4.13.13-Debian\n", nil
			},
		},
		"usermgmt": {
			"getUser":     s.getUser,
			"getUserList": s.getUserList,
			"setUser":     s.setUser,
			"deleteUser":  s.deleteUser,
			"getGroup":    s.getGroup,
			"setGroup":    s.setGroup,
			"deleteGroup": s.deleteGroup,
		},
		"quota": {
			"get": s.quotaGet,
			"set": s.quotaSet,
		},
	}
}

func (s *Server) getInformation(any) (any, *rpcError) {
	dm := map[string]any{}
	for k := range s.dirty {
		dm[k] = knownModules[k]
	}
	var dirtyModules any = dm
	if len(dm) == 0 {
		dirtyModules = []any{} // PHP encodes an empty array as []
	}
	info := map[string]any{"ts": s.clockNow().Unix(), "time": s.clockNow().Format("Mon 02 Jan 2006 15:04:05 PM MST"),
		"hostname": "nas", "version": s.version.String(), "cpuModelName": "QEMU Virtual CPU",
		"memTotal": "4102500352", "memFree": "2051250176", "memUsed": "2051250176", "memAvailable": "3051250176",
		"memUtilization": 0.5, "kernel": "Linux 6.1.0-18-amd64", "uptime": 86400.5, "loadAverage": map[string]any{"1min": 0.1, "5min": 0.1, "15min": 0.1},
		"configDirty": len(s.dirty) > 0, "dirtyModules": dirtyModules, "rebootRequired": false,
		"availablePkgUpdates": 0, "displayWelcomeMessage": false}
	if s.version == V6 {
		info["cpuUsage"] = 3.5
	} else {
		info["cpuUtilization"], info["cpuCores"], info["cpuMhz"] = 3.5, 2, 2400
	}
	return info, nil
}

// isDirty is Config.isDirty: 7.x and later take an optional modules list
// and answer for those only.
func (s *Server) isDirty(params any) (any, *rpcError) {
	if s.version == V6 {
		return len(s.dirty) > 0, nil // 6.x takes and checks no params
	}
	if p, ok := params.(map[string]any); ok {
		if m := validate(*obj(map[string]prop{"modules": {typ: "array", items: &prop{typ: "string"}}}), p, ""); m != "" {
			return nil, errf(400, "%s", m)
		}
	}
	if mods := pstrs(pm(params), "modules"); len(mods) > 0 {
		for _, m := range mods {
			if s.dirty[m] {
				return true, nil
			}
		}
		return false, nil
	}
	return len(s.dirty) > 0, nil
}

func (s *Server) apply(params any) *rpcError {
	p := pm(params)
	mods := pstrs(p, "modules")
	force := pbool(p, "force")
	// config.inc skips a listed module that is not dirty before it looks
	// the module up, so an unknown name only fails with force (no unknown
	// module can be dirty). A listed alias ("zeroconf") never matches the
	// dirty list, which holds module names ("avahi").
	for _, m := range mods {
		if _, ok := knownModules[m]; !ok && force && moduleAliases[m] == "" {
			return errf(500, "Module '%s' not found.", m)
		}
	}
	var deploy []string
	if len(mods) == 0 {
		if force {
			for m := range knownModules {
				deploy = append(deploy, m)
			}
		} else {
			deploy = s.dirtyList()
		}
	} else {
		for _, m := range mods {
			if force || s.dirty[m] {
				deploy = append(deploy, m)
			}
		}
	}
	for _, m := range deploy {
		delete(s.dirty, m)
		if m == "fstab" {
			for _, f := range s.m.fs {
				for _, mp := range s.m.mounts {
					if strings.HasSuffix(mp.fsname, f.uuid) {
						f.mounted = true
					}
				}
			}
		}
		if m == "samba" {
			s.m.exported = map[string]bool{}
			for _, sh := range s.m.shares {
				if f := s.folderByUUID(pstr(sh, "sharedfolderref")); f != nil && pbool(sh, "enable") {
					s.m.exported[f.name] = true
				}
			}
		}
	}
	if len(s.dirty) == 0 {
		s.snap = nil
	}
	return nil
}

func (s *Server) revert() {
	if s.snap != nil {
		users := s.m.users
		groups, disks, arrays, fs, mounts, exported := s.m.groups, s.m.disks, s.m.arrays, s.m.fs, s.m.mounts, s.m.exported
		s.m = s.snap
		s.m.users, s.m.groups, s.m.disks, s.m.arrays, s.m.fs, s.m.mounts, s.m.exported = users, groups, disks, arrays, fs, mounts, exported
	}
	s.snap = nil
	s.dirty = map[string]bool{}
}

func (s *Server) startJob(action func() *rpcError) string {
	name := "/tmp/bgstatus" + newID()[:6]
	s.jobs[name] = &job{start: s.clockNow().Unix(), lines: append([]string(nil), s.jobLines...), fail: s.jobFail, action: action}
	return name
}

// applyBg is callMethodBg("applyChanges"): errors of the apply surface as
// the job's failure, read through Exec.getOutput.
func (s *Server) applyBg(p any) (any, *rpcError) {
	return s.startJob(func() *rpcError { return s.apply(p) }), nil
}

// step reveals one more line of output per poll; at the end the job's
// action runs (so an apply takes effect when the job finishes).
func (j *job) step() {
	if j.done {
		return
	}
	if j.revealed < len(j.lines) {
		j.buf += j.lines[j.revealed]
		j.revealed++
	}
	if j.revealed == len(j.lines) {
		j.done = true
		if j.fail == "" && j.action != nil {
			if err := j.action(); err != nil {
				j.fail = err.msg
			}
		}
	}
}

func (s *Server) getOutput(params any) (any, *rpcError) {
	p := pm(params)
	name := pstr(p, "filename")
	j := s.jobs[name]
	if j == nil {
		return nil, errf(500, "Failed to open file (filename=%s, mode=r).", name)
	}
	j.step()
	if j.done && j.fail != "" {
		return nil, errf(500, "%s", j.fail)
	}
	pos := pint(p, "pos")
	if pos > int64(len(j.buf)) {
		pos = int64(len(j.buf))
	}
	out := j.buf[pos:]
	pending := false
	if l := pint(p, "length"); l > 0 && int64(len(out)) > l {
		out, pending = out[:l], true
	}
	npos := pos + int64(len(out))
	if j.done && !pending {
		delete(s.jobs, name)
	}
	return map[string]any{"filename": name, "pos": npos, "output": out, "pendingOutput": pending, "running": !j.done}, nil
}

func (s *Server) isRunning(params any) (any, *rpcError) {
	name := pstr(pm(params), "filename")
	j := s.jobs[name]
	if j == nil {
		return nil, errf(500, "Failed to open file (filename=%s, mode=r).", name)
	}
	if j.done && j.fail != "" {
		return nil, errf(500, "%s", j.fail)
	}
	return map[string]any{"filename": name, "running": !j.done}, nil
}

func (s *Server) enumerateDisks(any) (any, *rpcError) {
	out := []map[string]any{}
	for _, d := range s.m.disks {
		name := strings.TrimPrefix(d.dev, "/dev/")
		out = append(out, map[string]any{"devicename": name, "canonicaldevicefile": d.dev, "devicefile": d.dev,
			"devicelinks": []string{"/dev/disk/by-id/ata-" + strings.ReplaceAll(d.model, " ", "_") + "_" + d.serial},
			"model":       d.model, "size": fmt.Sprint(d.size), "description": fmt.Sprintf("%s [%s, %d GB]", d.model, d.dev, d.size/1e9),
			"vendor": "", "serialnumber": d.serial, "wwn": "", "israid": false, "isroot": d.root, "isreadonly": false})
	}
	return out, nil
}

func (s *Server) smartDisk(dev string) (*disk, *rpcError) {
	for _, d := range s.m.disks {
		if d.dev == dev {
			if !d.smart {
				return nil, errf(500, "S.M.A.R.T. is not supported by the device '%s'.", dev)
			}
			return d, nil
		}
	}
	return nil, errf(500, "Device '%s' not found.", dev)
}

func (s *Server) smartList(p any) (any, *rpcError) {
	items := []map[string]any{}
	for _, d := range s.m.disks {
		if !d.smart {
			continue
		}
		items = append(items, map[string]any{"devicename": strings.TrimPrefix(d.dev, "/dev/"), "devicefile": d.dev,
			"canonicaldevicefile": d.dev, "model": d.model, "size": fmt.Sprint(d.size), "temperature": "33°C",
			"vendor": "", "serialnumber": d.serial, "overallstatus": d.status, "uuid": NewObjectUUID, "monitor": false})
	}
	return paginate(items, p), nil
}

func (s *Server) smartAttributes(p any) (any, *rpcError) {
	d, err := s.smartDisk(pstr(pm(p), "devicefile"))
	if err != nil {
		return nil, err
	}
	out := []map[string]any{}
	for _, a := range d.attrs {
		out = append(out, copyMap(a))
	}
	return out, nil
}

// FailSMART makes a disk's SMART attribute fail now (value below
// threshold, whenfailed FAILING_NOW) and sets the overall status.
func (s *Server) FailSMART(devicefile string, attrID int, overall string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, d := range s.m.disks {
		if d.dev != devicefile {
			continue
		}
		d.status = overall
		for _, a := range d.attrs {
			if a["id"] == attrID {
				a["value"], a["worst"], a["whenfailed"], a["assessment"] = 5, 5, "FAILING_NOW", "BAD_ATTRIBUTE_NOW"
				return nil
			}
		}
		return fmt.Errorf("omvtest: %s has no attribute %d", devicefile, attrID)
	}
	return fmt.Errorf("omvtest: no disk %s", devicefile)
}

func (s *Server) raidObjects() []map[string]any {
	s.m.tickRAID(s.clockNow())
	out := []map[string]any{}
	for _, a := range s.m.arrays {
		var devs []string
		for _, m := range a.members {
			devs = append(devs, "/dev/"+m.dev)
		}
		sort.Strings(devs)
		size := fmt.Sprint(a.kib * 1024)
		o := map[string]any{"_used": true, "name": a.name, "devicefile": "/dev/" + a.dev, "uuid": a.uuid,
			"level": a.level, "numdevices": len(a.members), "devices": devs, "size": size, "state": a.omvState(),
			"description": fmt.Sprintf("Software RAID %s [/dev/%s, %s, %s]", a.name, a.dev, a.level, human(a.kib))}
		if s.version == V85 {
			o["syncaction"] = "idle"
			if a.sync != nil {
				o["syncaction"] = a.sync.action
			}
		}
		out = append(out, o)
	}
	return out
}

func (s *Server) raidDetail(p any) (any, *rpcError) {
	s.m.tickRAID(s.clockNow())
	a, err := s.array(pstr(pm(p), "devicefile"))
	if err != nil {
		return nil, errf(500, "Device '%s' not found.", pstr(pm(p), "devicefile"))
	}
	text := a.detail()
	_, rest, _ := strings.Cut(text, "\n") // OMV drops the "/dev/mdX:" line
	return rest, nil
}

func (s *Server) raidCreate(p any) (any, *rpcError) {
	params := pm(p)
	devs := pstrs(params, "devices")
	name := pstr(params, "name")
	level := pstr(params, "level")
	for _, a := range s.m.arrays {
		if name != "" && a.name == "nas:"+name {
			return nil, errf(500, "The name '%s' already exists.", name)
		}
	}
	kernel := map[string]string{"mirror": "raid1", "stripe": "raid0", "linear": "linear", "raid10": "raid10",
		"raid5": "raid5", "raid6": "raid6"}[level]
	var members []*member
	var size int64
	for i, dv := range devs {
		var found *disk
		for _, d := range s.m.disks {
			if d.dev == dv {
				found = d
			}
		}
		if found == nil || found.root {
			return nil, errf(500, "Failed to execute command 'mdadm --create': device '%s' is not a candidate.", dv)
		}
		for _, a := range s.m.arrays {
			if a.member(dv) != nil {
				return nil, errf(500, "Failed to execute command 'mdadm --create': device '%s' is busy.", dv)
			}
		}
		if size == 0 || found.size < size {
			size = found.size
		}
		members = append(members, &member{dev: strings.TrimPrefix(dv, "/dev/"), slot: i, idx: i, state: "sync", major: 8, minor: 16 * (i + 2)})
	}
	dev := fmt.Sprintf("md%d", len(s.m.arrays))
	a := &array{dev: dev, name: "nas:" + name, uuid: "b1c2d3e4:f5a6b7c8:d9e0f1a2:b3c4d5e6", level: kernel,
		kib: size / 1024, slots: len(devs), members: members, created: s.clockNow(), updated: s.clockNow(), events: 1, nextIdx: len(devs)}
	if kernel == "raid1" || kernel == "raid5" || kernel == "raid6" || kernel == "raid10" {
		a.sync = &syncState{action: "resync", total: a.kib, speed: 200000, last: s.clockNow()}
	}
	s.m.arrays = append(s.m.arrays, a)
	s.markDirty("mdadm", "initramfs")
	return map[string]any{"name": name, "devicefile": "/dev/" + dev, "level": level, "numdevices": len(devs), "devices": devs}, nil
}

func (s *Server) fsList(p any) (any, *rpcError) {
	items := []map[string]any{}
	for _, f := range s.m.fs {
		var mnt mountpoint
		for _, m := range s.m.mounts {
			if strings.HasSuffix(m.fsname, f.uuid) {
				mnt = m
			}
		}
		// Only filesystems with a mount point, or being created, are listed.
		if mnt.uuid == "" && !f.creating {
			continue
		}
		status := 1
		if f.creating {
			status = 2
		}
		used := f.size - f.avail
		items = append(items, map[string]any{"devicename": strings.TrimPrefix(f.dev, "/dev/"), "devicefile": f.dev,
			"predictabledevicefile": "/dev/disk/by-uuid/" + f.uuid, "canonicaldevicefile": f.dev, "parentdevicefile": f.parent,
			"devlinks": []string{}, "uuid": f.uuid, "label": f.label, "type": f.typ, "blocks": fmt.Sprint(f.size / 1024),
			"mounted": f.mounted, "mountpoint": mnt.dir, "used": fmt.Sprintf("%.2f GiB", float64(used)/(1<<30)),
			"available": fmt.Sprint(f.avail), "size": fmt.Sprint(f.size), "percentage": int(used * 100 / f.size),
			"description": f.label, "propposixacl": true, "propquota": true, "propresize": true, "propfstab": true,
			"propreadonly": false, "propcompress": false, "propautodefrag": false, "hasmultipledevices": false,
			"devicefiles": []string{f.dev}, "comment": "", "_readonly": false, "_used": true,
			"usagewarnthreshold": 85, "mountopts": mnt.opts, "status": status})
	}
	return paginate(items, p), nil
}

// fsCreate runs mkfs as a background job (FileSystemMgmt.create is async).
func (s *Server) fsCreate(params any) (any, *rpcError) {
	p := pm(params)
	dev, typ := pstr(p, "devicefile"), pstr(p, "type")
	var size int64
	for _, d := range s.m.disks {
		if d.dev == dev && !d.root {
			size = d.size
		}
	}
	for _, a := range s.m.arrays {
		if "/dev/"+a.dev == dev {
			size = a.kib * 1024
		}
	}
	if size == 0 {
		return nil, errf(500, "Device '%s' not found.", dev)
	}
	for _, f := range s.m.fs {
		if f.dev == dev || f.parent == dev {
			return nil, errf(500, "The device '%s' already has a file system.", dev)
		}
	}
	fs := &filesystem{uuid: s.newUUID(), dev: dev, parent: dev, typ: typ, size: size * 98 / 100, avail: size * 97 / 100, creating: true}
	if !strings.HasPrefix(dev, "/dev/md") {
		fs.dev = dev + "1" // OMV partitions plain disks
	}
	s.m.fs = append(s.m.fs, fs)
	name := "/tmp/bgstatus" + newID()[:6]
	s.jobs[name] = &job{lines: []string{"Creating new partition table ...\n", "mke2fs 1.47.0 (5-Feb-2023)\n",
		"Writing superblocks and filesystem accounting information: done\n"}, fail: s.jobFail,
		action: func() *rpcError { fs.creating = false; return nil }}
	return name, nil
}

func (s *Server) fsSetMountPoint(params any) (any, *rpcError) {
	p := pm(params)
	id := pstr(p, "id")
	fs := s.fsByUUID(id)
	if fs == nil {
		for _, f := range s.m.fs {
			if f.parent == id {
				fs = f
			}
		}
	}
	if fs == nil || fs.creating {
		return nil, errf(500, "No file system found for '%s'.", id)
	}
	for _, m := range s.m.mounts {
		if strings.HasSuffix(m.fsname, fs.uuid) {
			return nil, errf(500, "A mount point already exists for the file system '%s'.", id)
		}
	}
	m := mountpoint{uuid: s.newUUID(), fsname: "/dev/disk/by-uuid/" + fs.uuid, dir: "/srv/dev-disk-by-uuid-" + fs.uuid,
		typ: fs.typ, opts: "defaults,nofail,user_xattr,usrjquota=aquota.user,grpjquota=aquota.group,jqfmt=vfsv0"}
	s.m.mounts = append(s.m.mounts, m)
	s.markDirty("fstab", "quota", "monit", "collectd")
	return map[string]any{"uuid": m.uuid, "fsname": m.fsname, "dir": m.dir, "type": m.typ, "opts": m.opts,
		"freq": 0, "passno": 2, "hidden": false, "usagewarnthreshold": 85, "comment": ""}, nil
}

func (s *Server) fstabEntries(any) (any, *rpcError) {
	out := []map[string]any{}
	for _, m := range s.m.mounts {
		out = append(out, map[string]any{"uuid": m.uuid, "fsname": m.fsname, "dir": m.dir, "type": m.typ, "opts": m.opts,
			"freq": 0, "passno": 2, "hidden": false, "usagewarnthreshold": 85, "comment": ""})
	}
	return out, nil
}

func (s *Server) folderList(p any) (any, *rpcError) {
	items := []map[string]any{}
	for _, f := range s.m.folders {
		o := f.object(s)
		// conf.system.sharedfolder has no mode: only set's reply carries it.
		delete(o, "mode")
		used := false
		for _, sh := range s.m.shares {
			if sh["sharedfolderref"] == f.uuid {
				used = true
			}
		}
		o["_used"] = used
		o["device"] = "/dev/md0"
		o["description"] = fmt.Sprintf("%s [on /dev/md0, %s]", f.name, f.reldirpath)
		o["mntent"] = map[string]any{"devicefile": "/dev/md0", "fsname": "/dev/disk/by-uuid/" + FilesystemUUID,
			"dir": "/srv/dev-disk-by-uuid-" + FilesystemUUID, "type": "ext4", "posixacl": true}
		o["snapshots"] = false
		items = append(items, o)
	}
	return paginate(items, p), nil
}

// validShareName is 8.x's "sharename" format (MS-FSCC): no control
// characters, none of " \ / [ ] : | < > + = ; , * ?, no leading or
// trailing space.
func validShareName(name string) bool {
	if name == "" || strings.HasPrefix(name, " ") || strings.HasSuffix(name, " ") {
		return false
	}
	for _, r := range name {
		if r < 0x20 || strings.ContainsRune(`"\/[]:|<>+=;,*?`, r) {
			return false
		}
	}
	return true
}

func (s *Server) folderSet(params any) (any, *rpcError) {
	p := pm(params)
	id, name, rel := pstr(p, "uuid"), pstr(p, "name"), pstr(p, "reldirpath")
	if s.version == V85 && !validShareName(name) {
		return nil, errf(400, "name: The value '%s' is not a valid share name.", name)
	}
	if strings.Contains(rel, "..") {
		return nil, errf(500, "The field 'reldirpath' contains forbidden two-dot symbols.")
	}
	if !strings.HasSuffix(rel, "/") {
		rel += "/"
	}
	mnt := pstr(p, "mntentref")
	found := false
	for _, m := range s.m.mounts {
		found = found || m.uuid == mnt
	}
	if !found {
		return nil, errf(500, "Failed to execute XPath query '//system/fstab/mntent[uuid='%s']'.", mnt)
	}
	// sharemgmt.inc chmods the directory only when it creates it; the
	// mode is not stored, just echoed in the reply.
	mode := pstr(p, "mode")
	if mode == "" {
		mode = "775"
	}
	var f *folder
	if id != NewObjectUUID {
		if f = s.folderByUUID(id); f == nil {
			return nil, xpathErr(id)
		}
	}
	for _, o := range s.m.folders {
		if o == f {
			continue
		}
		if o.name == name {
			return nil, errf(500, "A shared folder with the name '%s' already exists.", name)
		}
		if o.mntentref == mnt && o.reldirpath == rel {
			return nil, errf(500, "The shared folder '%s' already uses the path '%s'.", o.name, rel)
		}
	}
	if f == nil {
		f = &folder{uuid: s.newUUID()}
		s.m.folders = append(s.m.folders, f)
	}
	f.name, f.reldirpath, f.comment, f.mntentref, f.mode = name, rel, pstr(p, "comment"), mnt, mode
	mods := []string{"sharedfolders", "systemd"}
	for _, sh := range s.m.shares {
		if sh["sharedfolderref"] == f.uuid {
			mods = append(mods, "samba")
		}
	}
	s.markDirty(mods...)
	return f.object(s), nil
}

func (s *Server) folderDelete(params any) (any, *rpcError) {
	id := pstr(pm(params), "uuid")
	for i, f := range s.m.folders {
		if f.uuid != id {
			continue
		}
		for _, sh := range s.m.shares {
			if sh["sharedfolderref"] == id {
				return nil, errf(500, "The configuration object 'conf.system.sharedfolder' is referenced.")
			}
		}
		s.m.folders = append(s.m.folders[:i], s.m.folders[i+1:]...)
		s.markDirty("sharedfolders", "systemd")
		return f.object(s), nil
	}
	return nil, xpathErr(id)
}

func (s *Server) getPrivileges(params any) (any, *rpcError) {
	id := pstr(pm(params), "uuid")
	f := s.folderByUUID(id)
	if f == nil {
		return nil, xpathErr(id)
	}
	out := []map[string]any{}
	var names []string
	for n, u := range s.m.users {
		if !u.system {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	entry := func(typ, name string) map[string]any {
		var perms any
		for _, p := range f.privs {
			if p.typ == typ && p.name == name {
				perms = p.perms
			}
		}
		return map[string]any{"type": typ, "name": name, "perms": perms}
	}
	for _, n := range names {
		out = append(out, entry("user", n))
	}
	var groups []string
	for n := range s.m.groups {
		groups = append(groups, n)
	}
	sort.Strings(groups)
	for _, g := range groups {
		out = append(out, entry("group", g))
	}
	return out, nil
}

func (s *Server) setPrivileges(params any) (any, *rpcError) {
	p := pm(params)
	id := pstr(p, "uuid")
	f := s.folderByUUID(id)
	if f == nil {
		return nil, xpathErr(id)
	}
	list, _ := p["privileges"].([]any)
	var privs []priv
	for _, it := range list {
		e := pm(it)
		typ, name := pstr(e, "type"), pstr(e, "name")
		if typ == "user" {
			if name == AdminUser {
				return nil, errf(500, "The user '%s' is not allowed.", name)
			}
			if _, ok := s.m.users[name]; !ok {
				return nil, errf(500, "The user '%s' does not exist.", name)
			}
		} else if _, ok := s.m.groups[name]; !ok {
			return nil, errf(500, "The group '%s' does not exist.", name)
		}
		privs = append(privs, priv{typ, name, int(pint(e, "perms"))})
	}
	f.privs = privs
	s.markDirty("samba")
	return nil, nil
}

func (s *Server) smbSetSettings(params any) (any, *rpcError) {
	p := pm(params)
	for k, v := range p {
		if _, ok := s.m.smb[k]; !ok {
			return nil, errf(500, "The property '%s' does not exist in the model 'conf.service.smb'.", k)
		}
		s.m.smb[k] = v
	}
	s.markDirty("samba", "avahi")
	return copyMap(s.m.smb), nil
}

func (s *Server) smbShareList(p any) (any, *rpcError) {
	items := []map[string]any{}
	for _, sh := range s.m.shares {
		o := copyMap(sh)
		if f := s.folderByUUID(pstr(sh, "sharedfolderref")); f != nil {
			o["sharedfoldername"] = f.name
		}
		items = append(items, o)
	}
	return paginate(items, p), nil
}

func (s *Server) smbSetShare(params any) (any, *rpcError) {
	p := pm(params)
	def := defaultShare()
	for k := range p {
		if _, ok := def[k]; !ok {
			return nil, errf(500, "The property '%s' does not exist in the model 'conf.service.smb.share'.", k)
		}
	}
	id, ref := pstr(p, "uuid"), pstr(p, "sharedfolderref")
	if s.folderByUUID(ref) == nil {
		return nil, xpathErr(ref)
	}
	var cur map[string]any
	if id != NewObjectUUID {
		for _, sh := range s.m.shares {
			if sh["uuid"] == id {
				cur = sh
			}
		}
		if cur == nil {
			return nil, errf(500, "Failed to execute XPath query '//services/smb/shares/share[uuid='%s']'.", id)
		}
	}
	for _, sh := range s.m.shares {
		if sh["sharedfolderref"] == ref && (cur == nil || sh["uuid"] != cur["uuid"]) {
			return nil, errf(500, "The share with the shared folder reference '%s' already exists.", ref)
		}
	}
	if cur == nil {
		cur = def
		cur["uuid"] = s.newUUID()
		s.m.shares = append(s.m.shares, cur)
	}
	for k, v := range p {
		if k != "uuid" {
			cur[k] = v
		}
	}
	s.markDirty("samba", "avahi")
	return copyMap(cur), nil
}

func (s *Server) smbDeleteShare(params any) (any, *rpcError) {
	id := pstr(pm(params), "uuid")
	for i, sh := range s.m.shares {
		if sh["uuid"] == id {
			s.m.shares = append(s.m.shares[:i], s.m.shares[i+1:]...)
			s.markDirty("samba", "avahi")
			return sh, nil
		}
	}
	return nil, errf(500, "Failed to execute XPath query '//services/smb/shares/share[uuid='%s']'.", id)
}

// ExportedShares returns the SMB share names Samba serves: pending share
// changes become effective only when the samba module is applied.
func (s *Server) ExportedShares() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for n := range s.m.exported {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

func (s *Server) getUser(params any) (any, *rpcError) {
	name := pstr(pm(params), "name")
	u := s.m.users[name]
	if u == nil {
		return nil, errf(500, "The user '%s' does not exist.", name)
	}
	return u.object(), nil
}

func (s *Server) getUserList(p any) (any, *rpcError) {
	items := []map[string]any{}
	for _, u := range s.m.users {
		if !u.system {
			items = append(items, u.object())
		}
	}
	sort.Slice(items, func(i, j int) bool { return items[i]["name"].(string) < items[j]["name"].(string) })
	return paginate(items, p), nil
}

func (s *Server) setUser(params any) (any, *rpcError) {
	p := pm(params)
	name := pstr(p, "name")
	if u := s.m.users[name]; u != nil && u.system {
		return nil, errf(500, "Unauthorized attempt to modify the system user account '%s'", name)
	}
	for _, g := range pstrs(p, "groups") {
		if _, ok := s.m.groups[g]; !ok && g != "openmediavault-admin" {
			return nil, errf(500, "The group '%s' does not exist.", g)
		}
	}
	u := s.m.users[name]
	if u == nil {
		if pstr(p, "password") == "" {
			return nil, errf(500, "The password must not be empty.")
		}
		u = &user{name: name, uid: 1000 + len(s.m.users)}
		s.m.users[name] = u
	}
	if pw := pstr(p, "password"); pw != "" {
		u.password = pw
	}
	u.email, u.comment = pstr(p, "email"), pstr(p, "comment")
	u.groups = pstrs(p, "groups")
	hadKeys := len(u.sshkeys) > 0
	u.sshkeys = pstrs(p, "sshpubkeys")
	u.disallow = pbool(p, "disallowusermod")
	s.markDirty("postfix")
	if hadKeys || len(u.sshkeys) > 0 {
		s.markDirty("ssh") // ssh.inc onUser: a user with public keys changed
	}
	o := u.object()
	o["password"] = pstr(p, "password") // OMV echoes the password sent
	return o, nil
}

func (s *Server) deleteUser(params any) (any, *rpcError) {
	name := pstr(pm(params), "name")
	u := s.m.users[name]
	if u == nil {
		return nil, errf(500, "The user '%s' does not exist.", name)
	}
	if u.system {
		return nil, errf(500, "Unauthorized attempt to modify the system user account '%s'", name)
	}
	delete(s.m.users, name)
	if len(u.sshkeys) > 0 {
		s.markDirty("ssh")
	}
	for _, f := range s.m.folders {
		var keep []priv
		for _, p := range f.privs {
			if !(p.typ == "user" && p.name == name) {
				keep = append(keep, p)
			}
		}
		f.privs = keep
	}
	s.markDirty("postfix")
	return nil, nil
}

func (s *Server) getGroup(params any) (any, *rpcError) {
	name := pstr(pm(params), "name")
	g := s.m.groups[name]
	if g == nil {
		return nil, errf(500, "The group '%s' does not exist.", name)
	}
	return map[string]any{"name": g.name, "gid": g.gid, "comment": g.comment, "members": s.groupMembers(name)}, nil
}

func (s *Server) setGroup(params any) (any, *rpcError) {
	p := pm(params)
	name := pstr(p, "name")
	g := s.m.groups[name]
	if g == nil {
		g = &group{name: name, gid: 1000 + len(s.m.groups)}
		s.m.groups[name] = g
	}
	g.comment = pstr(p, "comment")
	want := map[string]bool{}
	for _, m := range pstrs(p, "members") {
		if _, ok := s.m.users[m]; !ok {
			return nil, errf(500, "The user '%s' does not exist.", m)
		}
		want[m] = true
	}
	for _, u := range s.m.users {
		var gs []string
		for _, x := range u.groups {
			if x != name {
				gs = append(gs, x)
			}
		}
		if want[u.name] {
			gs = append(gs, name)
		}
		u.groups = gs
	}
	s.markDirty("samba")
	return map[string]any{"name": g.name, "gid": g.gid, "comment": g.comment, "members": s.groupMembers(name)}, nil
}

func (s *Server) deleteGroup(params any) (any, *rpcError) {
	name := pstr(pm(params), "name")
	if s.m.groups[name] == nil {
		return nil, errf(500, "The group '%s' does not exist.", name)
	}
	if len(s.groupMembers(name)) > 0 {
		return nil, errf(500, "The group '%s' is not empty.", name)
	}
	delete(s.m.groups, name)
	s.markDirty("samba")
	return nil, nil
}

func (s *Server) fsByUUID(id string) *filesystem {
	for _, f := range s.m.fs {
		if f.uuid == id || f.dev == id {
			return f
		}
	}
	return nil
}

func (s *Server) quotaGet(params any) (any, *rpcError) {
	id := pstr(pm(params), "uuid")
	if s.fsByUUID(id) == nil {
		return nil, errf(500, "No implementation found for '%s'.", id)
	}
	q := s.m.quotas[id]
	out := []map[string]any{}
	var users []string
	for n, u := range s.m.users {
		if !u.system {
			users = append(users, n)
		}
	}
	sort.Strings(users)
	var groups []string
	for n := range s.m.groups {
		groups = append(groups, n)
	}
	sort.Strings(groups)
	add := func(typ, name string) {
		entry := map[string]any{"type": typ, "name": name, "bused": "0 B", "bhardlimit": 0, "bunit": "MiB"}
		if kib, ok := q[typ+":"+name]; ok {
			entry["bhardlimit"], entry["bunit"] = kibToUnit(kib)
		}
		out = append(out, entry)
	}
	for _, n := range users {
		add("user", n)
	}
	for _, n := range groups {
		add("group", n)
	}
	return out, nil
}

// quotaSet is deliberately unvalidated by schema (OMV's rpc.quota.set schema
// is malformed); it still fails on what the engine would choke on.
func (s *Server) quotaSet(params any) (any, *rpcError) {
	p := pm(params)
	id := pstr(p, "uuid")
	if s.fsByUUID(id) == nil {
		return nil, errf(500, "No implementation found for '%s'.", id)
	}
	list, _ := p["quota"].([]any)
	q := map[string]int64{}
	for _, it := range list {
		e := pm(it)
		lim, ok := e["bhardlimit"].(float64)
		if !ok {
			return nil, errf(500, "Invalid quota limit for '%s'.", pstr(e, "name"))
		}
		kib, ok := unitToKiB(lim, pstr(e, "bunit"))
		if !ok {
			return nil, errf(500, "Invalid unit '%s'.", pstr(e, "bunit"))
		}
		q[pstr(e, "type")+":"+pstr(e, "name")] = kib
	}
	s.m.quotas[id] = q
	s.markDirty("quota")
	return nil, nil
}

// Quota returns the stored hard limit (KiB) of a user on the filesystem.
func (s *Server) Quota(fsUUID, user string) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.m.quotas[fsUUID]["user:"+user]
}
