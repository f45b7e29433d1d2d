package omvtest

import (
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"
)

type user struct {
	name, password string
	uid            int
	email, comment string
	groups         []string
	sshkeys        []string
	disallow       bool
	system         bool
}

type group struct {
	name    string
	gid     int
	comment string
}

type disk struct {
	dev, model, serial string
	size               int64
	root, smart        bool
	status             string
	attrs              []map[string]any
}

type filesystem struct {
	uuid, dev, parent, label, typ string
	size, avail                   int64
	creating                      bool // mkfs job still running
	mounted                       bool // fstab applied
}

type mountpoint struct{ uuid, fsname, dir, typ, opts string }

type priv struct {
	typ, name string
	perms     int
}

type folder struct {
	uuid, name, mntentref, reldirpath, comment, mode string
	privs                                            []priv
}

type model struct {
	users   map[string]*user
	groups  map[string]*group
	disks   []*disk
	arrays  []*array
	fs      []*filesystem
	mounts  []mountpoint
	folders []*folder
	smb     map[string]any
	shares  []map[string]any
	quotas  map[string]map[string]int64 // fs uuid → "user:name" → KiB
	// exported is the set of SMB share names Samba serves: it changes only
	// when the samba module is applied.
	exported map[string]bool
}

// clone copies the parts of the database revertChanges restores.
func (m *model) clone() *model {
	c := *m
	c.folders = nil
	for _, f := range m.folders {
		nf := *f
		nf.privs = append([]priv(nil), f.privs...)
		c.folders = append(c.folders, &nf)
	}
	c.smb = copyMap(m.smb)
	c.shares = nil
	for _, sh := range m.shares {
		c.shares = append(c.shares, copyMap(sh))
	}
	c.quotas = map[string]map[string]int64{}
	for k, v := range m.quotas {
		c.quotas[k] = map[string]int64{}
		for k2, v2 := range v {
			c.quotas[k][k2] = v2
		}
	}
	return &c
}

func copyMap(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func smartAttrs() []map[string]any {
	mk := func(id int, name string, val, worst, thr int, raw string, pre bool) map[string]any {
		return map[string]any{"id": id, "attrname": name, "flags": "PO--CK", "value": val, "worst": worst,
			"threshold": thr, "whenfailed": "-", "rawvalue": raw, "description": name, "prefailure": pre, "assessment": "GOOD"}
	}
	return []map[string]any{
		mk(5, "Reallocated_Sector_Ct", 100, 100, 10, "0", true),
		mk(9, "Power_On_Hours", 98, 98, 0, "8123", false),
		mk(177, "Wear_Leveling_Count", 97, 97, 0, "31", true),
		mk(194, "Temperature_Celsius", 67, 55, 0, "33", false),
	}
}

func seed(now time.Time) *model {
	m := &model{users: map[string]*user{}, groups: map[string]*group{}, quotas: map[string]map[string]int64{},
		exported: map[string]bool{}}
	m.users[AdminUser] = &user{name: AdminUser, password: AdminPassword, uid: 998, system: true,
		groups: []string{"openmediavault-admin"}, sshkeys: []string{}}
	m.users["proxmox"] = &user{name: "proxmox", password: ProxmoxPassword, uid: 1000, groups: []string{"users"}, sshkeys: []string{}}
	m.users["docker"] = &user{name: "docker", password: DockerPassword, uid: 1001, groups: []string{"users"}, sshkeys: []string{}}
	m.groups["users"] = &group{name: "users", gid: 100}
	for _, d := range []struct{ dev, serial string }{{"/dev/sda", "S6PNNS0T401234A"}, {"/dev/sdb", "S6PNNS0T401235B"}} {
		m.disks = append(m.disks, &disk{dev: d.dev, model: "Samsung SSD 870 EVO 1TB", serial: d.serial,
			size: 1000204886016, smart: true, status: "GOOD", attrs: smartAttrs()})
	}
	m.disks = append(m.disks, &disk{dev: "/dev/vda", model: "", serial: "", size: 34359738368, root: true})
	const kib = 976630464
	m.arrays = []*array{{dev: "md0", name: "nas:0", uuid: "a4266bf7:c671b343:5d6e7f80:91a2b3c4", level: "raid1",
		kib: kib, slots: 2, created: now.Add(-400 * 24 * time.Hour), updated: now.Add(-time.Hour), events: 1234, nextIdx: 2,
		members: []*member{{dev: "sda", slot: 0, idx: 0, state: "sync", major: 8, minor: 0},
			{dev: "sdb", slot: 1, idx: 1, state: "sync", major: 8, minor: 16}}}}
	m.fs = []*filesystem{{uuid: FilesystemUUID, dev: "/dev/md0", parent: "/dev/md0", label: "data", typ: "ext4",
		size: 983349346304, avail: 733349346304, mounted: true}}
	m.mounts = []mountpoint{{uuid: MountPointUUID, fsname: "/dev/disk/by-uuid/" + FilesystemUUID,
		dir: "/srv/dev-disk-by-uuid-" + FilesystemUUID, typ: "ext4",
		opts: "defaults,nofail,user_xattr,usrjquota=aquota.user,grpjquota=aquota.group,jqfmt=vfsv0"}}
	m.smb = map[string]any{"enable": true, "workgroup": "WORKGROUP", "serverstring": "%h server", "loglevel": 0,
		"usesendfile": true, "aio": true, "timeserver": false, "winssupport": false, "winsserver": "",
		"homesenable": false, "homesbrowseable": true, "extraoptions": ""}
	seedFolders := []struct{ uuid, name, share string }{
		{"1a2b3c4d-0001-4000-8000-00000000000a", "backups", "2a2b3c4d-0001-4000-8000-00000000000a"},
		{"1a2b3c4d-0002-4000-8000-00000000000b", "documents", "2a2b3c4d-0002-4000-8000-00000000000b"},
		{"1a2b3c4d-0003-4000-8000-00000000000c", "media", "2a2b3c4d-0003-4000-8000-00000000000c"},
	}
	privs := map[string][]priv{
		"backups":   {{"user", "proxmox", 7}},
		"documents": {{"user", "docker", 5}, {"user", "proxmox", 7}},
		"media":     {{"user", "docker", 7}},
	}
	for _, sf := range seedFolders {
		m.folders = append(m.folders, &folder{uuid: sf.uuid, name: sf.name, mntentref: MountPointUUID,
			reldirpath: sf.name + "/", mode: "770", privs: privs[sf.name]})
		sh := defaultShare()
		sh["uuid"], sh["sharedfolderref"] = sf.share, sf.uuid
		m.shares = append(m.shares, sh)
		m.exported[sf.name] = true
	}
	m.quotas[FilesystemUUID] = map[string]int64{"user:proxmox": 500 << 20, "user:docker": 200 << 20}
	return m
}

func defaultShare() map[string]any {
	return map[string]any{"uuid": "", "enable": true, "sharedfolderref": "", "comment": "", "guest": "no",
		"readonly": false, "browseable": true, "recyclebin": false, "recyclemaxsize": 0, "recyclemaxage": 0,
		"hidedotfiles": true, "inheritacls": true, "inheritpermissions": false, "easupport": false,
		"storedosattributes": false, "hostsallow": "", "hostsdeny": "", "audit": false, "extraoptions": "",
		"timemachine": false, "transportencryption": "auto"}
}

// markDirty records modules that need applyChanges.
func (s *Server) markDirty(mods ...string) {
	for _, m := range mods {
		s.dirty[m] = true
	}
}

var knownModules = map[string]string{
	"sharedfolders": "Shared folders", "systemd": "systemd", "samba": "SMB/CIFS", "avahi": "Framework for Multicast DNS Service Discovery.",
	"fstab": "File systems", "quota": "Quota", "monit": "Monit", "collectd": "Collectd", "mdadm": "Software RAID",
	"initramfs": "initramfs", "smartmontools": "S.M.A.R.T.", "postfix": "Postfix", "ssh": "SSH", "cronapt": "cron-apt",
	"nginx": "Web server",
}

// moduleAliases maps OMV module aliases to names. Listeners mark a module
// dirty through its alias (samba.inc: getModule("zeroconf")->setDirty()),
// but the dirty list, System.getInformation and applyChanges use the
// name: an SMB change leaves "samba" and "avahi" dirty.
var moduleAliases = map[string]string{"zeroconf": "avahi"}

func (s *Server) newUUID() string {
	s.seq++
	id := newID()
	return fmt.Sprintf("%s-%s-4%s-8%s-%s", id[0:8], id[8:12], id[13:16], id[17:20], id[20:32])
}

func pm(p any) map[string]any {
	m, _ := p.(map[string]any)
	if m == nil {
		return map[string]any{}
	}
	return m
}

func pstr(p map[string]any, k string) string { v, _ := p[k].(string); return v }
func pbool(p map[string]any, k string) bool  { v, _ := p[k].(bool); return v }
func pint(p map[string]any, k string) int64  { v, _ := p[k].(float64); return int64(v) }
func pstrs(p map[string]any, k string) []string {
	a, _ := p[k].([]any)
	out := []string{}
	for _, v := range a {
		if s, ok := v.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

// natLess is PHP strnatcmp order, enough for names and numbers.
func natLess(a, b string) bool {
	for a != "" && b != "" {
		ca, cb := rune(a[0]), rune(b[0])
		if unicode.IsDigit(ca) && unicode.IsDigit(cb) {
			i, j := 0, 0
			for i < len(a) && unicode.IsDigit(rune(a[i])) {
				i++
			}
			for j < len(b) && unicode.IsDigit(rune(b[j])) {
				j++
			}
			na, _ := strconv.ParseInt(a[:i], 10, 64)
			nb, _ := strconv.ParseInt(b[:j], 10, 64)
			if na != nb {
				return na < nb
			}
			a, b = a[i:], b[j:]
			continue
		}
		if ca != cb {
			return ca < cb
		}
		a, b = a[1:], b[1:]
	}
	return len(a) < len(b)
}

// paginate applies rpc.common.getlist: search → total → natural sort →
// desc → slice only when start >= 0 and limit >= 0.
func paginate(items []map[string]any, params any) map[string]any {
	p := pm(params)
	if q, ok := p["search"]; ok && q != nil {
		needle := strings.ToLower(fmt.Sprint(q))
		var kept []map[string]any
		for _, it := range items {
			b, _ := json.Marshal(it)
			if strings.Contains(strings.ToLower(string(b)), needle) {
				kept = append(kept, it)
			}
		}
		items = kept
	}
	total := len(items)
	if sf := pstr(p, "sortfield"); sf != "" {
		sort.SliceStable(items, func(i, j int) bool { return natLess(fmt.Sprint(items[i][sf]), fmt.Sprint(items[j][sf])) })
		if d := strings.ToLower(pstr(p, "sortdir")); d == "desc" {
			for i, j := 0, len(items)-1; i < j; i, j = i+1, j-1 {
				items[i], items[j] = items[j], items[i]
			}
		}
	}
	start := pint(p, "start")
	limit := int64(-1)
	if l, ok := p["limit"].(float64); ok {
		limit = int64(l)
	}
	if start >= 0 && limit >= 0 {
		end := start + limit
		if start > int64(len(items)) {
			start = int64(len(items))
		}
		if end > int64(len(items)) {
			end = int64(len(items))
		}
		items = items[start:end]
	}
	if items == nil {
		items = []map[string]any{}
	}
	return map[string]any{"total": total, "data": items}
}

func xpathErr(id string) *rpcError {
	return errf(500, "Failed to execute XPath query '//system/shares/sharedfolder[uuid='%s']'.", id)
}

func (s *Server) folderByUUID(id string) *folder {
	for _, f := range s.m.folders {
		if f.uuid == id {
			return f
		}
	}
	return nil
}

func (f *folder) object(s *Server) map[string]any {
	privs := []any{}
	for _, p := range f.privs {
		privs = append(privs, map[string]any{"type": p.typ, "name": p.name, "perms": p.perms})
	}
	return map[string]any{"uuid": f.uuid, "name": f.name, "comment": f.comment, "mntentref": f.mntentref,
		"reldirpath": f.reldirpath, "mode": f.mode, "privileges": map[string]any{"privilege": privs}}
}

func (u *user) object() map[string]any {
	return map[string]any{"name": u.name, "uid": u.uid, "gid": 100, "comment": u.comment, "dir": "/home/" + u.name,
		"shell": "/usr/bin/sh", "lastchanged": 19000, "minimum": 0, "maximum": 99999, "warn": 7, "inactive": "",
		"expire": "", "reserved": "", "groups": append([]string{}, u.groups...), "system": u.system, "email": u.email,
		"disallowusermod": u.disallow, "sshpubkeys": append([]string{}, u.sshkeys...)}
}

func (s *Server) groupMembers(name string) []string {
	out := []string{}
	for _, u := range s.m.users {
		for _, g := range u.groups {
			if g == name {
				out = append(out, u.name)
			}
		}
	}
	sort.Strings(out)
	return out
}

var units = []struct {
	name string
	kib  int64
}{{"EiB", 1 << 50}, {"PiB", 1 << 40}, {"TiB", 1 << 30}, {"GiB", 1 << 20}, {"MiB", 1 << 10}, {"KiB", 1}}

// kibToUnit renders stored KiB as OMV's Quota.get does: PHP
// binary_format(kib, fromPrefix KiB, maxPrefix TiB, indexed) divides by
// 1024 with bcdiv at scale 2 (cutting to two decimals at every step)
// while the value is at least 1024, so 1536000 KiB reads 1.46 GiB.
func kibToUnit(k int64) (float64, string) {
	names := [...]string{"KiB", "MiB", "GiB", "TiB"}
	cents, i := k*100, 0
	for cents >= 1024*100 && i < len(names)-1 {
		cents /= 1024
		i++
	}
	return float64(cents) / 100, names[i]
}

// unitToKiB is OMV's binary_convert(v, unit, "KiB") at scale 0: the value
// is cut to a whole number first, so 1.46 GiB is stored as 1 GiB.
func unitToKiB(v float64, unit string) (int64, bool) {
	n := int64(math.Trunc(v))
	if unit == "B" {
		return n / 1024, true
	}
	for _, u := range units {
		if u.name == unit {
			return n * u.kib, true
		}
	}
	return 0, false
}
