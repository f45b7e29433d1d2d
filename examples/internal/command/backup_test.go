package command

import (
	"bytes"
	"errors"
	"log/slog"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/thehomelab/homelab/backup"
	"github.com/thehomelab/homelab/examples/internal/workflow"
	"github.com/thehomelab/homelab/proxmox/proxmoxtest"
)

func TestBackupCommandDryRun(t *testing.T) {
	t.Parallel()
	srv, flags := pve(t)
	var out bytes.Buffer
	require.NoError(t, runBackup(t.Context(), &out, &out, append(flags, "-tz", "UTC", "-keep", "keep-daily=7", "-two-step", "100"), pveEnv), out.String())
	assert.Contains(t, out.String(), "== Backup to backups on "+flags[1])
	assert.Contains(t, out.String(), "100    nas            proxmox1  two-step  local → backups  keep-daily=7")
	assert.Contains(t, out.String(), "dry run: nothing was backed up")
	assert.Empty(t, srv.Backups("local"), "a dry run dumps nothing")
	assert.Empty(t, srv.Backups("backups"), "a dry run dumps nothing")
	assert.NotContains(t, out.String(), proxmoxtest.TokenSecret)
}

func TestBackupCommandApply(t *testing.T) {
	t.Parallel()
	// The fake names archives by its clock; the second night an hour later.
	var offset atomic.Int64
	srv := proxmoxtest.Start(t, proxmoxtest.WithClock(func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }))
	flags := []string{"-proxmox", srv.URL, "-proxmox-fingerprint", srv.Fingerprint()}
	args := append(flags, "-tz", "UTC", "-guests", "101,102", "-yes")
	var out bytes.Buffer
	require.NoError(t, runBackup(t.Context(), &out, &out, args, pveEnv), out.String())
	assert.Contains(t, out.String(), "report: backup OK: 2 guests")
	assert.Len(t, srv.Backups("backups"), 2)

	// A guest whose vzdump fails fails the night: exit status 1.
	offset.Add(int64(time.Hour))
	srv.FailBackup(102, "job failed with err -5 - Input/output error")
	out.Reset()
	err := runBackup(t.Context(), &out, &out, args, pveEnv)
	require.Error(t, err)
	assert.ErrorIs(t, err, workflow.ErrProblem)
	assert.ErrorIs(t, err, backup.ErrUnavailable)
	assert.Equal(t, ExitProblem, ExitCode(err))
	assert.Contains(t, out.String(), "102 (homeassistant) FAILED: ")
	// The message carries the cause, not only the report's subject.
	assert.Equal(t, "backup: apply: FAILED: 1 of 2 guests failed: backup: vzdump 102 on proxmox1: job failed with err -5 - Input/output error: unavailable", err.Error(), out.String())
	var errOut bytes.Buffer
	out.Reset()
	offset.Add(int64(time.Hour))
	assert.Equal(t, ExitProblem, Main(t.Context(), Backup(), args, &out, &errOut, pveEnv))
	assert.Equal(t, "backup: apply: FAILED: 1 of 2 guests failed: backup: vzdump 102 on proxmox1: job failed with err -5 - Input/output error: unavailable\n", errOut.String())

	// -mail sends the report after the night; an SMTP server that is not
	// there is reported after the night ran, and means "could not tell".
	srv.FailBackup(102, "")
	offset.Add(int64(time.Hour))
	out.Reset()
	mailEnv := env(map[string]string{"PROXMOX_TOKEN_ID": proxmoxtest.TokenID, "PROXMOX_TOKEN_SECRET": proxmoxtest.TokenSecret, "SMTP_PASSWORD": "mail-s3cret"})
	err = runBackup(t.Context(), &out, &out, append(args, "-mail", "admin@example.org", "-smtp", "127.0.0.1:1"), mailEnv)
	require.Error(t, err)
	assert.Contains(t, out.String(), "report: backup OK: 2 guests")
	assert.ErrorContains(t, err, "mail the report")
	assert.Equal(t, ExitUnchecked, ExitCode(err), "%v", err)
	assert.NotContains(t, err.Error()+out.String(), "mail-s3cret")

	// With the CLI's -v the mail server is logged too, the password not.
	offset.Add(int64(time.Hour))
	out.Reset()
	var logs bytes.Buffer
	ctx := WithLogger(t.Context(), slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	assert.Equal(t, ExitUnchecked, Main(ctx, Backup(), append(args, "-mail", "admin@example.org", "-smtp", "127.0.0.1:1"), &out, &out, mailEnv))
	assert.Contains(t, logs.String(), "msg=\"backup: mail\" server=127.0.0.1:1")
	assert.Contains(t, logs.String(), "/nodes/proxmox1/vzdump")
	assert.NotContains(t, logs.String()+out.String(), "mail-s3cret")
	assert.NotContains(t, logs.String()+out.String(), proxmoxtest.TokenSecret)
}

func TestBackupCommandErrors(t *testing.T) {
	t.Parallel()
	srv, flags := pve(t)
	tests := []struct {
		name  string
		args  []string
		env   Env
		usage bool
		want  string
	}{
		{name: "bad flag", args: []string{"-nope"}, env: pveEnv, usage: true, want: "-nope"},
		{name: "bad keep", args: []string{"-keep", "keep-often=1"}, env: pveEnv, usage: true, want: "-keep"},
		{name: "bad vmid", args: []string{"-guests", "abc"}, env: pveEnv, usage: true, want: `-guests: not a VMID: "abc"`},
		{name: "bad zone", args: []string{"-tz", "Mars/Olympus"}, env: pveEnv, usage: true, want: "-tz"},
		{name: "mail without yes", args: []string{"-mail", "admin@example.org"}, env: pveEnv, usage: true, want: "-mail needs -yes"},
		{name: "positional", args: []string{"tonight"}, env: pveEnv, usage: true, want: "unexpected arguments"},
		{name: "no token", args: flags, env: env(nil), usage: true, want: "set PROXMOX_TOKEN_ID"},
		{name: "mail without password", args: append(flags, "-yes", "-mail", "admin@example.org"), env: pveEnv, usage: true, want: "set SMTP_PASSWORD"},
		{name: "two-step without key", args: append(flags, "-yes", "-guests", "100", "-two-step", "100"), env: pveEnv, usage: true, want: "set SSH_KEY_FILE"},
		{name: "key file missing", args: append(flags, "-yes", "-guests", "100", "-two-step", "100"),
			env: env(map[string]string{"PROXMOX_TOKEN_ID": proxmoxtest.TokenID, "PROXMOX_TOKEN_SECRET": proxmoxtest.TokenSecret, "SSH_KEY_FILE": "/nonexistent/id_ed25519"}), usage: true, want: "SSH_KEY_FILE: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var out, errOut bytes.Buffer
			err := runBackup(t.Context(), &out, &errOut, tt.args, tt.env)
			require.Error(t, err)
			assert.Equal(t, tt.usage, errors.Is(err, ErrUsage), "%v", err)
			assert.Contains(t, err.Error()+errOut.String(), tt.want)
			if tt.usage {
				assert.Equal(t, ExitUsage, ExitCode(err))
			}
		})
	}
	// -h prints the flags and the environment on out, and is no error.
	var out bytes.Buffer
	err := runBackup(t.Context(), &out, &out, []string{"-h"}, pveEnv)
	assert.Equal(t, ExitOK, ExitCode(err))
	for _, want := range []string{"-yes", "-mail", "PROXMOX_TOKEN_ID", "SSH_KEY_FILE", "SMTP_PASSWORD"} {
		assert.Contains(t, out.String(), want)
	}
	assert.Empty(t, srv.Backups("local"), "no error dumped anything")
	assert.False(t, strings.Contains(out.String(), proxmoxtest.TokenSecret))
}

// The restore drill's error is reported: status 1 when the drill ran and
// failed, 3 when Proxmox could not be asked for it.
func TestBackupCommandDrillFails(t *testing.T) {
	t.Parallel()
	restore := "^/nodes/proxmox1/lxc$"
	tests := []struct {
		name  string
		args  []string
		fault *proxmoxtest.Fault
		code  int
		want  string
	}{
		{name: "scratch vmid taken", args: []string{"-drill-vmid", "102"}, code: ExitProblem, want: "backup: restore drill of 101 into 102: scratch VMID 102 exists; refusing to touch it"},
		{name: "restore fails on the node", fault: &proxmoxtest.Fault{Method: "POST", Path: restore, Status: 500, Reason: "storage 'local-lvm' is full"}, code: ExitProblem, want: "storage 'local-lvm' is full"},
		{name: "token refused for the restore", fault: &proxmoxtest.Fault{Method: "POST", Path: restore, Status: 401, Reason: "authentication failure"}, code: ExitUnchecked, want: "401 authentication failure"},
		{name: "proxy cannot reach the node", fault: &proxmoxtest.Fault{Method: "POST", Path: restore, Status: 595, Reason: "Connection refused"}, code: ExitUnchecked, want: "595 Connection refused"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv, flags := pve(t)
			if tt.fault != nil {
				srv.Inject(*tt.fault)
			}
			var out, errOut bytes.Buffer
			args := append(append(flags, "-tz", "UTC", "-guests", "101", "-drill", "101", "-yes"), tt.args...)
			assert.Equal(t, tt.code, Main(t.Context(), Backup(), args, &out, &errOut, pveEnv), errOut.String())
			assert.Contains(t, out.String(), "report: backup FAILED: 1 restore drill failed")
			assert.True(t, strings.HasPrefix(errOut.String(), "backup: "), errOut.String())
			assert.Contains(t, errOut.String(), tt.want)
			assert.Equal(t, 1, strings.Count(errOut.String(), "\n"), "one line: %s", errOut.String())
			assert.Len(t, srv.Backups("backups"), 1, "the night itself went well")
		})
	}
}

// Through Main, as the homelab CLI runs it: a wrong flag is printed once
// (status 2), a Proxmox that cannot be asked is status 3.
func TestBackupCommandMain(t *testing.T) {
	t.Parallel()
	srv, flags := pve(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	closed := l.Addr().String()
	require.NoError(t, l.Close())
	wrongSecret := env(map[string]string{"PROXMOX_TOKEN_ID": proxmoxtest.TokenID, "PROXMOX_TOKEN_SECRET": "wrong-s3cret"})
	tests := []struct {
		name string
		args []string
		env  Env
		code int
		want string
	}{
		{"bad flag", []string{"-nope"}, pveEnv, ExitUsage, "backup: flag provided but not defined: -nope\n"},
		{"no token", flags, env(nil), ExitUsage, "backup: usage: set PROXMOX_TOKEN_ID"},
		{"unreachable", []string{"-proxmox", "https://" + closed, "-proxmox-fingerprint", srv.Fingerprint()}, pveEnv, ExitUnchecked, "connection refused"},
		{"token refused", append(flags, "-yes"), wrongSecret, ExitUnchecked, "backup: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var out, errOut bytes.Buffer
			assert.Equal(t, tt.code, Main(t.Context(), Backup(), tt.args, &out, &errOut, tt.env), errOut.String())
			assert.Contains(t, errOut.String(), tt.want)
			first, _, _ := strings.Cut(errOut.String(), "\n")
			assert.Equal(t, 1, strings.Count(out.String()+errOut.String(), first), "printed once:\n%s", out.String()+errOut.String())
			assert.NotContains(t, out.String()+errOut.String(), "wrong-s3cret")
		})
	}
	assert.Empty(t, srv.Backups("backups"))
}
