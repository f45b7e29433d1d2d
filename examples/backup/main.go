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
// Exit status: 0 done (or planned), 1 the night failed (a guest, the
// off-site copy or the restore drill), 2 usage or configuration error,
// 3 Proxmox, a node's sshd or the mail server could not be asked
// (unreachable, credentials refused, TLS or host key not trusted).
package main

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
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

const usage = `usage: backup [-proxmox URL] [-proxmox-fingerprint FP] [-storage backups] [-keep keep-daily=7,…] [-guests 100,101] [-drill 100] [-yes] [-mail admin@example.org]
  env PROXMOX_TOKEN_ID (user@realm!name), PROXMOX_TOKEN_SECRET: a Proxmox VE API token
  env SSH_KEY_FILE: private key for the nodes (the two-step copy and -verify run there over SSH)
  env SMTP_PASSWORD: the SMTP password (with -mail)
  without -yes the plan is printed and nothing changes
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr, os.Getenv)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	fs := flag.NewFlagSet("backup", flag.ContinueOnError)
	verbose := fs.Bool("v", false, "log every device call to stderr (the SDK's debug logging)")
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
	mail := fs.String("mail", "", "mail the report to this address (needs -yes and SMTP_PASSWORD)")
	smtpAddr := fs.String("smtp", "smtp.gmail.com:587", "SMTP server host:port")
	smtpUser := fs.String("smtp-user", "", "SMTP user (default: the -mail address)")
	if code, ok := parse(fs, args, stdout, stderr); !ok {
		return code
	}
	var logger *slog.Logger // nil: the SDK logs nothing
	if *verbose {
		logger = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	err := func() error {
		loc, err := time.LoadLocation(*tz)
		if err != nil {
			return usageError(fmt.Sprintf("-tz: %v", err))
		}
		cfg := backup.Config{Storage: *storage, LocalStorage: *local, Location: loc, Runners: map[string]backup.Runner{}, VerifyDirect: *verify,
			OnEvent: func(e backup.Event) {
				if e.Kind != backup.EventGuestProgress && e.Kind != backup.EventCopyProgress && e.Kind != backup.EventOffsiteProgress {
					fmt.Fprintln(stdout, e.Time.Format("15:04:05"), e)
				}
			}}
		if *keep != "" {
			k, err := backup.ParseKeep(*keep)
			if err != nil {
				return usageError(fmt.Sprintf("-keep: %v", err))
			}
			cfg.Keep = &k
		}
		for _, f := range []struct {
			name, value string
			dst         *[]int
		}{{"guests", *guests, &cfg.Guests}, {"exclude", *exclude, &cfg.Exclude}, {"two-step", *twoStep, &cfg.TwoStep}} {
			ids, err := vmids(f.value)
			if err != nil {
				return usageError(fmt.Sprintf("-%s: %v", f.name, err))
			}
			*f.dst = ids
		}
		// A drill that cannot run is found out now, not after the night.
		if *drill != 0 && (*drill < 100 || *drillID < 100 || *drill == *drillID || *drillStorage == "") {
			return usageError("-drill and -drill-vmid take two different VMIDs (100 or more) and -drill-storage a storage")
		}
		var smtpPassword string
		if *mail != "" {
			if !*yes {
				return usageError("-mail needs -yes: a dry run has no report to mail")
			}
			if smtpPassword = getenv("SMTP_PASSWORD"); smtpPassword == "" {
				return usageError("set SMTP_PASSWORD to the SMTP password for -mail")
			}
		}
		if *offsite != "" {
			cfg.Rclone = &backup.Rclone{Logger: logger}
			src := *offsiteSource
			if src == "" {
				src = "/mnt/pve/" + *storage + "/dump"
			}
			// rclone runs here, not on the node: copy (never sync), archives
			// immutable once sent.
			cfg.Offsite = []backup.OffsiteSpec{{Source: src, Remote: *offsite, Immutable: true}}
		}

		id, tokenSecret := getenv("PROXMOX_TOKEN_ID"), getenv("PROXMOX_TOKEN_SECRET")
		if id == "" || tokenSecret == "" {
			return usageError("set PROXMOX_TOKEN_ID (user@realm!name) and PROXMOX_TOKEN_SECRET to a Proxmox VE API token")
		}
		opts := []proxmox.Option{proxmox.WithAPIToken(id, secret.New(tokenSecret)), proxmox.WithLogger(logger)}
		if *fingerprint != "" {
			opts = append(opts, proxmox.WithFingerprint(*fingerprint))
		}
		c, err := proxmox.NewClient(*pveURL, opts...)
		if errors.Is(err, proxmox.ErrInvalid) {
			return usageError(err.Error()) // a bad URL or fingerprint: status 2
		} else if err != nil {
			return err
		}
		defer c.Close()
		cfg.Client = c

		plan, err := backup.Plan(ctx, cfg)
		if refused(err) {
			return usageError(err.Error()) // the flags make no valid night (-storage equals -local …): status 2
		} else if err != nil {
			return err
		}
		fmt.Fprint(stdout, plan)
		if !*yes {
			fmt.Fprintln(stdout, "dry run: nothing changed (run again with -yes)")
			return nil
		}

		// The two-step copy (and -verify) runs on the nodes; Apply looks their
		// runners up in cfg.Runners when it gets there.
		for _, g := range plan.Guests {
			if (g.Method != backup.TwoStep && !*verify) || cfg.Runners[g.Node] != nil {
				continue
			}
			keyFile := getenv("SSH_KEY_FILE")
			if keyFile == "" {
				return usageError(fmt.Sprintf("set SSH_KEY_FILE to the private key for %s@%s (guest %d is copied on its node)", *sshUser, g.Node, g.VMID))
			}
			key, err := os.ReadFile(os.ExpandEnv(keyFile))
			if err != nil {
				return usageError(fmt.Sprintf("SSH_KEY_FILE: %v", err))
			}
			r, err := backup.DialSSH(ctx, net.JoinHostPort(g.Node, strconv.Itoa(*sshPort)), backup.SSHConfig{User: *sshUser,
				PrivateKey: secret.New(string(key)), KnownHostsFile: *knownHosts, Logger: logger})
			if err != nil {
				return err
			}
			defer r.Close()
			cfg.Runners[g.Node] = r
		}

		var errs []error
		report, err := backup.Apply(ctx, plan)
		if err != nil {
			// The night ran and failed: status 1, whatever the cause's class.
			errs = append(errs, nightFailed{err})
		}
		if *drill != 0 && ctx.Err() == nil {
			rr, err := backup.VerifyRestore(ctx, cfg, backup.RestoreOptions{VMID: *drill, ScratchVMID: *drillID, Storage: *drillStorage})
			report.Restores = append(report.Restores, rr)
			if err != nil && !unchecked(err) {
				err = nightFailed{err} // Proxmox answered and the drill failed
			}
			errs = append(errs, err)
		}
		fmt.Fprintln(stdout)
		fmt.Fprint(stdout, report)

		if *mail != "" {
			user := *smtpUser
			if user == "" {
				user = *mail
			}
			n := &backup.Notifier{Addr: *smtpAddr, From: user, To: []string{*mail}, User: user, Password: secret.New(smtpPassword), Logger: logger}
			// Sent even when ctx was cancelled: the report says how far the night got.
			if err := n.Send(context.WithoutCancel(ctx), report.Subject(), report.String()); err != nil {
				errs = append(errs, fmt.Errorf("mail the report: %w", err))
			} else {
				fmt.Fprintf(stdout, "report mailed to %s\n", *mail)
			}
		}
		return errors.Join(errs...)
	}()
	if err != nil {
		msg := err.Error()
		if !strings.HasPrefix(msg, "backup: ") { // the backup package's errors carry it already
			msg = "backup: " + msg
		}
		fmt.Fprintln(stderr, msg)
		if fp := unknownCertificate(err); fp != "" {
			fmt.Fprintf(stderr, "  if that is the node's self-signed certificate (compare with the fingerprint its web UI shows), pin it: -proxmox-fingerprint %s\n", fp)
		}
	}
	return exitCode(err)
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

// unknownCertificate returns the SHA-256 fingerprint of a certificate that
// no trusted authority signed, or "" when err is something else.
func unknownCertificate(err error) string {
	var ua x509.UnknownAuthorityError
	if !errors.As(err, &ua) || ua.Cert == nil {
		return ""
	}
	sum := sha256.Sum256(ua.Cert.Raw)
	hex := make([]string, len(sum))
	for i, b := range sum {
		hex[i] = fmt.Sprintf("%02X", b)
	}
	return strings.Join(hex, ":")
}

// parse parses the flags: -h prints the usage on stdout (status 0), a wrong
// flag prints the error and the usage on stderr (status 2), once.
func parse(fs *flag.FlagSet, args []string, stdout, stderr io.Writer) (int, bool) {
	fs.SetOutput(io.Discard)
	fs.Usage = func() { fmt.Fprint(fs.Output(), usage); fs.PrintDefaults() }
	err := fs.Parse(args)
	if err == nil && fs.NArg() > 0 {
		err = fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	switch {
	case err == nil:
		return 0, true
	case errors.Is(err, flag.ErrHelp):
		fs.SetOutput(stdout)
		fs.Usage()
		return 0, false
	default:
		fmt.Fprintf(stderr, "%s: %v\n", fs.Name(), err)
		fs.SetOutput(stderr)
		fs.Usage()
		return 2, false
	}
}

// usageError is a wrong command line or a missing setting: exit status 2.
type usageError string

func (e usageError) Error() string { return string(e) }

// nightFailed is work that ran and failed (a guest not backed up, an
// off-site copy or a restore drill that failed): exit status 1, even where
// the cause also matches a class that alone would mean "could not ask".
type nightFailed struct{ err error }

func (e nightFailed) Error() string { return e.err.Error() }
func (e nightFailed) Unwrap() error { return e.err }

// refused reports a configuration the backup package refused before it
// asked Proxmox anything.
func refused(err error) bool {
	var pe *proxmox.Error
	return errors.Is(err, backup.ErrInvalid) && !errors.As(err, &pe)
}

// exitCode maps err to the exit status: 0 done, 1 the work failed,
// 2 usage, 3 a device could not be asked.
func exitCode(err error) int {
	var (
		usage usageError
		night nightFailed
	)
	switch {
	case err == nil:
		return 0
	case errors.As(err, &usage):
		return 2
	case errors.As(err, &night):
		return 1
	case unchecked(err):
		return 3
	}
	return 1
}

// unchecked reports an error that means a device could not be asked:
// unreachable, credentials or permission refused, TLS or host key not
// trusted. Where Proxmox answered, its own error decides: the backup
// package files a failed task or a 500 under ErrUnavailable too, but that
// is work that failed, not a node that could not be asked.
func unchecked(err error) bool {
	var (
		pe     *proxmox.Error
		pin    *proxmox.FingerprintMismatchError
		ca     x509.UnknownAuthorityError
		host   x509.HostnameError
		netErr net.Error
	)
	switch {
	case errors.As(err, &pin), errors.As(err, &ca), errors.As(err, &host), errors.As(err, &netErr),
		errors.Is(err, context.DeadlineExceeded):
		return true
	case errors.As(err, &pe):
		return errors.Is(err, proxmox.ErrUnavailable) || errors.Is(err, proxmox.ErrAuth) || errors.Is(err, proxmox.ErrPermission)
	}
	return errors.Is(err, backup.ErrUnavailable) || errors.Is(err, backup.ErrAuth) || errors.Is(err, backup.ErrPermission) ||
		errors.Is(err, backup.ErrHostKey)
}
