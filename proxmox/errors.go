package proxmox

import (
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"
)

// Sentinel errors matched with errors.Is against any error this package
// returns.
var (
	// ErrNotFound: the object does not exist (404, a 500 "does not exist",
	// an unknown task).
	ErrNotFound = errors.New("not found")
	// ErrAuth: the credentials were refused (401).
	ErrAuth = errors.New("authentication failed")
	// ErrPermission: the identity lacks a privilege (403, or a root@pam-only
	// check that PVE reports as 500).
	ErrPermission = errors.New("permission denied")
	// ErrNodeUnreachable: pveproxy could not reach the node or its local
	// daemon (595, 596 and the other 59x proxy codes).
	ErrNodeUnreachable = errors.New("node unreachable")
	// ErrInvalid: PVE rejected a parameter (400) or the SDK refused an
	// argument before sending it.
	ErrInvalid = errors.New("invalid request")
	// ErrConflict: the object is in a state that forbids the request
	// (locked, already defined, attached elsewhere).
	ErrConflict = errors.New("conflict")
	// ErrRootRequired: the operation needs the literal user root@pam
	// authenticated by ticket (raw device passthrough, LXC keyctl, bind
	// mounts); no request was sent.
	ErrRootRequired = errors.New("operation needs root@pam by ticket (password login); API tokens, even root@pam tokens, are refused by PVE")
	// ErrClosed: the client was closed.
	ErrClosed = errors.New("client closed")
	// ErrTaskFailed: a task ended with an exit status other than OK or
	// "WARNINGS: n".
	ErrTaskFailed = errors.New("task failed")
)

// Error is the typed error of this package: an HTTP failure from the
// Proxmox API (Status > 0), a failed task (Task set) or a refusal by the
// SDK itself. Match it with errors.As, or its class with errors.Is and the
// sentinels above.
type Error struct {
	// Op names the operation, e.g. "start vm 101 on proxmox1".
	Op string
	// Method and Path of the request (the path without query string).
	Method, Path string
	// Status is the HTTP status code, 0 when no response was involved.
	Status int
	// Reason is the HTTP reason phrase, which PVE uses as the message.
	Reason string
	// Message is the body's "message" (PVE 8.3+), which keeps all lines.
	Message string
	// Errors holds the per-parameter errors of a 400 reply.
	Errors map[string]string
	// Task is the UPID of a failed task and ExitStatus its exit status.
	Task       *UPID
	ExitStatus string
	// Log holds the last lines of a failed task's log (best effort).
	Log []string
	// Err is the underlying cause, if any (often a sentinel).
	Err error
}

// Error implements error.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("proxmox: ")
	if e.Op != "" {
		b.WriteString(e.Op)
		b.WriteString(": ")
	}
	switch {
	case e.Task != nil:
		fmt.Fprintf(&b, "task %s %s failed: %s", e.Task.Type, e.Task.ID, e.ExitStatus)
	case e.Status > 0:
		fmt.Fprintf(&b, "%s %s: %d %s", e.Method, e.Path, e.Status, e.text())
		if len(e.Errors) > 0 {
			keys := make([]string, 0, len(e.Errors))
			for k := range e.Errors {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for i, k := range keys {
				if i == 0 {
					b.WriteString(" (")
				} else {
					b.WriteString("; ")
				}
				fmt.Fprintf(&b, "%s: %s", k, strings.TrimSpace(e.Errors[k]))
			}
			b.WriteString(")")
		}
	case e.Err != nil:
		b.WriteString(e.Err.Error())
	default:
		b.WriteString("unknown error")
	}
	return b.String()
}

func (e *Error) text() string {
	m := strings.TrimSpace(e.Message)
	if m == "" {
		m = strings.TrimSpace(e.Reason)
	}
	if m == "" {
		m = http.StatusText(e.Status)
	}
	return m
}

// Unwrap returns the underlying cause.
func (e *Error) Unwrap() error { return e.Err }

// Is maps the HTTP status and PVE's message texts to the sentinels.
func (e *Error) Is(target error) bool {
	msg := strings.ToLower(e.Reason + " " + e.Message + " " + e.ExitStatus)
	switch target {
	case ErrTaskFailed:
		return e.Task != nil
	case ErrAuth:
		return e.Status == http.StatusUnauthorized
	case ErrPermission:
		return e.Status == http.StatusForbidden ||
			(e.Status == http.StatusInternalServerError && strings.Contains(msg, "only root can"))
	case ErrNotFound:
		if e.Status == http.StatusNotFound {
			return true
		}
		if e.Status == http.StatusBadRequest && strings.Contains(strings.ToLower(e.Errors["upid"]), "no such task") {
			return true
		}
		return (e.Status == http.StatusInternalServerError || e.Task != nil) &&
			(strings.Contains(msg, "does not exist") || strings.Contains(msg, "no such"))
	case ErrNodeUnreachable:
		return e.Status >= 595 && e.Status <= 599
	case ErrInvalid:
		return e.Status == http.StatusBadRequest && !strings.Contains(strings.ToLower(e.Errors["upid"]), "no such task")
	case ErrConflict:
		return strings.Contains(msg, "already defined") || strings.Contains(msg, "already exists") ||
			strings.Contains(msg, "is locked") || strings.Contains(msg, "can't lock")
	}
	return false
}

// opError wraps err with the operation name, keeping an *Error typed.
func opError(op string, err error) error {
	if err == nil {
		return nil
	}
	var pe *Error
	if errors.As(err, &pe) {
		cp := *pe
		if cp.Op == "" {
			cp.Op = op
		}
		return &cp
	}
	return fmt.Errorf("proxmox: %s: %w", op, err)
}

// refuse builds an SDK-side refusal.
func refuse(op string, sentinel error, format string, args ...any) error {
	return &Error{Op: op, Err: fmt.Errorf("%w: "+format, append([]any{sentinel}, args...)...)}
}
