package smb_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/thehomelab/homelab/omv/smb"
	"github.com/thehomelab/homelab/secret"
)

// skipOrFail skips with a reason, or fails when HOMELAB_REQUIRE_PEERS=1.
func skipOrFail(t *testing.T, format string, a ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, a...)
	if os.Getenv("HOMELAB_REQUIRE_PEERS") == "1" {
		t.Fatalf("real smbd required (HOMELAB_REQUIRE_PEERS=1): %s", msg)
	}
	t.Skipf("skipping real-Samba test: %s (install Debian package samba and run as root)", msg)
}

// syncBuffer collects smbd's output for failure messages.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type peer struct {
	addr  string
	users [2]string
	pw    [2]string
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// addUnixUser creates a throwaway Unix account: smbd maps every Samba user
// to one. It is removed in Cleanup.
func addUnixUser(t *testing.T, name string) {
	t.Helper()
	out, err := exec.Command("useradd", "--no-create-home", "--no-user-group", "--gid", "users",
		"--shell", "/usr/sbin/nologin", "--home-dir", "/nonexistent", name).CombinedOutput()
	require.NoError(t, err, "useradd %s: %s", name, out)
	t.Cleanup(func() {
		// userdel refuses while a process still runs as the user (an smbd
		// child that is just exiting): retry briefly, and say so if the
		// account stays behind.
		var out []byte
		var err error
		for range 20 {
			if out, err = exec.Command("userdel", name).CombinedOutput(); err == nil {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
		t.Errorf("userdel %s: %v: %s", name, err, out)
	})
}

// startSmbd runs Debian's smbd on 127.0.0.1 with a private configuration
// (passdb, state, lock and pid dirs all in a temp dir): shares own0 and
// own1 (read/write, one user each) and public (read-only for both), a
// dfree command reporting 2 GiB total and 1 GiB free as a quota would.
func startSmbd(t *testing.T) peer {
	t.Helper()
	smbd, err := exec.LookPath("smbd")
	if err != nil {
		if _, serr := os.Stat("/usr/sbin/smbd"); serr != nil {
			skipOrFail(t, "smbd not found")
		}
		smbd = "/usr/sbin/smbd"
	}
	smbpasswd, err := exec.LookPath("smbpasswd")
	if err != nil {
		skipOrFail(t, "smbpasswd not found")
	}
	if u, err := user.Current(); err != nil || u.Uid != "0" {
		skipOrFail(t, "smbd and useradd need root")
	}
	if _, err := exec.LookPath("useradd"); err != nil {
		skipOrFail(t, "useradd not found")
	}

	dir := t.TempDir()
	// smbd serves files as the connected user, who must reach the shares.
	require.NoError(t, os.Chmod(dir, 0o755))
	require.NoError(t, os.Chmod(filepath.Dir(dir), 0o755))
	suffix := randHex(3)
	p := peer{users: [2]string{"hlomva" + suffix, "hlomvb" + suffix}, pw: [2]string{"Pw-a-" + randHex(4), "Pw-b-" + randHex(4)}}
	for _, u := range p.users {
		addUnixUser(t, u)
	}
	for _, sub := range []string{"private", "lock", "state", "cache", "run", "ncalrpc", "bind-dns", "own0", "own1", "public"} {
		require.NoError(t, os.MkdirAll(filepath.Join(dir, sub), 0o755))
	}
	for i, u := range p.users {
		out, err := exec.Command("chown", u+":users", filepath.Join(dir, fmt.Sprintf("own%d", i))).CombinedOutput()
		require.NoError(t, err, "%s", out)
		require.NoError(t, os.Chmod(filepath.Join(dir, fmt.Sprintf("own%d", i)), 0o700))
	}
	require.NoError(t, os.WriteFile(filepath.Join(dir, "public", "readme.txt"), []byte("hi\n"), 0o644))
	dfree := filepath.Join(dir, "dfree.sh")
	require.NoError(t, os.WriteFile(dfree, []byte("#!/bin/sh\n# total and available 1K blocks, like a 2 GiB quota with 1 GiB used\necho 2097152 1048576\n"), 0o755))

	// The free port is found by listening and closing, so another process
	// may take it before smbd binds: try a few ports.
	conf := filepath.Join(dir, "smb.conf")
	var lastLogs string
	for attempt := 0; attempt < 3; attempt++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		port := l.Addr().(*net.TCPAddr).Port
		require.NoError(t, l.Close())
		p.addr = fmt.Sprintf("127.0.0.1:%d", port)
		require.NoError(t, os.WriteFile(conf, []byte(smbConf(dir, port, p.users)), 0o644))
		if attempt == 0 {
			for i, u := range p.users {
				cmd := exec.Command(smbpasswd, "-c", conf, "-a", "-s", u)
				cmd.Stdin = strings.NewReader(p.pw[i] + "\n" + p.pw[i] + "\n")
				out, err := cmd.CombinedOutput()
				require.NoError(t, err, "smbpasswd -a %s: %s", u, out)
			}
		}
		ok, logs := runSmbd(t, smbd, conf, p.addr)
		if ok {
			return p
		}
		lastLogs = logs
	}
	t.Fatalf("smbd did not start on 127.0.0.1:\n%s", lastLogs)
	return p
}

// smbConf is a private smb.conf: every state, lock, pid and passdb file
// lives under dir, smbd listens on 127.0.0.1:port only.
func smbConf(dir string, port int, users [2]string) string {
	return fmt.Sprintf(`[global]
	server role = standalone server
	workgroup = HOMELAB
	smb ports = %[2]d
	interfaces = 127.0.0.1
	bind interfaces only = yes
	private dir = %[1]s/private
	lock directory = %[1]s/lock
	state directory = %[1]s/state
	cache directory = %[1]s/cache
	pid directory = %[1]s/run
	ncalrpc dir = %[1]s/ncalrpc
	binddns dir = %[1]s/bind-dns
	passdb backend = tdbsam:%[1]s/private/passdb.tdb
	log file = %[1]s/log.%%m
	load printers = no
	printing = bsd
	printcap name = /dev/null
	disable spoolss = yes
	disable netbios = yes
	map to guest = never
	server min protocol = SMB2_02
	dfree command = %[1]s/dfree.sh
	dfree cache time = 0

[own0]
	path = %[1]s/own0
	valid users = %[3]s
	read only = no

[own1]
	path = %[1]s/own1
	valid users = %[4]s
	read only = no

[public]
	path = %[1]s/public
	valid users = %[3]s %[4]s
	read only = yes
`, dir, port, users[0], users[1])
}

// runSmbd starts smbd and waits until it listens on addr. It reports
// false with smbd's output when smbd exits or does not listen (e.g. the
// port was taken meanwhile). A started smbd is stopped in Cleanup together
// with the children it forks.
func runSmbd(t *testing.T, smbd, conf, addr string) (bool, string) {
	t.Helper()
	var logs syncBuffer
	cmd := exec.Command(smbd, "--foreground", "--no-process-group", "--debug-stdout", "--debuglevel=1", "--configfile="+conf)
	cmd.Stdout, cmd.Stderr = &logs, &logs
	// Own process group so Cleanup can signal smbd's children too; and if
	// the test binary dies (timeout), the kernel kills smbd.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	require.NoError(t, cmd.Start())
	pgid := cmd.Process.Pid
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	stop := func() {
		_ = syscall.Kill(-pgid, syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = syscall.Kill(-pgid, syscall.SIGKILL)
			<-done
		}
		// Helpers and per-connection children may outlive the parent:
		// kill what is left and wait until the group is empty, so no smbd
		// stays behind and userdel can run.
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		for i := 0; syscall.Kill(-pgid, 0) == nil; i++ {
			if i > 100 {
				t.Errorf("smbd processes of group %d did not exit", pgid)
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			_ = c.Close()
			t.Cleanup(func() {
				stop()
				if t.Failed() {
					t.Logf("smbd output:\n%s", logs.String())
				}
			})
			return true, ""
		}
		select {
		case <-done:
			stop()
			return false, logs.String()
		default:
		}
		if time.Now().After(deadline) {
			stop()
			return false, logs.String()
		}
		time.Sleep(50 * time.Millisecond) // test helper waiting on an external process
	}
}

func TestAuditRealSamba(t *testing.T) {
	p := startSmbd(t)
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	a := smb.Credentials{User: p.users[0], Password: secret.New(p.pw[0])}
	b := smb.Credentials{User: p.users[1], Password: secret.New(p.pw[1])}

	t.Run("owner ok, other denied, quota as free space", func(t *testing.T) {
		r, err := smb.Audit(ctx, p.addr, "own0", a, b)
		require.NoError(t, err)
		assert.True(t, r.OK(), "%v", r.Problems)
		assert.True(t, r.LoggedIn)
		assert.True(t, r.Listed)
		assert.True(t, r.Wrote)
		assert.True(t, r.Deleted)
		assert.True(t, r.OtherDenied)
		assert.Equal(t, uint64(2<<30), r.Total)
		assert.Equal(t, uint64(1<<30), r.Free)
		assert.Equal(t, 0, r.Entries, "the probe was removed")
	})
	t.Run("read-only share is reported", func(t *testing.T) {
		r, err := smb.Audit(ctx, p.addr, "public", a, smb.Credentials{})
		require.NoError(t, err)
		assert.True(t, r.LoggedIn)
		assert.True(t, r.Listed)
		assert.Equal(t, 1, r.Entries)
		assert.False(t, r.Wrote)
		assert.False(t, r.OK())
	})
	t.Run("other user allowed is a finding", func(t *testing.T) {
		r, err := smb.Audit(ctx, p.addr, "public", b, a)
		require.NoError(t, err)
		assert.False(t, r.OtherDenied)
		assert.Contains(t, strings.Join(r.Problems, "\n"), p.users[0]+" can access public")
	})
	t.Run("wrong password", func(t *testing.T) {
		bad := smb.Credentials{User: p.users[0], Password: secret.New("wrong-" + p.pw[0])}
		r, err := smb.Audit(ctx, p.addr, "own0", bad, smb.Credentials{})
		require.NoError(t, err)
		assert.False(t, r.LoggedIn)
		require.Len(t, r.Problems, 1)
		assert.Contains(t, r.Problems[0], "cannot log in")
		assert.NotContains(t, fmt.Sprintf("%v %+v", r, bad), p.pw[0])
	})
	t.Run("cancelled context", func(t *testing.T) {
		cctx, ccancel := context.WithCancel(ctx)
		ccancel()
		_, err := smb.Audit(cctx, p.addr, "own0", a, b)
		require.ErrorIs(t, err, context.Canceled)
	})
	t.Run("unreachable server is an error", func(t *testing.T) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		addr := l.Addr().String()
		require.NoError(t, l.Close())
		_, err = smb.Audit(ctx, addr, "own0", a, b)
		require.Error(t, err)
	})
}

// Errors are *smb.Error with a class, without a running Samba.
func TestAuditErrors(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	owner := smb.Credentials{User: "anna", Password: secret.New("pw-not-printed")}
	_, err = smb.Audit(t.Context(), addr, "media", owner, smb.Credentials{})
	require.ErrorIs(t, err, smb.ErrUnavailable)
	var e *smb.Error
	require.ErrorAs(t, err, &e)
	assert.Contains(t, e.Op, "audit media on "+addr)
	assert.True(t, strings.HasPrefix(err.Error(), "smb: audit media"), err.Error())
	assert.NotContains(t, err.Error(), "pw-not-printed")
	var op *net.OpError
	assert.ErrorAs(t, err, &op, "the network error stays reachable")

	_, err = smb.Audit(t.Context(), addr, "", owner, smb.Credentials{})
	require.ErrorIs(t, err, smb.ErrInvalid)
}
