package proxmox

import (
	"context"
	"errors"
	"fmt"
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

// TaskService reads and waits for background tasks.
type TaskService struct{ c *Client }

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

// Status reads the task's state once.
//
// Proxmox API: GET /nodes/{node}/tasks/{upid}/status
func (s *TaskService) Status(ctx context.Context, upid UPID) (TaskStatus, error) {
	var w taskStatusWire
	err := s.c.call(ctx, s.c.owner(upid), http.MethodGet, "/nodes/"+upid.Node+"/tasks/"+upid.String()+"/status", nil, &w, nil)
	if err != nil {
		return TaskStatus{}, opError("task status "+upid.Type+" "+upid.ID, err)
	}
	return TaskStatus{UPID: upid, Running: w.Status == "running", ExitStatus: w.ExitStatus}, nil
}

// Wait polls the task until it stops, with growing delays bounded by ctx.
// It returns the final status; a task that ended with anything other than
// "OK" or "WARNINGS: n" gives an *Error matching ErrTaskFailed and carrying
// the exit status. Transient 595/596 while polling (a node rebooting) are
// retried.
//
// Proxmox API: GET /nodes/{node}/tasks/{upid}/status
func (s *TaskService) Wait(ctx context.Context, upid UPID) (TaskStatus, error) {
	var st TaskStatus
	bo := s.c.cfg.Backoff()
	err := poll.Until(ctx, bo, func(ctx context.Context) (bool, error) {
		var err error
		st, err = s.Status(ctx, upid)
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
		return st, s.failure(ctx, upid, st.ExitStatus)
	}
	return st, nil
}

// logTail is how many log lines a task failure carries.
const logTail = 10

// failure builds the error of a failed task with the tail of its log.
func (s *TaskService) failure(ctx context.Context, upid UPID, exit string) error {
	u := upid
	e := &Error{Task: &u, Code: exit, Err: ErrTaskFailed}
	if _, total, err := s.Log(ctx, upid, 0, 1); err == nil {
		if lines, _, err := s.Log(ctx, upid, max(0, total-logTail), logTail); err == nil {
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

// Log reads up to limit lines starting at line start (0-based); total is
// the number of lines so far.
//
// Proxmox API: GET /nodes/{node}/tasks/{upid}/log
func (s *TaskService) Log(ctx context.Context, upid UPID, start, limit int) (lines []LogLine, total int, err error) {
	p := params{}
	p.Set("start", strconv.Itoa(start))
	p.Set("limit", strconv.Itoa(limit))
	err = s.c.call(ctx, s.c.owner(upid), http.MethodGet, "/nodes/"+upid.Node+"/tasks/"+upid.String()+"/log", p, &lines, &total)
	if err != nil {
		return nil, 0, opError("task log "+upid.Type+" "+upid.ID, err)
	}
	return lines, total, nil
}

// StreamLog calls fn with each new log line until the task stops and its
// log is drained, then returns what Wait would.
//
// Proxmox API: GET /nodes/{node}/tasks/{upid}/log, GET /nodes/{node}/tasks/{upid}/status
func (s *TaskService) StreamLog(ctx context.Context, upid UPID, fn func(LogLine)) (TaskStatus, error) {
	next := 0
	drain := func(ctx context.Context) error {
		for {
			lines, _, err := s.Log(ctx, upid, next, 500)
			if err != nil {
				return err
			}
			for _, l := range lines {
				if l.N > next {
					fn(l)
					next = l.N
				}
			}
			if len(lines) < 500 {
				return nil
			}
		}
	}
	var st TaskStatus
	err := poll.Until(ctx, s.c.cfg.Backoff(), func(ctx context.Context) (bool, error) {
		if err := drain(ctx); err != nil && !errors.Is(err, ErrNodeUnreachable) {
			return false, err
		}
		var err error
		st, err = s.Status(ctx, upid)
		if err != nil {
			if errors.Is(err, ErrNodeUnreachable) {
				return false, nil
			}
			return false, err
		}
		if st.Running {
			return false, nil
		}
		return true, drain(ctx)
	})
	if err != nil {
		if cerr := ctx.Err(); cerr != nil {
			return st, cerr
		}
		return st, err
	}
	if !exitOK(st.ExitStatus) {
		return st, s.failure(ctx, upid, st.ExitStatus)
	}
	return st, nil
}

// Stop asks PVE to stop a running task.
//
// Proxmox API: DELETE /nodes/{node}/tasks/{upid}
func (s *TaskService) Stop(ctx context.Context, upid UPID) error {
	return opError("stop task "+upid.Type+" "+upid.ID,
		s.c.call(ctx, s.c.owner(upid), http.MethodDelete, "/nodes/"+upid.Node+"/tasks/"+upid.String(), nil, nil, nil))
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
	st, err := c.Tasks.Wait(ctx, upid)
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
