package omvtest

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

type member struct {
	dev   string // "sda"
	slot  int    // -1 when not in a slot
	idx   int    // descriptor index
	state string // "sync", "faulty", "spare", "rebuilding"
	major int
	minor int
}

type syncState struct {
	action  string // "recovery", "resync", "check", "reshape"
	done    int64  // KiB
	total   int64  // KiB
	speed   int64  // KiB/s
	pending bool
	last    time.Time
}

type array struct {
	dev      string // "md0"
	name     string // "nas:0"
	uuid     string
	level    string // kernel name
	kib      int64
	slots    int
	members  []*member
	sync     *syncState
	inactive bool
	created  time.Time
	updated  time.Time
	events   int
	nextIdx  int
}

func (a *array) working() int {
	n := 0
	for _, m := range a.members {
		if m.state == "sync" {
			n++
		}
	}
	return n
}

func (a *array) slotUp(i int) bool {
	for _, m := range a.members {
		if m.slot == i && m.state == "sync" {
			return true
		}
	}
	return false
}

func (a *array) member(dev string) *member {
	dev = strings.TrimPrefix(dev, "/dev/")
	for _, m := range a.members {
		if m.dev == dev {
			return m
		}
	}
	return nil
}

// tick advances a running sync to now.
func (a *array) tick(now time.Time) {
	sy := a.sync
	if sy == nil || sy.pending || a.inactive {
		return
	}
	el := now.Sub(sy.last)
	if el <= 0 {
		return
	}
	sy.last = now
	sy.done += int64(el.Seconds() * float64(sy.speed))
	if sy.done < sy.total {
		return
	}
	for _, m := range a.members {
		if m.state == "rebuilding" {
			m.state = "sync"
		}
	}
	a.sync = nil
	a.events++
	a.updated = now
}

func (m *model) tickRAID(now time.Time) {
	for _, a := range m.arrays {
		a.tick(now)
	}
}

func bar(done, total int64) string {
	permille := int64(0)
	if total > 0 {
		permille = done * 1000 / total
	}
	k := int(permille / 50)
	if k > 20 {
		k = 20
	}
	return "[" + strings.Repeat("=", k) + ">" + strings.Repeat(".", 20-k) + "]"
}

// progress returns "12.6% (x/y) finish=1.2min speed=100K/sec".
func (sy *syncState) progress() string {
	permille := int64(0)
	if sy.total > 0 {
		permille = sy.done * 1000 / sy.total
	}
	speed := sy.speed
	if speed <= 0 {
		speed = 1
	}
	finish := float64(sy.total-sy.done) / float64(speed) / 60
	return fmt.Sprintf("%3d.%d%% (%d/%d) finish=%.1fmin speed=%dK/sec", permille/10, permille%10, sy.done, sy.total, finish, sy.speed)
}

// mdstat renders the array's /proc/mdstat block (kernel md.c format).
func (a *array) mdstat() string {
	var b strings.Builder
	ms := append([]*member(nil), a.members...)
	sort.Slice(ms, func(i, j int) bool { return ms[i].idx > ms[j].idx })
	if a.inactive {
		b.WriteString(a.dev + " : inactive")
		for _, m := range ms {
			fmt.Fprintf(&b, " %s[%d](S)", m.dev, m.idx)
		}
		fmt.Fprintf(&b, "\n      %d blocks super 1.2\n       \n", a.kib*int64(len(ms)))
		return b.String()
	}
	b.WriteString(a.dev + " : active " + a.level)
	for _, m := range ms {
		fmt.Fprintf(&b, " %s[%d]", m.dev, m.idx)
		switch m.state {
		case "faulty":
			b.WriteString("(F)")
		case "spare":
			b.WriteString("(S)")
		}
	}
	up := ""
	for i := 0; i < a.slots; i++ {
		if a.slotUp(i) {
			up += "U"
		} else {
			up += "_"
		}
	}
	fmt.Fprintf(&b, "\n      %d blocks super 1.2 [%d/%d] [%s]\n", a.kib, a.slots, a.working(), up)
	if sy := a.sync; sy != nil {
		if sy.pending {
			// md.c status_resync prints "resync=" whatever waits.
			b.WriteString("      \tresync=DELAYED\n")
		} else {
			fmt.Fprintf(&b, "      %s  %s =%s\n", bar(sy.done, sy.total), sy.action, sy.progress())
		}
	}
	b.WriteString("      bitmap: 0/8 pages [0KB], 65536KB chunk\n\n")
	return b.String()
}

func human(kib int64) string {
	b := float64(kib) * 1024
	return fmt.Sprintf("%.2f GiB %.2f GB", b/(1<<30), b/1e9)
}

// stateText is mdadm's State value (without the trailing space).
func (a *array) stateText() string {
	if a.inactive {
		return "inactive"
	}
	parts := []string{"clean"}
	w := a.working()
	switch {
	case w == 0:
		parts = append(parts, "FAILED")
	case w < a.slots:
		parts = append(parts, "degraded")
	}
	if sy := a.sync; sy != nil {
		word := map[string]string{"recovery": "recovering", "resync": "resyncing", "check": "checking", "reshape": "reshaping"}[sy.action]
		if sy.pending {
			word += " (DELAYED)"
		}
		parts = append(parts, word)
	}
	return strings.Join(parts, ", ")
}

// omvState is what RaidMgmt.getList reports as state, built as OMV's
// StorageDeviceMdadm::getState does: mdadm's State, plus the text after
// "resync|reshape|recovery =" in /proc/mdstat when the State says
// resyncing or recovering (so a check or reshape gets no progress, and a
// delayed resync reads "…, resyncing (DELAYED) (DELAYED)").
func (a *array) omvState() string {
	st := a.stateText()
	sy := a.sync
	if sy == nil || a.inactive {
		return st
	}
	progress := "unknown"
	switch {
	case sy.pending:
		progress = "DELAYED"
	case sy.action != "check":
		progress = strings.TrimSpace(sy.progress())
	}
	if strings.Contains(st, "resyncing") || strings.Contains(st, "recovering") {
		return st + " (" + progress + ")"
	}
	return st
}

// detail renders `mdadm --detail /dev/mdX` (current mdadm, wide labels).
func (a *array) detail() string {
	var b strings.Builder
	kv := func(k, v string) { fmt.Fprintf(&b, "%18s : %s\n", k, v) }
	b.WriteString("/dev/" + a.dev + ":\n")
	kv("Version", "1.2")
	kv("Creation Time", a.created.Format("Mon Jan _2 15:04:05 2006"))
	kv("Raid Level", a.level)
	if a.inactive {
		kv("Total Devices", fmt.Sprint(len(a.members)))
		kv("Persistence", "Superblock is persistent")
		b.WriteString("\n")
		kv("State", "inactive ")
		kv("Working Devices", fmt.Sprint(len(a.members)))
		b.WriteString("\n")
		kv("Name", a.name)
		kv("UUID", a.uuid)
		kv("Events", fmt.Sprint(a.events))
		b.WriteString("\n    Number   Major   Minor   RaidDevice\n\n")
		for _, m := range a.members {
			fmt.Fprintf(&b, "       -     %3d     %3d        -        /dev/%s\n", m.major, m.minor, m.dev)
		}
		return b.String()
	}
	failed, spare := 0, 0
	for _, m := range a.members {
		switch m.state {
		case "faulty":
			failed++
		case "spare", "rebuilding":
			spare++
		}
	}
	kv("Array Size", fmt.Sprintf("%d (%s)", a.kib, human(a.kib)))
	kv("Used Dev Size", fmt.Sprintf("%d (%s)", a.kib, human(a.kib)))
	kv("Raid Devices", fmt.Sprint(a.slots))
	kv("Total Devices", fmt.Sprint(len(a.members)))
	kv("Persistence", "Superblock is persistent")
	b.WriteString("\n")
	kv("Intent Bitmap", "Internal")
	b.WriteString("\n")
	kv("Update Time", a.updated.Format("Mon Jan _2 15:04:05 2006"))
	kv("State", a.stateText()+" ")
	kv("Active Devices", fmt.Sprint(a.working()))
	kv("Working Devices", fmt.Sprint(len(a.members)-failed))
	kv("Failed Devices", fmt.Sprint(failed))
	kv("Spare Devices", fmt.Sprint(spare))
	b.WriteString("\n")
	kv("Consistency Policy", "bitmap")
	b.WriteString("\n")
	if sy := a.sync; sy != nil && !sy.pending {
		label := map[string]string{"recovery": "Rebuild Status", "resync": "Resync Status", "check": "Check Status", "reshape": "Reshape Status"}[sy.action]
		pct := int64(0)
		if sy.total > 0 {
			pct = sy.done * 100 / sy.total
		}
		kv(label, fmt.Sprintf("%d%% complete", pct))
		b.WriteString("\n")
	}
	kv("Name", a.name)
	kv("UUID", a.uuid)
	kv("Events", fmt.Sprint(a.events))
	b.WriteString("\n    Number   Major   Minor   RaidDevice State\n")
	for slot := 0; slot < a.slots; slot++ {
		var in *member
		for _, m := range a.members {
			if m.slot == slot && (m.state == "sync" || m.state == "rebuilding") {
				in = m
			}
		}
		if in == nil {
			fmt.Fprintf(&b, "       -       0        0     %4d      removed\n", slot)
			continue
		}
		st := "active sync"
		if in.state == "rebuilding" {
			st = "spare rebuilding"
		}
		fmt.Fprintf(&b, "     %3d     %3d     %3d     %4d      %s   /dev/%s\n", in.idx, in.major, in.minor, slot, st, in.dev)
	}
	var extra []string
	for _, m := range a.members {
		switch m.state {
		case "faulty":
			extra = append(extra, fmt.Sprintf("     %3d     %3d     %3d        -      faulty   /dev/%s\n", m.idx, m.major, m.minor, m.dev))
		case "spare":
			extra = append(extra, fmt.Sprintf("     %3d     %3d     %3d        -      spare   /dev/%s\n", m.idx, m.major, m.minor, m.dev))
		}
	}
	if len(extra) > 0 {
		b.WriteString("\n" + strings.Join(extra, ""))
	}
	return b.String()
}

func (s *Server) array(md string) (*array, error) {
	md = strings.TrimPrefix(md, "/dev/")
	for _, a := range s.m.arrays {
		if a.dev == md {
			return a, nil
		}
	}
	return nil, fmt.Errorf("omvtest: no array %s", md)
}

// MDStat returns the /proc/mdstat text of the fake host, consistent with
// what RaidMgmt.getDetail reports.
func (s *Server) MDStat() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m.tickRAID(s.clockNow())
	var b strings.Builder
	b.WriteString("Personalities : [raid1] [linear] [multipath] [raid0] [raid6] [raid5] [raid4] [raid10] \n")
	for i := len(s.m.arrays) - 1; i >= 0; i-- {
		b.WriteString(s.m.arrays[i].mdstat())
	}
	b.WriteString("unused devices: <none>\n")
	return b.String()
}

// Detail returns `mdadm --detail /dev/<md>` text (with its first line).
func (s *Server) Detail(md string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m.tickRAID(s.clockNow())
	a, err := s.array(md)
	if err != nil {
		return "", err
	}
	return a.detail(), nil
}

func (s *Server) raidChange(a *array) {
	a.events++
	a.updated = s.clockNow()
}

// FailMember marks a member faulty (mdadm --fail): it stays listed with (F).
func (s *Server) FailMember(md, dev string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m.tickRAID(s.clockNow())
	a, err := s.array(md)
	if err != nil {
		return err
	}
	m := a.member(dev)
	if m == nil {
		return fmt.Errorf("omvtest: %s is not a member of %s", dev, md)
	}
	m.state, m.slot = "faulty", -1
	if a.sync != nil && a.sync.action == "recovery" && a.working() == 0 {
		a.sync = nil
	}
	s.raidChange(a)
	return nil
}

// RemoveMember removes a member (a pulled disk, or mdadm --remove of a
// failed one): it leaves no trace in mdstat's member list.
func (s *Server) RemoveMember(md, dev string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m.tickRAID(s.clockNow())
	a, err := s.array(md)
	if err != nil {
		return err
	}
	for i, m := range a.members {
		if m.dev == strings.TrimPrefix(dev, "/dev/") {
			a.members = append(a.members[:i], a.members[i+1:]...)
			s.raidChange(a)
			return nil
		}
	}
	return fmt.Errorf("omvtest: %s is not a member of %s", dev, md)
}

// AddMember adds a disk to a degraded array; recovery starts at once and
// progresses at speed KiB/s of fake clock (SetSyncSpeed).
func (s *Server) AddMember(md, dev string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m.tickRAID(s.clockNow())
	a, err := s.array(md)
	if err != nil {
		return err
	}
	dev = strings.TrimPrefix(dev, "/dev/")
	free := -1
	for i := 0; i < a.slots; i++ {
		if !a.slotUp(i) {
			free = i
			break
		}
	}
	m := &member{dev: dev, slot: free, idx: a.nextIdx, state: "rebuilding", major: 8, minor: 16 * a.nextIdx}
	a.nextIdx++
	if free < 0 {
		m.state = "spare"
	}
	a.members = append(a.members, m)
	if free >= 0 {
		a.sync = &syncState{action: "recovery", total: a.kib, speed: 100000, last: s.clockNow()}
	}
	s.raidChange(a)
	return nil
}

// SetSyncSpeed sets the speed (KiB/s) of the array's running or next sync.
func (s *Server) SetSyncSpeed(md string, kibPerSec int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m.tickRAID(s.clockNow())
	a, err := s.array(md)
	if err != nil {
		return err
	}
	if a.sync != nil {
		a.sync.speed = kibPerSec
	}
	return nil
}

// StartSync starts a sync ("resync", "check" or "recovery" onto existing
// rebuilding members); with delayed it waits (resync=DELAYED) until
// ResumeSync.
func (s *Server) StartSync(md, action string, delayed bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, err := s.array(md)
	if err != nil {
		return err
	}
	a.sync = &syncState{action: action, total: a.kib, speed: 100000, pending: delayed, last: s.clockNow()}
	s.raidChange(a)
	return nil
}

// ResumeSync lets a delayed sync run.
func (s *Server) ResumeSync(md string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, err := s.array(md)
	if err != nil {
		return err
	}
	if a.sync != nil {
		a.sync.pending = false
		a.sync.last = s.clockNow()
	}
	return nil
}

// SetInactive stops (or restarts) an array, as when it was not assembled
// at boot.
func (s *Server) SetInactive(md string, inactive bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, err := s.array(md)
	if err != nil {
		return err
	}
	a.inactive = inactive
	s.raidChange(a)
	return nil
}

// RemoveDisk pulls a disk out of the NAS: it disappears from the disk and
// SMART lists, as on a real machine (omv-engined enumerates /dev/disk). A
// disk still in an array must be removed from it first (RemoveMember), as
// mdadm refuses to lose an active member silently.
func (s *Server) RemoveDisk(devicefile string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	name := strings.TrimPrefix(devicefile, "/dev/")
	for _, a := range s.m.arrays {
		for _, m := range a.members {
			if m.dev == name || m.dev == devicefile {
				return fmt.Errorf("omvtest: %s is still a member of %s", devicefile, a.name)
			}
		}
	}
	for i, d := range s.m.disks {
		if d.dev == devicefile {
			s.m.disks = append(s.m.disks[:i], s.m.disks[i+1:]...)
			return nil
		}
	}
	return fmt.Errorf("omvtest: no disk %s", devicefile)
}

// AddDisk adds an unused disk (e.g. /dev/sdc) for RAID creation or repair.
func (s *Server) AddDisk(devicefile, model string, sizeBytes int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m.disks = append(s.m.disks, &disk{dev: devicefile, model: model, size: sizeBytes, serial: "S" + strings.ToUpper(newID()[:10]), smart: true, status: "GOOD"})
}
