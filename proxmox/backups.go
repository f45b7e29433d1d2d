package proxmox

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"net/http"
	"sort"
	"strings"
	"time"
)

// BackupService runs vzdump and manages backup volumes: the primitives
// the backup package builds on.
type BackupService struct{ c *Client }

// VzdumpOptions tune a backup run. Zero values mean PVE's defaults.
type VzdumpOptions struct {
	// Storage is the target storage id (required for NotesTemplate and
	// Protected).
	Storage string
	// Mode is snapshot (default), suspend or stop.
	Mode string
	// Compress is 0, gzip, lzo or zstd; empty means PVE's default (none).
	Compress string
	// NotesTemplate becomes each backup's notes; {{guestname}},
	// {{vmid}}, {{node}} and {{cluster}} are expanded by PVE.
	NotesTemplate string
	// Protected marks the new backups protected.
	Protected bool
	// NoPrune turns off the prune PVE runs after a successful backup
	// (remove=0); PruneBackups overrides the storage's retention for it.
	NoPrune      bool
	PruneBackups *PruneSpec
}

// Vzdump is a handle on a running backup: one vzdump task per node that
// hosts some of the guests.
type Vzdump struct {
	// Tasks are the vzdump tasks, one per node, sorted by node.
	Tasks []*Task
	vmids []VMID
}

// Wait waits for every task and joins the failures; a task ending in
// "job errors" means some guest failed (its log says which).
//
// Proxmox API: GET /nodes/{node}/tasks/{upid}/status
func (v *Vzdump) Wait(ctx context.Context) error {
	var errs []error
	for _, t := range v.Tasks {
		if _, err := t.Wait(ctx); err != nil {
			if cerr := ctx.Err(); cerr != nil {
				return cerr
			}
			errs = append(errs, opError(fmt.Sprintf("vzdump %v on %s", v.vmids, t.UPID.Node), err))
		}
	}
	return errors.Join(errs...)
}

// Log streams the log lines of every task, one task after the other; with
// tasks on several nodes each line starts with "<node>: ".
//
// Proxmox API: GET /nodes/{node}/tasks/{upid}/log, GET /nodes/{node}/tasks/{upid}/status
func (v *Vzdump) Log(ctx context.Context) iter.Seq2[string, error] {
	return func(yield func(string, error) bool) {
		for _, t := range v.Tasks {
			for line, err := range t.Log(ctx) {
				if err == nil && len(v.Tasks) > 1 {
					line = t.UPID.Node + ": " + line
				}
				if !yield(line, err) || err != nil {
					return
				}
			}
		}
	}
}

// StartVzdump starts vzdump for the given guests, one task per node that
// hosts some of them (vzdump only backs up local guests, and answers "OK"
// without a task otherwise), and returns the handle to wait for them. A
// node that refuses does not stop the others: its error is returned next
// to the handle of the tasks that did start.
//
// Proxmox API: GET /cluster/resources?type=vm, POST /nodes/{node}/vzdump
func (s *BackupService) StartVzdump(ctx context.Context, vmids []VMID, o VzdumpOptions) (*Vzdump, error) {
	op := fmt.Sprintf("vzdump %v", vmids)
	if len(vmids) == 0 {
		return nil, refuse(op, ErrInvalid, "no guests given")
	}
	if (o.NotesTemplate != "" || o.Protected) && o.Storage == "" {
		return nil, refuse(op, ErrInvalid, "notes template and protected need a storage")
	}
	if strings.ContainsAny(o.NotesTemplate, "\r\n") || len(o.NotesTemplate) > 1024 {
		return nil, refuse(op, ErrInvalid, "notes template must be one line of at most 1024 bytes (write a newline as \\n)")
	}
	rs, err := s.c.resources(ctx, "vm")
	if err != nil {
		return nil, opError(op, err)
	}
	where := map[VMID]string{}
	for _, r := range rs {
		if r.Type == "qemu" || r.Type == "lxc" {
			where[VMID(r.VMID.int())] = r.Node
		}
	}
	byNode := map[string][]string{}
	for _, id := range vmids {
		n, ok := where[id]
		if !ok {
			return nil, refuse(op, ErrNotFound, "no guest %d in the cluster", id)
		}
		byNode[n] = append(byNode[n], id.String())
	}
	nodes := make([]string, 0, len(byNode))
	for n := range byNode {
		nodes = append(nodes, n)
	}
	sort.Strings(nodes)
	v := &Vzdump{vmids: vmids}
	var errs []error
	for _, n := range nodes {
		p := params{"vmid": {strings.Join(byNode[n], ",")}}
		if o.Storage != "" {
			p.Set("storage", o.Storage)
		}
		if o.Mode != "" {
			p.Set("mode", o.Mode)
		}
		if o.Compress != "" {
			p.Set("compress", o.Compress)
		}
		if o.NotesTemplate != "" {
			p.Set("notes-template", o.NotesTemplate)
		}
		if o.Protected {
			setBool(p, "protected", true)
		}
		if o.NoPrune {
			setBool(p, "remove", false)
		}
		if o.PruneBackups != nil {
			p.Set("prune-backups", o.PruneBackups.String())
		}
		var raw string
		if err := s.c.call(ctx, nil, http.MethodPost, "/nodes/"+n+"/vzdump", p, &raw, nil); err != nil {
			if cerr := ctx.Err(); cerr != nil {
				return v, cerr
			}
			// one unreachable node must not cost the others their backup
			errs = append(errs, opError(op+" on "+n, err))
			continue
		}
		if raw == "OK" { // nothing local to back up after all (guest moved)
			continue
		}
		u, err := ParseUPID(raw)
		if err != nil {
			errs = append(errs, opError(op+" on "+n, err))
			continue
		}
		v.Tasks = append(v.Tasks, s.c.Tasks.Task(u))
	}
	return v, errors.Join(errs...)
}

// Vzdump backs up the guests and waits for every task: StartVzdump, then
// Wait. A task ending in "job errors" means some guest failed (see the
// task log).
//
// Proxmox API: POST /nodes/{node}/vzdump, GET /nodes/{node}/tasks/{upid}/status
func (s *BackupService) Vzdump(ctx context.Context, vmids []VMID, o VzdumpOptions) error {
	v, err := s.StartVzdump(ctx, vmids, o)
	if cerr := ctx.Err(); cerr != nil {
		return cerr
	}
	if v == nil {
		return err
	}
	// start failures on some nodes; still wait for the rest
	return errors.Join(err, v.Wait(ctx))
}

// BackupVolume is one backup on a storage.
type BackupVolume struct {
	VolID     string // "backups:backup/vzdump-qemu-100-2026_11_26-02_00_03.vma.zst"
	VMID      VMID
	Type      GuestType
	Format    string
	Size      uint64
	Created   time.Time
	Notes     string // first line only in listings
	Protected bool
}

type volumeWire struct {
	VolID     string `json:"volid"`
	VMID      num    `json:"vmid"`
	Subtype   string `json:"subtype"`
	Format    string `json:"format"`
	Size      num    `json:"size"`
	CTime     num    `json:"ctime"`
	Notes     string `json:"notes"`
	Protected num    `json:"protected"`
}

// ListOptions filter Backups.List. The zero value lists every backup.
type ListOptions struct {
	// VMID lists only the backups of one guest; 0 means all.
	VMID VMID
}

// List lists the backups on a storage as seen from a node, newest first.
//
// Proxmox API: GET /nodes/{node}/storage/{storage}/content?content=backup
func (s *BackupService) List(ctx context.Context, node, storage string, o ListOptions) ([]BackupVolume, error) {
	vmid := o.VMID
	op := "list backups on " + storage
	if err := checkNode(op, node); err != nil {
		return nil, err
	}
	if !storageIDRE.MatchString(storage) {
		return nil, refuse(op, ErrInvalid, "storage id %q", storage)
	}
	p := params{"content": {"backup"}}
	if vmid > 0 {
		p.Set("vmid", vmid.String())
	}
	var ws []volumeWire
	if err := s.c.call(ctx, nil, http.MethodGet, "/nodes/"+node+"/storage/"+storage+"/content", p, &ws, nil); err != nil {
		return nil, opError(op, err)
	}
	out := make([]BackupVolume, 0, len(ws))
	for _, w := range ws {
		out = append(out, BackupVolume{VolID: w.VolID, VMID: VMID(w.VMID.int()), Type: GuestType(w.Subtype), Format: w.Format,
			Size: w.Size.u64(), Created: time.Unix(w.CTime.i64(), 0), Notes: w.Notes, Protected: w.Protected.bool()})
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Created.After(out[j].Created) })
	return out, nil
}

func volStorage(volid string) (string, error) {
	st, rest, ok := strings.Cut(volid, ":")
	if !ok || rest == "" || !storageIDRE.MatchString(st) {
		return "", fmt.Errorf("%w: volume id %q: want <storage>:<volume>", ErrInvalid, volid)
	}
	return st, nil
}

// SetNotes replaces a backup's notes (all lines).
//
// Proxmox API: PUT /nodes/{node}/storage/{storage}/content/{volume}
func (s *BackupService) SetNotes(ctx context.Context, node, volid, notes string) error {
	return s.update(ctx, node, volid, "set notes of "+volid, params{"notes": {notes}})
}

// SetProtected protects a backup from pruning and deletion, or lifts it.
//
// Proxmox API: PUT /nodes/{node}/storage/{storage}/content/{volume}
func (s *BackupService) SetProtected(ctx context.Context, node, volid string, protected bool) error {
	p := params{}
	setBool(p, "protected", protected)
	return s.update(ctx, node, volid, "set protection of "+volid, p)
}

func (s *BackupService) update(ctx context.Context, node, volid, op string, p params) error {
	if err := checkNode(op, node); err != nil {
		return err
	}
	st, err := volStorage(volid)
	if err != nil {
		return &Error{Op: op, Err: err}
	}
	var raw jsonRaw
	return opError(op, s.c.call(ctx, nil, http.MethodPut, "/nodes/"+node+"/storage/"+st+"/content/"+volid, p, &raw, nil))
}

// Delete removes a backup volume and waits for the imgdel task. A
// protected backup fails with the task's error.
//
// Proxmox API: DELETE /nodes/{node}/storage/{storage}/content/{volume}
func (s *BackupService) Delete(ctx context.Context, node, volid string) error {
	op := "delete " + volid
	if err := checkNode(op, node); err != nil {
		return err
	}
	st, err := volStorage(volid)
	if err != nil {
		return &Error{Op: op, Err: err}
	}
	_, err = s.c.runTask(ctx, nil, op, http.MethodDelete, "/nodes/"+node+"/storage/"+st+"/content/"+volid, nil)
	return err
}

// PruneMark is PVE's verdict on one backup.
type PruneMark struct {
	VolID   string
	VMID    VMID
	Type    GuestType
	Created time.Time
	// Mark is keep, remove, protected or renamed (non-standard name,
	// never removed).
	Mark string
}

// PruneOptions select what Prune and PrunePreview consider. The zero value
// applies the storage's own policy to every guest.
type PruneOptions struct {
	// Spec overrides the storage's retention policy; nil uses it.
	Spec *PruneSpec
	// Type limits pruning to VMs or containers; "" means both.
	Type GuestType
	// VMID limits pruning to one guest; 0 means all.
	VMID VMID
}

func (o PruneOptions) params() params {
	p := params{}
	if o.Spec != nil {
		p.Set("prune-backups", o.Spec.String())
	}
	if o.Type != "" {
		p.Set("type", string(o.Type))
	}
	if o.VMID > 0 {
		p.Set("vmid", o.VMID.String())
	}
	return p
}

// PrunePreview asks PVE which backups a retention policy would keep
// (dry run).
//
// Proxmox API: GET /nodes/{node}/storage/{storage}/prunebackups
func (s *BackupService) PrunePreview(ctx context.Context, node, storage string, o PruneOptions) ([]PruneMark, error) {
	op := "prune preview of " + storage
	if err := checkNode(op, node); err != nil {
		return nil, err
	}
	if !storageIDRE.MatchString(storage) {
		return nil, refuse(op, ErrInvalid, "storage id %q", storage)
	}
	p := o.params()
	var ws []struct {
		VolID string `json:"volid"`
		VMID  num    `json:"vmid"`
		Type  string `json:"type"`
		CTime num    `json:"ctime"`
		Mark  string `json:"mark"`
	}
	if err := s.c.call(ctx, nil, http.MethodGet, "/nodes/"+node+"/storage/"+storage+"/prunebackups", p, &ws, nil); err != nil {
		return nil, opError(op, err)
	}
	out := make([]PruneMark, 0, len(ws))
	for _, w := range ws {
		out = append(out, PruneMark{VolID: w.VolID, VMID: VMID(w.VMID.int()), Type: GuestType(w.Type),
			Created: time.Unix(w.CTime.i64(), 0), Mark: w.Mark})
	}
	return out, nil
}

// Prune removes the backups a retention policy marks "remove" and waits
// for the prunebackups task. Protected and renamed backups are never
// removed. Use PrunePreview first to see the verdicts.
//
// Proxmox API: DELETE /nodes/{node}/storage/{storage}/prunebackups
func (s *BackupService) Prune(ctx context.Context, node, storage string, o PruneOptions) error {
	op := "prune backups on " + storage
	if err := checkNode(op, node); err != nil {
		return err
	}
	if !storageIDRE.MatchString(storage) {
		return refuse(op, ErrInvalid, "storage id %q", storage)
	}
	p := o.params()
	_, err := s.c.runTask(ctx, nil, op, http.MethodDelete, "/nodes/"+node+"/storage/"+storage+"/prunebackups", p)
	return err
}
