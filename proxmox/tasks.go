package proxmox

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/thehomelab/homelab/internal/poll"
)

// UPID identifies a PVE task, e.g.
// "UPID:proxmox1:0001A2B3:00C4D5E6:6650A1B2:qmstart:101:root@pam!sdk:".
type UPID struct {
	Node      string
	PID       uint32
	PStart    uint64 // process start in clock ticks
	StartTime time.Time
	Type      string // qmstart, vzdump, imgdel …
	ID        string // vmid, "<vmid>@<storage>" or empty
	User      string // user@realm or user@realm!token
	raw       string
}

var upidRE = regexp.MustCompile(`^UPID:([a-zA-Z0-9](?:[a-zA-Z0-9\-]*[a-zA-Z0-9])?):([0-9A-Fa-f]{8}):([0-9A-Fa-f]{8,9}):([0-9A-Fa-f]{8}):([^:\s/]+):([^:\s/]*):([^:\s]+):$`)

// ParseUPID parses a task id. It accepts any hex case and rejects
// anything else, including the "OK" vzdump sometimes returns.
func ParseUPID(s string) (UPID, error) {
	if len(s) > 512 {
		return UPID{}, refuse("parse upid", ErrInvalid, "upid too long")
	}
	m := upidRE.FindStringSubmatch(s)
	if m == nil {
		return UPID{}, refuse("parse upid", ErrInvalid, "malformed upid %q", s)
	}
	pid, _ := strconv.ParseUint(m[2], 16, 32)
	pstart, _ := strconv.ParseUint(m[3], 16, 64)
	st, _ := strconv.ParseInt(m[4], 16, 64)
	return UPID{Node: m[1], PID: uint32(pid), PStart: pstart, StartTime: time.Unix(st, 0).UTC(),
		Type: m[5], ID: m[6], User: m[7], raw: s}, nil
}

// String returns the UPID as PVE wrote it.
func (u UPID) String() string {
	if u.raw != "" {
		return u.raw
	}
	return fmt.Sprintf("UPID:%s:%08X:%08X:%08X:%s:%s:%s:", u.Node, u.PID, u.PStart, u.StartTime.Unix(), u.Type, u.ID, u.User)
}

// TaskService lists background tasks and hands out a handle for any
// UPID.
type TaskService struct{ c *Client }

// Task is a handle on one background task: the UPID PVE returned, and the
// calls that follow it. A Task is safe for concurrent use.
type Task struct {
	// UPID identifies the task.
	UPID UPID
	c    *Client
}

// Task returns the handle of the task with this UPID; it sends nothing.
// Use it for a UPID from TaskService.List or from outside the SDK.
func (s *TaskService) Task(upid UPID) *Task { return &Task{UPID: upid, c: s.c} }

// String returns the UPID.
func (t *Task) String() string { return t.UPID.String() }

// TaskStatus is the state of a task.
type TaskStatus struct {
	UPID       UPID
	Running    bool
	ExitStatus string // "OK", "WARNINGS: n" or the error text; empty while running
}

// OK reports whether a stopped task succeeded (warnings included).
func (s TaskStatus) OK() bool { return !s.Running && exitOK(s.ExitStatus) }

// Warnings returns n for "WARNINGS: n", else 0.
func (s TaskStatus) Warnings() int {
	if n, ok := warnings(s.ExitStatus); ok {
		return n
	}
	return 0
}

var warnRE = regexp.MustCompile(`^WARNINGS: (\d+)$`)

func warnings(exit string) (int, bool) {
	m := warnRE.FindStringSubmatch(exit)
	if m == nil {
		return 0, false
	}
	n, _ := strconv.Atoi(m[1])
	return n, true
}

func exitOK(exit string) bool {
	if exit == "OK" {
		return true
	}
	_, ok := warnings(exit)
	return ok
}

type taskStatusWire struct {
	Status     string `json:"status"`
	ExitStatus string `json:"exitstatus"`
}

func (t *Task) path() string { return "/nodes/" + t.UPID.Node + "/tasks/" + t.UPID.String() }

// Status reads the task's state once.
//
// Proxmox API: GET /nodes/{node}/tasks/{upid}/status
func (t *Task) Status(ctx context.Context) (TaskStatus, error) {
	var w taskStatusWire
	err := t.c.call(ctx, t.c.owner(t.UPID), http.MethodGet, t.path()+"/status", nil, &w, nil)
	if err != nil {
		return TaskStatus{}, opError("task status "+t.UPID.Type+" "+t.UPID.ID, err)
	}
	return TaskStatus{UPID: t.UPID, Running: w.Status == "running", ExitStatus: w.ExitStatus}, nil
}

// Wait polls the task until it stops, with growing delays (timer and
// select) bounded by ctx. It returns the final status; a task that ended
// with anything other than "OK" or "WARNINGS: n" gives an *Error matching
// ErrTaskFailed and carrying the exit status as Code. Transient 595/596
// while polling (a node rebooting) are retried.
//
// Proxmox API: GET /nodes/{node}/tasks/{upid}/status
func (t *Task) Wait(ctx context.Context) (TaskStatus, error) {
	var st TaskStatus
	err := poll.Until(ctx, t.c.backoff(), func(ctx context.Context) (bool, error) {
		var err error
		st, err = t.Status(ctx)
		if err != nil {
			if errors.Is(err, ErrNodeUnreachable) {
				return false, nil
			}
			return false, err
		}
		return !st.Running, nil
	})
	if err != nil {
		if cerr := ctx.Err(); cerr != nil {
			return st, cerr
		}
		return st, err
	}
	if !exitOK(st.ExitStatus) {
		return st, t.failure(ctx, st.ExitStatus)
	}
	return st, nil
}

// logTail is how many log lines a task failure carries.
const logTail = 10

// failure builds the error of a failed task with the tail of its log.
func (t *Task) failure(ctx context.Context, exit string) error {
	u := t.UPID
	e := &Error{Task: &u, Code: exit, Err: ErrTaskFailed}
	if _, total, err := t.ReadLog(ctx, 0, 1); err == nil {
		if lines, _, err := t.ReadLog(ctx, max(0, total-logTail), logTail); err == nil {
			for _, l := range lines {
				e.Log = append(e.Log, l.Text)
			}
		}
	}
	return e
}

// LogLine is one line of a task log.
type LogLine struct {
	N    int    `json:"n"`
	Text string `json:"t"`
}

// ReadLog reads up to limit lines starting at line start (0-based); total
// is the number of lines so far.
//
// Proxmox API: GET /nodes/{node}/tasks/{upid}/log
func (t *Task) ReadLog(ctx context.Context, start, limit int) (lines []LogLine, total int, err error) {
	p := params{}
	p.Set("start", strconv.Itoa(start))
	p.Set("limit", strconv.Itoa(limit))
	err = t.c.call(ctx, t.c.owner(t.UPID), http.MethodGet, t.path()+"/log", p, &lines, &total)
	if err != nil {
		return nil, 0, opError("task log "+t.UPID.Type+" "+t.UPID.ID, err)
	}
	return lines, total, nil
}

// logPage is how many lines one log read asks for.
const logPage = 500

// Log streams the task's log lines as they are written, until the task
// has stopped and its log is drained. An error (a failed read, ctx done)
// is yielded once and ends the stream; the task's own failure is not an
// error here: call Wait after the loop for it.
//
// Proxmox API: GET /nodes/{node}/tasks/{upid}/log, GET /nodes/{node}/tasks/{upid}/status
func (t *Task) Log(ctx context.Context) iter.Seq2[string, error] {
	return func(yield func(string, error) bool) {
		next, attempt, stopped := 0, 0, false
		bo := t.c.backoff()
		for {
			lines, _, err := t.ReadLog(ctx, next, logPage)
			if err != nil && !errors.Is(err, ErrNodeUnreachable) {
				if cerr := ctx.Err(); cerr != nil {
					err = cerr
				}
				yield("", err)
				return
			}
			for _, l := range lines {
				if l.N > next {
					next = l.N
					attempt = 0
					if !yield(l.Text, nil) {
						return
					}
				}
			}
			if len(lines) == logPage {
				continue
			}
			if stopped {
				return
			}
			st, err := t.Status(ctx)
			switch {
			case err != nil && !errors.Is(err, ErrNodeUnreachable):
				if cerr := ctx.Err(); cerr != nil {
					err = cerr
				}
				yield("", err)
				return
			case err == nil && !st.Running:
				stopped = true // read once more: the last lines
				continue
			}
			if err := poll.Sleep(ctx, bo.Delay(attempt)); err != nil {
				yield("", err)
				return
			}
			attempt++
		}
	}
}

// Stop asks PVE to stop a running task.
//
// Proxmox API: DELETE /nodes/{node}/tasks/{upid}
func (t *Task) Stop(ctx context.Context) error {
	return opError("stop task "+t.UPID.Type+" "+t.UPID.ID,
		t.c.call(ctx, t.c.owner(t.UPID), http.MethodDelete, t.path(), nil, nil, nil))
}

// owner picks the identity that started the task: PVE lets other users
// read a task only with Sys.Audit on the node, so a root@pam task (a
// passthrough, a keyctl container) is polled with the root@pam login even
// when the everyday token lacks that privilege.
func (c *Client) owner(upid UPID) *identity {
	if c.ticket != nil && upid.User == c.ticket.user {
		return c.ticket
	}
	return c.def
}

// runTask sends a request that answers a UPID, waits for the task and
// names errors with op.
func (c *Client) runTask(ctx context.Context, id *identity, op, method, path string, p params) (TaskStatus, error) {
	upid, err := c.startTask(ctx, id, method, path, p)
	if err != nil {
		return TaskStatus{}, opError(op, err)
	}
	st, err := c.Tasks.Task(upid).Wait(ctx)
	if err != nil {
		if cerr := ctx.Err(); cerr != nil {
			return st, cerr
		}
		// name the caller's operation, not the polling step ("task status
		// qmstart 101"); the path still shows the task
		var pe *Error
		if errors.As(err, &pe) {
			cp := *pe
			cp.Op = op
			return st, &cp
		}
		return st, opError(op, err)
	}
	return st, nil
}

func (c *Client) startTask(ctx context.Context, id *identity, method, path string, p params) (UPID, error) {
	var raw string
	if err := c.call(ctx, id, method, path, p, &raw, nil); err != nil {
		return UPID{}, err
	}
	upid, err := ParseUPID(strings.TrimSpace(raw))
	if err != nil {
		return UPID{}, &Error{Method: method, Path: path, Err: err}
	}
	return upid, nil
}

// TaskFilter selects tasks in List. Zero values mean no filter.
type TaskFilter struct {
	Type    string    // typefilter, e.g. "vzdump"
	VMID    VMID      // tasks of one guest
	Since   time.Time // started at or after
	Errors  bool      // only failed tasks
	Running bool      // only running tasks (source=active); default finished ones
	Limit   int       // default 50
}

// TaskInfo is one entry of a node's task list.
type TaskInfo struct {
	UPID       UPID
	Start, End time.Time
	// ExitStatus is "OK", "WARNINGS: n", an error text, or empty while
	// running.
	ExitStatus string
}

// List lists a node's tasks, newest first.
//
// Proxmox API: GET /nodes/{node}/tasks
func (s *TaskService) List(ctx context.Context, node string, f TaskFilter) ([]TaskInfo, error) {
	op := "list tasks of " + node
	if err := checkNode(op, node); err != nil {
		return nil, err
	}
	p := params{}
	if f.Type != "" {
		p.Set("typefilter", f.Type)
	}
	if f.VMID > 0 {
		p.Set("vmid", f.VMID.String())
	}
	if !f.Since.IsZero() {
		p.Set("since", strconv.FormatInt(f.Since.Unix(), 10)) // decimal, never 1.7e+09
	}
	if f.Errors {
		setBool(p, "errors", true)
	}
	if f.Running {
		p.Set("source", "active")
	}
	if f.Limit > 0 {
		p.Set("limit", strconv.Itoa(f.Limit))
	}
	var ws []struct {
		UPID   string `json:"upid"`
		Start  num    `json:"starttime"`
		End    num    `json:"endtime"`
		Status string `json:"status"`
	}
	if err := s.c.call(ctx, nil, http.MethodGet, "/nodes/"+node+"/tasks", p, &ws, nil); err != nil {
		return nil, opError(op, err)
	}
	out := make([]TaskInfo, 0, len(ws))
	for _, w := range ws {
		u, err := ParseUPID(w.UPID)
		if err != nil {
			continue
		}
		ti := TaskInfo{UPID: u, Start: time.Unix(w.Start.i64(), 0), ExitStatus: w.Status}
		if w.End != 0 {
			ti.End = time.Unix(w.End.i64(), 0)
		}
		if ti.ExitStatus == "RUNNING" {
			ti.ExitStatus = ""
		}
		out = append(out, ti)
	}
	return out, nil
}
