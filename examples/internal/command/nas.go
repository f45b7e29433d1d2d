package command

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/thehomelab/homelab/examples/internal/workflow"
	"github.com/thehomelab/homelab/omv"
	"github.com/thehomelab/homelab/secret"
)

// nasFlags are the flags and environment every NAS command reads.
type nasFlags struct {
	fs               *flagSet
	url, fingerprint *string
}

const nasEnvHelp = "  env OMV_USER (default admin), OMV_PASSWORD: an OpenMediaVault admin account"

func addNASFlags(fs *flagSet) nasFlags {
	return nasFlags{
		fs:          fs,
		url:         fs.String("nas", "https://nas.lan", "OpenMediaVault web interface URL"),
		fingerprint: fs.String("nas-fingerprint", "", "SHA-256 fingerprint of the NAS's self-signed certificate (AA:BB:…)"),
	}
}

func (f nasFlags) connect(ctx context.Context) (*omv.Client, error) {
	fs := f.fs
	password, err := need(fs.getenv, "OMV_PASSWORD", "the OpenMediaVault password")
	if err != nil {
		return nil, err
	}
	user := fs.getenv("OMV_USER")
	if user == "" {
		user = "admin"
	}
	opts := []omv.Option{omv.WithCredentials(user, secret.New(password))}
	if *f.fingerprint != "" {
		opts = append(opts, omv.WithFingerprint(*f.fingerprint))
	}
	c, err := omv.NewClient(*f.url, append(opts, omv.WithLogger(Logger(ctx)))...)
	if err != nil {
		return nil, clientError(err, omv.ErrInvalid)
	}
	return c, nil
}

// NASHealth checks RAID, SMART and filesystems of the NAS.
func NASHealth() Command {
	return Command{
		Name:    "nas-health",
		Summary: "check RAID, SMART and filesystem usage of the OpenMediaVault NAS",
		Run:     runNASHealth,
	}
}

func runNASHealth(ctx context.Context, out, errOut io.Writer, args []string, env Env) error {
	fs := newFlags("nas-health", out, errOut, env, "nas-health [-nas URL] [-nas-fingerprint FP] [-full 90] [-follow [-follow-interval 10s]]\n"+nasEnvHelp+
		"\n  exits 1 when an array is degraded, a disk fails SMART or a filesystem is full")
	nas := addNASFlags(fs)
	full := fs.Int("full", 90, "usage percentage from which a filesystem counts as full")
	follow := fs.Bool("follow", false, "while an array resyncs, recovers, checks or reshapes, show its progress and check when it is done")
	every := fs.Duration("follow-interval", 10*time.Second, "how often -follow asks the NAS")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *every <= 0 {
		return usageError("-follow-interval must be positive")
	}
	c, err := nas.connect(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	workflow.Title(out, "NAS health: %s", *nas.url)
	if *follow {
		pr := newProgress(out)
		if err := followRAID(ctx, pr, c, *every); err != nil {
			return err
		}
		out = pr
	}
	return workflow.NASHealth(ctx, out, c, *full)
}

// syncing reports whether the kernel works on the array: a resync,
// recovery (rebuild), check or reshape that runs (not one that waits).
func syncing(h omv.ArrayHealth) bool {
	switch h.State {
	case omv.RAIDResyncing, omv.RAIDRecovering, omv.RAIDChecking, omv.RAIDReshaping:
		return h.Sync == nil || !h.Sync.Pending
	}
	return false
}

// followRAID polls the arrays' health every interval while any of them
// syncs, showing each one's percentage and ETA on pr, and returns when
// none syncs any more (or ctx ends).
func followRAID(ctx context.Context, pr *progress, c *omv.Client, every time.Duration) error {
	defer pr.done()
	t := time.NewTimer(0)
	defer t.Stop()
	for first := true; ; first = false {
		select {
		case <-ctx.Done():
			return fmt.Errorf("nas health: %w", context.Cause(ctx))
		case <-t.C:
		}
		arrays, err := c.RAID.Health(ctx)
		if err != nil {
			return fmt.Errorf("nas health: %w", err)
		}
		busy := false
		for _, a := range arrays {
			if !syncing(a) {
				continue
			}
			if first && !busy {
				fmt.Fprintf(pr, "   raid:  following the sync until it is done (every %s)\n", every)
			}
			busy = true
			pct, line := -1, fmt.Sprintf("%s %s", a.Device, a.State)
			if a.Sync != nil {
				pct = int(a.Sync.Percent)
				line = fmt.Sprintf("%s %s %.1f%%", a.Device, a.Sync.Action, a.Sync.Percent)
				if a.Sync.ETA > 0 {
					line += fmt.Sprintf(", eta %s", a.Sync.ETA.Round(time.Second))
				}
			}
			pr.step("raid "+a.Device, pct, line)
		}
		if !busy {
			return nil
		}
		t.Reset(every)
	}
}

// Share ensures an SMB share for one user.
func Share() Command {
	return Command{
		Name:    "share",
		Summary: "ensure an SMB share with its owner, privileges and quota on the NAS",
		Run:     runShare,
	}
}

func runShare(ctx context.Context, out, errOut io.Writer, args []string, env Env) error {
	fs := newFlags("share", out, errOut, env, "share [-nas URL] -name NAME -owner USER [-quota-gib N] [-filesystem UUID] [-recycle-bin]\n"+
		nasEnvHelp+"\n  env SHARE_OWNER_PASSWORD: the owner's password, used when the account is created")
	nas := addNASFlags(fs)
	name := fs.String("name", "", "share (and shared folder) name")
	owner := fs.String("owner", "", "user owning the share (created when missing)")
	quota := fs.Int64("quota-gib", 0, "owner's quota on the filesystem in GiB (0: none)")
	fsUUID := fs.String("filesystem", "", "filesystem UUID (default: the one on the RAID array)")
	recycle := fs.Bool("recycle-bin", false, "keep deleted files in a recycle bin")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *name == "" || *owner == "" {
		return usageError("-name and -owner are required")
	}
	if *quota < 0 {
		return usageError("-quota-gib must not be negative")
	}
	spec := omv.ShareSpec{
		Name:       *name,
		Filesystem: *fsUUID,
		Owner:      omv.UserSpec{Name: *owner, Password: secret.New(fs.getenv("SHARE_OWNER_PASSWORD"))},
		Quota:      *quota << 30,
		SMB:        omv.SMBShareOptions{RecycleBin: *recycle},
	}
	c, err := nas.connect(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	if fs.getenv("SHARE_OWNER_PASSWORD") == "" {
		// A new account needs a password: a missing setting (status 2),
		// found before anything is written.
		if _, err := c.Users.Get(ctx, *owner); errors.Is(err, omv.ErrNotFound) {
			return usageError("owner %s does not exist yet: set SHARE_OWNER_PASSWORD to the password of the new account", *owner)
		} else if err != nil {
			return err
		}
	}
	workflow.Title(out, "Share %s for %s on %s", *name, *owner, *nas.url)
	return workflow.Share(ctx, out, c, workflow.ShareConfig{Spec: spec})
}
