package proxmox

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"

	"github.com/thehomelab/homelab/internal/clientcfg"
	"github.com/thehomelab/homelab/internal/tlspin"
)

// Class sentinels, the same in every package of the SDK: match them with
// errors.Is against any error this package returns.
var (
	// ErrNotFound: the object does not exist. PVE says so per endpoint in
	// different ways: 404, a 500 "… does not exist" (guest configs,
	// storages, volumes) or "can't find file '…'" (a restore's archive,
	// pve-storage PVE/Storage.pm abs_filesystem_path), a 400 parameter
	// error "No such job" (backup jobs) or "no such task" (tasks).
	ErrNotFound = errors.New("not found")
	// ErrAuth: the credentials were refused (401).
	ErrAuth = errors.New("authentication failed")
	// ErrPermission: the identity lacks a privilege (403, or a root@pam-only
	// check that PVE reports as 500).
	ErrPermission = errors.New("permission denied")
	// ErrConflict: the object is in a state that forbids the request
	// (locked, already defined, attached elsewhere).
	ErrConflict = errors.New("conflict")
	// ErrInvalid: PVE rejected a parameter (400) or the SDK refused an
	// argument before sending it.
	ErrInvalid = errors.New("invalid request")
	// ErrUnavailable: the API or a node could not be reached or answered
	// that it cannot serve now (connection errors, 502/503/504, and the
	// 59x codes of pveproxy, which also match ErrNodeUnreachable).
	ErrUnavailable = errors.New("unavailable")
	// ErrClosed: the client was closed.
	ErrClosed = errors.New("closed")
)

// Besides these, an *Error from a 501 (PVE's router has no handler for
// the path: an older release) matches the standard library's
// errors.ErrUnsupported.

// Errors of this package a user acts on.
var (
	// ErrNodeUnreachable: pveproxy could not reach the node or its local
	// daemon (595, 596 and the other 59x proxy codes). It is a kind of
	// ErrUnavailable.
	ErrNodeUnreachable = errors.New("node unreachable")
	// ErrRootRequired: the operation needs the literal user root@pam
	// authenticated by ticket (raw device passthrough, LXC keyctl, bind
	// mounts); no request was sent. It is a kind of ErrPermission.
	ErrRootRequired = errors.New("operation needs root@pam by ticket (password login); API tokens, even root@pam tokens, are refused by PVE")
	// ErrTaskFailed: a task ended with an exit status other than OK or
	// "WARNINGS: n".
	ErrTaskFailed = errors.New("task failed")
	// ErrTimeout: a guest did not stop within its timeout.
	ErrTimeout = errors.New("guest did not stop in time")
	// ErrTooLarge: a reply exceeded the size the client reads (the
	// request may have taken effect).
	ErrTooLarge = clientcfg.ErrTooLarge
)

// FingerprintMismatchError is the error a pinned connection fails with when
// the server shows another certificate; errors.As reaches it, and its Got
// field is the fingerprint seen, ready for WithFingerprint.
type FingerprintMismatchError = tlspin.MismatchError

// Error is the typed error of this package: an HTTP failure from the
// Proxmox API (StatusCode > 0), a failed task (Task set) or a refusal by
// the SDK itself. Match it with errors.As, or its class with errors.Is and
// the sentinels above.
type Error struct {
	// Op names the operation, e.g. "start vm 101 on proxmox1".
	Op string
	// Method and Path of the request (the path without query string).
	Method, Path string
	// StatusCode is the HTTP status code, 0 when no response was involved.
	StatusCode int
	// Code is the exit status of a failed task ("job errors", "VM quit/
	// powerdown failed - got timeout"); empty otherwise.
	Code string
	// Reason is the HTTP reason phrase, which PVE uses as the message.
	Reason string
	// Message is the body's "message" (PVE 8.3+), which keeps all lines,
	// or the SDK's own explanation of a refusal.
	Message string
	// Errors holds the per-parameter errors of a 400 reply.
	Errors map[string]string
	// Task is the UPID of a failed task.
	Task *UPID
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
		fmt.Fprintf(&b, "task %s %s failed: %s", e.Task.Type, e.Task.ID, e.Code)
	case e.StatusCode >= 200 && e.StatusCode < 300:
		// a 2xx the client could not use: say what was wrong, not "200 OK"
		e.writeRequest(&b)
		b.WriteString(orText(e.Message, "unusable reply"))
		if e.Err != nil && !isSentinel(e.Err) {
			b.WriteString(": ")
			b.WriteString(trimPrefix(e.Err.Error()))
		}
	case e.StatusCode > 0:
		e.writeRequest(&b)
		fmt.Fprintf(&b, "%d %s", e.StatusCode, e.text())
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
		if e.Err != nil && !isSentinel(e.Err) {
			b.WriteString(": ")
			b.WriteString(trimPrefix(e.Err.Error()))
		}
	case e.Message != "" && e.Err != nil && isSentinel(e.Err):
		// the class first, as errors.Is sees it: "conflict: … is in use"
		b.WriteString(e.Err.Error())
		b.WriteString(": ")
		b.WriteString(e.Message)
	case e.Message != "":
		b.WriteString(e.Message)
		if e.Err != nil {
			b.WriteString(": ")
			b.WriteString(trimPrefix(e.Err.Error()))
		}
	case e.Err != nil:
		b.WriteString(trimPrefix(e.Err.Error()))
	default:
		b.WriteString("failed")
	}
	return b.String()
}

// writeRequest writes "METHOD /path: " unless Op already says just that
// (Client.Do names its operation after the request), so the text says it
// once.
func (e *Error) writeRequest(b *strings.Builder) {
	if e.Method == "" && e.Path == "" {
		return
	}
	req := e.Method + " " + e.Path
	if e.Op == req {
		return
	}
	b.WriteString(req)
	b.WriteString(": ")
}

func isSentinel(err error) bool {
	switch err {
	case ErrNotFound, ErrAuth, ErrPermission, ErrConflict, ErrInvalid, ErrUnavailable, ErrClosed,
		ErrNodeUnreachable, ErrRootRequired, ErrTaskFailed, ErrTimeout, ErrTooLarge:
		return true
	}
	return false
}

func orText(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// trimPrefix drops a "proxmox: " an inner error already carries, so the
// message has exactly one.
func trimPrefix(s string) string { return strings.TrimPrefix(s, "proxmox: ") }

func (e *Error) text() string {
	m := strings.TrimSpace(e.Message)
	if m == "" {
		m = strings.TrimSpace(e.Reason)
	}
	if m == "" {
		m = http.StatusText(e.StatusCode)
	}
	return m
}

// Unwrap returns the underlying cause.
func (e *Error) Unwrap() error { return e.Err }

// Is maps the HTTP status and PVE's message texts to the sentinels.
func (e *Error) Is(target error) bool {
	msg := strings.ToLower(e.Reason + " " + e.Message + " " + e.Code)
	switch target {
	case ErrTaskFailed:
		return e.Task != nil
	case ErrAuth:
		return e.StatusCode == http.StatusUnauthorized
	case ErrPermission:
		return e.StatusCode == http.StatusForbidden ||
			(e.StatusCode == http.StatusInternalServerError && strings.Contains(msg, "only root can")) ||
			errors.Is(e.Err, ErrRootRequired)
	case ErrNotFound:
		if e.StatusCode == http.StatusNotFound {
			return true
		}
		if e.StatusCode == http.StatusBadRequest && e.noSuch() {
			return true
		}
		return (e.StatusCode == http.StatusInternalServerError || e.Task != nil) &&
			(strings.Contains(msg, "does not exist") || strings.Contains(msg, "no such") || strings.Contains(msg, "can't find file"))
	case ErrNodeUnreachable:
		return e.StatusCode >= 595 && e.StatusCode <= 599
	case ErrUnavailable:
		// A reply over the cap is the class of a peer sending too much in
		// routeros, ups, dns and npm.
		return (e.StatusCode >= 595 && e.StatusCode <= 599) || e.StatusCode == http.StatusBadGateway ||
			e.StatusCode == http.StatusServiceUnavailable || e.StatusCode == http.StatusGatewayTimeout ||
			errors.Is(e.Err, ErrTooLarge)
	case ErrInvalid:
		return e.StatusCode == http.StatusBadRequest && !e.noSuch()
	case ErrTimeout:
		// PVE's shutdown-timeout texts only: "can't lock file … - got
		// timeout" is a lock conflict, and must not lead to a force stop.
		return strings.Contains(msg, "quit/powerdown failed - got timeout") || strings.Contains(msg, "container did not stop")
	case errors.ErrUnsupported:
		// PVE's router answers 501 "Method '…' not implemented" for a
		// path it has no handler for (an older release).
		return isUnsupported(e)
	case ErrConflict:
		return strings.Contains(msg, "already defined") || strings.Contains(msg, "already exists") ||
			strings.Contains(msg, "is locked") || strings.Contains(msg, "can't lock")
	}
	return false
}

// noSuch reports a 400 whose parameter error says the object named by
// the parameter is missing: PVE's raise_param_exc({ id => "No such job
// …" }) in PVE/API2/Backup.pm, ({ upid => "no such task" }) in
// PVE/API2/Tasks.pm.
func (e *Error) noSuch() bool {
	for _, v := range e.Errors {
		if strings.HasPrefix(strings.ToLower(strings.TrimSpace(v)), "no such ") {
			return true
		}
	}
	return false
}

// opError wraps err with the operation name, keeping an *Error typed and
// giving every other error one: ctx errors come back as they are.
func opError(op string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		var pe *Error
		if !errors.As(err, &pe) {
			return err
		}
	}
	var pe *Error
	if errors.As(err, &pe) {
		cp := *pe
		if cp.Op == "" {
			cp.Op = op
		}
		return &cp
	}
	return &Error{Op: op, Err: err}
}

// asError makes a configuration error from clientcfg (or any plain error)
// an *Error matching ErrInvalid, with one prefix.
func asError(op string, err error) error {
	var pe *Error
	if errors.As(err, &pe) {
		return err
	}
	return &Error{Op: op, Message: trimPrefix(err.Error()), Err: ErrInvalid}
}

// netError wraps a failure to reach the API: it matches ErrUnavailable
// and keeps the cause reachable (a FingerprintMismatchError, an x509
// error).
func netError(method, path string, err error) error {
	var mm *tlspin.MismatchError
	if errors.As(err, &mm) {
		return &Error{Method: method, Path: path, Err: err}
	}
	// An x509 error already says what to do (the fingerprint to pin, or
	// WithRootCAs): internal/clientcfg's transport adds it for every HTTP
	// package.
	return &Error{Method: method, Path: path, Err: fmt.Errorf("%w: %w", ErrUnavailable, err)}
}

// refuse builds an SDK-side refusal.
func refuse(op string, sentinel error, format string, args ...any) error {
	return &Error{Op: op, Message: fmt.Sprintf(format, args...), Err: sentinel}
}
