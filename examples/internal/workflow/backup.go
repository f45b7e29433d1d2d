package workflow

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"path"
	"strings"

	"github.com/thehomelab/homelab/backup"
	"github.com/thehomelab/homelab/proxmox"
)

// BackupConfig is one night of backups.
type BackupConfig struct {
	// Config is the night for package backup (Client, Storage, retention,
	// off-site …). Backup tells the story from its events; an OnEvent set
	// here is called too, after the story's line (progress display).
	Config backup.Config
	// Apply runs the plan; without it the printed plan is the dry run.
	Apply bool
	// Connect returns the Runner of a node the plan needs one for (the
	// two-step copy, VerifyDirect) and that Config.Runners lacks: SSH for
	// real nodes, the lab's node double in the demo. It is called after
	// the plan is printed, only when Apply is set.
	Connect func(ctx context.Context, node string) (backup.Runner, error)
	// Drill, when set, restores the newest archive of Drill.VMID after the
	// night as a restore drill.
	Drill *backup.RestoreOptions
}

// Backup prints tonight's plan and, with cfg.Apply, runs it, telling what
// happens to each guest and then the report in sentences. It returns the
// report (the zero Report for a dry run). A night that failed (a guest, an
// off-site copy or the drill) is an error matching ErrProblem that wraps
// the package's errors and carries their text; a drill Proxmox could not
// be asked for (unreachable, credentials refused) is its error as is, not
// ErrProblem. The report is returned with it.
func Backup(ctx context.Context, w io.Writer, cfg BackupConfig) (backup.Report, error) {
	bc := cfg.Config
	onEvent := bc.OnEvent
	bc.OnEvent = func(e backup.Event) {
		sayEvent(w, e)
		if onEvent != nil {
			onEvent(e)
		}
	}
	// Apply looks a node's runner up in this map when it gets there, so
	// runners connected after the plan still count.
	bc.Runners = maps.Clone(bc.Runners)
	if bc.Runners == nil {
		bc.Runners = map[string]backup.Runner{}
	}
	plan, err := backup.Plan(ctx, bc)
	if err != nil {
		return backup.Report{}, backupErr(err)
	}
	for _, line := range strings.Split(strings.TrimRight(plan.String(), "\n"), "\n") {
		say(w, "%s", line)
	}
	if !cfg.Apply {
		say(w, "dry run: nothing was backed up")
		return backup.Report{}, nil
	}

	for _, g := range plan.Guests {
		if (g.Method != backup.TwoStep && !bc.VerifyDirect) || bc.Runners[g.Node] != nil || cfg.Connect == nil {
			continue
		}
		r, err := cfg.Connect(ctx, g.Node)
		if err != nil {
			return backup.Report{}, backupErr(fmt.Errorf("node %s: %w", g.Node, err))
		}
		bc.Runners[g.Node] = r
	}
	report, applyErr := backup.Apply(ctx, plan)
	var drillErr error
	if cfg.Drill != nil && ctx.Err() == nil {
		var rr backup.RestoreReport
		rr, drillErr = backup.VerifyRestore(ctx, bc, *cfg.Drill)
		report.Restores = append(report.Restores, rr)
	}
	sayReport(w, report)
	if ctx.Err() != nil {
		return report, ctx.Err()
	}
	var errs []error
	if applyErr != nil {
		errs = append(errs, nightFailed{applyErr})
	}
	switch {
	case drillErr == nil:
	case drillNotRun(drillErr):
		// Not a problem found: the caller's exit status says "could not check".
		errs = append(errs, drillErr)
	default:
		errs = append(errs, nightFailed{drillErr})
	}
	if len(errs) == 0 && !report.OK() {
		errs = append(errs, nightFailed{errors.New("backup: " + strings.TrimPrefix(report.Subject(), "backup "))})
	}
	switch len(errs) {
	case 0:
		return report, nil
	case 1:
		return report, errs[0]
	}
	return report, errors.Join(errs...)
}

// drillNotRun reports a drill that Proxmox refused or could not answer
// (unreachable, credentials or permission refused), as opposed to one that
// ran and failed. The backup package files both under its ErrUnavailable;
// the proxmox error it wraps tells them apart.
func drillNotRun(err error) bool {
	return errors.Is(err, proxmox.ErrUnavailable) || errors.Is(err, proxmox.ErrAuth) || errors.Is(err, proxmox.ErrPermission)
}

// backupErr gives err the "backup: " prefix unless the package's error
// already starts with it.
func backupErr(err error) error {
	if strings.HasPrefix(err.Error(), "backup: ") {
		return err
	}
	return fmt.Errorf("backup: %w", err)
}

// nightFailed is a night that did not go well; it matches ErrProblem and
// unwraps to the package's errors. Its text is theirs: the report's
// subject and the causes ("backup: apply: FAILED: 1 of 2 guests failed:
// backup: vzdump 102 on proxmox1: …").
type nightFailed struct{ err error }

func (e nightFailed) Error() string        { return e.err.Error() }
func (e nightFailed) Unwrap() error        { return e.err }
func (e nightFailed) Is(target error) bool { return target == ErrProblem }

// sayEvent tells one step of the night; progress is left out.
func sayEvent(w io.Writer, e backup.Event) {
	switch e.Kind {
	case backup.EventGuestStarted:
		say(w, "guest %d: vzdump started on %s", e.Guest, e.Node)
	case backup.EventArchiveWritten:
		say(w, "guest %d: archive %s written", e.Guest, path.Base(e.Archive))
	case backup.EventVerified:
		say(w, "guest %d: copy on the share verified (size, SHA-256, zstd -t)", e.Guest)
	case backup.EventCopied:
		say(w, "guest %d: verified copy in place as %s, local copy deleted", e.Guest, e.Archive)
	case backup.EventPruned:
		say(w, "guest %d: retention removed %d old archive(s)", e.Guest, e.Files)
	case backup.EventGuestFailed:
		say(w, "guest %d: FAILED: %v", e.Guest, e.Err)
	case backup.EventOffsiteDone:
		if e.Err != nil {
			say(w, "offsite %s: FAILED: %v", e.Remote, e.Err)
		} else {
			say(w, "offsite %s: %d file(s) copied", e.Remote, e.Files)
		}
	case backup.EventRestoreStarted:
		say(w, "guest %d: restore drill into %d started", e.Guest, e.ScratchVMID)
	case backup.EventRestoreDone:
		if e.Err != nil {
			say(w, "guest %d: restore drill FAILED: %v", e.Guest, e.Err)
		} else {
			say(w, "guest %d: restore drill passed, scratch guest destroyed", e.Guest)
		}
	}
}

// sayReport tells the night's report in sentences, one guest each.
func sayReport(w io.Writer, r backup.Report) {
	say(w, "report: %s", r.Subject())
	for _, p := range r.Problems {
		say(w, "  problem: %s", p)
	}
	for _, g := range r.Guests {
		who := fmt.Sprintf("%d", g.VMID)
		if g.Name != "" {
			who += " (" + g.Name + ")"
		}
		switch g.Status {
		case backup.StatusFailed, backup.StatusSkipped:
			verdict := "FAILED"
			if g.Status == backup.StatusSkipped {
				verdict = "SKIPPED"
			}
			s := fmt.Sprintf("  %s %s: %v", who, verdict, g.Err)
			if g.Archive != "" {
				s += fmt.Sprintf("; tonight's archive is kept as %s", g.Archive)
			}
			say(w, "%s", s)
			continue
		}
		how := "dumped straight to " + g.Storage
		if g.Method == backup.TwoStep {
			how = "dumped locally, copied to " + g.Storage
		}
		s := fmt.Sprintf("  %s %s as %s", who, how, path.Base(g.Archive))
		if g.Verified {
			s += fmt.Sprintf(", verified (sha256 %s…)", g.SHA256[:min(12, len(g.SHA256))])
		}
		s += fmt.Sprintf("; %d archive(s) kept, %d pruned", g.Kept, len(g.Pruned))
		say(w, "%s", s)
		for _, warn := range g.Warnings {
			say(w, "    warning: %s", warn)
		}
	}
	for _, o := range r.Offsite {
		if o.Err != nil {
			say(w, "  offsite %s FAILED: %v", o.Remote, o.Err)
		} else {
			say(w, "  offsite %s: %d file(s) copied from %s", o.Remote, o.Files, o.Source)
		}
	}
	for _, d := range r.Restores {
		if d.Err != nil {
			say(w, "  restore drill of %d FAILED: %v", d.VMID, d.Err)
		} else {
			say(w, "  restore drill of %d into %d passed", d.VMID, d.ScratchVMID)
		}
	}
}
