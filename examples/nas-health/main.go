// Command nas-health checks an OpenMediaVault NAS the way a cron job or a
// monitoring check wants it: every MD array (degraded, faulty or missing
// members), every disk's SMART verdict, and every filesystem (mounted, how
// full). It prints one sentence per finding.
//
//	OMV_PASSWORD=… go run ./examples/nas-health -nas https://nas.lan -nas-fingerprint AA:BB:… -full 90
//
// Exit status: 0 healthy, 1 a problem was found, 2 usage or configuration
// error, 3 the NAS could not be checked (unreachable, login refused, TLS).
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

const usage = `usage: nas-health [-nas URL] [-nas-fingerprint FP] [-full 90]
  env OMV_USER (default admin), OMV_PASSWORD: an OpenMediaVault admin account
  exits 1 when an array is degraded, a disk fails SMART or a filesystem is full or not mounted
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr, os.Getenv)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	fs := flag.NewFlagSet("nas-health", flag.ContinueOnError)
	verbose := fs.Bool("v", false, "log every device call to stderr (the SDK's debug logging)")
	url := fs.String("nas", "https://nas.lan", "OpenMediaVault web interface URL")
	pin := fs.String("nas-fingerprint", "", "SHA-256 fingerprint of the NAS's self-signed certificate (AA:BB:…)")
	full := fs.Int("full", 90, "usage in percent from which a filesystem counts as full")
	if code, ok := parse(fs, args, stdout, stderr); !ok {
		return code
	}
	var logger *slog.Logger // nil: the SDK logs nothing
	if *verbose {
		logger = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	err := func() error {
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
		c, err := omv.NewClient(*url, opts...)
		if errors.Is(err, omv.ErrInvalid) {
			return usageError(err.Error()) // a bad URL or fingerprint: status 2
		} else if err != nil {
			return err
		}
		defer c.Close()

		var problems []string
		arrays, err := c.RAID.Health(ctx)
		if err != nil {
			return err
		}
		for _, a := range arrays {
			fmt.Fprintf(stdout, "Array %s.\n", a)
			if !a.OK() {
				problems = append(problems, "array "+a.Device+" is "+string(a.State))
			}
		}
		disks, err := c.Disks.SMART(ctx)
		if err != nil {
			return err
		}
		for _, d := range disks {
			fmt.Fprintf(stdout, "Disk %s (%s): SMART says %s.\n", d.DeviceFile, d.Model, d.Status)
			if !d.Good() {
				problems = append(problems, "disk "+d.DeviceFile+" fails SMART")
			}
		}
		fss, err := c.Filesystems.List(ctx)
		if err != nil {
			return err
		}
		for _, f := range fss {
			if !f.Mounted {
				fmt.Fprintf(stdout, "Filesystem %s (%s) is not mounted.\n", f.DeviceFile, f.Type)
				problems = append(problems, "filesystem "+f.DeviceFile+" is not mounted")
				continue
			}
			if f.Percentage < 0 {
				fmt.Fprintf(stdout, "Filesystem %s (%s) on %s: OMV does not say how full it is.\n", f.DeviceFile, f.Type, f.MountPoint)
				continue
			}
			fmt.Fprintf(stdout, "Filesystem %s (%s) on %s is %d%% full, %.0f GiB free.\n", f.DeviceFile, f.Type, f.MountPoint, f.Percentage, float64(f.Available)/(1<<30))
			if f.Percentage >= *full {
				problems = append(problems, fmt.Sprintf("filesystem %s is %d%% full", f.DeviceFile, f.Percentage))
			}
		}
		if len(problems) > 0 {
			return errors.New("unhealthy: " + strings.Join(problems, "; "))
		}
		fmt.Fprintln(stdout, "The NAS is healthy.")
		return nil
	}()
	if err != nil {
		fmt.Fprintln(stderr, "nas-health:", err)
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

// exitCode maps err to the exit status: 0 healthy, 1 a problem found,
// 2 usage, 3 the NAS could not be checked.
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
