package command

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"time"

	"github.com/thehomelab/homelab/backup"
	"github.com/thehomelab/homelab/examples/internal/workflow"
	"github.com/thehomelab/homelab/secret"
)

// Backup runs tonight's backups of the Proxmox guests.
func Backup() Command {
	return Command{
		Name:    "backup",
		Summary: "back the Proxmox guests up to the NAS share, the NAS in two steps (plan only unless -yes)",
		Run:     runBackup,
	}
}

func runBackup(ctx context.Context, out, errOut io.Writer, args []string, env Env) error {
	fs := newFlags("backup", out, errOut, env, "backup [-proxmox URL] [-storage backups] [-keep keep-daily=7,…] [-guests 100,101] [-yes] [-mail admin@example.org]\n"+
		proxmoxEnvHelp+"\n  env SSH_KEY_FILE: private key for the nodes (the two-step copy and -verify run there over SSH)"+
		"\n  env SMTP_PASSWORD: the SMTP password (with -mail)"+
		"\n  without -yes the plan is printed and nothing changes")
	p := addProxmoxFlags(fs)
	storage := fs.String("storage", "backups", "backup storage every archive ends up on (the NAS share)")
	local := fs.String("local", "local", "local storage for the two-step dump")
	keep := fs.String("keep", "", "retention as prune-backups (keep-daily=7,keep-weekly=4); empty: the storage's own")
	guests := fs.String("guests", "", "comma-separated VMIDs (default: every guest)")
	exclude := fs.String("exclude", "", "comma-separated VMIDs to leave out")
	twoStep := fs.String("two-step", "", "comma-separated VMIDs to back up in two steps besides the detected ones")
	tz := fs.String("tz", "Local", "the nodes' time zone (archive names and retention periods)")
	sshPort := fs.Int("ssh-port", 22, "SSH port of the nodes (for the two-step copy)")
	sshUser := fs.String("ssh-user", "root", "SSH user on the nodes")
	knownHosts := fs.String("known-hosts", os.ExpandEnv("$HOME/.ssh/known_hosts"), "known_hosts file that vouches for the nodes' host keys")
	offsite := fs.String("offsite", "", "rclone remote for the off-site copy of the share's dump directory (e.g. mega:homelab); empty: none")
	offsiteSource := fs.String("offsite-source", "", "the share's dump directory as mounted where this program runs (default: /mnt/pve/<storage>/dump, right on a node)")
	drill := fs.Int("drill", 0, "VMID whose newest archive is restored as a drill (0: no drill)")
	drillID := fs.Int("drill-vmid", 9900, "scratch VMID for the drill")
	drillStorage := fs.String("drill-storage", "local-lvm", "storage for the drill's disks")
	verify := fs.Bool("verify", false, "also test every direct guest's new archive with zstd -t on its node (over SSH)")
	yes := fs.Bool("yes", false, "run the plan (default: print it only)")
	mail := fs.String("mail", "", "mail the report to this address (needs -yes and SMTP_PASSWORD)")
	smtpAddr := fs.String("smtp", "smtp.gmail.com:587", "SMTP server host:port")
	smtpUser := fs.String("smtp-user", "", "SMTP user (default: the -mail address)")
	if err := parse(fs, args); err != nil {
		return err
	}

	loc, err := time.LoadLocation(*tz)
	if err != nil {
		return usageError("-tz: %v", err)
	}
	cfg := backup.Config{Storage: *storage, LocalStorage: *local, Location: loc, VerifyDirect: *verify}
	if *keep != "" {
		k, err := backup.ParseKeep(*keep)
		if err != nil {
			return usageError("-keep: %v", err)
		}
		cfg.Keep = &k
	}
	for _, f := range []struct {
		name, value string
		dst         *[]int
	}{{"guests", *guests, &cfg.Guests}, {"exclude", *exclude, &cfg.Exclude}, {"two-step", *twoStep, &cfg.TwoStep}} {
		for _, s := range list(f.value) {
			n, err := strconv.Atoi(s)
			if err != nil || n < 100 {
				return usageError("-%s: not a VMID: %q", f.name, s)
			}
			*f.dst = append(*f.dst, n)
		}
	}
	if *mail != "" && !*yes {
		return usageError("-mail needs -yes: a dry run has no report to mail")
	}
	var smtpPassword string
	if *mail != "" {
		if smtpPassword, err = need(fs.getenv, "SMTP_PASSWORD", "the SMTP password for -mail"); err != nil {
			return err
		}
	}
	if *offsite != "" {
		src := *offsiteSource
		if src == "" {
			src = "/mnt/pve/" + *storage + "/dump"
		}
		// rclone runs here, not on the node: copy (never sync), archives
		// immutable once sent.
		cfg.Rclone = &backup.Rclone{Logger: Logger(ctx)}
		cfg.Offsite = []backup.OffsiteSpec{{Source: src, Remote: *offsite, Immutable: true}}
	}
	wf := workflow.BackupConfig{Apply: *yes}
	if *drill != 0 {
		wf.Drill = &backup.RestoreOptions{VMID: *drill, ScratchVMID: *drillID, Storage: *drillStorage}
	}

	c, err := p.connect(ctx, false)
	if err != nil {
		return err
	}
	defer c.Close()
	cfg.Client = c
	pr := newProgress(out)
	cfg.OnEvent = pr.backupEvent
	wf.Config = cfg

	var runners []*backup.SSHRunner
	defer func() {
		for _, r := range runners {
			_ = r.Close()
		}
	}()
	wf.Connect = func(ctx context.Context, node string) (backup.Runner, error) {
		keyFile, err := need(fs.getenv, "SSH_KEY_FILE", "the private key file for "+*sshUser+"@"+node)
		if err != nil {
			return nil, err
		}
		key, err := os.ReadFile(os.ExpandEnv(keyFile))
		if err != nil {
			return nil, usageError("SSH_KEY_FILE: %v", err) // a configuration error: status 2
		}
		r, err := backup.DialSSH(ctx, net.JoinHostPort(node, strconv.Itoa(*sshPort)), backup.SSHConfig{User: *sshUser,
			PrivateKey: secret.New(string(key)), KnownHostsFile: *knownHosts, Logger: Logger(ctx)})
		if err != nil {
			return nil, err
		}
		runners = append(runners, r)
		return r, nil
	}

	workflow.Title(out, "Backup to %s on %s", *storage, *p.url)
	report, err := workflow.Backup(ctx, pr, wf)
	pr.done()
	if *mail != "" && !report.Started.IsZero() {
		user := *smtpUser
		if user == "" {
			user = *mail
		}
		n := &backup.Notifier{Addr: *smtpAddr, From: user, To: []string{*mail}, User: user, Password: secret.New(smtpPassword), Logger: Logger(ctx)}
		if mailErr := n.Send(context.WithoutCancel(ctx), report.Subject(), report.String()); mailErr != nil {
			return errors.Join(err, fmt.Errorf("mail the report: %w", mailErr))
		}
		fmt.Fprintf(out, "   report mailed to %s\n", *mail)
	}
	return err
}
