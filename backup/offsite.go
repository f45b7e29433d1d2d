package backup

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/thehomelab/homelab/secret"
)

// OffsiteCheck says how Rclone.Copy verifies the remote after the transfer
// with rclone check.
type OffsiteCheck int

const (
	// CheckAuto compares hashes where source and remote share one, and
	// sizes only where they don't (Mega, crypt, an sftp server without a
	// shell).
	CheckAuto OffsiteCheck = iota
	// CheckSize compares sizes only (rclone check --size-only).
	CheckSize
	// CheckDownload reads every file back from the remote and compares
	// bytes (rclone check --download): the one full proof on a remote
	// without hashes, and as costly as a restore.
	CheckDownload
	// CheckNone skips the check.
	CheckNone
)

// String returns the mode's name.
func (m OffsiteCheck) String() string {
	switch m {
	case CheckAuto:
		return "auto"
	case CheckSize:
		return "size"
	case CheckDownload:
		return "download"
	case CheckNone:
		return "none"
	}
	return "OffsiteCheck(" + strconv.Itoa(int(m)) + ")"
}

// OffsiteSpec is one off-site transfer.
type OffsiteSpec struct {
	// Source is the directory copied: a local path or an rclone remote
	// ("nas:photos").
	Source string
	// Remote is the destination as rclone names it: "remote:path", a crypt
	// remote by its name ("offsite-crypt:vzdump"), or a local path.
	Remote string
	// Sync mirrors Source (rclone sync: files missing from Source are
	// deleted on Remote). The default copies and never deletes. Sync is
	// refused unless MountPoint and MaxDelete are set, Source is a local
	// directory on that mounted file system, and Source holds at least one
	// file the filters select: an unmounted share must never read as
	// "everything was deleted".
	Sync bool
	// MaxDelete is the most files one Sync may delete (--max-delete); a
	// sync that would delete more stops with ErrConflict.
	MaxDelete int
	// Immutable never modifies a file that exists on Remote (--immutable):
	// a changed archive under an existing name is an ErrConflict, not an
	// overwrite. Use it for backup archives.
	Immutable bool
	// BandwidthLimit is rclone's --bwlimit: "10M", or a timetable such as
	// "08:00,512k 19:00,10M 23:00,off". Empty means no limit.
	BandwidthLimit string
	// Include selects files by rclone filter patterns (--include), e.g.
	// "*_202611*". Empty means every file.
	Include []string
	// MountPoint is the mount the Source of a Sync must live on, such as
	// "/mnt/nas"; it is checked to be mounted right before the sync.
	MountPoint string
	// Check says how the remote is verified afterwards; the zero value
	// is CheckAuto.
	Check OffsiteCheck
}

// OffsiteProgress is a progress report of a transfer, from rclone's
// periodic stats.
type OffsiteProgress struct {
	Bytes, TotalBytes int64
	Files, TotalFiles int64
}

// OffsiteResult is what a transfer did.
type OffsiteResult struct {
	// Bytes and Files count what was transferred (files already on the
	// remote are not).
	Bytes int64
	Files int64
	// Checked is set when rclone check ran to the end.
	Checked bool
	// CheckDifferences counts the files check found missing or different.
	CheckDifferences int
	// SizeOnly is set when the check could only compare sizes.
	SizeOnly bool
}

// Rclone drives the rclone command (Debian's 1.60 or newer). The zero
// value runs "rclone" from PATH with rclone's default configuration. It is
// safe for concurrent use; each call is one process.
type Rclone struct {
	// Binary is the rclone executable; empty means "rclone" from PATH.
	Binary string
	// ConfigPath is rclone's configuration file (--config); empty means
	// rclone's default.
	ConfigPath string
	// Env is added to the process environment, for remotes configured by
	// variables (RCLONE_CONFIG_<NAME>_<OPTION>) or RCLONE_CONFIG_PASS. The
	// values are secrets because they so often carry passwords.
	Env map[string]secret.Secret
	// Retries is rclone's --retries for the whole run; 0 keeps rclone's
	// default (3).
	Retries int
	// Transfers is rclone's --transfers; 0 keeps rclone's default (4).
	Transfers int
	// StatsInterval is how often progress is reported; 0 means 1 s.
	StatsInterval time.Duration
	// Logger receives one Debug line per rclone run; nil discards.
	Logger *slog.Logger
}

// maxLogLine caps one line of rclone's log; longer lines are skipped.
const maxLogLine = 1 << 20

// keptMessages is how many of rclone's error lines an error keeps.
const keptMessages = 5

// Copy transfers spec.Source to spec.Remote with rclone copy (or rclone
// sync when spec.Sync, under the guards described there), reports progress
// from rclone's JSON stats, and then verifies the remote with rclone check
// --one-way (size only where the two sides share no hash, as on Mega and
// crypt remotes). Differences found by the check fail with ErrVerify and
// the result says how many.
//
// rclone's exit codes (rclone/rclone lib/exitcode/exitcode.go, documented
// under "Exit Code" in docs/content/docs.md) become the error's Code
// ("exit 3") and its class: 1 usage error → ErrInvalid; 3 directory and 4
// file not found → ErrNotFound; 5 temporary error → ErrUnavailable; 2
// uncategorised, 6 no-retry and 7 fatal errors are classedError by rclone's
// message: a full remote (ENOSPC, HTTP 507, quota) → ErrNoSpace, an
// immutable file modified or the --max-delete limit → ErrConflict, a
// refused login → ErrAuth, anything else ErrUnavailable. A missing rclone
// binary is ErrUnavailable.
func (r *Rclone) Copy(ctx context.Context, spec OffsiteSpec, progress func(OffsiteProgress)) (OffsiteResult, error) {
	verb := "copy"
	if spec.Sync {
		verb = "sync"
	}
	op := fmt.Sprintf("rclone %s %s to %s", verb, spec.Source, spec.Remote)
	if err := r.validate(ctx, op, spec); err != nil {
		return OffsiteResult{}, err
	}

	args := []string{verb, spec.Source, spec.Remote}
	args = append(args, filterArgs(spec.Include)...)
	if spec.Sync {
		args = append(args, "--max-delete", strconv.Itoa(spec.MaxDelete))
	}
	if spec.Immutable {
		args = append(args, "--immutable")
	}
	if spec.BandwidthLimit != "" {
		args = append(args, "--bwlimit", spec.BandwidthLimit)
	}
	if r.Transfers > 0 {
		args = append(args, "--transfers", strconv.Itoa(r.Transfers))
	}
	every := r.StatsInterval
	if every <= 0 {
		every = time.Second
	}
	args = append(args, "--stats", every.String(), "--log-level", "INFO")

	var res OffsiteResult
	_, err := r.run(ctx, op, args, func(l logLine) {
		if l.Stats == nil {
			return
		}
		res.Bytes, res.Files = l.Stats.Bytes, l.Stats.Transfers
		if progress != nil {
			progress(OffsiteProgress{Bytes: l.Stats.Bytes, TotalBytes: l.Stats.TotalBytes, Files: l.Stats.Transfers, TotalFiles: l.Stats.TotalTransfers})
		}
	})
	if err != nil {
		return res, err
	}
	if spec.Check == CheckNone {
		return res, nil
	}
	return r.check(ctx, spec, res)
}

// validate refuses what could lose data or be read as a flag.
func (r *Rclone) validate(ctx context.Context, op string, spec OffsiteSpec) error {
	invalid := func(msg string) error { return &Error{Op: op, Message: msg, Err: ErrInvalid} }
	switch {
	case strings.TrimSpace(spec.Source) == "" || strings.TrimSpace(spec.Remote) == "":
		return invalid("source and remote are required")
	case strings.HasPrefix(spec.Source, "-") || strings.HasPrefix(spec.Remote, "-"):
		return invalid("source or remote starts with '-'")
	case spec.Check < CheckAuto || spec.Check > CheckNone:
		return invalid("unknown check mode " + spec.Check.String())
	}
	if !spec.Sync {
		return nil
	}
	switch {
	case spec.MaxDelete <= 0:
		return invalid("sync without MaxDelete: set the most files one sync may delete")
	case spec.MountPoint == "":
		return invalid("sync without MountPoint: a sync must only run from a mounted source")
	case !filepath.IsAbs(spec.Source):
		return invalid("sync needs a local absolute source directory")
	}
	mp, src := filepath.Clean(spec.MountPoint), filepath.Clean(spec.Source)
	if rel, err := filepath.Rel(mp, src); err != nil || rel == ".." || strings.HasPrefix(rel, "../") {
		return invalid(fmt.Sprintf("source %s is not under the mount point %s", src, mp))
	}
	mounted, err := isMountPoint(mp)
	if err != nil {
		return &Error{Op: op, Message: "reading the mount table: " + err.Error(), Err: ErrUnavailable}
	}
	if !mounted {
		return &Error{Op: op, Message: mp + " is not mounted: refusing to sync from it", Err: ErrUnavailable}
	}
	fi, err := os.Stat(src)
	if err != nil || !fi.IsDir() {
		return &Error{Op: op, Message: "source " + src + " is not a directory", Err: ErrNotFound}
	}
	// Count with rclone itself, so the filters mean what they will mean
	// to the sync.
	out, err := r.run(ctx, op, append([]string{"size", "--json", src}, filterArgs(spec.Include)...), nil)
	if err != nil {
		return err
	}
	var size struct {
		Count int64 `json:"count"`
	}
	if err := json.Unmarshal(out, &size); err != nil {
		return &Error{Op: op, Message: "rclone size: " + err.Error(), Err: ErrUnavailable}
	}
	if size.Count == 0 {
		return &Error{Op: op, Message: "source " + src + " holds no file to sync: refusing to empty the remote", Err: ErrConflict}
	}
	return nil
}

func filterArgs(include []string) []string {
	var out []string
	for _, p := range include {
		out = append(out, "--include="+p)
	}
	return out
}

// check runs rclone check --one-way after a transfer.
func (r *Rclone) check(ctx context.Context, spec OffsiteSpec, res OffsiteResult) (OffsiteResult, error) {
	op := fmt.Sprintf("rclone check %s against %s", spec.Source, spec.Remote)
	args := []string{"check", spec.Source, spec.Remote, "--one-way", "--log-level", "NOTICE"}
	args = append(args, filterArgs(spec.Include)...)
	switch spec.Check {
	case CheckSize:
		res.SizeOnly = true
	case CheckDownload:
		args = append(args, "--download")
	case CheckAuto:
		// A crypt remote stores no hashes of its own, but rclone
		// cryptcheck compares the encrypted hashes where the remote
		// underneath has them.
		if crypt, err := r.isCrypt(ctx, op, spec.Remote); err != nil {
			return res, err
		} else if crypt {
			if out, done, err := r.cryptcheck(ctx, spec, res); done {
				return out, err
			}
			res.SizeOnly = true
			break
		}
		common, err := r.commonHashes(ctx, op, spec.Source, spec.Remote)
		if err != nil {
			return res, err
		}
		res.SizeOnly = !common
	}
	if res.SizeOnly {
		args = append(args, "--size-only")
	}
	diffs := -1
	_, err := r.run(ctx, op, args, func(l logLine) {
		if m := differencesRE.FindStringSubmatch(l.Msg); m != nil {
			diffs, _ = strconv.Atoi(m[1])
		}
	})
	if err != nil && diffs <= 0 {
		return res, err
	}
	if diffs < 0 {
		diffs = 0
	}
	res.Checked, res.CheckDifferences = true, diffs
	if diffs > 0 {
		return res, &Error{Op: op, Message: fmt.Sprintf("%d files missing or different on the remote", diffs), Err: ErrVerify}
	}
	return res, nil
}

// cryptcheck runs rclone cryptcheck --one-way. done is false when the
// remote under the crypt has no hashes, and the caller falls back to a
// size-only check.
func (r *Rclone) cryptcheck(ctx context.Context, spec OffsiteSpec, res OffsiteResult) (OffsiteResult, bool, error) {
	op := fmt.Sprintf("rclone cryptcheck %s against %s", spec.Source, spec.Remote)
	args := append([]string{"cryptcheck", spec.Source, spec.Remote, "--one-way", "--log-level", "NOTICE"}, filterArgs(spec.Include)...)
	diffs := -1
	_, err := r.run(ctx, op, args, func(l logLine) {
		if m := differencesRE.FindStringSubmatch(l.Msg); m != nil {
			diffs, _ = strconv.Atoi(m[1])
		}
	})
	if err != nil && diffs <= 0 {
		var e *Error
		if errors.As(err, &e) && strings.Contains(e.Message, "hash") {
			return res, false, nil
		}
		return res, true, err
	}
	if diffs < 0 {
		diffs = 0
	}
	res.Checked, res.CheckDifferences = true, diffs
	if diffs > 0 {
		return res, true, &Error{Op: op, Message: fmt.Sprintf("%d files missing or different on the remote", diffs), Err: ErrVerify}
	}
	return res, true, nil
}

// isCrypt reports whether remote names a configured crypt remote, from
// rclone listremotes --long ("name:   type" per line).
func (r *Rclone) isCrypt(ctx context.Context, op, remote string) (bool, error) {
	name, _, ok := strings.Cut(remote, ":")
	if !ok || name == "" || strings.ContainsAny(name, "/,") {
		return false, nil
	}
	out, err := r.run(ctx, op, []string{"listremotes", "--long"}, nil)
	if err != nil {
		return false, err
	}
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) == 2 && f[0] == name+":" {
			return f[1] == "crypt", nil
		}
	}
	return false, nil
}

var differencesRE = regexp.MustCompile(`^(\d+) differences found`)

// commonHashes reports whether src and dst share a hash type, from rclone
// backend features.
func (r *Rclone) commonHashes(ctx context.Context, op, src, dst string) (bool, error) {
	hashes := func(fs string) ([]string, error) {
		out, err := r.run(ctx, op, []string{"backend", "features", fs}, nil)
		if err != nil {
			return nil, err
		}
		var f struct {
			Hashes []string `json:"Hashes"`
		}
		if err := json.Unmarshal(out, &f); err != nil {
			return nil, &Error{Op: op, Message: "rclone backend features: " + err.Error(), Err: ErrUnavailable}
		}
		return f.Hashes, nil
	}
	a, err := hashes(src)
	if err != nil {
		return false, err
	}
	b, err := hashes(dst)
	if err != nil {
		return false, err
	}
	for _, h := range a {
		if slices.Contains(b, h) {
			return true, nil
		}
	}
	return false, nil
}

// logLine is one line of rclone --use-json-log (rclone/rclone
// fs/log/logrus.go and fs/accounting/stats.go: level, msg, source, time,
// object, objectType, and stats on the periodic stats line).
type logLine struct {
	Level  string     `json:"level"`
	Msg    string     `json:"msg"`
	Object string     `json:"object"`
	Stats  *statsLine `json:"stats"`
}

type statsLine struct {
	Bytes          int64 `json:"bytes"`
	TotalBytes     int64 `json:"totalBytes"`
	Transfers      int64 `json:"transfers"`
	TotalTransfers int64 `json:"totalTransfers"`
	Errors         int64 `json:"errors"`
	FatalError     bool  `json:"fatalError"`
}

// parseLogLine reads one line of rclone's log. Lines that are not JSON
// (rclone prints its last "Failed to …" line as plain text) become a
// message of level "error".
func parseLogLine(b []byte) logLine {
	b = bytes.TrimSpace(b)
	var l logLine
	if len(b) > 0 && b[0] == '{' && json.Unmarshal(b, &l) == nil {
		return l
	}
	s := string(b)
	// Drop the "2026/12/07 06:22:38 " timestamp of plain lines.
	if len(s) > 20 && s[4] == '/' && s[7] == '/' && s[10] == ' ' && s[13] == ':' {
		s = s[20:]
	}
	return logLine{Level: "error", Msg: s}
}

// run runs rclone with args plus the common flags, feeds each log line to
// onLine and returns its standard output (capped).
func (r *Rclone) run(ctx context.Context, op string, args []string, onLine func(logLine)) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	bin := r.Binary
	if bin == "" {
		bin = "rclone"
	}
	path, err := exec.LookPath(bin)
	if err != nil {
		return nil, &Error{Op: op, Message: bin + " not found (Debian: apt-get install rclone)", Err: ErrUnavailable}
	}
	full := slices.Clone(args)
	full = append(full, "--use-json-log")
	if r.ConfigPath != "" {
		full = append(full, "--config", r.ConfigPath)
	}
	if r.Retries > 0 {
		full = append(full, "--retries", strconv.Itoa(r.Retries))
	}
	cmd := exec.CommandContext(ctx, path, full...)
	if len(r.Env) > 0 {
		env := cmd.Environ()
		for _, k := range slices.Sorted(maps.Keys(r.Env)) {
			env = append(env, k+"="+r.Env[k].Reveal())
		}
		cmd.Env = env
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error {
		if cmd.Process == nil {
			return nil
		}
		return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
	cmd.WaitDelay = 5 * time.Second
	stdout := &capWriter{max: DefaultMaxOutput}
	cmd.Stdout = stdout
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, &Error{Op: op, Message: err.Error(), Err: ErrUnavailable}
	}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return nil, &Error{Op: op, Message: err.Error(), Err: ErrUnavailable}
	}
	var (
		mu   sync.Mutex
		msgs []string
	)
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), maxLogLine)
		for {
			if !sc.Scan() {
				// At EOF, or a line past maxLogLine: stop parsing but
				// keep draining so rclone never blocks on its log.
				_, _ = io.Copy(io.Discard, stderr)
				return
			}
			l := parseLogLine(sc.Bytes())
			if l.Level == "error" || l.Level == "critical" || l.Level == "fatal" {
				msg := l.Msg
				if l.Object != "" {
					msg = l.Object + ": " + msg
				}
				mu.Lock()
				msgs = append(msgs, msg)
				if len(msgs) > keptMessages {
					msgs = msgs[1:]
				}
				mu.Unlock()
			}
			if onLine != nil {
				onLine(l)
			}
		}
	}()
	<-readDone
	err = cmd.Wait()
	r.logger().DebugContext(ctx, "backup: rclone", "args", strings.Join(args, " "), "took", time.Since(start), "err", err)
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	if stdout.over {
		return nil, tooLarge(op, stdout.max)
	}
	if err == nil {
		return stdout.buf.Bytes(), nil
	}
	code := -1
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	}
	mu.Lock()
	msg := strings.Join(msgs, "; ")
	mu.Unlock()
	if msg == "" {
		msg = err.Error()
	}
	e := &Error{Op: op, Message: msg, Err: rcloneClass(code, msg)}
	if code >= 0 {
		e.Code = "exit " + strconv.Itoa(code)
	}
	return stdout.buf.Bytes(), e
}

func (r *Rclone) logger() *slog.Logger {
	if r.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return r.Logger
}

// rcloneClass gives an rclone failure its class from the exit code and,
// where the code says little, from rclone's message.
func rcloneClass(code int, msg string) error {
	low := strings.ToLower(msg)
	has := func(s ...string) bool {
		for _, x := range s {
			if strings.Contains(low, x) {
				return true
			}
		}
		return false
	}
	switch {
	case has("no space left", "insufficient storage", "507", "quota exceeded", "over quota", "storage quota", "disk quota"):
		return ErrNoSpace
	case has("immutable file modified", "max-delete", "max delete"):
		return ErrConflict
	case has("didn't find section in config file", "directory not found", "object not found", "file not found", "doesn't exist"):
		return ErrNotFound
	case has("401", "unauthorized", "authentication", "login failed", "couldn't log in", "unable to authenticate"):
		return ErrAuth
	case has("403", "forbidden", "permission denied"):
		return ErrPermission
	}
	switch code {
	case 1:
		return ErrInvalid
	case 3, 4:
		return ErrNotFound
	}
	return ErrUnavailable
}

// isMountPoint reports whether dir is listed as a mount point in
// /proc/self/mountinfo (proc(5): the fifth field, with spaces and the like
// escaped as octal).
func isMountPoint(dir string) (bool, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return false, err
	}
	defer f.Close()
	return mountInfoHas(io.LimitReader(f, 16<<20), dir)
}

func mountInfoHas(r io.Reader, dir string) (bool, error) {
	dir = filepath.Clean(dir)
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 5 {
			continue
		}
		if unescapeMount(fields[4]) == dir {
			return true, nil
		}
	}
	return false, sc.Err()
}

func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// RemoteFile is one file of a remote listing.
type RemoteFile struct {
	// Path is relative to the directory listed.
	Path    string
	Size    int64
	ModTime time.Time
}

// List lists the files under dir (a remote path such as "offsite:vzdump"),
// with recursive also those in subdirectories: what off-site retention
// needs to apply the prune rules to a remote. Upstream: rclone lsjson
// --files-only. A directory that does not exist matches ErrNotFound.
func (r *Rclone) List(ctx context.Context, dir string, recursive bool) ([]RemoteFile, error) {
	op := "rclone lsjson " + dir
	if strings.TrimSpace(dir) == "" || strings.HasPrefix(dir, "-") {
		return nil, &Error{Op: op, Message: "no directory, or one starting with '-'", Err: ErrInvalid}
	}
	args := []string{"lsjson", "--files-only", "--no-mimetype", dir}
	if recursive {
		args = append(args, "-R")
	}
	out, err := r.run(ctx, op, args, nil)
	if err != nil {
		return nil, err
	}
	files, err := parseLsJSON(out)
	if err != nil {
		return nil, &Error{Op: op, Message: err.Error(), Err: ErrUnavailable}
	}
	return files, nil
}

// parseLsJSON reads rclone lsjson's array (rclone/rclone
// cmd/lsjson/lsjson.go, operations.ListJSONItem: Path, Name, Size, ModTime
// RFC 3339, IsDir).
func parseLsJSON(b []byte) ([]RemoteFile, error) {
	var items []struct {
		Path    string    `json:"Path"`
		Size    int64     `json:"Size"`
		ModTime time.Time `json:"ModTime"`
		IsDir   bool      `json:"IsDir"`
	}
	if err := json.Unmarshal(b, &items); err != nil {
		return nil, fmt.Errorf("lsjson: %w", err)
	}
	files := make([]RemoteFile, 0, len(items))
	for _, it := range items {
		if it.IsDir {
			continue
		}
		files = append(files, RemoteFile{Path: it.Path, Size: it.Size, ModTime: it.ModTime})
	}
	return files, nil
}

// DeleteFile deletes one file on a remote ("offsite:vzdump/vzdump-qemu-…"),
// as off-site retention does for an archive the prune rules drop. It never
// deletes a directory. Upstream: rclone deletefile. A missing file matches
// ErrNotFound.
func (r *Rclone) DeleteFile(ctx context.Context, path string) error {
	op := "rclone deletefile " + path
	if strings.TrimSpace(path) == "" || strings.HasPrefix(path, "-") || strings.HasSuffix(path, "/") || strings.HasSuffix(path, ":") {
		return &Error{Op: op, Message: "want the path of one file", Err: ErrInvalid}
	}
	_, err := r.run(ctx, op, []string{"deletefile", path}, nil)
	return err
}

// PhotoMonth returns the transfers of the seed's monthly photo job, done
// safely: for each phone folder, a copy (never a sync, so an empty or
// unmounted folder deletes nothing off-site) of the files whose names carry
// the month (IMG_20261103_… and IMG-20261103-…, at any depth) into
// remote/YYYYMM, never overwriting a photo already there.
func PhotoMonth(month time.Time, remote string, folders ...string) []OffsiteSpec {
	ym := month.Format("200601")
	dst := strings.TrimRight(remote, "/")
	if !strings.HasSuffix(dst, ":") {
		dst += "/"
	}
	dst += ym
	specs := make([]OffsiteSpec, 0, len(folders))
	for _, f := range folders {
		specs = append(specs, OffsiteSpec{
			Source:    f,
			Remote:    dst,
			Immutable: true,
			Include:   []string{"*_" + ym + "*", "*-" + ym + "*"},
		})
	}
	return specs
}
