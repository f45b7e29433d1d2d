package main

import (
	"bytes"
	"net"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/thehomelab/homelab/proxmox/proxmoxtest"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

var pveEnv = env(map[string]string{"PROXMOX_TOKEN_ID": proxmoxtest.TokenID, "PROXMOX_TOKEN_SECRET": proxmoxtest.TokenSecret})

// pve starts the fake and returns the flags that reach it.
func pve(t *testing.T, opts ...proxmoxtest.Option) (*proxmoxtest.Server, []string) {
	t.Helper()
	srv := proxmoxtest.Start(t, opts...)
	return srv, []string{"-proxmox", srv.URL, "-proxmox-fingerprint", srv.Fingerprint(), "-tz", "UTC"}
}

// closedPort returns a 127.0.0.1 address nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	return addr
}

func TestDryRun(t *testing.T) {
	t.Parallel()
	srv, flags := pve(t)
	var out, errOut bytes.Buffer
	code := run(t.Context(), append(flags, "-keep", "keep-daily=7", "-two-step", "100"), &out, &errOut, pveEnv)
	require.Equal(t, 0, code, errOut.String())
	assert.Contains(t, out.String(), "backup plan ")
	assert.Contains(t, out.String(), "100    nas            proxmox1  two-step  local → backups  keep-daily=7")
	assert.Contains(t, out.String(), "dry run: nothing changed (run again with -yes)\n")
	assert.Empty(t, errOut.String())
	assert.Empty(t, srv.Backups("local"), "a dry run dumps nothing")
}

func TestApplyWithDrill(t *testing.T) {
	t.Parallel()
	srv, flags := pve(t)
	var out, errOut bytes.Buffer
	code := run(t.Context(), append(flags, "-guests", "101,102", "-drill", "101", "-yes"), &out, &errOut, pveEnv)
	require.Equal(t, 0, code, out.String()+errOut.String())
	assert.Contains(t, out.String(), "backup OK: 2 guests")
	assert.Contains(t, out.String(), "1 restore drill")
	assert.Len(t, srv.Backups("backups"), 2)
	assert.Empty(t, srv.GuestStatus(9900), "the drill's scratch guest is gone")
	assert.Empty(t, errOut.String())
}

// -v logs every SDK call at Debug on stderr, the token redacted.
func TestVerbose(t *testing.T) {
	t.Parallel()
	_, flags := pve(t)
	var out, errOut bytes.Buffer
	require.Equal(t, 0, run(t.Context(), append(flags, "-v"), &out, &errOut, pveEnv), errOut.String())
	assert.Contains(t, errOut.String(), "level=DEBUG")
	assert.Contains(t, errOut.String(), "/cluster/resources")
	assert.NotContains(t, out.String()+errOut.String(), proxmoxtest.TokenSecret)

	errOut.Reset()
	require.Equal(t, 0, run(t.Context(), flags, &out, &errOut, pveEnv))
	assert.Empty(t, errOut.String(), "without -v the SDK logs nothing")
}

// A wrong command line or a missing setting is status 2, before anything
// is asked or changed; the flag package's error is printed once.
func TestUsage(t *testing.T) {
	t.Parallel()
	srv, flags := pve(t)
	noKey := filepath.Join(t.TempDir(), "no-such-key")
	tests := []struct {
		name string
		args []string
		env  func(string) string
		want string
	}{
		{"bad flag", []string{"-nope"}, pveEnv, "backup: flag provided but not defined: -nope\n"},
		{"bad flag value", []string{"-drill", "many"}, pveEnv, `backup: invalid value "many" for flag -drill`},
		{"positional", []string{"tonight"}, pveEnv, `backup: unexpected arguments ["tonight"]`},
		{"bad keep", []string{"-keep", "keep-often=1"}, pveEnv, "backup: -keep: "},
		{"bad vmid", []string{"-guests", "abc"}, pveEnv, `backup: -guests: not a VMID: "abc"`},
		{"bad zone", []string{"-tz", "Mars/Olympus"}, pveEnv, "backup: -tz: "},
		{"no token", flags, env(nil), "backup: set PROXMOX_TOKEN_ID (user@realm!name) and PROXMOX_TOKEN_SECRET"},
		{"no token secret", flags, env(map[string]string{"PROXMOX_TOKEN_ID": proxmoxtest.TokenID}), "set PROXMOX_TOKEN_ID"},
		{"bad fingerprint", []string{"-proxmox", srv.URL, "-proxmox-fingerprint", "AA:BB"}, pveEnv, "backup: proxmox: "},
		{"drill into itself", append(flags, "-yes", "-drill", "101", "-drill-vmid", "101"), pveEnv, "-drill and -drill-vmid"},
		{"mail without yes", append(flags, "-mail", "admin@example.org"), pveEnv, "-mail needs -yes"},
		{"mail without password", append(flags, "-yes", "-mail", "admin@example.org"), pveEnv, "set SMTP_PASSWORD"},
		{"storage is local", append(flags, "-storage", "local"), pveEnv, "backup: plan: local storage local is the target storage"},
		{"two-step without key", append(flags, "-yes", "-guests", "100", "-two-step", "100"), pveEnv, "backup: set SSH_KEY_FILE to the private key for root@proxmox1"},
		{"key file missing", append(flags, "-yes", "-guests", "100", "-two-step", "100"),
			env(map[string]string{"PROXMOX_TOKEN_ID": proxmoxtest.TokenID, "PROXMOX_TOKEN_SECRET": proxmoxtest.TokenSecret, "SSH_KEY_FILE": noKey}), "backup: SSH_KEY_FILE: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var out, errOut bytes.Buffer
			assert.Equal(t, 2, run(t.Context(), tt.args, &out, &errOut, tt.env), errOut.String())
			assert.Contains(t, errOut.String(), tt.want)
			first, _, _ := strings.Cut(errOut.String(), "\n")
			assert.Equal(t, 1, strings.Count(out.String()+errOut.String(), first), "the error is printed once:\n%s", out.String()+errOut.String())
			assert.NotContains(t, out.String()+errOut.String(), proxmoxtest.TokenSecret)
		})
	}
	assert.Empty(t, srv.Backups("local"), "no usage error dumped anything")
	assert.Empty(t, srv.Backups("backups"), "no usage error dumped anything")

	// -h prints the usage with the environment on stdout: status 0.
	var out, errOut bytes.Buffer
	assert.Equal(t, 0, run(t.Context(), []string{"-h"}, &out, &errOut, env(nil)))
	for _, want := range []string{"usage: backup", "-yes", "-v", "-mail", "PROXMOX_TOKEN_ID", "SSH_KEY_FILE", "SMTP_PASSWORD"} {
		assert.Contains(t, out.String(), want)
	}
	assert.Empty(t, errOut.String())
}

// Proxmox that cannot be asked is status 3, not a failed night.
func TestUnchecked(t *testing.T) {
	t.Parallel()
	srv, flags := pve(t)
	wrongSecret := env(map[string]string{"PROXMOX_TOKEN_ID": proxmoxtest.TokenID, "PROXMOX_TOKEN_SECRET": "wrong-s3cret"})
	otherFP := proxmoxtest.Start(t).Fingerprint()
	tests := []struct {
		name string
		args []string
		env  func(string) string
		want string
	}{
		{"unreachable", []string{"-proxmox", "https://" + closedPort(t), "-proxmox-fingerprint", srv.Fingerprint()}, pveEnv, "connection refused"},
		{"token refused", flags, wrongSecret, "backup: "},
		{"token refused with -yes", append(flags, "-yes"), wrongSecret, "backup: "},
		{"certificate not pinned", []string{"-proxmox", srv.URL}, pveEnv, "pin it: -proxmox-fingerprint "},
		{"wrong pin", []string{"-proxmox", srv.URL, "-proxmox-fingerprint", otherFP}, pveEnv, "fingerprint"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var out, errOut bytes.Buffer
			assert.Equal(t, 3, run(t.Context(), tt.args, &out, &errOut, tt.env), errOut.String())
			assert.Contains(t, errOut.String(), tt.want)
			assert.NotContains(t, errOut.String(), "backup: backup: ")
			assert.NotContains(t, out.String()+errOut.String(), "wrong-s3cret")
		})
	}
	assert.Empty(t, srv.Backups("backups"))
}

// A failed night is status 1 and its message names the cause, not only
// the report's subject.
func TestNightFails(t *testing.T) {
	t.Parallel()
	srv, flags := pve(t)
	srv.FailBackup(102, "job failed with err -5 - Input/output error")
	var out, errOut bytes.Buffer
	assert.Equal(t, 1, run(t.Context(), append(flags, "-guests", "101,102", "-yes"), &out, &errOut, pveEnv))
	assert.Contains(t, out.String(), "backup FAILED: 1 of 2 guests failed")
	assert.Contains(t, errOut.String(), "FAILED: 1 of 2 guests failed")
	assert.Contains(t, errOut.String(), "vzdump 102 on proxmox1: job failed with err -5 - Input/output error", "the cause, not only the subject")
	assert.True(t, strings.HasPrefix(errOut.String(), "backup: "), errOut.String())
	assert.NotContains(t, errOut.String(), "backup: backup: ")
	assert.Len(t, srv.Backups("backups"), 1, "the other guest is backed up anyway")
}

// The restore drill's error is reported: status 1 when the drill ran and
// failed, 3 when Proxmox refused to answer it.
func TestDrillFails(t *testing.T) {
	t.Parallel()
	restore := "^/nodes/proxmox1/lxc$"
	tests := []struct {
		name  string
		args  []string
		fault *proxmoxtest.Fault
		code  int
		want  string
	}{
		{name: "scratch vmid taken", args: []string{"-drill-vmid", "102"}, code: 1, want: "backup: restore drill of 101 into 102: scratch VMID 102 exists; refusing to touch it"},
		{name: "restore fails on the node", fault: &proxmoxtest.Fault{Method: "POST", Path: restore, Status: 500, Reason: "storage 'local-lvm' is full"}, code: 1, want: "storage 'local-lvm' is full"},
		{name: "token refused for the restore", fault: &proxmoxtest.Fault{Method: "POST", Path: restore, Status: 401, Reason: "authentication failure"}, code: 3, want: "401 authentication failure"},
		{name: "proxy cannot reach the node", fault: &proxmoxtest.Fault{Method: "POST", Path: restore, Status: 595, Reason: "Connection refused"}, code: 3, want: "595 Connection refused"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv, flags := pve(t)
			if tt.fault != nil {
				srv.Inject(*tt.fault)
			}
			var out, errOut bytes.Buffer
			code := run(t.Context(), append(append(flags, "-guests", "101", "-drill", "101", "-yes"), tt.args...), &out, &errOut, pveEnv)
			assert.Equal(t, tt.code, code, errOut.String())
			assert.Contains(t, out.String(), "backup FAILED: 1 restore drill failed")
			assert.Contains(t, errOut.String(), tt.want)
			assert.Equal(t, 1, strings.Count(errOut.String(), "\n"), "one line: %s", errOut.String())
			assert.Len(t, srv.Backups("backups"), 1, "the night itself went well")
		})
	}
}

// A mail server that is not there is reported after the night, as
// "could not ask"; the password never shows.
func TestMailFails(t *testing.T) {
	t.Parallel()
	_, flags := pve(t)
	mailEnv := env(map[string]string{"PROXMOX_TOKEN_ID": proxmoxtest.TokenID, "PROXMOX_TOKEN_SECRET": proxmoxtest.TokenSecret, "SMTP_PASSWORD": "mail-s3cret"})
	var out, errOut bytes.Buffer
	code := run(t.Context(), append(flags, "-guests", "101", "-yes", "-mail", "admin@example.org", "-smtp", closedPort(t)), &out, &errOut, mailEnv)
	assert.Equal(t, 3, code, errOut.String())
	assert.Contains(t, out.String(), "backup OK: 1 guest")
	assert.Contains(t, errOut.String(), "backup: mail the report: ")
	assert.NotContains(t, out.String()+errOut.String(), "mail-s3cret")
}
