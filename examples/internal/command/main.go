package command

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
	"strings"

	"github.com/thehomelab/homelab/dns"
	"github.com/thehomelab/homelab/examples/internal/workflow"
	"github.com/thehomelab/homelab/npm"
	"github.com/thehomelab/homelab/omv"
	"github.com/thehomelab/homelab/proxmox"
	"github.com/thehomelab/homelab/routeros"
	"github.com/thehomelab/homelab/ups"
)

// Exit statuses of every program in examples/ and of the homelab CLI. They
// are a contract with scripts and monitoring: they do not change.
const (
	// ExitOK: the work was done, or the check found nothing wrong.
	ExitOK = 0
	// ExitProblem: a check found a problem (a leak, a degraded array, drift)
	// or the work failed on the device.
	ExitProblem = 1
	// ExitUsage: a wrong command line or configuration.
	ExitUsage = 2
	// ExitUnchecked: the devices could not be checked (unreachable,
	// credentials or permissions refused, TLS not trusted).
	ExitUnchecked = 3
)

// Main runs c with args and returns its exit status (ExitOK … ExitUnchecked).
// Errors go to errOut, each printed once.
func Main(ctx context.Context, c Command, args []string, out, errOut io.Writer, env Env) int {
	err := c.Run(ctx, out, errOut, args, env)
	code := ExitCode(err)
	if err != nil && code != ExitOK && !errors.Is(err, errPrinted) {
		fmt.Fprintln(errOut, message(c.Name, err))
	}
	return code
}

// message is the one line an error prints: the SDK's own errors already
// start with their package ("proxmox: inventory: …"), so the command's name
// is not put before them a second time.
func message(name string, err error) string {
	msg := strings.TrimPrefix(err.Error(), name+": ")
	for _, pkg := range []string{"routeros", "proxmox", "omv", "npm", "ups", "dns", "backup"} {
		if strings.HasPrefix(msg, pkg+": ") {
			return msg
		}
	}
	if errors.Is(err, ErrUsage) && !strings.Contains(msg, "-h") {
		msg += " (" + name + " -h lists the flags)"
	}
	return name + ": " + msg
}

// ExitCode maps a workflow's error to the exit status.
func ExitCode(err error) int {
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return ExitOK
	case errors.Is(err, ErrUsage):
		return ExitUsage
	case errors.Is(err, workflow.ErrProblem):
		return ExitProblem
	case unchecked(err):
		return ExitUnchecked
	default:
		return ExitProblem
	}
}

// unchecked reports an error that means the device could not be asked:
// unreachable, timed out, credentials or permission refused, or TLS not
// trusted.
func unchecked(err error) bool {
	for _, s := range []error{
		routeros.ErrUnavailable, routeros.ErrAuth, routeros.ErrPermission,
		proxmox.ErrUnavailable, proxmox.ErrAuth, proxmox.ErrPermission,
		omv.ErrUnavailable, omv.ErrAuth, omv.ErrPermission,
		npm.ErrUnavailable, npm.ErrAuth, npm.ErrPermission,
		ups.ErrUnavailable, ups.ErrAuth, ups.ErrPermission,
		dns.ErrUnavailable, dns.ErrAuth, dns.ErrPermission,
		context.DeadlineExceeded, os.ErrDeadlineExceeded,
	} {
		if errors.Is(err, s) {
			return true
		}
	}
	var (
		netErr  net.Error
		pinErr  *routeros.FingerprintMismatchError
		caErr   x509.UnknownAuthorityError
		hostErr x509.HostnameError
	)
	return errors.As(err, &netErr) || errors.As(err, &pinErr) || errors.As(err, &caErr) || errors.As(err, &hostErr)
}

type loggerKey struct{}

// WithLogger returns ctx carrying the logger the commands give to every SDK
// client they build (the CLI's -v).
func WithLogger(ctx context.Context, l *slog.Logger) context.Context {
	return context.WithValue(ctx, loggerKey{}, l)
}

// Logger returns the logger carried by ctx, or nil (the SDK's default:
// discard).
func Logger(ctx context.Context) *slog.Logger {
	l, _ := ctx.Value(loggerKey{}).(*slog.Logger)
	return l
}
