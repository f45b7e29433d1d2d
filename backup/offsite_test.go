package backup

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/net/webdav"

	"github.com/thehomelab/homelab/secret"
)

// writeFileTree writes files (relative path → content) under dir.
func writeFileTree(t testing.TB, dir string, files map[string]string) {
	t.Helper()
	for name, body := range files {
		p := filepath.Join(dir, name)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(body), 0o644))
	}
}

func rcloneObscure(t testing.TB, pw string) string {
	t.Helper()
	out, err := exec.Command("rclone", "obscure", pw).Output()
	require.NoError(t, err)
	return strings.TrimSpace(string(out))
}

func freeLoopbackAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	return addr
}

// serve starts "rclone serve …" on 127.0.0.1 and stops it in t.Cleanup.
func rcloneServe(t testing.TB, args ...string) string {
	t.Helper()
	addr := freeLoopbackAddr(t)
	var stderr bytes.Buffer
	var mu sync.Mutex
	cmd := exec.Command("rclone", append(append([]string{"serve"}, args...), "--addr", addr, "--config", "/dev/null")...)
	cmd.Stderr = stderrFunc(func(p []byte) (int, error) { mu.Lock(); defer mu.Unlock(); return stderr.Write(p) })
	require.NoError(t, cmd.Start())
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() { _ = cmd.Process.Kill(); <-exited })
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(15 * time.Second)
	for {
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			_ = c.Close()
			return addr
		}
		select {
		case <-exited:
			mu.Lock()
			t.Fatalf("rclone serve %v exited: %s", args, stderr.String())
		case <-deadline:
			t.Fatalf("rclone serve %v did not listen", args)
		case <-tick.C:
		}
	}
}

type stderrFunc func([]byte) (int, error)

func (f stderrFunc) Write(p []byte) (int, error) { return f(p) }

// remotes starts rclone's sftp and WebDAV servers and an in-process WebDAV
// server that is out of space, and writes an rclone config naming them.
type rcloneRemotes struct {
	config          string
	sftpDir, davDir string
	rclone          *Rclone
}

func startRcloneRemotes(t *testing.T) *rcloneRemotes {
	t.Helper()
	requirePeerBinary(t, "rclone", "rclone")
	rs := &rcloneRemotes{sftpDir: t.TempDir(), davDir: t.TempDir()}
	pass := rcloneObscure(t, "s3cret-pass")
	sftp := rcloneServe(t, "sftp", rs.sftpDir, "--user", "bk", "--pass", "s3cret-pass")
	dav := rcloneServe(t, "webdav", rs.davDir)

	// A WebDAV server whose disk is full: every upload is refused with
	// 507 Insufficient Storage (RFC 4918 §11.5).
	fs := &webdav.Handler{FileSystem: webdav.NewMemFS(), LockSystem: webdav.NewMemLS()}
	full := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPut {
			_, _ = io.Copy(io.Discard, r.Body)
			http.Error(w, "insufficient storage", http.StatusInsufficientStorage)
			return
		}
		fs.ServeHTTP(w, r)
	}))
	t.Cleanup(full.Close)

	host, port, _ := net.SplitHostPort(sftp)
	cfg := fmt.Sprintf(`[sftp]
type = sftp
host = %[1]s
port = %[2]s
user = bk
pass = %[3]s

[sftpnohash]
type = sftp
host = %[1]s
port = %[2]s
user = bk
pass = %[3]s
shell_type = none

[dav]
type = webdav
url = http://%[4]s/
vendor = other

[secret]
type = crypt
remote = sftp:crypted
password = %[5]s
password2 = %[6]s

[secretnohash]
type = crypt
remote = sftpnohash:crypted-nohash
password = %[5]s
password2 = %[6]s

[full]
type = webdav
url = %[7]s/
vendor = other
`, host, port, pass, dav, rcloneObscure(t, "crypt-one"), rcloneObscure(t, "crypt-two"), full.URL)
	rs.config = filepath.Join(t.TempDir(), "rclone.conf")
	require.NoError(t, os.WriteFile(rs.config, []byte(cfg), 0o600))
	rs.rclone = &Rclone{ConfigPath: rs.config, Retries: 1, StatsInterval: 100 * time.Millisecond}
	return rs
}

func TestRcloneCopyLocal(t *testing.T) {
	t.Parallel()
	requirePeerBinary(t, "rclone", "rclone")
	src, dst := t.TempDir(), t.TempDir()
	writeFileTree(t, src, map[string]string{"a.vma.zst": "aaaa", "b.log": "bb", "sub/c.notes": "c"})
	r := &Rclone{ConfigPath: "/dev/null", StatsInterval: 100 * time.Millisecond}

	var last OffsiteProgress
	var calls int
	res, err := r.Copy(t.Context(), OffsiteSpec{Source: src, Remote: dst, Immutable: true}, func(p OffsiteProgress) { calls++; last = p })
	require.NoError(t, err)
	assert.Equal(t, OffsiteResult{Bytes: 7, Files: 3, Checked: true}, res)
	assert.Positive(t, calls)
	assert.Equal(t, OffsiteProgress{Bytes: 7, TotalBytes: 7, Files: 3, TotalFiles: 3}, last)
	b, err := os.ReadFile(filepath.Join(dst, "sub/c.notes"))
	require.NoError(t, err)
	assert.Equal(t, "c", string(b))

	// Nothing new: nothing moves.
	res, err = r.Copy(t.Context(), OffsiteSpec{Source: src, Remote: dst, Immutable: true}, nil)
	require.NoError(t, err)
	assert.Zero(t, res.Files)
	assert.True(t, res.Checked)

	// An archive that changed under the same name is never overwritten.
	writeFileTree(t, src, map[string]string{"a.vma.zst": "AAAA"})
	_, err = r.Copy(t.Context(), OffsiteSpec{Source: src, Remote: dst, Immutable: true}, nil)
	require.ErrorIs(t, err, ErrConflict)
	b, _ = os.ReadFile(filepath.Join(dst, "a.vma.zst"))
	assert.Equal(t, "aaaa", string(b))
}

func TestRcloneCheckFindsDifferences(t *testing.T) {
	t.Parallel()
	requirePeerBinary(t, "rclone", "rclone")
	src, dst := t.TempDir(), t.TempDir()
	writeFileTree(t, src, map[string]string{"a": "1234", "b": "5678"})
	writeFileTree(t, dst, map[string]string{"a": "1234", "b": "567"})
	r := &Rclone{ConfigPath: "/dev/null"}
	for _, mode := range []OffsiteCheck{CheckAuto, CheckSize, CheckDownload} {
		res, err := r.check(t.Context(), OffsiteSpec{Source: src, Remote: dst, Check: mode}, OffsiteResult{})
		require.ErrorIs(t, err, ErrVerify, mode)
		assert.True(t, res.Checked)
		assert.Equal(t, 1, res.CheckDifferences)
	}
}

func TestRcloneRemotes(t *testing.T) {
	t.Parallel()
	rs := startRcloneRemotes(t)
	src := t.TempDir()
	writeFileTree(t, src, map[string]string{"vzdump-qemu-100-2026_11_25-03_00_02.vma.zst": strings.Repeat("x", 100000), "vzdump-qemu-100-2026_11_25-03_00_02.log": "log"})

	for _, tc := range []struct {
		remote   string
		sizeOnly bool
	}{
		{"sftp:vzdump", false},      // serve sftp emulates md5sum/sha1sum
		{"sftpnohash:nohash", true}, // no shell, no hashes: as Mega
		{"dav:vzdump", true},
		{"secret:vzdump", false},      // crypt: cryptcheck over sftp's hashes
		{"secretnohash:vzdump", true}, // crypt over a hash-less remote: sizes
	} {
		t.Run(tc.remote, func(t *testing.T) {
			res, err := rs.rclone.Copy(t.Context(), OffsiteSpec{Source: src, Remote: tc.remote, Immutable: true, BandwidthLimit: "100M"}, nil)
			require.NoError(t, err)
			assert.Equal(t, int64(2), res.Files)
			assert.True(t, res.Checked)
			assert.Equal(t, tc.sizeOnly, res.SizeOnly)
		})
	}
	// The crypt remote left no plain name on the server.
	entries, err := os.ReadDir(filepath.Join(rs.sftpDir, "crypted"))
	require.NoError(t, err)
	require.NotEmpty(t, entries)
	for _, e := range entries {
		assert.NotContains(t, e.Name(), "vzdump")
	}
	assert.FileExists(t, filepath.Join(rs.davDir, "vzdump", "vzdump-qemu-100-2026_11_25-03_00_02.log"))
}

func TestRcloneFailures(t *testing.T) {
	t.Parallel()
	rs := startRcloneRemotes(t)
	src := t.TempDir()
	writeFileTree(t, src, map[string]string{"a.vma.zst": "archive"})
	ctx := t.Context()

	_, err := rs.rclone.Copy(ctx, OffsiteSpec{Source: src, Remote: "full:vzdump"}, nil)
	require.ErrorIs(t, err, ErrNoSpace)
	var e *Error
	require.ErrorAs(t, err, &e)
	assert.NotEmpty(t, e.Code)

	_, err = rs.rclone.Copy(ctx, OffsiteSpec{Source: src, Remote: "nosuch:vzdump"}, nil)
	assert.ErrorIs(t, err, ErrNotFound)

	_, err = rs.rclone.Copy(ctx, OffsiteSpec{Source: filepath.Join(src, "gone"), Remote: t.TempDir()}, nil)
	require.ErrorIs(t, err, ErrNotFound)
	require.ErrorAs(t, err, &e)
	assert.Equal(t, "exit 3", e.Code)

	missing := &Rclone{Binary: filepath.Join(t.TempDir(), "rclone")}
	_, err = missing.Copy(ctx, OffsiteSpec{Source: src, Remote: t.TempDir()}, nil)
	assert.ErrorIs(t, err, ErrUnavailable)

	// An rclone that dies with a temporary error (exit 5).
	fake := filepath.Join(t.TempDir(), "rclone")
	require.NoError(t, os.WriteFile(fake, []byte("#!/bin/sh\necho '{\"level\":\"error\",\"msg\":\"connection reset\"}' >&2\nexit 5\n"), 0o755))
	_, err = (&Rclone{Binary: fake}).Copy(ctx, OffsiteSpec{Source: src, Remote: t.TempDir()}, nil)
	require.ErrorIs(t, err, ErrUnavailable)
	require.ErrorAs(t, err, &e)
	assert.Equal(t, "exit 5", e.Code)
	assert.Contains(t, e.Message, "connection reset")

	for _, spec := range []OffsiteSpec{{Source: "", Remote: "x:"}, {Source: "-v", Remote: "x:"}, {Source: src, Remote: "x:", Check: 9}} {
		_, err = rs.rclone.Copy(ctx, spec, nil)
		assert.ErrorIs(t, err, ErrInvalid)
	}
}

func TestRcloneCancel(t *testing.T) {
	t.Parallel()
	requirePeerBinary(t, "rclone", "rclone")
	src := t.TempDir()
	writeFileTree(t, src, map[string]string{"big": strings.Repeat("z", 4<<20)})
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := (&Rclone{ConfigPath: "/dev/null"}).Copy(ctx, OffsiteSpec{Source: src, Remote: t.TempDir(), BandwidthLimit: "100k"}, nil)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Less(t, time.Since(start), 5*time.Second)
}

// mountOf returns the mount point holding dir.
func mountPointOf(t *testing.T, dir string) string {
	t.Helper()
	b, err := os.ReadFile("/proc/self/mountinfo")
	require.NoError(t, err)
	best := "/"
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 5 {
			continue
		}
		mp := unescapeMount(f[4])
		if (dir == mp || strings.HasPrefix(dir, strings.TrimSuffix(mp, "/")+"/")) && len(mp) > len(best) {
			best = mp
		}
	}
	return best
}

func TestRcloneSyncGuards(t *testing.T) {
	t.Parallel()
	requirePeerBinary(t, "rclone", "rclone")
	r := &Rclone{ConfigPath: "/dev/null", Retries: 1}
	ctx := t.Context()
	src, dst := t.TempDir(), t.TempDir()
	mp := mountPointOf(t, src)
	writeFileTree(t, dst, map[string]string{"202611/old1.jpg": "1", "202611/old2.jpg": "2"})
	month := filepath.Join(src, "202611")

	for name, spec := range map[string]OffsiteSpec{
		"no max delete":     {Source: month, Remote: dst, Sync: true, MountPoint: mp},
		"no mount point":    {Source: month, Remote: dst, Sync: true, MaxDelete: 5},
		"remote source":     {Source: "nas:photos", Remote: dst, Sync: true, MaxDelete: 5, MountPoint: mp},
		"outside the mount": {Source: "/elsewhere/x", Remote: dst, Sync: true, MaxDelete: 5, MountPoint: src},
	} {
		_, err := r.Copy(ctx, spec, nil)
		assert.ErrorIs(t, err, ErrInvalid, name)
	}

	// Not mounted: the seed's failure (mkdir -p made a local folder where
	// the share should be).
	require.NoError(t, os.MkdirAll(month, 0o755))
	_, err := r.Copy(ctx, OffsiteSpec{Source: month, Remote: filepath.Join(dst, "202611"), Sync: true, MaxDelete: 5, MountPoint: src}, nil)
	require.ErrorIs(t, err, ErrUnavailable)
	assert.ErrorContains(t, err, "not mounted")

	// Mounted but empty (or nothing the filters select): refused.
	spec := OffsiteSpec{Source: month, Remote: filepath.Join(dst, "202611"), Sync: true, MaxDelete: 1, MountPoint: mp}
	_, err = r.Copy(ctx, spec, nil)
	require.ErrorIs(t, err, ErrConflict)
	assert.ErrorContains(t, err, "no file")
	assert.FileExists(t, filepath.Join(dst, "202611/old1.jpg"))

	// More deletions than allowed: rclone stops at --max-delete (after
	// copying what is new: sync deletes last).
	writeFileTree(t, month, map[string]string{"new.jpg": "n"})
	_, err = r.Copy(ctx, spec, nil)
	require.ErrorIs(t, err, ErrConflict)
	assert.ErrorContains(t, err, "max-delete")
	olds, _ := filepath.Glob(filepath.Join(dst, "202611/old*.jpg"))
	assert.NotEmpty(t, olds, "deleted no more than MaxDelete")

	// Within the limit the mirror is made.
	spec.MaxDelete = 2
	_, err = r.Copy(ctx, spec, nil)
	require.NoError(t, err)
	entries, err := os.ReadDir(filepath.Join(dst, "202611"))
	require.NoError(t, err)
	require.Len(t, entries, 1)
	assert.Equal(t, "new.jpg", entries[0].Name())
}

func TestPhotoMonth(t *testing.T) {
	t.Parallel()
	month := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	specs := PhotoMonth(month, "mega:photos/", "/mnt/nas/family/Camera", "/mnt/nas/family/Tarjeta")
	require.Len(t, specs, 2)
	assert.Equal(t, OffsiteSpec{Source: "/mnt/nas/family/Camera", Remote: "mega:photos/202611", Immutable: true, Include: []string{"*_202611*", "*-202611*"}}, specs[0])
	assert.Equal(t, "mega:202611", PhotoMonth(month, "mega:", "/x")[0].Remote)

	requirePeerBinary(t, "rclone", "rclone")
	cam, card, remote := t.TempDir(), t.TempDir(), t.TempDir()
	writeFileTree(t, cam, map[string]string{"IMG_20261103_101010.jpg": "a", "sub/IMG_20261130_235959.jpg": "b", "IMG_20261201_000000.jpg": "december", "IMG_20261031_235959.jpg": "october"})
	writeFileTree(t, card, map[string]string{"IMG-20261104-WA0001.jpg": "c"})
	r := &Rclone{ConfigPath: "/dev/null"}
	var files int64
	for _, s := range PhotoMonth(month, remote, cam, card) {
		res, err := r.Copy(t.Context(), s, nil)
		require.NoError(t, err)
		files += res.Files
	}
	assert.Equal(t, int64(3), files)
	assert.FileExists(t, filepath.Join(remote, "202611", "IMG_20261103_101010.jpg"))
	assert.FileExists(t, filepath.Join(remote, "202611", "sub", "IMG_20261130_235959.jpg"))
	assert.FileExists(t, filepath.Join(remote, "202611", "IMG-20261104-WA0001.jpg"))
	assert.NoFileExists(t, filepath.Join(remote, "202611", "IMG_20261201_000000.jpg"))
}

func TestParseLogLine(t *testing.T) {
	t.Parallel()
	l := parseLogLine([]byte(`{"level":"warning","msg":"\nTransferred: ...","source":"accounting/stats.go:482","stats":{"bytes":3,"checks":0,"totalBytes":5,"totalTransfers":2,"transfers":1,"errors":0,"fatalError":false},"time":"2026-12-07T06:05:03.364749+00:00"}`))
	require.NotNil(t, l.Stats)
	assert.Equal(t, statsLine{Bytes: 3, TotalBytes: 5, Transfers: 1, TotalTransfers: 2}, *l.Stats)
	l = parseLogLine([]byte("2026/12/07 06:22:40 Failed to create file system for \"nosuch:x\": didn't find section in config file"))
	assert.Equal(t, logLine{Level: "error", Msg: `Failed to create file system for "nosuch:x": didn't find section in config file`}, l)
}

func FuzzParseLogLine(f *testing.F) {
	f.Add([]byte(`{"level":"info","msg":"Copied (new)","object":"a","objectType":"*local.Object"}`))
	f.Add([]byte(`{"level":"warning","msg":"x","stats":{"bytes":1,"totalBytes":-1}}`))
	f.Add([]byte("2026/12/07 06:22:40 Failed to check: 1 differences found"))
	f.Fuzz(func(t *testing.T, b []byte) { _ = parseLogLine(b) })
}

func TestMountInfo(t *testing.T) {
	t.Parallel()
	info := "22 1 0:21 / / rw,relatime - overlay overlay rw\n" +
		"40 22 0:35 / /mnt/pve/backups rw - cifs //192.168.1.5/backups rw\n" +
		"41 22 0:36 / /mnt/nas\\040family rw - cifs //nas/family rw\n"
	for dir, want := range map[string]bool{"/": true, "/mnt/pve/backups/": true, "/mnt/pve": false, "/mnt/nas family": true, "/mnt/nas": false} {
		got, err := mountInfoHas(strings.NewReader(info), dir)
		require.NoError(t, err)
		assert.Equal(t, want, got, dir)
	}
}

// A remote configured only by environment, with its password as a secret
// that never shows in %v.
func TestRcloneEnvRemote(t *testing.T) {
	t.Parallel()
	requirePeerBinary(t, "rclone", "rclone")
	src, dst := t.TempDir(), t.TempDir()
	writeFileTree(t, src, map[string]string{"a": "1"})
	r := &Rclone{ConfigPath: "/dev/null", Env: map[string]secret.Secret{
		"RCLONE_CONFIG_ENVREMOTE_TYPE":   secret.New("alias"),
		"RCLONE_CONFIG_ENVREMOTE_REMOTE": secret.New(dst),
	}}
	res, err := r.Copy(t.Context(), OffsiteSpec{Source: src, Remote: "envremote:month"}, nil)
	require.NoError(t, err)
	assert.Equal(t, int64(1), res.Files)
	assert.FileExists(t, filepath.Join(dst, "month", "a"))
	assert.NotContains(t, fmt.Sprintf("%v %+v", r, *r), dst)
}

func FuzzMountInfo(f *testing.F) {
	f.Add([]byte("22 1 0:21 / / rw,relatime - overlay overlay rw\n41 22 0:36 / /mnt/nas\\040family rw - cifs //nas/family rw\n"))
	f.Add([]byte("\\\\\\"))
	f.Fuzz(func(t *testing.T, b []byte) { _, _ = mountInfoHas(bytes.NewReader(b), "/mnt/nas family") })
}

func TestRcloneListAndDelete(t *testing.T) {
	t.Parallel()
	rs := startRcloneRemotes(t)
	ctx := t.Context()
	src := t.TempDir()
	writeFileTree(t, src, map[string]string{"vzdump-qemu-100-2026_11_24-03_00_02.vma.zst": "old", "vzdump-qemu-100-2026_11_25-03_00_02.vma.zst": "new!", "sub/x.log": "l"})
	for _, remote := range []string{t.TempDir(), "secret:list"} {
		_, err := rs.rclone.Copy(ctx, OffsiteSpec{Source: src, Remote: remote}, nil)
		require.NoError(t, err)

		files, err := rs.rclone.List(ctx, remote, false)
		require.NoError(t, err)
		require.Len(t, files, 2, remote)
		assert.Equal(t, "vzdump-qemu-100-2026_11_24-03_00_02.vma.zst", files[0].Path)
		assert.Equal(t, int64(3), files[0].Size)
		assert.False(t, files[0].ModTime.IsZero())
		files, err = rs.rclone.List(ctx, remote, true)
		require.NoError(t, err)
		assert.Len(t, files, 3)

		sep := "/"
		if strings.HasSuffix(remote, ":") {
			sep = ""
		}
		require.NoError(t, rs.rclone.DeleteFile(ctx, remote+sep+"vzdump-qemu-100-2026_11_24-03_00_02.vma.zst"))
		files, err = rs.rclone.List(ctx, remote, false)
		require.NoError(t, err)
		require.Len(t, files, 1)

		err = rs.rclone.DeleteFile(ctx, remote+sep+"vzdump-qemu-100-2026_11_24-03_00_02.vma.zst")
		assert.ErrorIs(t, err, ErrNotFound)
		assert.ErrorIs(t, rs.rclone.DeleteFile(ctx, remote+"/"), ErrInvalid)
	}
	_, err := rs.rclone.List(ctx, filepath.Join(t.TempDir(), "none"), false)
	assert.ErrorIs(t, err, ErrNotFound)
}

func FuzzParseLsJSON(f *testing.F) {
	f.Add([]byte(`[{"Path":"a.vma.zst","Name":"a.vma.zst","Size":3,"ModTime":"2026-12-07T07:03:46.811688947Z","IsDir":false}]`))
	f.Add([]byte(`[{"Path":"d","Size":-1,"IsDir":true}]`))
	f.Fuzz(func(t *testing.T, b []byte) { _, _ = parseLsJSON(b) })
}
