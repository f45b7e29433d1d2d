package backup

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"path"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/thehomelab/homelab/internal/poll"
)

// cluster is what Apply needs from Proxmox. The proxmox-backed
// implementation lives in pve.go; tests use a double.
type cluster interface {
	// inventory reads guests, storages and the archives on cfg.Storage.
	inventory(ctx context.Context, cfg Config) (inventory, error)
	// vzdump starts one vzdump task on node for vmids.
	vzdump(ctx context.Context, node string, vmids []int, o dumpOptions) (dumpTask, error)
	// guestRunning and storageActive are polled after a two-step dump.
	guestRunning(ctx context.Context, node string, vmid int) (bool, error)
	storageActive(ctx context.Context, node, storage string) (bool, error)
	// storagePath is the storage's directory on the node ("/mnt/pve/backups").
	storagePath(ctx context.Context, storage string) (string, error)
	// archives lists the guest's backup volumes on storage.
	archives(ctx context.Context, node, storage string, vmid int) ([]Archive, error)
	// prunePreview is the node's own dry run, prune the real thing.
	prunePreview(ctx context.Context, node, storage string, keep Keep, typ string, vmid int) (map[string]Mark, error)
	prune(ctx context.Context, node, storage string, keep Keep, typ string, vmid int) error
	// deleteVolume removes a backup volume with its .log and .notes.
	deleteVolume(ctx context.Context, node, volid string) error
}

// dumpOptions are the vzdump parameters Apply sets.
type dumpOptions struct {
	Storage       string
	Mode          string
	Compress      string
	NotesTemplate string
	Protected     bool
}

// dumpTask is a running vzdump.
type dumpTask interface {
	Log(ctx context.Context) iter.Seq2[string, error]
	Wait(ctx context.Context) error
}

// Apply executes a plan: one vzdump per node for the direct guests, then
// each two-step guest, then retention and the off-site copies. Guests whose
// pre-checks failed are skipped and reported; one guest failing does not
// stop the others. Nothing is deleted unless the node's own prune preview
// agrees with Retention, and a two-step guest's local archive is deleted
// only after its copy on the share verified.
//
// The Report says what happened to each guest; the error is nil when the
// report is OK, else a *Error joining every failure (errors.Is finds
// ErrVerify, ErrConflict … among them). Once ctx is done Apply returns
// ctx.Err() with the report so far.
func Apply(ctx context.Context, p NightPlan) (Report, error) {
	if p.c == nil {
		return Report{}, &Error{Op: "apply", Message: "plan was not made by Plan", Err: ErrInvalid}
	}
	return apply(ctx, p.c, p, nodeSide{copy: CopyVerified, offsite: rcloneCopy})
}

// nodeSide is the work done outside the API: the verified copy on the node
// and rclone. Tests replace it.
type nodeSide struct {
	copy    func(ctx context.Context, r Runner, src, dstDir string, o CopyOptions) (CopyResult, error)
	offsite func(ctx context.Context, rc *Rclone, spec OffsiteSpec, progress func(OffsiteProgress)) (OffsiteResult, error)
}

func rcloneCopy(ctx context.Context, rc *Rclone, spec OffsiteSpec, progress func(OffsiteProgress)) (OffsiteResult, error) {
	return rc.Copy(ctx, spec, progress)
}

type applier struct {
	c    cluster
	node nodeSide
	cfg  Config
	p    NightPlan
	r    *Report

	emitMu sync.Mutex // progress may come from the copy's own goroutine
}

func (a *applier) emit(e Event) {
	if a.cfg.OnEvent == nil {
		return
	}
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	a.emitMu.Lock()
	defer a.emitMu.Unlock()
	a.cfg.OnEvent(e)
}

func apply(ctx context.Context, c cluster, p NightPlan, node nodeSide) (Report, error) {
	cfg := p.cfg.withDefaults()
	r := Report{Started: time.Now()}
	a := &applier{c: c, node: node, cfg: cfg, p: p, r: &r}
	finish := func() (Report, error) {
		r.Finished = time.Now()
		if err := ctx.Err(); err != nil {
			return r, err
		}
		return r, a.failure()
	}

	for _, c := range p.Checks {
		if !c.OK && c.Guest == 0 {
			r.Problems = append(r.Problems, c.String())
		} else if !c.OK {
			r.Guests = append(r.Guests, GuestReport{VMID: c.Guest, Status: StatusSkipped, Err: &Error{Op: "plan", Message: c.String(), Err: ErrNotFound}})
		}
	}

	// Direct guests: one vzdump per node.
	byNode := map[string][]GuestPlan{}
	var nodes []string
	for _, g := range p.Guests {
		if !g.OK() {
			r.Guests = append(r.Guests, skipped(g))
			continue
		}
		if g.Method == Direct {
			if _, ok := byNode[g.Node]; !ok {
				nodes = append(nodes, g.Node)
			}
			byNode[g.Node] = append(byNode[g.Node], g)
		}
	}
	slices.Sort(nodes)
	for _, node := range nodes {
		if ctx.Err() != nil {
			return finish()
		}
		r.Guests = append(r.Guests, a.dumpDirect(ctx, node, byNode[node])...)
	}

	// Two-step guests, one at a time: each freezes its own share.
	for _, g := range p.Guests {
		if g.Method != TwoStep || !g.OK() {
			continue
		}
		if ctx.Err() != nil {
			return finish()
		}
		r.Guests = append(r.Guests, a.twoStep(ctx, g))
	}
	slices.SortStableFunc(r.Guests, func(x, y GuestReport) int { return x.VMID - y.VMID })

	for _, o := range p.Offsite {
		if ctx.Err() != nil {
			return finish()
		}
		r.Offsite = append(r.Offsite, a.offsite(ctx, o))
	}
	return finish()
}

func (a *applier) failure() error {
	var errs []error
	for _, g := range a.r.Guests {
		if g.Err != nil && failed(g.Status) {
			errs = append(errs, g.Err)
		}
	}
	for _, o := range a.r.Offsite {
		if o.Err != nil && failed(o.Status) {
			errs = append(errs, o.Err)
		}
	}
	for _, p := range a.r.Problems {
		errs = append(errs, &Error{Op: "plan", Message: p, Err: ErrInvalid})
	}
	if len(errs) == 0 {
		return nil
	}
	return &Error{Op: "apply", Message: strings.TrimPrefix(a.r.Subject(), "backup "), Err: errors.Join(errs...)}
}

func skipped(g GuestPlan) GuestReport {
	gr := baseReport(g)
	gr.Status = StatusSkipped
	var msgs []string
	for _, c := range g.Checks {
		if !c.OK {
			msgs = append(msgs, c.Name+": "+c.Detail)
		}
	}
	cause := ErrInvalid
	for _, c := range g.Checks {
		if !c.OK && c.Name == "local space" {
			cause = ErrNoSpace
		} else if !c.OK && c.Name == "share active" {
			cause = ErrUnavailable
		}
	}
	gr.Err = &Error{Op: fmt.Sprintf("plan guest %d", g.VMID), Message: "refused: " + strings.Join(msgs, "; "), Err: cause}
	return gr
}

func baseReport(g GuestPlan) GuestReport {
	return GuestReport{VMID: g.VMID, Name: g.Name, Type: g.Type, Node: g.Node, Method: g.Method, Storage: g.Storage}
}

// runDump starts vzdump and follows its log, sending events, until the task
// ends. It returns the parsed log and the task's own verdict.
func (a *applier) runDump(ctx context.Context, node string, vmids []int, storage string) (VzdumpLog, error) {
	task, err := a.c.vzdump(ctx, node, vmids, dumpOptions{Storage: storage, Mode: a.cfg.Mode, Compress: a.cfg.Compress,
		NotesTemplate: a.cfg.NotesTemplate, Protected: a.cfg.Protected})
	if err != nil {
		return VzdumpLog{}, err
	}
	lp := newLogParser(a.cfg.Location)
	for line, err := range task.Log(ctx) {
		if err != nil {
			break // the task's Wait says whether it matters
		}
		if lp.feed(line) != nil {
			break
		}
		g := lp.guest()
		if g == nil {
			continue
		}
		switch lp.last {
		case logGuestStarted:
			a.emit(Event{Kind: EventGuestStarted, Guest: g.VMID, Node: node})
		case logGuestProgress:
			a.emit(Event{Kind: EventGuestProgress, Guest: g.VMID, Node: node, Percent: g.Percent})
		case logArchiveWritten:
			a.emit(Event{Kind: EventArchiveWritten, Guest: g.VMID, Node: node, Archive: g.Archive, Bytes: g.Size})
		}
	}
	werr := task.Wait(ctx)
	if ctx.Err() != nil {
		return lp.log, ctx.Err()
	}
	return lp.log, werr
}

func volidOf(storage, archivePath string) string {
	return storage + ":backup/" + path.Base(archivePath)
}

// guestResult fills a report from the guest's part of the task log.
func guestResult(gr *GuestReport, gl GuestLog, ok bool, storage string, taskErr error, node string) {
	switch {
	case !ok:
		gr.Status = StatusFailed
		msg := "not in the vzdump task log"
		if taskErr != nil {
			msg = taskErr.Error()
		}
		gr.Err = &Error{Op: fmt.Sprintf("vzdump %d on %s", gr.VMID, node), Message: msg, Err: ErrUnavailable}
		return
	case gl.Status == StatusFailed || gl.Status == StatusPending:
		gr.Status = StatusFailed
		msg := gl.Error
		if msg == "" {
			msg = "the task ended before the guest's backup finished"
			if taskErr != nil {
				msg += ": " + taskErr.Error()
			}
		}
		gr.Err = &Error{Op: fmt.Sprintf("vzdump %d on %s", gr.VMID, node), Message: msg, Err: ErrUnavailable}
	default:
		gr.Status = gl.Status
	}
	if gl.Name != "" {
		gr.Name = gl.Name
	}
	if gl.Archive != "" && gr.Status != StatusFailed {
		gr.Archive = volidOf(storage, gl.Archive)
	}
	gr.Size, gr.Duration, gr.Warnings = gl.Size, gl.Duration, gl.Warnings
}

func (a *applier) dumpDirect(ctx context.Context, node string, guests []GuestPlan) []GuestReport {
	var ids []int
	for _, g := range guests {
		ids = append(ids, g.VMID)
	}
	log, taskErr := a.runDump(ctx, node, ids, a.cfg.Storage)
	out := make([]GuestReport, 0, len(guests))
	for _, g := range guests {
		gr := baseReport(g)
		gl, ok := log.Guest(g.VMID)
		guestResult(&gr, gl, ok, a.cfg.Storage, taskErr, node)
		if gr.Status != StatusFailed && a.cfg.VerifyDirect && ctx.Err() == nil {
			a.verifyDirect(ctx, node, gl, &gr)
		}
		if gr.Status == StatusFailed {
			a.emit(Event{Kind: EventGuestFailed, Guest: g.VMID, Node: node, Err: gr.Err})
		} else if ctx.Err() == nil {
			a.retain(ctx, g, &gr)
		}
		a.emit(Event{Kind: EventGuestDone, Guest: g.VMID, Node: node, Archive: gr.Archive, Bytes: gr.Size, Err: gr.Err})
		out = append(out, gr)
	}
	return out
}

// verifyDirect runs zstd -t over a direct guest's new archive on the node
// (zstd checks the XXH64 content checksum it writes into every frame).
func (a *applier) verifyDirect(ctx context.Context, node string, gl GuestLog, gr *GuestReport) {
	if !strings.HasSuffix(gl.Archive, ".zst") {
		return
	}
	runner := a.cfg.Runners[node]
	if runner == nil {
		gr.Warnings = append(gr.Warnings, "not verified: no Runner for node "+node)
		if gr.Status == StatusOK {
			gr.Status = StatusWarnings
		}
		return
	}
	file := gl.Archive
	if !strings.HasPrefix(file, "/") {
		dir, err := a.c.storagePath(ctx, a.cfg.Storage)
		if err != nil {
			gr.Status, gr.Err = StatusFailed, err
			return
		}
		file = path.Join(dir, "dump", path.Base(file))
	}
	if _, err := runner.Run(ctx, "zstd", "-q", "-t", "--", file); err != nil {
		if ctx.Err() != nil {
			gr.Status, gr.Err = StatusFailed, ctx.Err()
			return
		}
		gr.Status = StatusFailed
		gr.Err = &Error{Op: "verify " + path.Base(file), Message: "zstd -t: " + err.Error(), Err: ErrVerify}
		return
	}
	gr.Verified = true
	a.emit(Event{Kind: EventVerified, Guest: gr.VMID, Node: node, Archive: gr.Archive, Bytes: gr.Size})
}

// retain applies retention for one guest on the share, after comparing
// Retention with the node's own preview; on disagreement it deletes nothing.
func (a *applier) retain(ctx context.Context, g GuestPlan, gr *GuestReport) {
	fail := func(err error) {
		gr.Status = StatusFailed
		gr.Err = err
		a.emit(Event{Kind: EventGuestFailed, Guest: g.VMID, Node: g.Node, Err: err})
	}
	archives, err := a.c.archives(ctx, g.Node, g.Storage, g.VMID)
	if err != nil {
		fail(&Error{Op: fmt.Sprintf("list archives of %d on %s", g.VMID, g.Storage), Err: err})
		return
	}
	var mine []Archive
	for _, x := range archives {
		if n, ok := ParseArchiveName(x.Volid, a.cfg.Location); !ok || (n.VMID == g.VMID && n.Type == g.Type) {
			mine = append(mine, x)
		}
	}
	ours := Retention(mine, g.Keep, a.cfg.Location)
	var remove []string
	for _, d := range ours {
		switch d.Mark {
		case MarkKeep, MarkProtected:
			if d.VMID == g.VMID {
				gr.Kept++
			}
		case MarkRemove:
			remove = append(remove, d.Volid)
		}
	}
	if len(remove) == 0 {
		return
	}
	theirs, err := a.c.prunePreview(ctx, g.Node, g.Storage, g.Keep, g.Type, g.VMID)
	if err != nil {
		fail(&Error{Op: fmt.Sprintf("prune preview of %d on %s", g.VMID, g.Storage), Err: err})
		return
	}
	if diff := compareMarks(ours, theirs); diff != "" {
		fail(&Error{Op: fmt.Sprintf("prune %d on %s", g.VMID, g.Storage),
			Message: "refused: retention and the node's prune preview disagree (" + diff + ")", Err: ErrConflict})
		return
	}
	if err := a.c.prune(ctx, g.Node, g.Storage, g.Keep, g.Type, g.VMID); err != nil {
		fail(&Error{Op: fmt.Sprintf("prune %d on %s", g.VMID, g.Storage), Err: err})
		return
	}
	gr.Pruned = remove
	a.emit(Event{Kind: EventPruned, Guest: g.VMID, Node: g.Node, Files: int64(len(remove))})
}

// compareMarks describes where the node's preview differs from ours, or
// returns "".
func compareMarks(ours []Decision, theirs map[string]Mark) string {
	var diffs []string
	seen := map[string]bool{}
	for _, d := range ours {
		seen[d.Volid] = true
		m, ok := theirs[d.Volid]
		switch {
		case d.Mark == MarkRemove && !ok:
			diffs = append(diffs, fmt.Sprintf("%s: ours remove, node has none", baseName(d.Volid)))
		case ok && (m == MarkRemove) != (d.Mark == MarkRemove):
			diffs = append(diffs, fmt.Sprintf("%s: ours %s, node %s", baseName(d.Volid), d.Mark, m))
		}
	}
	var extra []string
	for v, m := range theirs {
		if !seen[v] && m == MarkRemove {
			extra = append(extra, fmt.Sprintf("%s: node remove, ours has none", baseName(v)))
		}
	}
	slices.Sort(extra)
	return strings.Join(append(diffs, extra...), "; ")
}

// twoStep dumps a guest that serves the share to local storage, waits for
// it and the share, copies and verifies the archive on the node, deletes
// the local copy and applies retention on the share.
func (a *applier) twoStep(ctx context.Context, g GuestPlan) GuestReport {
	gr := baseReport(g)
	done := func() GuestReport {
		if gr.Err != nil {
			a.emit(Event{Kind: EventGuestFailed, Guest: g.VMID, Node: g.Node, Err: gr.Err})
		}
		a.emit(Event{Kind: EventGuestDone, Guest: g.VMID, Node: g.Node, Archive: gr.Archive, Bytes: gr.Size, Err: gr.Err})
		return gr
	}
	fail := func(err error) GuestReport {
		gr.Status, gr.Err = StatusFailed, err
		return done()
	}
	runner := a.cfg.Runners[g.Node]
	if runner == nil {
		return fail(&Error{Op: fmt.Sprintf("two-step backup of %d", g.VMID), Message: "no Runner for node " + g.Node, Err: ErrInvalid})
	}
	sharePath, err := a.c.storagePath(ctx, g.Storage)
	if err != nil {
		return fail(&Error{Op: "locate storage " + g.Storage, Err: err})
	}

	log, taskErr := a.runDump(ctx, g.Node, []int{g.VMID}, g.DumpStorage)
	gl, ok := log.Guest(g.VMID)
	guestResult(&gr, gl, ok, g.DumpStorage, taskErr, g.Node)
	if gr.Status == StatusFailed {
		return done()
	}
	localVolid := gr.Archive
	if gl.Archive == "" {
		return fail(&Error{Op: fmt.Sprintf("vzdump %d on %s", g.VMID, g.Node), Message: "the task log names no archive", Err: ErrUnavailable})
	}

	if err := a.waitBack(ctx, g); err != nil {
		gr.Archive, gr.Storage = localVolid, g.DumpStorage
		return fail(err)
	}

	res, err := a.node.copy(ctx, runner, gl.Archive, path.Join(sharePath, "dump"), CopyOptions{Sidecars: true,
		Progress: func(done, total int64) {
			a.emit(Event{Kind: EventCopyProgress, Guest: g.VMID, Node: g.Node, Bytes: done, TotalBytes: total})
		}})
	if err != nil {
		// The local archive stays: it is the only copy of tonight's backup.
		gr.Archive, gr.Storage = localVolid, g.DumpStorage
		var be *Error
		if !errors.As(err, &be) {
			err = &Error{Op: fmt.Sprintf("copy %s to %s", path.Base(gl.Archive), g.Storage), Err: err}
		}
		return fail(err)
	}
	gr.Verified, gr.SHA256, gr.Size = true, res.SHA256, res.Size
	gr.Archive = volidOf(g.Storage, res.Path)
	gr.Storage = g.Storage
	a.emit(Event{Kind: EventVerified, Guest: g.VMID, Node: g.Node, Archive: gr.Archive, Bytes: res.Size})

	if err := a.c.deleteVolume(ctx, g.Node, localVolid); err != nil {
		gr.Status = StatusWarnings
		gr.Warnings = append(gr.Warnings, fmt.Sprintf("verified copy is on %s but the local copy %s could not be deleted: %v", g.Storage, localVolid, err))
	}
	a.emit(Event{Kind: EventCopied, Guest: g.VMID, Node: g.Node, Archive: gr.Archive, Bytes: res.Size})

	a.retain(ctx, g, &gr)
	return done()
}

// waitBack waits until the guest runs again (if it ran) and its share is
// active, polling every PollInterval, bounded by ShareTimeout.
func (a *applier) waitBack(ctx context.Context, g GuestPlan) error {
	ctx, cancel := context.WithTimeout(ctx, a.cfg.ShareTimeout)
	defer cancel()
	every := a.cfg.pollInterval()
	var last error
	err := poll.Until(ctx, poll.Backoff{Initial: every, Max: every, Factor: 1, Jitter: -1}, func(ctx context.Context) (bool, error) {
		last = nil
		if g.Running {
			up, err := a.c.guestRunning(ctx, g.Node, g.VMID)
			switch {
			case err != nil:
				last = err
			case !up:
				last = fmt.Errorf("guest %d is not running", g.VMID)
			}
		}
		if last == nil {
			active, err := a.c.storageActive(ctx, g.Node, g.Storage)
			switch {
			case err != nil:
				last = err
			case !active:
				last = fmt.Errorf("storage %s is not active", g.Storage)
			default:
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil && errors.Is(context.Cause(ctx), context.DeadlineExceeded) && last != nil {
		return &Error{Op: fmt.Sprintf("wait for %d and %s", g.VMID, g.Storage), Message: fmt.Sprintf("not back after %s: %v", a.cfg.ShareTimeout, last), Err: ErrUnavailable}
	}
	return err
}

func (a *applier) offsite(ctx context.Context, o OffsiteSpec) OffsiteReport {
	or := OffsiteReport{Source: o.Source, Remote: o.Remote}
	start := time.Now()
	if a.cfg.Rclone == nil {
		or.Status, or.Err = StatusFailed, &Error{Op: "offsite " + o.Remote, Message: "no Rclone configured", Err: ErrInvalid}
	} else {
		res, err := a.node.offsite(ctx, a.cfg.Rclone, o, func(pr OffsiteProgress) {
			a.emit(Event{Kind: EventOffsiteProgress, Remote: o.Remote, Bytes: pr.Bytes, TotalBytes: pr.TotalBytes, Files: pr.Files, TotalFiles: pr.TotalFiles})
		})
		or.Bytes, or.Files, or.Checked, or.Differences = res.Bytes, res.Files, res.Checked, res.CheckDifferences
		switch {
		case err != nil:
			or.Status, or.Err = StatusFailed, err
		case res.CheckDifferences > 0:
			or.Status = StatusFailed
			or.Err = &Error{Op: "check " + o.Remote, Message: fmt.Sprintf("%d differences after the copy", res.CheckDifferences), Err: ErrVerify}
		default:
			or.Status = StatusOK
		}
	}
	or.Duration = time.Since(start)
	a.emit(Event{Kind: EventOffsiteDone, Remote: o.Remote, Bytes: or.Bytes, Files: or.Files, Err: or.Err})
	return or
}
