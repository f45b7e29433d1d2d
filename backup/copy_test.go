package backup

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const testArchiveName = "vzdump-qemu-100-2026_11_25-03_00_02.vma.zst"

// newArchive writes a real zstd archive of about n bytes with its log and
// notes into a new directory and returns the archive's path.
func writeZstdArchive(t testing.TB, n int) string {
	t.Helper()
	requirePeerBinary(t, "zstd", "zstd")
	dir := t.TempDir()
	raw := make([]byte, n)
	rng := rand.NewChaCha8([32]byte{1})
	_, _ = rng.Read(raw)
	p := filepath.Join(dir, testArchiveName)
	cmd := exec.Command("zstd", "-q", "-1", "-o", p)
	cmd.Stdin = bytes.NewReader(raw)
	require.NoError(t, cmd.Run())
	require.NoError(t, os.WriteFile(filepath.Join(dir, "vzdump-qemu-100-2026_11_25-03_00_02.log"), []byte("INFO: starting new backup job\n"), 0o644))
	require.NoError(t, os.WriteFile(p+".notes", []byte("nas"), 0o644))
	return p
}

type fileSnap struct {
	sum   [32]byte
	mtime time.Time
}

func fileSnapshot(t testing.TB, p string) fileSnap {
	t.Helper()
	b, err := os.ReadFile(p)
	require.NoError(t, err)
	fi, err := os.Stat(p)
	require.NoError(t, err)
	return fileSnap{sha256.Sum256(b), fi.ModTime()}
}

func assertNoTempFiles(t *testing.T, dir string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	for _, e := range entries {
		assert.NotContains(t, e.Name(), ".tmp-", "temporary file left behind")
	}
}

// hookRunner runs commands locally and lets a test act before or after
// one.
type hookRunner struct {
	LocalRunner
	before func(argv []string) error
	after  func(argv []string)
}

func (h *hookRunner) Run(ctx context.Context, argv ...string) ([]byte, error) {
	if h.before != nil {
		if err := h.before(argv); err != nil {
			return nil, err
		}
	}
	out, err := h.LocalRunner.Run(ctx, argv...)
	if h.after != nil {
		h.after(argv)
	}
	return out, err
}

func TestCopyVerified(t *testing.T) {
	t.Parallel()
	src := writeZstdArchive(t, 3<<20)
	before := fileSnapshot(t, src)
	dst := t.TempDir()

	var calls int
	var last, total int64
	res, err := CopyVerified(t.Context(), LocalRunner{}, src, dst, CopyOptions{
		Sidecars:  true,
		ChunkSize: 1 << 20,
		Progress:  func(d, tot int64) { calls++; last, total = d, tot },
	})
	require.NoError(t, err)

	assert.Equal(t, filepath.Join(dst, testArchiveName), res.Path)
	fi, err := os.Stat(src)
	require.NoError(t, err)
	assert.Equal(t, fi.Size(), res.Size)
	assert.Equal(t, hex.EncodeToString(before.sum[:]), res.SHA256)
	assert.ElementsMatch(t, []string{
		filepath.Join(dst, "vzdump-qemu-100-2026_11_25-03_00_02.log"),
		filepath.Join(dst, testArchiveName+".notes"),
	}, res.Sidecars)
	assert.Equal(t, before.sum, fileSnapshot(t, res.Path).sum)
	notes, err := os.ReadFile(filepath.Join(dst, testArchiveName+".notes"))
	require.NoError(t, err)
	assert.Equal(t, "nas", string(notes))
	assert.Equal(t, total, last)
	assert.Greater(t, calls, 2, "progress per chunk")

	assert.Equal(t, before, fileSnapshot(t, src), "the source is never touched")
	assertNoTempFiles(t, dst)

	// A second run finds the same archive in place and copies nothing.
	var dd atomic.Int32
	again, err := CopyVerified(t.Context(), &hookRunner{before: func(a []string) error {
		if a[0] == "dd" {
			dd.Add(1)
		}
		return nil
	}}, src, dst, CopyOptions{Sidecars: true})
	require.NoError(t, err)
	assert.Equal(t, res.SHA256, again.SHA256)
	assert.Zero(t, dd.Load())
}

func TestCopyVerifiedCatchesCorruption(t *testing.T) {
	t.Parallel()
	for name, corrupt := range map[string]func(p string) error{
		"flipped byte": func(p string) error {
			f, err := os.OpenFile(p, os.O_RDWR, 0)
			if err != nil {
				return err
			}
			defer f.Close()
			b := make([]byte, 1)
			if _, err := f.ReadAt(b, 1000); err != nil {
				return err
			}
			b[0] ^= 0x01
			_, err = f.WriteAt(b, 1000)
			return err
		},
		"truncated": func(p string) error {
			fi, err := os.Stat(p)
			if err != nil {
				return err
			}
			return os.Truncate(p, fi.Size()-1)
		},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			src := writeZstdArchive(t, 1<<20)
			before := fileSnapshot(t, src)
			dst := t.TempDir()
			// The copy is damaged after it was written and before it
			// is checked, as a flaky share would.
			r := &hookRunner{after: func(a []string) {
				if a[0] == "dd" && strings.Contains(strings.Join(a, " "), "of=") {
					for _, w := range a {
						if tmp, ok := strings.CutPrefix(w, "of="); ok && strings.Contains(tmp, ".vma.zst.tmp-") {
							require.NoError(t, corrupt(tmp))
						}
					}
				}
			}}
			_, err := CopyVerified(t.Context(), r, src, dst, CopyOptions{Sidecars: true})
			require.ErrorIs(t, err, ErrVerify)
			var e *Error
			require.ErrorAs(t, err, &e)
			assert.Contains(t, e.Op, testArchiveName)
			assert.Equal(t, before, fileSnapshot(t, src))
			assert.NoFileExists(t, filepath.Join(dst, testArchiveName))
			entries, _ := os.ReadDir(dst)
			assert.Empty(t, entries, "nothing is left in the target")
		})
	}
}

func TestCopyVerifiedZstdTest(t *testing.T) {
	t.Parallel()
	requirePeerBinary(t, "zstd", "zstd")
	dir := t.TempDir()
	src := filepath.Join(dir, testArchiveName)
	// Not a zstd frame: sizes and hashes agree, zstd -t does not.
	require.NoError(t, os.WriteFile(src, bytes.Repeat([]byte("not zstd"), 1000), 0o644))
	dst := t.TempDir()
	_, err := CopyVerified(t.Context(), LocalRunner{}, src, dst, CopyOptions{})
	require.ErrorIs(t, err, ErrVerify)
	assert.ErrorContains(t, err, "zstd -t")
	assertNoTempFiles(t, dst)
	assert.FileExists(t, src)
}

func TestCopyVerifiedCancelMidCopy(t *testing.T) {
	t.Parallel()
	src := writeZstdArchive(t, 2<<20)
	before := fileSnapshot(t, src)
	dst := t.TempDir()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var chunks atomic.Int32
	r := &hookRunner{after: func(a []string) {
		if a[0] == "dd" && chunks.Add(1) == 2 {
			cancel()
		}
	}}
	_, err := CopyVerified(ctx, r, src, dst, CopyOptions{Sidecars: true, ChunkSize: 256 << 10})
	require.ErrorIs(t, err, context.Canceled)
	entries, err := os.ReadDir(dst)
	require.NoError(t, err)
	assert.Empty(t, entries, "no temporary file left behind")
	assert.Equal(t, before, fileSnapshot(t, src))
}

func TestCopyVerifiedFailures(t *testing.T) {
	t.Parallel()
	src := writeZstdArchive(t, 64<<10)
	ctx := t.Context()

	_, err := CopyVerified(ctx, LocalRunner{}, src, filepath.Join(t.TempDir(), "missing"), CopyOptions{})
	assert.ErrorIs(t, err, ErrNotFound)
	assert.ErrorContains(t, err, "mounted")

	_, err = CopyVerified(ctx, LocalRunner{}, src+".gone", t.TempDir(), CopyOptions{})
	assert.ErrorIs(t, err, ErrNotFound)

	_, err = CopyVerified(ctx, LocalRunner{}, "relative.vma.zst", t.TempDir(), CopyOptions{})
	assert.ErrorIs(t, err, ErrInvalid)

	_, err = CopyVerified(ctx, nil, src, t.TempDir(), CopyOptions{})
	assert.ErrorIs(t, err, ErrInvalid)

	// A full share: dd reports ENOSPC.
	dst := t.TempDir()
	full := &hookRunner{before: func(a []string) error {
		if a[0] == "dd" {
			return exitError("run dd", 1, "dd: error writing '/mnt/pve/backups/dump/x': No space left on device", nil)
		}
		return nil
	}}
	_, err = CopyVerified(ctx, full, src, dst, CopyOptions{})
	assert.ErrorIs(t, err, ErrNoSpace)

	// A share too small is found out before anything is written.
	dst = t.TempDir()
	var dd atomic.Int32
	small := &hookRunner{before: func(a []string) error {
		if a[0] == "dd" {
			dd.Add(1)
		}
		return nil
	}}
	tiny := &dfRunner{Runner: small, avail: 10}
	_, err = CopyVerified(ctx, tiny, src, dst, CopyOptions{})
	require.ErrorIs(t, err, ErrNoSpace)
	assert.ErrorContains(t, err, "10 bytes free")
	assert.Zero(t, dd.Load())
	entries, _ := os.ReadDir(dst)
	assert.Empty(t, entries)

	// Another archive under the same name is never overwritten.
	dst = t.TempDir()
	other := filepath.Join(dst, testArchiveName)
	require.NoError(t, os.WriteFile(other, []byte("other"), 0o644))
	_, err = CopyVerified(ctx, LocalRunner{}, src, dst, CopyOptions{})
	assert.ErrorIs(t, err, ErrConflict)
	b, _ := os.ReadFile(other)
	assert.Equal(t, "other", string(b))
}

func TestSidecarLogName(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"/d/vzdump-qemu-100-2026_11_25-03_00_02.vma.zst": "/d/vzdump-qemu-100-2026_11_25-03_00_02.log",
		"/d/vzdump-lxc-102-2026_11_25-03_00_02.tar.zst":  "/d/vzdump-lxc-102-2026_11_25-03_00_02.log",
		"/d/vzdump-lxc-102-2026_11_25-03_00_02.tgz":      "/d/vzdump-lxc-102-2026_11_25-03_00_02.log",
		"/d/vzdump-qemu-100-2026_11_25-03_00_02.vma.gz":  "/d/vzdump-qemu-100-2026_11_25-03_00_02.log",
		"/d/other": "/d/other.log",
	} {
		assert.Equal(t, want, sidecarLogName(in), in)
	}
}

func TestParseSHA256Sum(t *testing.T) {
	t.Parallel()
	h := strings.Repeat("ab", 32)
	got, err := parseSHA256Sum([]byte(h + " */x\n"))
	require.NoError(t, err)
	assert.Equal(t, h, got)
	got, err = parseSHA256Sum([]byte(`\` + h + ` *a\\b` + "\n"))
	require.NoError(t, err)
	assert.Equal(t, h, got)
	for _, bad := range []string{"", "zz", strings.Repeat("g", 64) + " x", h + "x"} {
		_, err := parseSHA256Sum([]byte(bad))
		assert.ErrorIs(t, err, ErrUnavailable, bad)
	}
}

func FuzzParseSHA256Sum(f *testing.F) {
	f.Add([]byte(strings.Repeat("0", 64) + "  /a\n"))
	f.Add([]byte(`\` + strings.Repeat("f", 64) + ` *a\nb`))
	f.Add([]byte("sha256sum: x: No such file or directory"))
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := parseSHA256Sum(b)
		if err == nil && len(h) != 64 {
			t.Fatalf("digest %q", h)
		}
	})
}

// dfRunner answers df with a fixed amount of free space.
type dfRunner struct {
	Runner
	avail int64
}

func (d *dfRunner) Run(ctx context.Context, argv ...string) ([]byte, error) {
	if argv[0] == "df" {
		return []byte(fmt.Sprintf("   Avail\n%d\n", d.avail)), nil
	}
	return d.Runner.Run(ctx, argv...)
}
