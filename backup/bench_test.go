package backup

import (
	"crypto/sha256"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
)

// benchFile writes n pseudo-random bytes (incompressible, so no layer can
// cheat) into dir.
func benchFile(b *testing.B, dir string, n int64) string {
	b.Helper()
	p := filepath.Join(dir, "vzdump-qemu-100-2026_11_25-03_00_02.vma.zst")
	f, err := os.Create(p)
	if err != nil {
		b.Fatal(err)
	}
	rng := rand.NewChaCha8([32]byte{7})
	if _, err := io.CopyN(f, rng, n); err != nil {
		b.Fatal(err)
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
	return p
}

// BenchmarkVerifyHash compares the SDK's verification hash (sha256sum on
// the node through a Runner, as CopyVerified runs it) with sha256sum run
// directly on the same file, and Go's crypto/sha256 for reference.
func BenchmarkVerifyHash(b *testing.B) {
	requirePeerBinary(b, "sha256sum", "coreutils")
	const size = 256 << 20
	p := benchFile(b, b.TempDir(), size)

	b.Run("sha256sum", func(b *testing.B) {
		b.SetBytes(size)
		for b.Loop() {
			if err := exec.Command("sha256sum", "-b", "--", p).Run(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("sdk-runner", func(b *testing.B) {
		c := &copier{r: LocalRunner{}, op: "bench"}
		b.SetBytes(size)
		for b.Loop() {
			if _, err := c.sha256(b.Context(), p); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("go-crypto-sha256", func(b *testing.B) {
		b.SetBytes(size)
		for b.Loop() {
			f, err := os.Open(p)
			if err != nil {
				b.Fatal(err)
			}
			h := sha256.New()
			if _, err := io.Copy(h, f); err != nil {
				b.Fatal(err)
			}
			_ = f.Close()
		}
	})
}

// BenchmarkOffsiteCopy copies 1 GiB to a local rclone remote through the
// SDK and with a plain rclone copy, in one run. Run it with
// -bench OffsiteCopy -benchtime 3x.
func BenchmarkOffsiteCopy(b *testing.B) {
	requirePeerBinary(b, "rclone", "rclone")
	const size = 1 << 30
	src := b.TempDir()
	benchFile(b, src, size)
	run := func(b *testing.B, copyTo func(dst string)) {
		b.SetBytes(size)
		for b.Loop() {
			b.StopTimer()
			dst := filepath.Join(b.TempDir(), "remote")
			b.StartTimer()
			copyTo(dst)
			b.StopTimer()
			_ = os.RemoveAll(dst)
			// Flush so that no run pays for the previous one's
			// writeback.
			syscall.Sync()
			b.StartTimer()
		}
	}
	b.Run("rclone-copy", func(b *testing.B) {
		run(b, func(dst string) {
			if out, err := exec.Command("rclone", "copy", src, dst, "--config", "/dev/null").CombinedOutput(); err != nil {
				b.Fatalf("%v: %s", err, out)
			}
		})
	})
	r := &Rclone{ConfigPath: "/dev/null"}
	b.Run("sdk", func(b *testing.B) {
		run(b, func(dst string) {
			if _, err := r.Copy(b.Context(), OffsiteSpec{Source: src, Remote: dst, Immutable: true, Check: CheckNone}, nil); err != nil {
				b.Fatal(err)
			}
		})
	})
	b.Run("sdk-with-check", func(b *testing.B) {
		run(b, func(dst string) {
			if _, err := r.Copy(b.Context(), OffsiteSpec{Source: src, Remote: dst, Immutable: true}, nil); err != nil {
				b.Fatal(err)
			}
		})
	})
}
