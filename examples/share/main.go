// Command share makes sure an OpenMediaVault NAS serves an SMB share owned
// by one user: the user account (created when missing), a shared folder,
// the user's read/write privilege, the SMB share and an optional quota. It
// changes only what differs and applies the touched configuration once, so
// running it again changes nothing.
//
//	OMV_PASSWORD=… SHARE_OWNER_PASSWORD=… go run ./examples/share \
//	    -nas https://nas.lan -nas-fingerprint AA:BB:… -name photos -owner anna -quota-gib 100
//
// Exit status: 0 done, 1 OMV refused a change, 2 usage or configuration
// error, 3 the NAS could not be asked (unreachable, login refused, TLS).
package main

import (
	"context"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/thehomelab/homelab/omv"
	"github.com/thehomelab/homelab/secret"
)

const usage = `usage: share [-nas URL] [-nas-fingerprint FP] -name NAME -owner USER [-quota-gib N] [-filesystem UUID] [-recycle-bin]
  env OMV_USER (default admin), OMV_PASSWORD: an OpenMediaVault admin account
  env SHARE_OWNER_PASSWORD: the owner's password, set when the account is created
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr, os.Getenv)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	fs := flag.NewFlagSet("share", flag.ContinueOnError)
	verbose := fs.Bool("v", false, "log every device call to stderr (the SDK's debug logging)")
	url := fs.String("nas", "https://nas.lan", "OpenMediaVault web interface URL")
	pin := fs.String("nas-fingerprint", "", "SHA-256 fingerprint of the NAS's self-signed certificate (AA:BB:…)")
	name := fs.String("name", "", "share (and shared folder) name")
	owner := fs.String("owner", "", "user owning the share (created when missing)")
	quota := fs.Int64("quota-gib", 0, "owner's quota on the filesystem in GiB (0: none)")
	fsUUID := fs.String("filesystem", "", "filesystem UUID (default: the one filesystem on an MD array)")
	recycle := fs.Bool("recycle-bin", false, "keep deleted files in a recycle bin")
	poll := fs.Duration("poll", 0, "first wait between two polls of the configuration apply (0: 1s, growing to 5s)")
	if code, ok := parse(fs, args, stdout, stderr); !ok {
		return code
	}
	var logger *slog.Logger // nil: the SDK logs nothing
	if *verbose {
		logger = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	err := func() error {
		if *name == "" || *owner == "" {
			return usageError("-name and -owner are required")
		}
		if *quota < 0 {
			return usageError("-quota-gib must not be negative")
		}
		user, password := getenv("OMV_USER"), getenv("OMV_PASSWORD")
		if user == "" {
			user = "admin"
		}
		if password == "" {
			return usageError("set OMV_PASSWORD to the OpenMediaVault password")
		}
		opts := []omv.Option{omv.WithCredentials(user, secret.New(password)), omv.WithLogger(logger)}
		if *pin != "" {
			opts = append(opts, omv.WithFingerprint(*pin))
		}
		if *poll > 0 {
			opts = append(opts, omv.WithPollInterval(*poll, 5*(*poll)))
		}
		c, err := omv.NewClient(*url, opts...)
		if errors.Is(err, omv.ErrInvalid) {
			return usageError(err.Error()) // a bad URL or fingerprint: status 2
		} else if err != nil {
			return err
		}
		defer c.Close()

		ownerPassword := getenv("SHARE_OWNER_PASSWORD")
		if ownerPassword == "" {
			// A new account needs a password: a missing setting, status 2,
			// found before anything is written.
			if _, err := c.Users.Get(ctx, *owner); errors.Is(err, omv.ErrNotFound) {
				return usageError(fmt.Sprintf("owner %s does not exist yet: set SHARE_OWNER_PASSWORD to the password of the new account", *owner))
			} else if err != nil {
				return err
			}
		}

		if *fsUUID == "" {
			// The lab's data lives on the RAID array: pick its filesystem.
			fss, err := c.Filesystems.List(ctx)
			if err != nil {
				return err
			}
			var found []omv.Filesystem
			for _, f := range fss {
				if strings.HasPrefix(f.Parent, "/dev/md") || strings.HasPrefix(f.DeviceFile, "/dev/md") {
					found = append(found, f)
				}
			}
			if len(found) != 1 {
				return usageError(fmt.Sprintf("found %d filesystems on an MD array, want one: name it with -filesystem UUID", len(found)))
			}
			*fsUUID = found[0].UUID
			fmt.Fprintf(stdout, "Using filesystem %s (%s) on %s.\n", found[0].DeviceFile, found[0].Type, found[0].MountPoint)
		}
		res, err := c.ProvisionShare(ctx, omv.ShareSpec{
			Name:       *name,
			Filesystem: *fsUUID,
			Owner:      omv.UserSpec{Name: *owner, Password: secret.New(ownerPassword)},
			Quota:      *quota << 30,
			SMB:        omv.SMBShareOptions{RecycleBin: *recycle},
		})
		if err != nil {
			return err
		}
		if !res.Changed() {
			fmt.Fprintf(stdout, "Share %s for %s is already as wanted: nothing changed.\n", *name, *owner)
			return nil
		}
		for _, ch := range res.Changes {
			fmt.Fprintf(stdout, "Wrote %s.\n", ch)
		}
		fmt.Fprintf(stdout, "Share %s is served over SMB; applied %s.\n", res.Share.Name, strings.Join(res.Applied, ", "))
		return nil
	}()
	if err != nil {
		fmt.Fprintln(stderr, "share:", err)
	}
	return exitCode(err)
}

// parse parses the flags: -h prints the usage on stdout (status 0), a wrong
// flag prints the error and the usage on stderr (status 2).
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

// exitCode maps err to the exit status: 0 done, 1 the work failed,
// 2 usage, 3 the NAS could not be asked.
func exitCode(err error) int {
	var (
		usage  usageError
		pin    *omv.FingerprintMismatchError
		ca     x509.UnknownAuthorityError
		netErr net.Error
	)
	switch {
	case err == nil:
		return 0
	case errors.As(err, &usage):
		return 2
	case errors.Is(err, omv.ErrUnavailable), errors.Is(err, omv.ErrAuth), errors.Is(err, omv.ErrPermission),
		errors.As(err, &pin), errors.As(err, &ca), errors.As(err, &netErr):
		return 3
	}
	return 1
}
