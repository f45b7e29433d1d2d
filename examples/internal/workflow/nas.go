package workflow

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/thehomelab/homelab/omv"
)

// ErrUnhealthy reports a NAS health check that found a problem.
var ErrUnhealthy error = problem{"nas unhealthy"}

// NASHealth checks the NAS: every MD array's state (degraded, faulty or
// missing members, a running rebuild), every disk's SMART verdict and how
// full each filesystem is. Any problem is listed and the result is an error
// matching ErrUnhealthy, so a cron job or a monitoring check fails loudly.
// fullPercent is the usage from which a filesystem counts as too full
// (0 means 90).
func NASHealth(ctx context.Context, w io.Writer, c *omv.Client, fullPercent int) error {
	if fullPercent <= 0 {
		fullPercent = 90
	}
	var problems []string
	arrays, err := c.RAID.Health(ctx)
	if err != nil {
		return fmt.Errorf("nas health: %w", err)
	}
	if len(arrays) == 0 {
		say(w, "no RAID array found")
	}
	for _, a := range arrays {
		say(w, "raid:  %s", a)
		if !a.OK() {
			problems = append(problems, "array "+a.Device)
		}
	}
	disks, err := c.Disks.SMART(ctx)
	if err != nil {
		return fmt.Errorf("nas health: %w", err)
	}
	var verdicts []string
	for _, d := range disks {
		verdicts = append(verdicts, strings.TrimPrefix(d.DeviceFile, "/dev/")+" "+d.Status)
		if !d.Good() {
			problems = append(problems, "disk "+d.DeviceFile)
		}
	}
	if len(verdicts) > 0 {
		say(w, "smart: %s", strings.Join(verdicts, ", "))
	}
	fss, err := c.Filesystems.List(ctx)
	if err != nil {
		return fmt.Errorf("nas health: %w", err)
	}
	for _, fs := range fss {
		state := "mounted"
		if !fs.Mounted {
			state = "NOT MOUNTED"
			problems = append(problems, "filesystem "+fs.DeviceFile+" not mounted")
		}
		say(w, "fs:    %s %s %s, %s of %s used", fs.DeviceFile, fs.Type, state,
			percent(fs.Percentage), gib(fs.Size))
		if fs.Percentage >= fullPercent {
			problems = append(problems, fmt.Sprintf("filesystem %s %d%% full", fs.DeviceFile, fs.Percentage))
		}
	}
	if len(problems) > 0 {
		say(w, "UNHEALTHY: %s", strings.Join(problems, ", "))
		return fmt.Errorf("nas health: %s: %w", strings.Join(problems, ", "), ErrUnhealthy)
	}
	say(w, "healthy")
	return nil
}

// ShareConfig describes a share to ensure on the NAS.
type ShareConfig struct {
	// Spec is passed to ProvisionShare. An empty Spec.Filesystem picks the one
	// filesystem on an MD array.
	Spec omv.ShareSpec
	// Twice runs ProvisionShare a second time to show that it changes nothing.
	Twice bool
}

// Share makes sure a share exists for its owner with the wanted SMB
// settings and quota (omv.Client.ProvisionShare), and prints what changed.
func Share(ctx context.Context, w io.Writer, c *omv.Client, cfg ShareConfig) error {
	spec := cfg.Spec
	if spec.Filesystem == "" {
		fs, err := raidFilesystem(ctx, c)
		if err != nil {
			return err
		}
		spec.Filesystem = fs.UUID
		say(w, "filesystem: %s %s on %s", fs.DeviceFile, fs.Type, fs.MountPoint)
	}
	runs := 1
	if cfg.Twice {
		runs = 2
	}
	for run := 1; run <= runs; run++ {
		res, err := c.ProvisionShare(ctx, spec)
		if err != nil {
			return fmt.Errorf("share %s: %w", spec.Name, err)
		}
		if !res.Changed() {
			say(w, "share %s for %s already as wanted: nothing changed", spec.Name, spec.Owner.Name)
			continue
		}
		changes := make([]string, len(res.Changes))
		for i, ch := range res.Changes {
			changes[i] = ch.String()
		}
		say(w, "changed: %s", strings.Join(changes, ", "))
		say(w, "applied: %s", strings.Join(res.Applied, ", "))
		say(w, "smb share %s serves %s", res.Share.Name, res.Folder.Name)
	}
	return nil
}

// raidFilesystem returns the one filesystem that lives on an MD array.
func raidFilesystem(ctx context.Context, c *omv.Client) (omv.Filesystem, error) {
	fss, err := c.Filesystems.List(ctx)
	if err != nil {
		return omv.Filesystem{}, fmt.Errorf("share: %w", err)
	}
	var found []omv.Filesystem
	for _, fs := range fss {
		if strings.HasPrefix(fs.Parent, "/dev/md") || strings.HasPrefix(fs.DeviceFile, "/dev/md") {
			found = append(found, fs)
		}
	}
	if len(found) != 1 {
		return omv.Filesystem{}, fmt.Errorf("share: want exactly one filesystem on an MD array, found %d: name one by UUID", len(found))
	}
	return found[0], nil
}

func percent(p int) string {
	if p < 0 {
		return "?%"
	}
	return fmt.Sprintf("%d%%", p)
}

func gib(b int64) string {
	return fmt.Sprintf("%.0f GiB", float64(b)/(1<<30))
}
