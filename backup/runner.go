package backup

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Runner runs one command on a Proxmox node and returns its standard output;
// a non-zero exit is an error carrying stderr.
//
// The REST API cannot copy a file between two storages, so the two-step
// backup copies and verifies on the node through a Runner. Implementations
// must be safe for concurrent use: CopyVerified hashes both sides at once.
// A non-zero exit is a *Error whose Code is "exit N" and whose Message is
// the command's standard error; once ctx is done Run returns ctx.Err().
type Runner interface {
	Run(ctx context.Context, argv ...string) ([]byte, error)
}

// DefaultMaxOutput caps the standard output a Runner keeps from one
// command. The node's answers the package reads (sha256sum, stat, zstd -t)
// are a few lines; a command that prints more is refused rather than held in
// memory.
const DefaultMaxOutput = 16 << 20

// maxStderr caps the standard error kept for an error message.
const maxStderr = 64 << 10

// LocalRunner runs commands on this machine. It serves tests and the demo,
// and a deployment where the SDK runs on the Proxmox node itself. Its zero
// value is ready to use and safe for concurrent use.
type LocalRunner struct {
	// Dir is the working directory of the commands; empty means the
	// current one.
	Dir string
	// Env, when not nil, replaces the environment of the commands.
	Env []string
	// MaxOutput caps the standard output kept per command; 0 means
	// DefaultMaxOutput.
	MaxOutput int64
}

// Run runs argv[0] with the remaining arguments, without a shell. When ctx
// ends the command's whole process group is killed.
func (r LocalRunner) Run(ctx context.Context, argv ...string) ([]byte, error) {
	op := "run " + shortArgv(argv)
	if len(argv) == 0 || argv[0] == "" {
		return nil, &Error{Op: "run", Message: "empty command", Err: ErrInvalid}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir = r.Dir
	cmd.Env = r.Env
	// A process group, so that a cancelled copy takes its children along.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error {
		if cmd.Process == nil {
			return nil
		}
		return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
	cmd.WaitDelay = 5 * time.Second
	stdout := &capWriter{max: outputLimit(r.MaxOutput)}
	stderr := &capWriter{max: maxStderr, truncate: true}
	cmd.Stdout, cmd.Stderr = stdout, stderr
	err := cmd.Run()
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	if stdout.over {
		return nil, tooLarge(op, stdout.max)
	}
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return stdout.buf.Bytes(), exitError(op, ee.ExitCode(), stderr.buf.String(), nil)
		}
		if errors.Is(err, exec.ErrNotFound) {
			return nil, &Error{Op: op, Message: fmt.Sprintf("%s not found", argv[0]), Err: ErrUnavailable}
		}
		return nil, &Error{Op: op, Message: err.Error(), Err: ErrUnavailable}
	}
	return stdout.buf.Bytes(), nil
}

// exitError builds the error of a command that exited non-zero. Message is
// the command's standard error, trimmed.
func exitError(op string, code int, stderr string, cause error) *Error {
	msg := strings.TrimSpace(stderr)
	if msg == "" {
		msg = "exit status " + strconv.Itoa(code)
	}
	return &Error{Op: op, Code: "exit " + strconv.Itoa(code), Message: msg, Err: cause}
}

// exitCode returns the exit status of a command error built by a Runner of
// this package, or -1 if err is not one.
func exitCode(err error) int {
	var e *Error
	if !errors.As(err, &e) || !strings.HasPrefix(e.Code, "exit ") {
		return -1
	}
	n, convErr := strconv.Atoi(strings.TrimPrefix(e.Code, "exit "))
	if convErr != nil {
		return -1
	}
	return n
}

func tooLarge(op string, max int64) *Error {
	return &Error{Op: op, Message: fmt.Sprintf("output too large: more than %d bytes", max), Err: ErrInvalid}
}

func outputLimit(n int64) int64 {
	if n <= 0 {
		return DefaultMaxOutput
	}
	return n
}

// capWriter keeps at most max bytes. Past the cap it either fails the write
// (stdout: the answer would be wrong if cut) or drops the rest (stderr: the
// head of a message is enough).
type capWriter struct {
	buf      bytes.Buffer
	max      int64
	truncate bool
	over     bool
}

var errCapped = errors.New("output cap reached")

func (w *capWriter) Write(p []byte) (int, error) {
	room := w.max - int64(w.buf.Len())
	if int64(len(p)) <= room {
		return w.buf.Write(p)
	}
	if room > 0 {
		w.buf.Write(p[:room])
	}
	w.over = true
	if w.truncate {
		return len(p), nil
	}
	return 0, errCapped
}

// shortArgv renders argv for an error's Op: the command and its arguments,
// cut after a few hundred characters.
func shortArgv(argv []string) string {
	s := strings.Join(argv, " ")
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}

// shellQuote quotes argv for a POSIX shell (the remote side of SSH hands
// the command line to the user's shell): each word in single quotes, a
// single quote as '\”. Words made only of safe characters stay bare so that
// logs read naturally.
func shellQuote(argv []string) string {
	var b strings.Builder
	for i, a := range argv {
		if i > 0 {
			b.WriteByte(' ')
		}
		// A first word with '=' would be read as an assignment.
		if a != "" && strings.IndexFunc(a, unsafeShellRune) < 0 && (i > 0 || !strings.Contains(a, "=")) {
			b.WriteString(a)
			continue
		}
		b.WriteByte('\'')
		b.WriteString(strings.ReplaceAll(a, "'", `'\''`))
		b.WriteByte('\'')
	}
	return b.String()
}

func unsafeShellRune(r rune) bool {
	switch {
	case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		return false
	}
	return !strings.ContainsRune("-_./=:,+@%", r)
}
