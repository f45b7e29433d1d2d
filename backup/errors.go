package backup

import (
	"errors"
	"strings"
)

// Class sentinels, the same in every package of the SDK: match them with
// errors.Is against any error this package returns.
var (
	// ErrNotFound: a guest, storage, archive or remote does not exist.
	ErrNotFound = errors.New("not found")
	// ErrAuth: credentials were refused (Proxmox, SSH, SMTP, the remote).
	ErrAuth = errors.New("authentication failed")
	// ErrPermission: the identity may not do this.
	ErrPermission = errors.New("permission denied")
	// ErrConflict: the state forbids it (a backup already running, a
	// prune preview that disagrees, a host key that changed).
	ErrConflict = errors.New("conflict")
	// ErrInvalid: a configuration or argument the package refuses.
	ErrInvalid = errors.New("invalid request")
	// ErrUnavailable: a peer could not be reached or is not ready (the
	// share, the node, rclone missing).
	ErrUnavailable = errors.New("unavailable")
	// ErrClosed: the client or runner was closed.
	ErrClosed = errors.New("closed")
)

// Errors of this package a user acts on.
var (
	// ErrVerify: a copy did not match its source (size, SHA-256 or zstd -t);
	// the source is kept.
	ErrVerify = errors.New("verification failed")
	// ErrNoSpace: a target has too little free space.
	ErrNoSpace = errors.New("not enough space")
	// ErrHostKey: the node's SSH host key is not the one trusted.
	ErrHostKey = errors.New("ssh host key mismatch")
)

// Error is the typed error of this package. Match it with errors.As for the
// details, or its class with errors.Is and the sentinels above.
type Error struct {
	// Op names the operation, e.g. "copy vzdump-qemu-100-….vma.zst to backups".
	Op string
	// Code is a short machine-readable cause where one exists: an rclone or
	// process exit status ("exit 3"), an SMTP reply code, a task exit status.
	Code string
	// Message is what the peer or the check said.
	Message string
	// Err is the cause, often a sentinel.
	Err error
}

// Error implements error.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("backup: ")
	if e.Op != "" {
		b.WriteString(e.Op)
		b.WriteString(": ")
	}
	switch {
	case e.Message != "":
		b.WriteString(e.Message)
		if e.Err != nil && !strings.Contains(e.Message, e.Err.Error()) {
			b.WriteString(": ")
			b.WriteString(e.Err.Error())
		}
	case e.Err != nil:
		b.WriteString(e.Err.Error())
	default:
		b.WriteString("failed")
	}
	if e.Code != "" {
		b.WriteString(" (")
		b.WriteString(e.Code)
		b.WriteString(")")
	}
	return b.String()
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }
