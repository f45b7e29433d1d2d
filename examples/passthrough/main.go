// Command passthrough passes whole host disks through to a Proxmox VM (the
// NAS) by their stable /dev/disk/by-id path, named by serial number. Disks
// already attached are left alone; the node's own disks and disks attached
// to another guest are refused.
//
//	PROXMOX_TOKEN_ID=… PROXMOX_TOKEN_SECRET=… PROXMOX_ROOT_PASSWORD=… go run ./examples/passthrough \
//	    -proxmox https://192.168.1.2:8006 -proxmox-fingerprint AA:BB:… -vm nas -disks S6PNNS0T100001,S6PNNS0T100002
//
// Proxmox VE lets only root@pam (logged in with its password, not a token)
// set a raw disk path, hence PROXMOX_ROOT_PASSWORD. Exit status: 0 done,
// 1 a disk was refused, 2 usage or configuration error, 3 Proxmox could not
// be asked (unreachable, login refused, TLS).
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

	"github.com/thehomelab/homelab/proxmox"
	"github.com/thehomelab/homelab/secret"
)

const usage = `usage: passthrough [-proxmox URL] [-proxmox-fingerprint FP] [-vm nas] -disks SERIAL1,SERIAL2
  env PROXMOX_TOKEN_ID (user@realm!name), PROXMOX_TOKEN_SECRET: a Proxmox VE API token
  env PROXMOX_ROOT_PASSWORD: root@pam's password (PVE allows raw disks to root@pam only)
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr, os.Getenv)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	fs := flag.NewFlagSet("passthrough", flag.ContinueOnError)
	verbose := fs.Bool("v", false, "log every device call to stderr (the SDK's debug logging)")
	url := fs.String("proxmox", "https://192.168.1.2:8006", "Proxmox VE API URL")
	pin := fs.String("proxmox-fingerprint", "", "SHA-256 fingerprint of the node's self-signed certificate (AA:BB:…, as the web UI shows it)")
	vmName := fs.String("vm", "nas", "name of the VM receiving the disks")
	disks := fs.String("disks", "", "comma-separated disk serial numbers (or /dev/disk/by-id names)")
	if code, ok := parse(fs, args, stdout, stderr); !ok {
		return code
	}
	var logger *slog.Logger // nil: the SDK logs nothing
	if *verbose {
		logger = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	err := func() error {
		var serials []string
		for _, d := range strings.Split(*disks, ",") {
			if d = strings.TrimSpace(d); d != "" {
				serials = append(serials, d)
			}
		}
		if len(serials) == 0 {
			return usageError("-disks is required")
		}
		id, tokenSecret, rootPassword := getenv("PROXMOX_TOKEN_ID"), getenv("PROXMOX_TOKEN_SECRET"), getenv("PROXMOX_ROOT_PASSWORD")
		if id == "" || tokenSecret == "" || rootPassword == "" {
			return usageError("set PROXMOX_TOKEN_ID, PROXMOX_TOKEN_SECRET (an API token) and PROXMOX_ROOT_PASSWORD (root@pam's password)")
		}
		opts := []proxmox.Option{
			proxmox.WithAPIToken(id, secret.New(tokenSecret)),
			proxmox.WithCredentials("root@pam", secret.New(rootPassword)),
			proxmox.WithLogger(logger),
		}
		if *pin != "" {
			opts = append(opts, proxmox.WithFingerprint(*pin))
		}
		c, err := proxmox.NewClient(*url, opts...)
		if errors.Is(err, proxmox.ErrInvalid) {
			return usageError(err.Error()) // a bad URL or fingerprint: status 2
		} else if err != nil {
			return err
		}
		defer c.Close()

		vm, err := c.Guests.Find(ctx, *vmName)
		if err != nil {
			return err
		}
		for _, d := range serials {
			a, err := c.Disks.Attach(ctx, vm.GuestRef, d, proxmox.AttachOptions{})
			if err != nil {
				return err
			}
			if !a.Changed() {
				fmt.Fprintf(stdout, "Disk %s is already on %s as %s.\n", d, vm.GuestRef, a.Key)
				continue
			}
			fmt.Fprintf(stdout, "Disk %s (%s, %s) is now on %s as %s.\n", d, a.Disk.Model, a.Disk.DevPath, vm.GuestRef, a.Key)
		}
		return nil
	}()
	if err != nil {
		fmt.Fprintln(stderr, "passthrough:", err)
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
// 2 usage, 3 Proxmox could not be asked.
func exitCode(err error) int {
	var (
		usage  usageError
		pin    *proxmox.FingerprintMismatchError
		ca     x509.UnknownAuthorityError
		netErr net.Error
	)
	switch {
	case err == nil:
		return 0
	case errors.As(err, &usage):
		return 2
	case errors.Is(err, proxmox.ErrUnavailable), errors.Is(err, proxmox.ErrAuth), errors.Is(err, proxmox.ErrPermission),
		errors.As(err, &pin), errors.As(err, &ca), errors.As(err, &netErr):
		return 3
	}
	return 1
}
