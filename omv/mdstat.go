package omv

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// RAIDState is the one-word health verdict for an MD array.
type RAIDState string

// Verdicts, from best to worst. A sync verdict (resyncing, recovering,
// checking, reshaping, delayed) may coexist with Degraded on ArrayHealth.
const (
	RAIDClean      RAIDState = "clean"      // all members in sync, nothing running
	RAIDChecking   RAIDState = "checking"   // a scrub (check) is running; not a fault
	RAIDResyncing  RAIDState = "resyncing"  // initial sync or repair
	RAIDReshaping  RAIDState = "reshaping"  // grow/level change running
	RAIDRecovering RAIDState = "recovering" // rebuilding onto a new member
	RAIDDelayed    RAIDState = "delayed"    // a sync waits (resync=DELAYED/PENDING)
	RAIDDegraded   RAIDState = "degraded"   // members missing or faulty, nothing rebuilding
	RAIDInactive   RAIDState = "inactive"   // not assembled or "Not Started": data not served
	RAIDFailed     RAIDState = "failed"     // too few members to run
	RAIDUnknown    RAIDState = "unknown"    // the text did not say
)

// ErrParse is wrapped by the RAID parsers when the text is not mdstat or
// mdadm --detail output.
var ErrParse = errors.New("cannot parse raid status")

// Member is one member device of an array. ParseDetail knows every field;
// ParseMDStat knows the device, its descriptor index and flags, and marks
// Rebuilding only for a replacement (R) while a recovery runs, because
// /proc/mdstat does not say which slot a member holds.
type Member struct {
	Device      string // "sda1" (mdstat) or "/dev/sda1" (mdadm --detail)
	Slot        int    // RaidDevice slot; -1 when not in a slot (spare, faulty) or unknown (always, from mdstat)
	Index       int    // descriptor index: mdstat's [n], mdadm's Number; -1 when unknown
	Faulty      bool
	Spare       bool
	Rebuilding  bool
	Replacement bool
	WriteMostly bool
	Journal     bool
}

// SyncProgress describes a running or waiting sync.
type SyncProgress struct {
	Action  string        // "recovery", "resync", "check", "reshape" (a repair shows as resync)
	Pending bool          // waiting: resync=DELAYED or PENDING
	Percent float64       // 0..100
	Done    int64         // KiB synced, when known
	Total   int64         // KiB to sync, when known
	Speed   int64         // bytes per second, when known
	ETA     time.Duration // time left, when known
}

// ArrayHealth is the health verdict for one MD array.
type ArrayHealth struct {
	Device   string // "md0"
	Level    string // "raid1"; "" when the text does not say
	State    RAIDState
	Degraded bool     // fewer working members than slots, or a faulty member
	Slots    int      // raid devices; 0 when unknown (raid0, linear, inactive)
	Working  int      // members up and in sync
	Missing  []int    // slots with no working member
	Faulty   []string // members marked faulty
	Spares   []string // spare members (not rebuilding)
	Members  []Member
	Sync     *SyncProgress // nil when no sync runs or waits
	// Reason says why State is RAIDUnknown: the text was cut inside the
	// array's block, its status line was incomplete, or a line in the
	// block was not one this parser knows (quoted); "" otherwise.
	Reason string
}

// OK answers the question of a cron check: can the array be left alone?
// It is true for an array that serves data with every member present and
// none faulty, also while the kernel works on it by plan: a scheduled
// check (scrub), a resync that runs or waits (DELAYED/PENDING), a reshape,
// or a rebuild onto a replacement (R) while every member is in sync. It is
// false for degraded (a member missing or faulty, rebuilding or not),
// failed, inactive and unknown (the text did not say: a check that cannot
// tell must not pass).
func (h ArrayHealth) OK() bool {
	if h.Degraded || len(h.Faulty) > 0 {
		return false
	}
	switch h.State {
	case RAIDClean, RAIDChecking, RAIDResyncing, RAIDReshaping, RAIDDelayed, RAIDRecovering:
		return true
	}
	return false
}

// String summarises the verdict, e.g. "md0 raid1 recovering 12.6% (degraded, missing slot 0)".
func (h ArrayHealth) String() string {
	var b strings.Builder
	b.WriteString(h.Device)
	if h.Level != "" {
		b.WriteString(" " + h.Level)
	}
	b.WriteString(" " + string(h.State))
	if h.Sync != nil {
		if h.Sync.Pending {
			b.WriteString(" (" + h.Sync.Action + " pending)")
		} else {
			fmt.Fprintf(&b, " %.1f%%", h.Sync.Percent)
			if h.Sync.ETA > 0 {
				fmt.Fprintf(&b, " eta %s", h.Sync.ETA.Round(time.Second))
			}
		}
	}
	var why []string
	if h.Degraded && h.State != RAIDDegraded {
		why = append(why, "degraded")
	}
	for _, s := range h.Missing {
		why = append(why, fmt.Sprintf("missing slot %d", s))
	}
	for _, f := range h.Faulty {
		why = append(why, "faulty "+f)
	}
	if h.State == RAIDUnknown && h.Reason != "" {
		why = append(why, h.Reason)
	}
	if len(why) > 0 {
		b.WriteString(" (" + strings.Join(why, ", ") + ")")
	}
	return b.String()
}

// verdict derives State from the facts gathered by a parser.
func (h *ArrayHealth) verdict(inactive, failed bool) {
	switch {
	case inactive:
		h.State = RAIDInactive
	case failed || (h.Slots > 0 && h.Working == 0 && h.Sync == nil):
		h.State = RAIDFailed
	case h.Sync != nil && h.Sync.Pending:
		h.State = RAIDDelayed
	case h.Sync != nil:
		switch h.Sync.Action {
		case "recovery":
			h.State = RAIDRecovering
		case "check":
			h.State = RAIDChecking
		case "reshape":
			h.State = RAIDReshaping
		default:
			h.State = RAIDResyncing
		}
	case h.Degraded:
		h.State = RAIDDegraded
	default:
		h.State = RAIDClean
	}
}

// tooFewMembers reports an array that cannot serve data any more although
// the kernel may still list it as active: a RAID 4/5 missing two members,
// a RAID 6 missing three, a mirror with none left, a RAID 0 or linear
// missing any. RAID 10 depends on its layout (see raid10Dead); here it is
// only failed when no member works.
func tooFewMembers(level string, slots, working int) bool {
	if slots <= 0 || working < 0 || working >= slots {
		return false
	}
	down := slots - working
	switch strings.ToLower(level) {
	case "raid4", "raid5":
		return down > 1
	case "raid6":
		return down > 2
	case "raid0", "linear":
		return true
	}
	return working == 0
}

// raid10Dead reports a RAID 10 with the "near" layout of n copies that
// has lost every copy of some chunk: copy k of chunk c lives on slot
// (c*n+k) mod slots, so chunks start on multiples of gcd(n, slots) and
// the array is dead when n consecutive slots from such a start are all
// missing. Other layouts (far, offset) are not judged here.
func raid10Dead(n, slots int, missing []int) bool {
	if n < 2 || slots <= 0 || len(missing) < n {
		return false
	}
	gone := make(map[int]bool, len(missing))
	for _, m := range missing {
		gone[m] = true
	}
	g, b := n, slots
	for b != 0 {
		g, b = b, g%b
	}
	for start := 0; start < slots; start += g {
		dead := true
		for k := 0; k < n && dead; k++ {
			dead = gone[(start+k)%slots]
		}
		if dead {
			return true
		}
	}
	return false
}

func redundant(level string) bool {
	switch strings.ToLower(level) {
	case "raid1", "raid4", "raid5", "raid6", "raid10":
		return true
	}
	return false
}

const maxArrays = 1024

// maxUpMap bounds the [UU_] map of one array (real maps are a few
// letters). It is checked after matching: a {1,1000} repeat in
// the pattern compiled into a 600 KB program at start-up, in every
// binary importing omv.
const maxUpMap = 1000

var (
	reDevLine  = regexp.MustCompile(`^\s*(\S+)\s+:\s+(active|inactive)\b(.*)$`)
	reMember   = regexp.MustCompile(`^(\S+?)\[(\d{1,6})\]((?:\([A-Z]\))*)$`)
	reSlots    = regexp.MustCompile(`\[(\d{1,6})/(\d{1,6})\]`)
	reUp       = regexp.MustCompile(`\[([U_]+)\]`)
	reNear     = regexp.MustCompile(`\b(\d{1,2}) near-copies\b`)
	reProgress = regexp.MustCompile(`(recovery|resync|check|reshape|repair)\s*=\s*([\d.]+)%\s*(?:\((\d+)/(\d+)\))?\s*(?:finish=([\d.]+)min)?\s*(?:speed=(\d+)K/sec)?`)
	rePending  = regexp.MustCompile(`(recovery|resync|check|reshape|repair)\s*=\s*(DELAYED|PENDING)`)

	// Whole lines the kernel prints inside an array's block (md.c
	// md_seq_show, status_resync; md-bitmap.c md_bitmap_status).
	reProgressLine = regexp.MustCompile(`^(?:\[[=>.]*\]\s*)?(?:recovery|resync|check|reshape|repair)\s*=\s*[\d.]+%\s*\(\d+/\d+\)\s*finish=[\d.]+min\s*speed=\d+K/sec$`)
	rePendingLine  = regexp.MustCompile(`^(?:recovery|resync|check|reshape|repair)\s*=\s*(?:DELAYED|PENDING)$`)
	reBitmapLine   = regexp.MustCompile(`^bitmap: \d+/\d+ pages \[\d+KB\], \d+KB chunk(?:, file: .+)?$`)
)

// ParseMDStat parses the text of /proc/mdstat into one verdict per array,
// in the order listed. It tolerates a leading command line, lost
// indentation, CRLF line ends and a missing Personalities line. A member
// that was removed (not failed) leaves no trace in the member list; it
// shows as a Missing slot from the [U_] map. resync=DELAYED/PENDING is
// reported as RAIDDelayed, not as a 0 % resync.
//
// Text cut short never reads clean: an array's verdict stands only when
// its block is complete — the status line with its [n/m] [U_] map (for a
// redundant level) is there and the block is closed by the next array or
// by the trailing "unused devices:" line, which the kernel always prints.
// A line inside a block that is none of the kernel's (status, progress,
// resync=DELAYED/PENDING, bitmap) makes that array RAIDUnknown too, with
// the line in Reason. Otherwise the array is RAIDUnknown and Reason says why.
func ParseMDStat(text []byte) ([]ArrayHealth, error) {
	var out []ArrayHealth
	var cur *ArrayHealth
	inactive := map[int]bool{}
	status := map[int]bool{} // a complete "… blocks …" status line was seen
	closed := map[int]bool{} // the block ended at the next array or "unused devices"
	odd := map[int]string{}  // the first line in the block this parser does not know
	near := map[int]int{}    // RAID 10 "n near-copies"
	sawHeader := false
	for _, line := range strings.Split(string(text), "\n") {
		line = strings.TrimRight(line, " \t\r")
		trimmed := strings.TrimSpace(line)
		switch {
		case trimmed == "":
			continue
		case strings.HasPrefix(trimmed, "Personalities"):
			sawHeader = true
			cur = nil
			continue
		case strings.HasPrefix(trimmed, "unused devices"):
			sawHeader = true
			if cur != nil {
				closed[len(out)-1] = true
			}
			cur = nil
			continue
		}
		if m := devLine(line); m != nil {
			if len(out) >= maxArrays {
				return out, parseErr("parse mdstat", fmt.Sprintf("more than %d arrays", maxArrays))
			}
			if cur != nil {
				closed[len(out)-1] = true
			}
			h := ArrayHealth{Device: m[1]}
			if m[2] == "inactive" {
				inactive[len(out)] = true
			}
			for _, tok := range strings.Fields(m[3]) {
				if mm := reMember.FindStringSubmatch(tok); mm != nil {
					idx, _ := strconv.Atoi(mm[2])
					mem := Member{Device: mm[1], Index: idx, Slot: -1}
					mem.Faulty = strings.Contains(mm[3], "(F)")
					mem.Spare = strings.Contains(mm[3], "(S)")
					mem.Replacement = strings.Contains(mm[3], "(R)")
					mem.WriteMostly = strings.Contains(mm[3], "(W)")
					mem.Journal = strings.Contains(mm[3], "(J)")
					if mem.Faulty {
						h.Faulty = append(h.Faulty, mem.Device)
					}
					h.Members = append(h.Members, mem)
					continue
				}
				if strings.HasPrefix(tok, "(") {
					continue // (read-only), (auto-read-only)
				}
				if h.Level == "" && len(h.Members) == 0 {
					h.Level = tok
				}
			}
			out = append(out, h)
			cur = &out[len(out)-1]
			continue
		}
		if cur == nil {
			continue // command line or other noise before the first array
		}
		if strings.Contains(line, " blocks") || strings.HasPrefix(trimmed, "blocks") {
			m := reSlots.FindStringSubmatch(line)
			up := reUp.FindStringSubmatch(line)
			if up != nil && len(up[1]) > maxUpMap {
				up = nil
			}
			// A redundant level always shows [n/m] [U_] with one letter
			// per slot; without them the line was cut short.
			status[len(out)-1] = !redundant(cur.Level) || (m != nil && up != nil && len(up[1]) == atoiOr(m[1], -1))
			if m != nil {
				cur.Slots, _ = strconv.Atoi(m[1])
				cur.Working, _ = strconv.Atoi(m[2])
				cur.Working = min(cur.Working, cur.Slots)
			}
			if m := reNear.FindStringSubmatch(line); m != nil {
				near[len(out)-1], _ = strconv.Atoi(m[1])
			}
			if up != nil {
				for i, ch := range up[1] {
					if ch == '_' {
						cur.Missing = append(cur.Missing, i)
					}
				}
			}
			continue
		}
		switch {
		case reBitmapLine.MatchString(trimmed):
			continue
		case !reProgressLine.MatchString(trimmed) && !rePendingLine.MatchString(trimmed):
			// A line this parser does not know (an old kernel's
			// "Event:", a wrapped progress line) may change the verdict:
			// it makes the array unknown.
			if _, seen := odd[len(out)-1]; !seen {
				odd[len(out)-1] = trimmed
			}
			continue
		}
		if m := rePending.FindStringSubmatch(line); m != nil {
			cur.Sync = &SyncProgress{Action: syncAction(m[1]), Pending: true}
			continue
		}
		if strings.Contains(line, "%") {
			if m := reProgress.FindStringSubmatch(line); m != nil {
				cur.Sync = progressFrom(m)
			}
		}
	}
	if len(out) == 0 && !sawHeader {
		return nil, parseErr("parse mdstat", "no md device line found")
	}
	for i := range out {
		h := &out[i]
		h.Degraded = !inactive[i] && (len(h.Faulty) > 0 || len(h.Missing) > 0 || (h.Slots > 0 && h.Working < h.Slots))
		// mdstat's [n] is the member's descriptor index, not its slot
		// (md.c prints rdev->desc_nr): slots stay unknown. What it does
		// say is which members are spare (S) and which one is being built
		// as a replacement (R); which member a plain recovery rebuilds
		// it does not say. ParseDetail has both.
		for j := range h.Members {
			mem := &h.Members[j]
			switch {
			case mem.Spare:
				h.Spares = append(h.Spares, mem.Device)
			case mem.Replacement && !mem.Faulty && h.Sync != nil && !h.Sync.Pending && h.Sync.Action == "recovery":
				mem.Rebuilding = true
			}
		}
		if inactive[i] {
			h.Slots, h.Working = 0, 0
		}
		dead := tooFewMembers(h.Level, h.Slots, h.Working) ||
			(strings.EqualFold(h.Level, "raid10") && raid10Dead(near[i], h.Slots, h.Missing))
		h.verdict(inactive[i], dead)
		switch {
		case odd[i] != "":
			h.State = RAIDUnknown
			l := odd[i]
			if len(l) > 80 {
				l = l[:80] + "…"
			}
			h.Reason = fmt.Sprintf("unrecognised line %q", l)
		case !closed[i]:
			// The text ends inside the block: a progress line, the
			// status map or a member may be missing, so nothing stands.
			h.State = RAIDUnknown
			h.Reason = "text ends inside the block (no next array or \"unused devices\" line)"
		case !inactive[i] && !status[i]:
			// Without a whole status line nothing says the array is
			// whole, so do not call it clean.
			h.State = RAIDUnknown
			h.Reason = "no complete status line ([n/m] [U_])"
		}
	}
	return out, nil
}

// devLine matches "mdN : active|inactive …" cheaply before the regexp.
func devLine(line string) []string {
	if !strings.Contains(line, " : ") || strings.Contains(line, " blocks") ||
		!(strings.Contains(line, "active") || strings.Contains(line, "inactive")) {
		return nil
	}
	return reDevLine.FindStringSubmatch(line)
}

func syncAction(s string) string {
	if s == "repair" {
		return "resync"
	}
	return s
}

func progressFrom(m []string) *SyncProgress {
	p := &SyncProgress{Action: syncAction(m[1])}
	p.Percent, _ = strconv.ParseFloat(m[2], 64)
	p.Done, _ = strconv.ParseInt(m[3], 10, 64)
	p.Total, _ = strconv.ParseInt(m[4], 10, 64)
	if m[5] != "" {
		if mins, err := strconv.ParseFloat(m[5], 64); err == nil && mins >= 0 && mins < 1e7 {
			p.ETA = time.Duration(mins * float64(time.Minute)).Round(time.Second)
		}
	}
	if m[6] != "" {
		if kib, err := strconv.ParseInt(m[6], 10, 64); err == nil && kib < 1<<40 {
			p.Speed = kib * 1024
		}
	}
	return p
}

// ParseDetail parses the output of `mdadm --detail /dev/mdX` (or OMV's
// RaidMgmt/MdMgmt.getDetail, which is the same text without its first
// line). Both the old narrow and the current wide label alignment are
// accepted, and leading command lines are skipped. mdadm --detail shows no
// speed or ETA; RAIDService.Health adds them from OMV's state text.
func ParseDetail(text []byte) (ArrayHealth, error) {
	h := ArrayHealth{}
	var state string
	haveState, inTable, inactive, failed := false, false, false, false
	active, failedDevs, copies := -1, 0, 0
	for _, line := range strings.Split(string(text), "\n") {
		trimmed := strings.TrimSpace(line)
		if trimmed == "" {
			continue
		}
		if strings.HasPrefix(trimmed, "/dev/") && strings.HasSuffix(trimmed, ":") && !strings.Contains(trimmed, " ") {
			h.Device = strings.TrimPrefix(strings.TrimSuffix(trimmed, ":"), "/dev/")
			continue
		}
		if strings.HasPrefix(trimmed, "Number") && strings.Contains(trimmed, "RaidDevice") {
			inTable = true
			continue
		}
		if inTable {
			parseDetailRow(&h, strings.Fields(trimmed))
			continue
		}
		key, val, ok := strings.Cut(trimmed, " : ")
		if !ok {
			if k, found := strings.CutSuffix(trimmed, " :"); found {
				key, val, ok = k, "", true
			}
		}
		if !ok {
			continue
		}
		key, val = strings.TrimSpace(key), strings.TrimSpace(val)
		switch key {
		case "Raid Level":
			h.Level = val
		case "Layout":
			if n, ok := strings.CutPrefix(val, "near="); ok {
				copies = atoiOr(n, 0)
			}
		case "Raid Devices":
			h.Slots = atoiOr(val, 0)
		case "Active Devices":
			active = atoiOr(val, -1)
		case "Failed Devices":
			failedDevs = atoiOr(val, 0)
		case "State":
			state, haveState = strings.ToLower(val), true
		case "Rebuild Status", "Resync Status", "Reshape Status", "Check Status":
			act := map[string]string{"Rebuild Status": "recovery", "Resync Status": "resync",
				"Reshape Status": "reshape", "Check Status": "check"}[key]
			p := &SyncProgress{Action: act}
			if pct, _, found := strings.Cut(val, "%"); found {
				p.Percent, _ = strconv.ParseFloat(strings.TrimSpace(pct), 64)
			}
			h.Sync = p
		}
	}
	if !haveState && h.Level == "" {
		return h, parseErr("parse mdadm detail", "no State or Raid Level line")
	}
	if active >= 0 {
		h.Working = active
		if h.Slots > 0 {
			h.Working = min(active, h.Slots)
		}
	}
	// "Not Started": assembled but not run (e.g. degraded at boot); no data is served.
	inactive = strings.Contains(state, "inactive") || strings.Contains(state, "not started")
	// mdadm >= 4.2 calls a RAID 0 or linear array with a member gone "broken".
	failed = strings.Contains(state, "failed") || strings.Contains(state, "broken") ||
		tooFewMembers(h.Level, h.Slots, active)
	if h.Sync == nil {
		for _, w := range []struct{ word, act string }{{"recovering", "recovery"}, {"resyncing", "resync"},
			{"reshaping", "reshape"}, {"checking", "check"}} {
			if strings.Contains(state, w.word) {
				h.Sync = &SyncProgress{Action: w.act}
			}
		}
	}
	if strings.Contains(state, "delayed") || strings.Contains(state, "pending") {
		if h.Sync == nil {
			h.Sync = &SyncProgress{Action: "resync"}
		}
		h.Sync.Pending = true
	}
	// Slots without a working member: the "removed" rows, plus rows being
	// rebuilt (their data is not there yet).
	for _, m := range h.Members {
		if m.Rebuilding && m.Slot >= 0 {
			h.Missing = append(h.Missing, m.Slot)
		}
	}
	h.Degraded = !inactive && (strings.Contains(state, "degraded") || failedDevs > 0 || len(h.Faulty) > 0 ||
		len(h.Missing) > 0 || (h.Slots > 0 && active >= 0 && active < h.Slots))
	failed = failed || (strings.EqualFold(h.Level, "raid10") && raid10Dead(copies, h.Slots, h.Missing))
	h.verdict(inactive, failed)
	if strings.TrimSpace(state) == "" || (!inactive && !failed && active < 0) {
		// Truncated text: without the State line and the Active Devices
		// count (both printed for every running array) nothing says the
		// array is whole.
		h.State = RAIDUnknown
		h.Reason = "no State line or Active Devices count (text cut short)"
	}
	return h, nil
}

// atoiOr parses a small non-negative count, or returns def.
func atoiOr(s string, def int) int {
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 || n > 1<<16 {
		return def
	}
	return n
}

func parseDetailRow(h *ArrayHealth, f []string) {
	if len(f) < 5 {
		return
	}
	slot := -1
	if n, err := strconv.Atoi(f[3]); err == nil && n >= 0 && n < 1<<16 {
		slot = n
	}
	var words []string
	dev := ""
	for _, w := range f[4:] {
		if strings.HasPrefix(w, "/dev/") {
			dev = w
			break
		}
		words = append(words, w)
	}
	ws := " " + strings.Join(words, " ") + " "
	if strings.Contains(ws, " removed ") {
		if slot >= 0 && len(h.Missing) < 4096 {
			h.Missing = append(h.Missing, slot)
		}
		return
	}
	if len(h.Members) >= 4096 {
		return
	}
	m := Member{Device: dev, Slot: slot, Index: -1}
	if n, err := strconv.Atoi(f[0]); err == nil {
		m.Index = n
	}
	m.Faulty = strings.Contains(ws, " faulty ")
	m.Rebuilding = strings.Contains(ws, " rebuilding ")
	m.Spare = strings.Contains(ws, " spare ") && !m.Rebuilding
	m.WriteMostly = strings.Contains(ws, " writemostly ")
	m.Journal = strings.Contains(ws, " journal ")
	m.Replacement = strings.Contains(ws, " replacement ")
	if m.Faulty {
		h.Faulty = append(h.Faulty, dev)
		m.Slot = -1
	}
	if m.Spare {
		h.Spares = append(h.Spares, dev)
		m.Slot = -1
	}
	h.Members = append(h.Members, m)
}

// parseErr is a parser's error: ErrParse, which is also ErrInvalid.
func parseErr(op, msg string) error {
	return &Error{Op: op, Message: msg, Err: classed{ErrInvalid, ErrParse}}
}
