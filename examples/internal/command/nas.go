package command

import (
	"context"
	"fmt"
	"io"

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
		return nil, fmt.Errorf("nas: %w", err)
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
	fs := newFlags("nas-health", out, errOut, env, "nas-health [-nas URL] [-nas-fingerprint FP] [-full 90]\n"+nasEnvHelp+
		"\n  exits 1 when an array is degraded, a disk fails SMART or a filesystem is full")
	nas := addNASFlags(fs)
	full := fs.Int("full", 90, "usage percentage from which a filesystem counts as full")
	if err := parse(fs, args); err != nil {
		return err
	}
	c, err := nas.connect(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	workflow.Title(out, "NAS health: %s", *nas.url)
	return workflow.NASHealth(ctx, out, c, *full)
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
	workflow.Title(out, "Share %s for %s on %s", *name, *owner, *nas.url)
	return workflow.Share(ctx, out, c, workflow.ShareConfig{Spec: spec})
}
