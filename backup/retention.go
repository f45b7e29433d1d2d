package backup

import (
	"fmt"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Keep is a retention policy in Proxmox's prune-backups vocabulary. The zero
// value keeps everything, as an empty prune-backups does on a node.
type Keep struct {
	// All keeps every archive; it cannot be combined with a count.
	All bool `json:"keep-all,omitempty"`
	// Last keeps the newest Last archives.
	Last int `json:"keep-last,omitempty"`
	// Hourly, Daily, Weekly, Monthly and Yearly keep the newest archive of
	// that many periods that have archives, in node-local time; weeks are
	// ISO weeks (Monday to Sunday, ISO week-year).
	Hourly  int `json:"keep-hourly,omitempty"`
	Daily   int `json:"keep-daily,omitempty"`
	Weekly  int `json:"keep-weekly,omitempty"`
	Monthly int `json:"keep-monthly,omitempty"`
	Yearly  int `json:"keep-yearly,omitempty"`
}

// keepRules names the counted options in the order Proxmox applies them.
var keepRules = [...]string{"keep-last", "keep-hourly", "keep-daily", "keep-weekly", "keep-monthly", "keep-yearly"}

func (k Keep) counts() [6]int {
	return [6]int{k.Last, k.Hourly, k.Daily, k.Weekly, k.Monthly, k.Yearly}
}

// KeepsAll reports whether the policy removes nothing: keep-all, or no count
// above zero (Proxmox normalises that to keep-all).
func (k Keep) KeepsAll() bool {
	if k.All {
		return true
	}
	for _, n := range k.counts() {
		if n > 0 {
			return false
		}
	}
	return true
}

// String returns the policy as a prune-backups property string, counts in
// Proxmox's order and zero counts left out: "keep-last=2,keep-daily=7".
// A policy that keeps everything is "keep-all=1".
func (k Keep) String() string {
	if k.KeepsAll() {
		return "keep-all=1"
	}
	var parts []string
	for i, n := range k.counts() {
		if n > 0 {
			parts = append(parts, keepRules[i]+"="+strconv.Itoa(n))
		}
	}
	return strings.Join(parts, ",")
}

// Validate refuses negative counts and keep-all combined with a count, as
// the prune-backups schema does.
func (k Keep) Validate() error {
	for i, n := range k.counts() {
		if n < 0 {
			return &Error{Op: "retention", Message: fmt.Sprintf("%s must not be negative, got %d", keepRules[i], n), Err: ErrInvalid}
		}
	}
	if k.All && !(Keep{Last: k.Last, Hourly: k.Hourly, Daily: k.Daily, Weekly: k.Weekly, Monthly: k.Monthly, Yearly: k.Yearly}).KeepsAll() {
		return &Error{Op: "retention", Message: "keep-all cannot be set together with other options", Err: ErrInvalid}
	}
	return nil
}

// ParseKeep parses a prune-backups property string such as
// "keep-last=3,keep-daily=7,keep-weekly=4". An empty string keeps all.
func ParseKeep(s string) (Keep, error) {
	var k Keep
	s = strings.TrimSpace(s)
	if s == "" {
		return k, nil
	}
	for _, part := range strings.Split(s, ",") {
		name, val, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return Keep{}, &Error{Op: "parse retention", Message: fmt.Sprintf("missing value in %q", part), Err: ErrInvalid}
		}
		if name == "keep-all" {
			switch val {
			case "1", "yes", "on", "true":
				k.All = true
			case "0", "no", "off", "false":
			default:
				return Keep{}, &Error{Op: "parse retention", Message: fmt.Sprintf("keep-all: not a boolean: %q", val), Err: ErrInvalid}
			}
			continue
		}
		n, err := strconv.Atoi(val)
		if err != nil || n < 0 {
			return Keep{}, &Error{Op: "parse retention", Message: fmt.Sprintf("%s: not a count: %q", name, val), Err: ErrInvalid}
		}
		switch name {
		case "keep-last":
			k.Last = n
		case "keep-hourly":
			k.Hourly = n
		case "keep-daily":
			k.Daily = n
		case "keep-weekly":
			k.Weekly = n
		case "keep-monthly":
			k.Monthly = n
		case "keep-yearly":
			k.Yearly = n
		default:
			return Keep{}, &Error{Op: "parse retention", Message: fmt.Sprintf("unknown option %q", name), Err: ErrInvalid}
		}
	}
	return k, k.Validate()
}

// Mark is the fate retention gives one archive. The names are those of the
// node's prune preview (GET /nodes/{node}/storage/{storage}/prunebackups).
type Mark int

// The zero Mark is keep, so that a Mark nobody set never deletes anything.
const (
	// MarkKeep: a rule (or keep-all) keeps it.
	MarkKeep Mark = iota
	// MarkRemove: no rule keeps it.
	MarkRemove
	// MarkProtected: protected archives are never removed and use no quota.
	MarkProtected
	// MarkRenamed: a name that is not vzdump's standard one; never removed.
	MarkRenamed
)

// String returns the node's word for the mark: "remove", "keep",
// "protected", "renamed".
func (m Mark) String() string {
	switch m {
	case MarkRemove:
		return "remove"
	case MarkKeep:
		return "keep"
	case MarkProtected:
		return "protected"
	case MarkRenamed:
		return "renamed"
	}
	return "mark(" + strconv.Itoa(int(m)) + ")"
}

// ParseMark reads the node's word for a mark.
func ParseMark(s string) (Mark, error) {
	switch s {
	case "remove":
		return MarkRemove, nil
	case "keep":
		return MarkKeep, nil
	case "protected":
		return MarkProtected, nil
	case "renamed":
		return MarkRenamed, nil
	}
	return 0, &Error{Op: "parse mark", Message: fmt.Sprintf("unknown prune mark %q", s), Err: ErrInvalid}
}

// MarshalText writes the mark as its word.
func (m Mark) MarshalText() ([]byte, error) { return []byte(m.String()), nil }

// Archive is one backup as retention sees it.
type Archive struct {
	// Volid is the volume id ("backups:backup/vzdump-qemu-100-2026_11_25-03_00_02.vma.zst"),
	// or a bare file name or path; only its last element is read.
	Volid string `json:"volid"`
	// Protected archives are never removed and not counted.
	Protected bool `json:"protected,omitempty"`
	// Size in bytes, carried along for reports.
	Size int64 `json:"size,omitempty"`
}

// ArchiveName is what a standard vzdump file name says.
type ArchiveName struct {
	// Type is "qemu", "lxc" or "openvz".
	Type string
	// VMID of the guest (3 to 9 digits, no leading zero).
	VMID int
	// Time is the backup start, read from the name in the node's zone.
	Time time.Time
	// Format is "vma", "tar" or "tgz"; Compression "zst", "gz", "lzo" or "".
	Format, Compression string
}

// ParseArchiveName reads a vzdump archive name,
// vzdump-{qemu|lxc|openvz}-<vmid>-YYYY_MM_DD-hh_mm_ss.{vma|tar|tgz}[.zst|.gz|.lzo],
// with the time in loc, the node's zone. It takes a volid, a path or a bare
// name; ok is false for any other name, which Proxmox marks "renamed" and
// never prunes. The rule is pve-storage's PVE::Storage::archive_info
// (src/PVE/Storage.pm).
func ParseArchiveName(name string, loc *time.Location) (a ArchiveName, ok bool) {
	if loc == nil {
		loc = time.Local
	}
	a, _, ok = parseArchiveName(name, loc)
	return a, ok
}

// wallClock is a time as the node's clock shows it.
type wallClock struct{ year, month, day, hour int }

func parseArchiveName(name string, loc *time.Location) (a ArchiveName, wc wallClock, ok bool) {
	for i := len(name) - 1; i >= 0; i-- {
		if name[i] == '/' || name[i] == ':' {
			name = name[i+1:]
			break
		}
	}
	rest, ok := strings.CutPrefix(name, "vzdump-")
	if !ok {
		return a, wc, false
	}
	typ, rest, ok := strings.Cut(rest, "-")
	if !ok || (typ != "qemu" && typ != "lxc" && typ != "openvz") {
		return a, wc, false
	}
	id, rest, ok := strings.Cut(rest, "-")
	if !ok || len(id) < 3 || len(id) > 9 || id[0] == '0' || !allDigits(id) {
		return a, wc, false
	}
	// YYYY_MM_DD-hh_mm_ss is 19 bytes, then a dot.
	if len(rest) < 21 || rest[19] != '.' {
		return a, wc, false
	}
	ts, ext := rest[:19], rest[20:]
	var f [6]int
	for i, at := range [6]int{0, 5, 8, 11, 14, 17} {
		width := 2
		if i == 0 {
			width = 4
		}
		if !allDigits(ts[at : at+width]) {
			return a, wc, false
		}
		f[i], _ = strconv.Atoi(ts[at : at+width])
	}
	if ts[4] != '_' || ts[7] != '_' || ts[10] != '-' || ts[13] != '_' || ts[16] != '_' {
		return a, wc, false
	}
	format, comp, _ := strings.Cut(ext, ".")
	switch format {
	case "vma", "tar":
	case "tgz":
		if comp != "" {
			return a, wc, false
		}
	default:
		return a, wc, false
	}
	switch comp {
	case "", "zst", "gz", "lzo":
	default:
		return a, wc, false
	}
	// timelocal rejects out-of-range fields; time.Date would normalise them.
	if f[1] < 1 || f[1] > 12 || f[2] < 1 || f[2] > 31 || f[3] > 23 || f[4] > 59 || f[5] > 59 {
		return a, wc, false
	}
	t := time.Date(f[0], time.Month(f[1]), f[2], f[3], f[4], f[5], 0, loc)
	if t.Day() != f[2] {
		return a, wc, false
	}
	vmid, _ := strconv.Atoi(id)
	wc = wallClock{f[0], f[1], f[2], f[3]}
	if t.Hour() != f[3] || t.Minute() != f[4] {
		// A time in a DST gap: timelocal and time.Date both move it, and
		// the node buckets the moved time.
		y, m, d := t.Date()
		wc = wallClock{y, int(m), d, t.Hour()}
	}
	return ArchiveName{Type: typ, VMID: vmid, Time: t, Format: format, Compression: comp}, wc, true
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// Decision is retention's verdict on one archive.
type Decision struct {
	Archive
	// Type and VMID name the archive's group ("" and 0 for renamed ones).
	Type string `json:"type,omitempty"`
	VMID int    `json:"vmid,omitempty"`
	// Time is the backup time from the name (zero for renamed ones).
	Time time.Time `json:"time,omitzero"`
	// Mark is the verdict.
	Mark Mark `json:"mark"`
	// Rule names the option that kept it ("keep-daily", "keep-all"), or is
	// empty.
	Rule string `json:"rule,omitempty"`
}

// Retention decides which archives a prune with keep removes, exactly as
// Proxmox VE does (pve-storage src/PVE/Storage.pm prune_mark_backup_group,
// called per group from src/PVE/Storage/Plugin.pm prune_backups; PBS
// implements the same marking in proxmox-backup pbs-datastore/src/prune.rs
// compute_prune_info):
//
//   - archives are grouped by guest type and VMID; names that are not
//     vzdump's standard ones are marked renamed and never removed;
//   - protected archives are marked protected: never removed, never counted;
//   - with keep-all, or no count above zero, everything else is kept;
//   - otherwise each group is walked newest first, once per rule in the
//     order last, hourly, daily, weekly, monthly, yearly. A rule skips
//     archives already marked and periods an earlier rule already kept; the
//     first (newest) archive of a new period is kept, older ones of a period
//     the rule took are removed; the walk stops when the rule has taken its
//     count of periods;
//   - whatever no rule marked is removed.
//
// Periods are computed in loc, the node's zone (nil means time.Local), as
// the node does with localtime: hours and days are wall-clock ones (a DST
// fall-back hour is one bucket), weeks are ISO weeks of the ISO week-year.
// Archives with the same time keep their input order.
//
// The result is sorted by group (type, then VMID), newest first, with the
// renamed archives last in input order.
func Retention(archives []Archive, keep Keep, loc *time.Location) []Decision {
	if loc == nil {
		loc = time.Local
	}
	type item struct {
		typ       string
		vmid      int
		unix      int64
		i         int // index into archives, the tiebreak that keeps input order
		wc        wallClock
		protected bool
	}
	items := make([]item, 0, len(archives))
	var renamed []Decision
	for i, a := range archives {
		name, wc, ok := parseArchiveName(a.Volid, loc)
		if !ok {
			renamed = append(renamed, Decision{Archive: a, Mark: MarkRenamed})
			continue
		}
		items = append(items, item{typ: name.Type, vmid: name.VMID, unix: name.Time.Unix(), i: i, wc: wc, protected: a.Protected})
	}
	// Sorting small items rather than the decisions themselves (which
	// carry strings and times) keeps the sort cheap.
	slices.SortFunc(items, func(a, b item) int {
		if c := strings.Compare(a.typ, b.typ); c != 0 {
			return c
		}
		if a.vmid != b.vmid {
			return a.vmid - b.vmid
		}
		if a.unix != b.unix {
			if a.unix > b.unix {
				return -1
			}
			return 1
		}
		return a.i - b.i
	})
	out := make([]Decision, len(items), len(items)+len(renamed))
	for j, it := range items {
		out[j] = Decision{Archive: archives[it.i], Type: it.typ, VMID: it.vmid, Time: time.Unix(it.unix, 0).In(loc), Mark: -1}
		if it.protected {
			out[j].Mark = MarkProtected
		}
	}
	var keys [][6]int64
	if !keep.KeepsAll() {
		keys = make([][6]int64, len(out))
		for i, it := range items {
			keys[i] = periodKeys(it.unix, it.wc)
		}
	}
	for start := 0; start < len(out); {
		end := start + 1
		for end < len(out) && out[end].Type == out[start].Type && out[end].VMID == out[start].VMID {
			end++
		}
		var gk [][6]int64
		if keys != nil {
			gk = keys[start:end]
		}
		markGroup(out[start:end], gk, keep)
		start = end
	}
	return append(out, renamed...)
}

// markGroup marks one group, sorted newest first, keys[i] being the period
// keys of g[i]. Unmarked entries carry Mark -1 while the rules run.
func markGroup(g []Decision, keys [][6]int64, keep Keep) {
	if keep.KeepsAll() {
		for i := range g {
			if g[i].Mark < 0 {
				g[i].Mark, g[i].Rule = MarkKeep, "keep-all"
			}
		}
		return
	}
	covered := make(map[int64]struct{})
	taken := make(map[int64]struct{})
	for rule, count := range keep.counts() {
		if count <= 0 {
			continue
		}
		clear(covered)
		clear(taken)
		for i := range g {
			if g[i].Mark == MarkKeep {
				covered[keys[i][rule]] = struct{}{}
			}
		}
		for i := range g {
			if g[i].Mark >= 0 {
				continue
			}
			k := keys[i][rule]
			if _, ok := covered[k]; ok {
				continue
			}
			if _, ok := taken[k]; ok {
				g[i].Mark = MarkRemove
				continue
			}
			if len(taken) >= count {
				break
			}
			taken[k] = struct{}{}
			g[i].Mark, g[i].Rule = MarkKeep, keepRules[rule]
		}
	}
	for i := range g {
		if g[i].Mark < 0 {
			g[i].Mark = MarkRemove
		}
	}
}

// periodKeys returns the bucket of a backup for each rule (last, hourly,
// daily, weekly, monthly, yearly), the wall-clock ones from the node's
// clock, packed into integers.
func periodKeys(unix int64, wc wallClock) [6]int64 {
	day := (int64(wc.year)*100+int64(wc.month))*100 + int64(wc.day)
	wy, w := isoWeek(wc.year, wc.month, wc.day)
	return [6]int64{
		unix,
		day*100 + int64(wc.hour),
		day,
		int64(wy)*100 + int64(w),
		int64(wc.year)*100 + int64(wc.month),
		int64(wc.year),
	}
}

// isoWeek is time.Time.ISOWeek for a civil date, without a zone lookup.
func isoWeek(y, m, d int) (year, week int) {
	return time.Date(y, time.Month(m), d, 12, 0, 0, 0, time.UTC).ISOWeek()
}

// Removed returns the decisions marked remove.
func Removed(ds []Decision) []Decision {
	var out []Decision
	for _, d := range ds {
		if d.Mark == MarkRemove {
			out = append(out, d)
		}
	}
	return out
}

// baseName is the file name of a volid or path.
func baseName(volid string) string {
	if _, after, ok := strings.Cut(volid, ":"); ok {
		volid = after
	}
	return path.Base(volid)
}
