package backup

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"
)

// DefaultChunkSize is how much CopyVerified copies per command on the node:
// progress is reported, and a cancelled context noticed, between chunks.
const DefaultChunkSize = 256 << 20

// cleanupTimeout bounds the removal of temporary files after a failure,
// which runs even when the caller's context is already done.
const cleanupTimeout = time.Minute

// CopyOptions tunes CopyVerified. The zero value copies the archive alone.
type CopyOptions struct {
	// Sidecars copies the archive's side files with it when they exist:
	// the notes (archive + ".notes"), the vzdump log (the archive's name
	// with ".log" in place of ".vma.zst", ".tar.zst" and the like) and the
	// protection marker (archive + ".protected"), so the copy is listed,
	// annotated and protected on the target as it was on the source.
	Sidecars bool
	// Progress, when set, is called after each chunk with the bytes copied
	// so far and the total of all files.
	Progress func(done, total int64)
	// ChunkSize is the bytes copied per command; 0 means DefaultChunkSize.
	ChunkSize int64
}

// CopyResult describes a verified copy.
type CopyResult struct {
	// Path is the archive's path in the target directory.
	Path string
	// Size is its size in bytes.
	Size int64
	// SHA256 is its SHA-256 in lower-case hex, the same on both sides.
	SHA256 string
	// Sidecars lists the side files copied, as paths in the target
	// directory.
	Sidecars []string
}

// archiveSuffixes are vzdump's archive endings (proxmox/pve-storage
// src/PVE/Storage.pm archive_info), longest first; the log replaces them
// with ".log".
var archiveSuffixes = []string{".vma.zst", ".tar.zst", ".vma.gz", ".tar.gz", ".vma.lzo", ".tar.lzo", ".tgz", ".vma", ".tar"}

// logName returns the vzdump log that belongs to archive.
func sidecarLogName(archive string) string {
	for _, ext := range archiveSuffixes {
		if s, ok := strings.CutSuffix(archive, ext); ok {
			return s + ".log"
		}
	}
	return archive + ".log"
}

// CopyVerified copies src (an archive path on the node) and, with Sidecars, its sidecars (src+".notes" and the
// vzdump log named like the archive with .log instead of .vma.zst/.tar.zst) into dstDir under a temporary
// name, verifies size + SHA-256 computed on both sides + `zstd -t` for .zst, then renames into place.
// On any failure (incl. ctx cancelled mid-copy) it removes the temporary files and never touches src. It does not delete src.
//
// Every step is a command on the node through r (dd, stat, sha256sum,
// zstd, mv, rm), so the bytes never leave the node and the copy's hash is
// computed from what the target storage gives back. The source is hashed
// while it is being copied. Temporary files are named
// ".<name>.tmp-<random>", which Proxmox does not list as a backup, and the
// archive is renamed last, so a listing never shows an archive without its
// log. An archive already at the target is never overwritten: if it is
// the same (size and SHA-256) CopyVerified reports it and copies nothing,
// otherwise it fails with ErrConflict.
//
// Errors: ErrVerify when the copy differs (the source is kept), ErrNoSpace
// when the target has less room than the files (df, checked before the
// copy) or fills up during it, ErrNotFound when src or dstDir is missing,
// ErrConflict as above, ctx.Err() once ctx is done.
func CopyVerified(ctx context.Context, r Runner, src, dstDir string, o CopyOptions) (CopyResult, error) {
	op := fmt.Sprintf("copy %s to %s", path.Base(src), dstDir)
	if r == nil {
		return CopyResult{}, &Error{Op: op, Message: "nil runner", Err: ErrInvalid}
	}
	if !path.IsAbs(src) || !path.IsAbs(dstDir) || strings.HasSuffix(src, "/") {
		return CopyResult{}, &Error{Op: op, Message: "source and target must be absolute paths, the source a file", Err: ErrInvalid}
	}
	src, dstDir = path.Clean(src), path.Clean(dstDir)
	if path.Dir(src) == dstDir {
		return CopyResult{}, &Error{Op: op, Message: "source and target directory are the same", Err: ErrInvalid}
	}
	chunk := o.ChunkSize
	if chunk <= 0 {
		chunk = DefaultChunkSize
	}
	c := &copier{r: r, op: op}

	if _, err := c.run(ctx, "test", "-d", dstDir); err != nil {
		if exitCode(err) == 1 {
			return CopyResult{}, &Error{Op: op, Message: "target directory " + dstDir + " does not exist (is the storage mounted?)", Err: ErrNotFound}
		}
		return CopyResult{}, err
	}
	srcSize, err := c.size(ctx, src)
	if err != nil {
		return CopyResult{}, err
	}
	if srcSize < 0 {
		return CopyResult{}, &Error{Op: op, Message: "source " + src + " does not exist", Err: ErrNotFound}
	}
	files := []copyFile{{src: src, dst: path.Join(dstDir, path.Base(src)), size: srcSize}}
	if o.Sidecars {
		for _, s := range []string{sidecarLogName(src), src + ".notes", src + ".protected"} {
			n, err := c.size(ctx, s)
			if err != nil {
				return CopyResult{}, err
			}
			if n >= 0 {
				files = append(files, copyFile{src: s, dst: path.Join(dstDir, path.Base(s)), size: n})
			}
		}
	}

	// An archive already in place: the same one is success, another one
	// is never overwritten.
	if n, err := c.size(ctx, files[0].dst); err != nil {
		return CopyResult{}, err
	} else if n >= 0 {
		return c.existing(ctx, files, n)
	}

	var total int64
	for _, f := range files {
		total += f.size
	}
	if avail, ok := c.free(ctx, dstDir); ok && avail < total {
		return CopyResult{}, &Error{Op: op, Message: fmt.Sprintf("%s has %d bytes free, the copy needs %d", dstDir, avail, total), Err: ErrNoSpace}
	} else if ctx.Err() != nil {
		return CopyResult{}, ctx.Err()
	}
	res, err := c.copyAll(ctx, files, total, chunk, o.Progress)
	if err != nil {
		c.cleanup(ctx)
		if ctx.Err() != nil {
			return CopyResult{}, ctx.Err()
		}
		return CopyResult{}, err
	}
	return res, nil
}

type copyFile struct {
	src, dst, tmp string
	size          int64
}

type copier struct {
	r  Runner
	op string

	mu      sync.Mutex
	created []string // temporary or renamed files to remove on failure
}

func (c *copier) track(p string) {
	c.mu.Lock()
	c.created = append(c.created, p)
	c.mu.Unlock()
}

func (c *copier) untrack(p string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, q := range c.created {
		if q == p {
			c.created = append(c.created[:i], c.created[i+1:]...)
			return
		}
	}
}

// cleanup removes what a failed copy left, with a context of its own: the
// caller's may be the reason for the failure.
func (c *copier) cleanup(ctx context.Context) {
	c.mu.Lock()
	paths := append([]string(nil), c.created...)
	c.mu.Unlock()
	if len(paths) == 0 {
		return
	}
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
	defer cancel()
	_, _ = c.r.Run(cctx, append([]string{"rm", "-f", "--"}, paths...)...)
}

func (c *copier) copyAll(ctx context.Context, files []copyFile, total, chunk int64, progress func(done, total int64)) (CopyResult, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	// Hash every source while it is copied: the reads share the page
	// cache and the node's cores.
	type sum struct {
		hash string
		err  error
	}
	srcSums := make([]chan sum, len(files))
	for i, f := range files {
		srcSums[i] = make(chan sum, 1)
		go func() {
			h, err := c.sha256(ctx, f.src)
			srcSums[i] <- sum{h, err}
		}()
	}

	var done int64
	if progress != nil {
		progress(0, total)
	}
	for i := range files {
		f := &files[i]
		f.tmp = path.Join(path.Dir(f.dst), "."+path.Base(f.dst)+".tmp-"+tempSuffix())
		c.track(f.tmp)
		for off := int64(0); off < f.size || off == 0; off += chunk {
			n := min(chunk, f.size-off)
			argv := []string{"dd", "if=" + f.src, "of=" + f.tmp, "bs=4M",
				"iflag=skip_bytes,count_bytes,fullblock", "oflag=seek_bytes",
				"skip=" + strconv.FormatInt(off, 10), "seek=" + strconv.FormatInt(off, 10),
				"count=" + strconv.FormatInt(n, 10), "status=none"}
			conv := "conv=notrunc"
			if off+n >= f.size {
				// The last chunk is flushed so the hash below reads
				// what the storage holds.
				conv += ",fsync"
			}
			if _, err := c.run(ctx, append(argv, conv)...); err != nil {
				return CopyResult{}, err
			}
			done += n
			if progress != nil {
				progress(done, total)
			}
			if f.size == 0 {
				break
			}
		}
	}

	// Verify every copy: size, SHA-256 on both sides, zstd -t.
	var hashes []string
	for i, f := range files {
		n, err := c.size(ctx, f.tmp)
		if err != nil {
			return CopyResult{}, err
		}
		if n != f.size {
			return CopyResult{}, &Error{Op: c.op, Message: fmt.Sprintf("%s: copy has %d bytes, source %d", path.Base(f.dst), n, f.size), Err: ErrVerify}
		}
		got, err := c.sha256(ctx, f.tmp)
		if err != nil {
			return CopyResult{}, err
		}
		var want sum
		select {
		case want = <-srcSums[i]:
		case <-ctx.Done():
			return CopyResult{}, ctx.Err()
		}
		if want.err != nil {
			return CopyResult{}, want.err
		}
		if got != want.hash {
			return CopyResult{}, &Error{Op: c.op, Message: fmt.Sprintf("%s: sha-256 of the copy %s differs from the source's %s", path.Base(f.dst), got, want.hash), Err: ErrVerify}
		}
		hashes = append(hashes, got)
	}
	if strings.HasSuffix(files[0].src, ".zst") {
		if _, err := c.r.Run(ctx, "zstd", "-q", "-t", "--", files[0].tmp); err != nil {
			if ctx.Err() != nil {
				return CopyResult{}, ctx.Err()
			}
			var e *Error
			if code := exitCode(err); code > 0 && code != 127 && errors.As(err, &e) {
				return CopyResult{}, &Error{Op: c.op, Code: e.Code, Message: "zstd -t: " + e.Message, Err: ErrVerify}
			}
			return CopyResult{}, c.wrap(err)
		}
	}

	// Side files first, the archive last.
	res := CopyResult{Path: files[0].dst, Size: files[0].size, SHA256: hashes[0]}
	for i := len(files) - 1; i >= 0; i-- {
		f := files[i]
		if _, err := c.run(ctx, "mv", "-f", "-T", "--", f.tmp, f.dst); err != nil {
			return CopyResult{}, err
		}
		c.untrack(f.tmp)
		if i > 0 {
			c.track(f.dst)
			res.Sidecars = append(res.Sidecars, f.dst)
		}
	}
	c.mu.Lock()
	c.created = nil
	c.mu.Unlock()
	return res, nil
}

// existing handles an archive already at the target: the same bytes are a
// finished copy (a run that stopped after the rename), anything else a
// conflict.
func (c *copier) existing(ctx context.Context, files []copyFile, n int64) (CopyResult, error) {
	f := files[0]
	if n != f.size {
		return CopyResult{}, &Error{Op: c.op, Message: fmt.Sprintf("%s already exists with %d bytes, the source has %d; not overwritten", f.dst, n, f.size), Err: ErrConflict}
	}
	want, err := c.sha256(ctx, f.src)
	if err != nil {
		return CopyResult{}, err
	}
	got, err := c.sha256(ctx, f.dst)
	if err != nil {
		return CopyResult{}, err
	}
	if got != want {
		return CopyResult{}, &Error{Op: c.op, Message: fmt.Sprintf("%s already exists with other content; not overwritten", f.dst), Err: ErrConflict}
	}
	res := CopyResult{Path: f.dst, Size: n, SHA256: got}
	for _, s := range files[1:] {
		if m, err := c.size(ctx, s.dst); err == nil && m >= 0 {
			res.Sidecars = append(res.Sidecars, s.dst)
		}
	}
	return res, nil
}

// free returns the bytes available in dir on the node (GNU df), so a copy
// that cannot fit fails before it fills the share. ok is false when df gave
// no answer; the copy then finds out by itself.
func (c *copier) free(ctx context.Context, dir string) (avail int64, ok bool) {
	out, err := c.r.Run(ctx, "df", "--output=avail", "-B1", "--", dir)
	if err != nil {
		return 0, false
	}
	lines := strings.Fields(string(out))
	if len(lines) != 2 {
		return 0, false
	}
	n, err := strconv.ParseInt(lines[1], 10, 64)
	return n, err == nil
}

// size returns the size of p on the node, or -1 when p does not exist.
func (c *copier) size(ctx context.Context, p string) (int64, error) {
	out, err := c.r.Run(ctx, "stat", "-L", "-c", "%s", "--", p)
	if err != nil {
		if ctx.Err() != nil {
			return 0, ctx.Err()
		}
		var e *Error
		if exitCode(err) == 1 && errors.As(err, &e) && strings.Contains(e.Message, "No such file") {
			return -1, nil
		}
		return 0, c.wrap(err)
	}
	n, perr := strconv.ParseInt(strings.TrimSpace(string(out)), 10, 64)
	if perr != nil || n < 0 {
		return 0, &Error{Op: c.op, Message: fmt.Sprintf("stat %s: unexpected answer %q", p, strings.TrimSpace(string(out))), Err: ErrUnavailable}
	}
	return n, nil
}

// sha256 runs sha256sum on the node and returns the hex digest.
func (c *copier) sha256(ctx context.Context, p string) (string, error) {
	out, err := c.run(ctx, "sha256sum", "-b", "--", p)
	if err != nil {
		return "", err
	}
	return parseSHA256Sum(out)
}

// parseSHA256Sum reads the digest from one line of sha256sum output. A
// file name with a backslash or newline makes sha256sum start the line with
// a backslash.
func parseSHA256Sum(out []byte) (string, error) {
	s := strings.TrimPrefix(string(out), `\`)
	if len(s) < 64 {
		return "", &Error{Op: "sha256sum", Message: fmt.Sprintf("unexpected answer %q", strings.TrimSpace(string(out))), Err: ErrUnavailable}
	}
	h := strings.ToLower(s[:64])
	if _, err := hex.DecodeString(h); err != nil || (len(s) > 64 && s[64] != ' ') {
		return "", &Error{Op: "sha256sum", Message: fmt.Sprintf("unexpected answer %q", strings.TrimSpace(string(out))), Err: ErrUnavailable}
	}
	return h, nil
}

// run runs argv and turns a failure into an error of this copy.
func (c *copier) run(ctx context.Context, argv ...string) ([]byte, error) {
	out, err := c.r.Run(ctx, argv...)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, c.wrap(err)
	}
	return out, nil
}

// wrap re-labels a runner's error with the copy's operation and gives it
// its class from what the command said.
func (c *copier) wrap(err error) error {
	var e *Error
	if !errors.As(err, &e) {
		return &Error{Op: c.op, Message: err.Error(), Err: ErrUnavailable}
	}
	msg := e.Message
	if e.Op != "" {
		msg = e.Op + ": " + e.Message
	}
	cause := e.Err
	switch low := strings.ToLower(e.Message); {
	case strings.Contains(low, "no space left"), strings.Contains(low, "disk quota exceeded"):
		cause = ErrNoSpace
	case cause != nil:
	case strings.Contains(low, "no such file"):
		cause = ErrNotFound
	case strings.Contains(low, "permission denied"), strings.Contains(low, "operation not permitted"):
		cause = ErrPermission
	default:
		cause = ErrUnavailable
	}
	return &Error{Op: c.op, Code: e.Code, Message: msg, Err: cause}
}

func tempSuffix() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
