// Command inventory lists a Proxmox VE cluster at one moment: its nodes,
// guests (VMs and containers) and storage, from one API call.
//
//	PROXMOX_TOKEN_ID=root@pam!homelab PROXMOX_TOKEN_SECRET=… go run ./examples/inventory \
//	    -proxmox https://192.168.1.2:8006 -proxmox-fingerprint AA:BB:…
//
// The token needs the Sys.Audit and VM.Audit privileges. Exit status:
// 0 listed, 1 the listing failed, 2 usage or configuration error, 3 Proxmox
// could not be asked (unreachable, token refused, TLS).
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

const usage = `usage: inventory [-proxmox URL] [-proxmox-fingerprint FP]
  env PROXMOX_TOKEN_ID (user@realm!name), PROXMOX_TOKEN_SECRET: a Proxmox VE API token
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr, os.Getenv)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	fs := flag.NewFlagSet("inventory", flag.ContinueOnError)
	verbose := fs.Bool("v", false, "log every device call to stderr (the SDK's debug logging)")
	url := fs.String("proxmox", "https://192.168.1.2:8006", "Proxmox VE API URL")
	pin := fs.String("proxmox-fingerprint", "", "SHA-256 fingerprint of the node's self-signed certificate (AA:BB:…, as the web UI shows it)")
	if code, ok := parse(fs, args, stdout, stderr); !ok {
		return code
	}
	var logger *slog.Logger // nil: the SDK logs nothing
	if *verbose {
		logger = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	err := func() error {
		id, tokenSecret := getenv("PROXMOX_TOKEN_ID"), getenv("PROXMOX_TOKEN_SECRET")
		if id == "" || tokenSecret == "" {
			return usageError("set PROXMOX_TOKEN_ID (user@realm!name) and PROXMOX_TOKEN_SECRET to a Proxmox VE API token")
		}
		opts := []proxmox.Option{proxmox.WithAPIToken(id, secret.New(tokenSecret)), proxmox.WithLogger(logger)}
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

		inv, err := c.Inventory(ctx)
		if err != nil {
			return err
		}
		for _, n := range inv.Nodes {
			fmt.Fprintf(stdout, "Node %s is %s: %d CPUs, %s of %s memory used, up %s.\n",
				n.Name, n.Status, n.MaxCPU, gib(n.Mem), gib(n.MaxMem), n.Uptime)
		}
		for _, g := range inv.Guests {
			kind := "VM"
			if g.Type != proxmox.TypeVM {
				kind = "Container"
			}
			fmt.Fprintf(stdout, "%s %d (%s) is %s: %d CPUs, %s memory.\n", kind, g.VMID, g.Name, g.Status, g.MaxCPU, gib(g.MaxMem))
		}
		for _, s := range inv.Storage {
			fmt.Fprintf(stdout, "Storage %s (%s, holds %s): %s of %s used.\n",
				s.ID, s.PluginType, strings.Join(s.Content, ", "), gib(s.Used), gib(s.Size))
		}
		return nil
	}()
	if err != nil {
		fmt.Fprintln(stderr, "inventory:", err)
	}
	return exitCode(err)
}

func gib(b uint64) string { return fmt.Sprintf("%.1f GiB", float64(b)/(1<<30)) }

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
