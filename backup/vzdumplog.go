package backup

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Status is how one piece of the night ended.
type Status int

const (
	// StatusPending: not run (yet), or the log ended before it did.
	StatusPending Status = iota
	// StatusOK: done without complaint.
	StatusOK
	// StatusWarnings: done, with warnings worth reading.
	StatusWarnings
	// StatusFailed: it failed; the error says why.
	StatusFailed
	// StatusSkipped: the plan refused it (a failed pre-check).
	StatusSkipped
)

// String returns "pending", "ok", "warnings", "failed" or "skipped".
func (s Status) String() string {
	switch s {
	case StatusPending:
		return "pending"
	case StatusOK:
		return "ok"
	case StatusWarnings:
		return "warnings"
	case StatusFailed:
		return "failed"
	case StatusSkipped:
		return "skipped"
	}
	return "status(" + strconv.Itoa(int(s)) + ")"
}

// MarshalText writes the status as its word.
func (s Status) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText reads the word MarshalText writes.
func (s *Status) UnmarshalText(b []byte) error {
	for c := StatusPending; c <= StatusSkipped; c++ {
		if c.String() == string(b) {
			*s = c
			return nil
		}
	}
	return &Error{Op: "parse status", Message: fmt.Sprintf("unknown status %q", b), Err: ErrInvalid}
}

// GuestLog is what a vzdump task log says about one guest. One vzdump task
// covers every guest it was given on its node, so a task log holds several.
type GuestLog struct {
	// VMID and Type ("qemu", "lxc") of the guest.
	VMID int    `json:"vmid"`
	Type string `json:"type"`
	// Name is the guest's name where the log states it ("VM Name: nas").
	Name string `json:"name,omitempty"`
	// Started and Finished are the node's "Backup started at" and
	// "Backup finished at"/"Failed at" times, read in the node's zone.
	Started  time.Time `json:"started,omitzero"`
	Finished time.Time `json:"finished,omitzero"`
	// Duration is the backup time vzdump reports ("Finished Backup of VM
	// 100 (00:01:47)").
	Duration time.Duration `json:"duration,omitempty"`
	// Archive is the archive path on the node ("creating vzdump archive
	// '/mnt/pve/backups/dump/vzdump-qemu-100-….vma.zst'").
	Archive string `json:"archive,omitempty"`
	// Size is the archive size as vzdump logs it ("archive file size:
	// 4.91GB"): rounded to two decimals of its unit. The storage listing has
	// the exact size.
	Size int64 `json:"size,omitempty"`
	// Percent is the last progress percentage logged (qemu only; 100 once
	// the archive is written).
	Percent int `json:"percent,omitempty"`
	// Protected is set when vzdump marked the new archive protected.
	Protected bool `json:"protected,omitempty"`
	// Pruned lists the volumes vzdump's own prune removed after the backup.
	Pruned []string `json:"pruned,omitempty"`
	// Warnings are the guest's WARN lines, without the prefix.
	Warnings []string `json:"warnings,omitempty"`
	// Status is ok, warnings or failed; pending if the log ends mid-guest.
	Status Status `json:"status"`
	// Error is vzdump's reason when Status is failed.
	Error string `json:"error,omitempty"`
}

// VzdumpLog is a parsed vzdump task log.
type VzdumpLog struct {
	// Guests in the order the task backed them up.
	Guests []GuestLog `json:"guests"`
	// Warnings and Errors are job-level lines outside any guest (hook
	// scripts, storage activation, the job's own failure).
	Warnings []string `json:"warnings,omitempty"`
	Errors   []string `json:"errors,omitempty"`
	// Done is set once the task's closing "TASK …" line was read, and
	// ExitStatus holds its status: "OK", "WARNINGS: 2", "job errors" or the
	// error text.
	Done       bool   `json:"done"`
	ExitStatus string `json:"exit_status,omitempty"`
}

// Guest returns the log of one guest, if the task had it.
func (l VzdumpLog) Guest(vmid int) (GuestLog, bool) {
	for _, g := range l.Guests {
		if g.VMID == vmid {
			return g, true
		}
	}
	return GuestLog{}, false
}

// Bounds on a task log: a hostile or broken node costs an error, not memory.
const (
	maxVzdumpLine  = 64 << 10
	maxLogLines    = 1 << 20
	maxLogGuests   = 10000
	maxLogMessages = 1000 // warnings, errors, pruned volumes per guest and job
)

// ParseVzdumpLog reads a vzdump task log (the lines of GET
// /nodes/{node}/tasks/{upid}/log, or the per-guest .log file next to an
// archive, whose lines carry a timestamp prefix). Times in the log are the
// node's local time and are read in loc (nil means time.Local).
//
// The lines it understands are those pve-manager's PVE/VZDump.pm writes
// through debugmsg ("INFO: Starting Backup of VM 100 (qemu)", "INFO:
// creating vzdump archive '…'", "INFO: archive file size: 4.91GB", "INFO:
// Finished Backup of VM 100 (00:01:47)", "ERROR: Backup of VM 101 failed -
// …", "WARN: …"), qemu-server's PVE/VZDump/QemuServer.pm progress lines
// ("INFO:  12% (3.8 GiB of 32.0 GiB) in 12s, read: …, write: …") and the
// task's closing "TASK OK" / "TASK WARNINGS: n" / "TASK ERROR: …". Anything
// else is ignored. Lines longer than 64 KiB or more than a million lines
// are refused as too large.
func ParseVzdumpLog(r io.Reader, loc *time.Location) (VzdumpLog, error) {
	p := newLogParser(loc)
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), maxVzdumpLine)
	for sc.Scan() {
		if err := p.feed(sc.Text()); err != nil {
			return p.log, err
		}
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return p.log, &Error{Op: "parse vzdump log", Message: "line too large (over 64 KiB)", Err: ErrInvalid}
		}
		return p.log, &Error{Op: "parse vzdump log", Err: err}
	}
	return p.log, nil
}

// logChange says what a line changed, so that Apply can turn it into an
// event.
type logChange int

const (
	logNothing logChange = iota
	logGuestStarted
	logGuestProgress
	logArchiveWritten
	logGuestDone
	logGuestFailed
	logTaskDone
)

// logParser reads a vzdump task log line by line; Apply feeds it the lines
// as the task streams them.
type logParser struct {
	loc     *time.Location
	log     VzdumpLog
	lines   int
	current int // index of the guest being backed up, or -1
	last    logChange
}

func newLogParser(loc *time.Location) *logParser {
	if loc == nil {
		loc = time.Local
	}
	return &logParser{loc: loc, current: -1}
}

var (
	// The per-guest log file prefixes "2026-11-25 03:00:02 " (older
	// releases "Nov 25 03:00:02 ").
	reStamp    = regexp.MustCompile(`^(?:\d{4}-\d{2}-\d{2}|[A-Z][a-z]{2} [ \d]\d) \d{2}:\d{2}:\d{2} `)
	reStart    = regexp.MustCompile(`^Starting Backup of VM (\d+) \((\w+)\)$`)
	reFinish   = regexp.MustCompile(`^Finished Backup of VM (\d+)(?: \((\d+):(\d{2}):(\d{2})\))?$`)
	reFailed   = regexp.MustCompile(`^Backup of VM (\d+) failed - (.*)$`)
	reArchive  = regexp.MustCompile(`^creating (?:vzdump|Proxmox Backup Server) archive '(.+)'$`)
	reSize     = regexp.MustCompile(`^archive file size: ([\d.]+)(KB|MB|GB|TB)$`)
	rePercent  = regexp.MustCompile(`^\s*(\d{1,3})% \(`)
	reName     = regexp.MustCompile(`^(?:VM|CT) Name: (.*)$`)
	reRemoving = regexp.MustCompile(`^(?:removing backup|delete old backup) '(.+)'$`)
)

func (p *logParser) guest() *GuestLog {
	if p.current < 0 {
		return nil
	}
	return &p.log.Guests[p.current]
}

func appendCapped(list []string, s string) []string {
	if len(list) >= maxLogMessages {
		return list
	}
	return append(list, s)
}

// feed reads one line; p.last says what it changed.
func (p *logParser) feed(line string) error {
	p.last = logNothing
	p.lines++
	if p.lines > maxLogLines {
		return &Error{Op: "parse vzdump log", Message: "log too large (over a million lines)", Err: ErrInvalid}
	}
	line = strings.TrimRight(line, "\r\n")
	if loc := reStamp.FindStringIndex(line); loc != nil {
		line = line[loc[1]:]
	}
	if rest, ok := strings.CutPrefix(line, "TASK "); ok {
		p.log.Done = true
		p.last = logTaskDone
		switch {
		case rest == "OK":
			p.log.ExitStatus = "OK"
		case strings.HasPrefix(rest, "WARNINGS: "):
			p.log.ExitStatus = rest
		default:
			p.log.ExitStatus = strings.TrimPrefix(rest, "ERROR: ")
		}
		return nil
	}
	level, msg, ok := strings.Cut(line, ": ")
	if !ok {
		return nil
	}
	switch level {
	case "INFO":
		return p.info(msg)
	case "WARN":
		if g := p.guest(); g != nil {
			g.Warnings = appendCapped(g.Warnings, msg)
			if g.Status == StatusOK {
				g.Status = StatusWarnings
			}
		} else {
			p.log.Warnings = appendCapped(p.log.Warnings, msg)
		}
	case "ERROR":
		if m := reFailed.FindStringSubmatch(msg); m != nil {
			vmid, _ := strconv.Atoi(m[1])
			g := p.guest()
			if g == nil || g.VMID != vmid {
				// A failure before the guest started (it does not exist,
				// or it is on another node).
				if err := p.start(vmid, ""); err != nil {
					return err
				}
				g = p.guest()
			}
			g.Status = StatusFailed
			g.Error = strings.TrimSpace(m[2])
			p.last = logGuestFailed
			return nil
		}
		// Inside a guest the "Backup of VM … failed" line that follows
		// carries the reason; outside, the error is the job's.
		if p.guest() == nil {
			p.log.Errors = appendCapped(p.log.Errors, msg)
		}
	}
	return nil
}

func (p *logParser) start(vmid int, typ string) error {
	if len(p.log.Guests) >= maxLogGuests {
		return &Error{Op: "parse vzdump log", Message: "log too large (over 10000 guests)", Err: ErrInvalid}
	}
	p.log.Guests = append(p.log.Guests, GuestLog{VMID: vmid, Type: typ})
	p.current = len(p.log.Guests) - 1
	return nil
}

func (p *logParser) info(msg string) error {
	if m := reStart.FindStringSubmatch(msg); m != nil {
		vmid, _ := strconv.Atoi(m[1])
		if err := p.start(vmid, m[2]); err != nil {
			return err
		}
		p.last = logGuestStarted
		return nil
	}
	g := p.guest()
	if g == nil {
		return nil
	}
	if m := rePercent.FindStringSubmatch(msg); m != nil {
		if n, err := strconv.Atoi(m[1]); err == nil && n <= 100 {
			g.Percent = n
			p.last = logGuestProgress
		}
		return nil
	}
	switch {
	case strings.HasPrefix(msg, "Backup started at "):
		g.Started = p.stamp(strings.TrimPrefix(msg, "Backup started at "))
	case strings.HasPrefix(msg, "Backup finished at "):
		g.Finished = p.stamp(strings.TrimPrefix(msg, "Backup finished at "))
		p.current = -1
	case strings.HasPrefix(msg, "Failed at "):
		g.Finished = p.stamp(strings.TrimPrefix(msg, "Failed at "))
		p.current = -1
	case msg == "marking backup as protected":
		g.Protected = true
	default:
		if m := reName.FindStringSubmatch(msg); m != nil {
			g.Name = m[1]
		} else if m := reArchive.FindStringSubmatch(msg); m != nil {
			g.Archive = m[1]
		} else if m := reSize.FindStringSubmatch(msg); m != nil {
			g.Size = parseVzdumpSize(m[1], m[2])
			g.Percent = 100
			p.last = logArchiveWritten
		} else if m := reRemoving.FindStringSubmatch(msg); m != nil {
			g.Pruned = appendCapped(g.Pruned, m[1])
		} else if m := reFinish.FindStringSubmatch(msg); m != nil {
			h, _ := strconv.Atoi(m[2])
			mi, _ := strconv.Atoi(m[3])
			s, _ := strconv.Atoi(m[4])
			g.Duration = time.Duration(h)*time.Hour + time.Duration(mi)*time.Minute + time.Duration(s)*time.Second
			g.Status = StatusOK
			if len(g.Warnings) > 0 {
				g.Status = StatusWarnings
			}
			p.last = logGuestDone
		}
	}
	return nil
}

func (p *logParser) stamp(s string) time.Time {
	t, err := time.ParseInLocation("2006-01-02 15:04:05", strings.TrimSpace(s), p.loc)
	if err != nil {
		return time.Time{}
	}
	return t
}

// parseVzdumpSize reads PVE::VZDump::format_size output: whole KB and MB,
// two decimals of GB and TB, all binary units.
func parseVzdumpSize(num, unit string) int64 {
	f, err := strconv.ParseFloat(num, 64)
	if err != nil || f < 0 || f > 1<<20 {
		return 0
	}
	mult := map[string]float64{"KB": 1 << 10, "MB": 1 << 20, "GB": 1 << 30, "TB": 1 << 40}[unit]
	return int64(f * mult)
}
