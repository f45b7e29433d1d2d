package proxmoxtest

import (
	"fmt"
	"regexp"
	"strings"
	"time"
)

type task struct {
	upid    string
	node    string
	typ     string
	id      string
	user    string
	start   time.Time
	end     time.Time // zero: held until FinishTask
	held    bool
	stopped bool
	exit    string
	log     []string
	// finish runs when the task ends; it returns the exit status and may
	// change state. nil means "OK".
	finish func() string
}

// SetTaskDelay makes every task without its own duration (config, create,
// vzdump, delete…) take d (default: done at the next request).
func (s *Server) SetTaskDelay(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.taskDelay = d
}

// HoldTasks keeps new tasks running until FinishTask (or ReleaseTasks).
func (s *Server) HoldTasks(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hold = on
}

// FinishTask ends a held or running task now. An empty exit lets the task
// compute its own result; otherwise exit ("OK", "WARNINGS: 2", an error
// text) is forced and the task's effect is skipped unless exit is "OK".
func (s *Server) FinishTask(upid, exit string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tasks[upid]
	if t == nil || t.stopped {
		return false
	}
	if exit != "" && exit != "OK" {
		t.finish = func() string { return exit }
	} else if exit == "OK" && t.finish == nil {
		t.finish = func() string { return "OK" }
	}
	s.stopTask(t)
	return true
}

// Tasks returns the UPIDs of all tasks in creation order.
func (s *Server) Tasks() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.taskOrder...)
}

// TaskExit returns a task's exit status ("" while running or unknown).
func (s *Server) TaskExit(upid string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.advance()
	if t := s.tasks[upid]; t != nil {
		return t.exit
	}
	return ""
}

// newTask registers a task; caller holds s.mu. d < 0 means the default.
func (s *Server) newTask(nodeName, typ, id, user string, d time.Duration, finish func() string) *task {
	s.pid++
	now := s.clock()
	upid := fmt.Sprintf("UPID:%s:%08X:%08X:%08X:%s:%s:%s:", nodeName, s.pid, 0x3B9ACA00+s.pid*7, now.Unix(), typ, id, user)
	if d < 0 {
		d = s.taskDelay
	}
	t := &task{upid: upid, node: nodeName, typ: typ, id: id, user: user, start: now, end: now.Add(d), finish: finish}
	if s.hold {
		t.held = true
	}
	t.log = append(t.log, fmt.Sprintf("starting task %s", upid))
	s.tasks[upid] = t
	s.taskOrder = append(s.taskOrder, upid)
	return t
}

var warnRE = regexp.MustCompile(`^WARNINGS: \d+$`)

func (s *Server) stopTask(t *task) {
	exit := "OK"
	if t.finish != nil {
		exit = t.finish()
	}
	t.stopped = true
	t.exit = exit
	switch {
	case exit == "OK":
		t.log = append(t.log, "TASK OK")
	case warnRE.MatchString(exit):
		t.log = append(t.log, "TASK "+exit)
	default:
		t.log = append(t.log, "TASK ERROR: "+exit)
	}
}

// advance ends every task whose time has come; caller holds s.mu.
func (s *Server) advance() {
	now := s.clock()
	for _, id := range s.taskOrder {
		t := s.tasks[id]
		if !t.stopped && !t.held && !now.Before(t.end) {
			s.stopTask(t)
		}
	}
}

func (s *Server) taskStatus(rc *reqCtx) (any, *apiError) {
	t := s.tasks[rc.pp["upid"]]
	if t == nil || t.node != rc.pp["node"] {
		if !strings.HasPrefix(rc.pp["upid"], "UPID:") {
			return nil, &apiError{status: 400, msg: "Parameter verification failed.", errors: map[string]string{"upid": "unable to parse worker upid '" + rc.pp["upid"] + "'"}}
		}
		return nil, &apiError{status: 400, msg: "Parameter verification failed.", errors: map[string]string{"upid": "no such task"}}
	}
	if t.user != rc.identity { // PVE: other users' tasks need Sys.Audit on the node
		if err := s.perm(rc, "/nodes/"+t.node, "Sys.Audit"); err != nil {
			return nil, err
		}
	}
	var pid, pstart, st uint64
	fmt.Sscanf(strings.Split(t.upid, ":")[2], "%X", &pid)
	fmt.Sscanf(strings.Split(t.upid, ":")[3], "%X", &pstart)
	st = uint64(t.start.Unix())
	out := map[string]any{"upid": t.upid, "node": t.node, "pid": pid, "pstart": pstart, "starttime": st,
		"type": t.typ, "id": t.id, "user": t.user, "status": "running"}
	if u, tok, ok := strings.Cut(t.user, "!"); ok {
		out["user"], out["tokenid"] = u, tok
	}
	if t.stopped {
		out["status"] = "stopped"
		out["exitstatus"] = t.exit
	}
	return out, nil
}

func (s *Server) taskLog(rc *reqCtx) (any, int, *apiError) {
	if _, err := s.taskStatus(rc); err != nil {
		return nil, 0, err
	}
	t := s.tasks[rc.pp["upid"]]
	start := rc.integer("start", 0)
	limit := rc.integer("limit", 50)
	out := []map[string]any{}
	for i := start; i < len(t.log) && len(out) < limit; i++ {
		out = append(out, map[string]any{"n": i + 1, "t": t.log[i]})
	}
	return out, len(t.log), nil
}

func (s *Server) listTasks(rc *reqCtx) (any, int, *apiError) {
	var all []map[string]any
	since, until := int64(rc.integer("since", 0)), int64(rc.integer("until", 0))
	for i := len(s.taskOrder) - 1; i >= 0; i-- {
		t := s.tasks[s.taskOrder[i]]
		if t.node != rc.pp["node"] {
			continue
		}
		if f := rc.str("typefilter"); f != "" && t.typ != f {
			continue
		}
		if v := rc.str("vmid"); v != "" && t.id != v {
			continue
		}
		if f := rc.str("userfilter"); f != "" && !strings.Contains(t.user, f) {
			continue
		}
		st := t.start.Unix()
		if (since != 0 && st < since) || (until != 0 && st > until) {
			continue
		}
		src := rc.str("source")
		if src == "" {
			src = "archive"
		}
		if (src == "archive" && !t.stopped) || (src == "active" && t.stopped) {
			continue
		}
		if rc.boolean("errors", false) && (!t.stopped || t.exit == "OK" || warnRE.MatchString(t.exit)) {
			continue
		}
		e := map[string]any{"upid": t.upid, "node": t.node, "starttime": st, "type": t.typ, "id": t.id, "user": t.user}
		if t.stopped {
			e["status"] = t.exit
			e["endtime"] = t.end.Unix()
		}
		all = append(all, e)
	}
	total := len(all)
	start, limit := rc.integer("start", 0), rc.integer("limit", 50)
	out := []map[string]any{}
	for i := start; i < len(all) && len(out) < limit; i++ {
		out = append(out, all[i])
	}
	return out, total, nil
}
