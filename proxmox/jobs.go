package proxmox

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// BackupJob is a scheduled vzdump job (Datacenter → Backup).
type BackupJob struct {
	// ID is the job id, required by EnsureJob: it is how the job is found
	// again (PVE would generate one for an unnamed job, which a second run
	// could not find).
	ID string
	// Schedule is a PVE calendar event, e.g. "02:00" or "sun 03:00".
	Schedule string
	// Disabled turns the job off (sent as enabled=0).
	Disabled bool
	// VMIDs selects guests; All selects every guest except Exclude.
	VMIDs   []VMID
	All     bool
	Exclude []VMID
	// Node limits the job to one node; empty means all.
	Node          string
	Storage       string
	Mode          string // snapshot (default), suspend, stop
	Compress      string // 0, gzip, lzo, zstd
	NotesTemplate string
	Protected     bool
	// PruneBackups overrides the storage's retention; nil keeps it.
	PruneBackups *PruneSpec
	Comment      string
	RepeatMissed bool
	// NextRun is when PVE runs the job next (read only).
	NextRun time.Time
}

// wire renders the managed keys; empty values mean "unset".
func (j BackupJob) wire() map[string]string {
	ids := func(v []VMID) string {
		s := make([]string, len(v))
		for i, id := range v {
			s[i] = id.String()
		}
		return strings.Join(s, ",")
	}
	m := map[string]string{
		"schedule": j.Schedule, "enabled": b01(!j.Disabled), "vmid": ids(j.VMIDs), "exclude": ids(j.Exclude),
		"node": j.Node, "storage": j.Storage, "mode": j.Mode, "compress": j.Compress,
		"notes-template": j.NotesTemplate, "comment": j.Comment, "all": "", "protected": "", "repeat-missed": "",
		"prune-backups": "",
	}
	if j.All {
		m["all"] = "1"
	}
	if j.Protected {
		m["protected"] = "1"
	}
	if j.RepeatMissed {
		m["repeat-missed"] = "1"
	}
	if j.PruneBackups != nil {
		m["prune-backups"] = j.PruneBackups.String()
	}
	return m
}

type jobWire map[string]json.RawMessage

func (w jobWire) str(k string) string {
	var s str
	if v, ok := w[k]; ok {
		_ = s.UnmarshalJSON(v)
	}
	return string(s)
}

func (w jobWire) flag(k string, def bool) bool {
	v, ok := w[k]
	if !ok {
		return def
	}
	var n num
	if n.UnmarshalJSON(v) != nil {
		return def
	}
	return n.bool()
}

func parseIDs(s string) []VMID {
	var out []VMID
	for _, p := range splitList(s) {
		if n, err := strconv.Atoi(p); err == nil {
			out = append(out, VMID(n))
		}
	}
	return out
}

func (w jobWire) job() BackupJob {
	j := BackupJob{ID: w.str("id"), Schedule: w.str("schedule"), Disabled: !w.flag("enabled", true),
		VMIDs: parseIDs(w.str("vmid")), All: w.flag("all", false), Exclude: parseIDs(w.str("exclude")),
		Node: w.str("node"), Storage: w.str("storage"), Mode: w.str("mode"), Compress: w.str("compress"),
		NotesTemplate: w.str("notes-template"), Protected: w.flag("protected", false), Comment: w.str("comment"),
		RepeatMissed: w.flag("repeat-missed", false)}
	if nr := w.str("next-run"); nr != "" {
		if n, err := strconv.ParseInt(nr, 10, 64); err == nil {
			j.NextRun = time.Unix(n, 0)
		}
	}
	if raw, ok := w["prune-backups"]; ok {
		// GET returns an object ({"keep-daily":"7"}), writes take a string.
		var obj map[string]str
		if json.Unmarshal(raw, &obj) == nil {
			keys := make([]string, 0, len(obj))
			for k := range obj {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			var parts []string
			for _, k := range keys {
				parts = append(parts, k+"="+string(obj[k]))
			}
			if ps, err := parsePruneSpec(strings.Join(parts, ",")); err == nil {
				j.PruneBackups = &ps
			}
		} else if ps, err := parsePruneSpec(w.str("prune-backups")); err == nil {
			j.PruneBackups = &ps
		}
	}
	return j
}

var jobIDRE = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9_\-]*$`)

// Jobs lists the scheduled backup jobs (go-proxmox v0.8.2 cannot decode
// their prune-backups objects).
//
// Proxmox API: GET /cluster/backup
func (s *BackupService) Jobs(ctx context.Context) ([]BackupJob, error) {
	var ws []jobWire
	if err := s.c.call(ctx, nil, http.MethodGet, "/cluster/backup", nil, &ws, nil); err != nil {
		return nil, opError("list backup jobs", err)
	}
	out := make([]BackupJob, 0, len(ws))
	for _, w := range ws {
		out = append(out, w.job())
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// Job reads one backup job (ErrNotFound if missing).
//
// Proxmox API: GET /cluster/backup/{id}
func (s *BackupService) Job(ctx context.Context, id string) (BackupJob, error) {
	op := "read backup job " + id
	if !jobIDRE.MatchString(id) {
		return BackupJob{}, refuse(op, ErrInvalid, "job id %q", id)
	}
	var w jobWire
	if err := s.c.call(ctx, nil, http.MethodGet, "/cluster/backup/"+id, nil, &w, nil); err != nil {
		return BackupJob{}, opError(op, err)
	}
	return w.job(), nil
}

// JobResult is what EnsureJob did.
type JobResult struct {
	// Job is the job as it now is (as requested).
	Job BackupJob
	// Action is Created, Updated or Unchanged.
	Action Action
	// Changes lists the keys sent, with old and new values.
	Changes []Change
}

// Changed reports whether anything was sent.
func (r JobResult) Changed() bool { return r.Action != Unchanged }

// EnsureJob makes the job with j.ID look like j: it creates a missing
// job, and otherwise sends only the keys that differ (deleting the ones j
// leaves empty). Nothing to change sends nothing. Disabled goes out as
// enabled=0, which go-proxmox cannot send.
//
// Proxmox API: GET /cluster/backup/{id}, POST /cluster/backup, PUT /cluster/backup/{id}
func (s *BackupService) EnsureJob(ctx context.Context, j BackupJob) (JobResult, error) {
	op := "ensure backup job " + j.ID
	if j.ID == "" {
		return JobResult{}, refuse("ensure backup job", ErrInvalid, "an ID is required: it is how the job is found again on the next run")
	}
	if !jobIDRE.MatchString(j.ID) {
		return JobResult{}, refuse(op, ErrInvalid, "job id %q", j.ID)
	}
	if j.Schedule == "" {
		return JobResult{}, refuse(op, ErrInvalid, "schedule is required")
	}
	if len(j.VMIDs) == 0 && !j.All {
		return JobResult{}, refuse(op, ErrInvalid, "select guests with VMIDs or All")
	}
	want := j.wire()
	res := JobResult{Job: j}
	cur, err := s.Job(ctx, j.ID)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return JobResult{}, opError(op, err)
	}
	if err != nil { // create
		res.Action, res.Changes = Created, createChanges(want)
		p := changeParams(res.Changes)
		p.Set("id", j.ID)
		var raw jsonRaw
		if err := s.c.call(ctx, nil, http.MethodPost, "/cluster/backup", p, &raw, nil); err != nil {
			return JobResult{}, opError(op, err)
		}
		return res, nil
	}
	res.Job.NextRun = cur.NextRun
	res.Changes = DiffConfig(cur.wire(), want, nil)
	if len(res.Changes) == 0 {
		return res, nil
	}
	res.Action = Updated
	var raw jsonRaw
	if err := s.c.call(ctx, nil, http.MethodPut, "/cluster/backup/"+j.ID, changeParams(res.Changes), &raw, nil); err != nil {
		return JobResult{}, opError(op, err)
	}
	return res, nil
}

// DeleteJob removes a backup job.
//
// Proxmox API: DELETE /cluster/backup/{id}
func (s *BackupService) DeleteJob(ctx context.Context, id string) error {
	op := "delete backup job " + id
	if !jobIDRE.MatchString(id) {
		return refuse(op, ErrInvalid, "job id %q", id)
	}
	var raw jsonRaw
	return opError(op, s.c.call(ctx, nil, http.MethodDelete, "/cluster/backup/"+id, nil, &raw, nil))
}
