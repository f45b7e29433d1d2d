// Command backup prints tonight's backup plan for the lab and, with -yes,
// runs it: one vzdump per node for the guests dumped straight to the share,
// the two-step backup of the NAS VM (dump locally, copy and verify on the
// node over SSH, then delete the local copy), retention agreed with the
// node's own prune preview, the off-site copy with rclone and an optional
// restore drill. With -mail it mails the report; the subject says OK or
// FAILED.
//
//	PROXMOX_TOKEN_ID=root@pam!backup PROXMOX_TOKEN_SECRET=… \
//	SSH_KEY_FILE=~/.ssh/id_ed25519 SMTP_PASSWORD=… go run ./examples/backup \
//	    -proxmox https://192.168.1.2:8006 -storage backups -keep keep-daily=7,keep-weekly=4 \
//	    -yes -mail admin@example.org
//
// Without -yes nothing changes: the printed plan is the dry run.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/thehomelab/homelab/backup"
	"github.com/thehomelab/homelab/proxmox"
	"github.com/thehomelab/homelab/secret"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Stdout, os.Args[1:], os.Getenv)
	stop()
	switch {
	case errors.Is(err, flag.ErrHelp):
		os.Exit(0)
	case errors.Is(err, errUsage):
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	case err != nil:
		fmt.Fprintln(os.Stderr, "backup:", err)
		os.Exit(1)
	}
}

var errUsage = errors.New("usage")

func run(ctx context.Context, out io.Writer, args []string, env func(string) string) error {
	fs := flag.NewFlagSet("backup", flag.ContinueOnError)
	fs.SetOutput(out)
	pveURL := fs.String("proxmox", "https://192.168.1.2:8006", "Proxmox VE API URL")
	fingerprint := fs.String("proxmox-fingerprint", "", "SHA-256 fingerprint of the node's self-signed certificate")
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
	mail := fs.String("mail", "", "mail the report to this address (needs -smtp and SMTP_PASSWORD)")
	smtpAddr := fs.String("smtp", "smtp.gmail.com:587", "SMTP server host:port")
	smtpUser := fs.String("smtp-user", "", "SMTP user (default: the -mail address)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return fmt.Errorf("%w: %v", errUsage, err)
	}

	loc, err := time.LoadLocation(*tz)
	if err != nil {
		return fmt.Errorf("%w: -tz: %v", errUsage, err)
	}
	cfg := backup.Config{Storage: *storage, LocalStorage: *local, Location: loc, Runners: map[string]backup.Runner{}, VerifyDirect: *verify,
		OnEvent: func(e backup.Event) {
			if e.Kind != backup.EventGuestProgress && e.Kind != backup.EventCopyProgress && e.Kind != backup.EventOffsiteProgress {
				fmt.Fprintln(out, e.Time.Format("15:04:05"), e)
			}
		}}
	if *keep != "" {
		k, err := backup.ParseKeep(*keep)
		if err != nil {
			return fmt.Errorf("%w: -keep: %v", errUsage, err)
		}
		cfg.Keep = &k
	}
	for flagName, dst := range map[string]*[]int{"guests": &cfg.Guests, "exclude": &cfg.Exclude, "two-step": &cfg.TwoStep} {
		ids, err := vmids(map[string]string{"guests": *guests, "exclude": *exclude, "two-step": *twoStep}[flagName])
		if err != nil {
			return fmt.Errorf("%w: -%s: %v", errUsage, flagName, err)
		}
		*dst = ids
	}
	if *offsite != "" {
		cfg.Rclone = &backup.Rclone{}
		src := *offsiteSource
		if src == "" {
			src = "/mnt/pve/" + *storage + "/dump"
		}
		// rclone runs here, not on the node: copy (never sync), archives
		// immutable once sent.
		cfg.Offsite = []backup.OffsiteSpec{{Source: src, Remote: *offsite, Immutable: true}}
	}

	id, tokenSecret := env("PROXMOX_TOKEN_ID"), env("PROXMOX_TOKEN_SECRET")
	if id == "" || tokenSecret == "" {
		return errors.New("set PROXMOX_TOKEN_ID (user@realm!name) and PROXMOX_TOKEN_SECRET to a Proxmox VE API token")
	}
	opts := []proxmox.Option{proxmox.WithAPIToken(id, secret.New(tokenSecret))}
	if *fingerprint != "" {
		opts = append(opts, proxmox.WithFingerprint(*fingerprint))
	}
	c, err := proxmox.NewClient(*pveURL, opts...)
	if err != nil {
		return err
	}
	defer c.Close()
	cfg.Client = c

	plan, err := backup.Plan(ctx, cfg)
	if err != nil {
		return err
	}
	fmt.Fprint(out, plan)
	if !*yes {
		fmt.Fprintln(out, "dry run: nothing changed (run again with -yes)")
		return nil
	}

	// The two-step copy (and -verify) runs on the nodes; Apply looks their
	// runners up in cfg.Runners when it gets there.
	for _, g := range plan.Guests {
		if (g.Method != backup.TwoStep && !*verify) || cfg.Runners[g.Node] != nil {
			continue
		}
		key, err := os.ReadFile(os.ExpandEnv(env("SSH_KEY_FILE")))
		if err != nil {
			return fmt.Errorf("set SSH_KEY_FILE to the private key for %s@%s: %w", *sshUser, g.Node, err)
		}
		r, err := backup.DialSSH(ctx, net.JoinHostPort(g.Node, strconv.Itoa(*sshPort)), backup.SSHConfig{User: *sshUser,
			PrivateKey: secret.New(string(key)), KnownHostsFile: *knownHosts})
		if err != nil {
			return err
		}
		defer r.Close()
		cfg.Runners[g.Node] = r
	}

	report, applyErr := backup.Apply(ctx, plan)
	if *drill != 0 && ctx.Err() == nil {
		rr, _ := backup.VerifyRestore(ctx, cfg, backup.RestoreOptions{VMID: *drill, ScratchVMID: *drillID, Storage: *drillStorage})
		report.Restores = append(report.Restores, rr)
	}
	fmt.Fprintln(out)
	fmt.Fprint(out, report)

	if *mail != "" {
		user := *smtpUser
		if user == "" {
			user = *mail
		}
		n := &backup.Notifier{Addr: *smtpAddr, From: user, To: []string{*mail}, User: user, Password: secret.New(env("SMTP_PASSWORD"))}
		if err := n.Send(context.WithoutCancel(ctx), report.Subject(), report.String()); err != nil {
			return errors.Join(applyErr, err)
		}
	}
	if applyErr != nil || !report.OK() {
		return fmt.Errorf("%s", report.Subject())
	}
	return nil
}

func vmids(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		n, err := strconv.Atoi(f)
		if err != nil || n < 100 {
			return nil, fmt.Errorf("not a VMID: %q", f)
		}
		out = append(out, n)
	}
	return out, nil
}
