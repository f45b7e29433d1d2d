package omv

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/thehomelab/homelab/internal/clientcfg"
	"github.com/thehomelab/homelab/internal/tlspin"
)

// Class sentinels, the same in every package of the SDK: match them with
// errors.Is against any error this package returns.
var (
	// ErrNotFound: unknown service, method or object (HTTP 404, or a 500
	// saying the object does not exist).
	ErrNotFound = errors.New("not found")
	// ErrAuth: the login was refused or the session is gone (HTTP 401, or
	// 400 "Incorrect username or password.").
	ErrAuth = errors.New("authentication failed")
	// ErrPermission: the user lacks the admin role (HTTP 403 "Invalid
	// context role.").
	ErrPermission = errors.New("permission denied")
	// ErrConflict: the object already exists or is still referenced.
	ErrConflict = errors.New("conflict")
	// ErrInvalid: OMV's JSON schema refused the parameters (HTTP 400), or
	// the client refused an option, a spec or a reply before sending.
	ErrInvalid = errors.New("invalid request")
	// ErrUnavailable: OMV could not be reached, or its web server gave up
	// (502/503/504), or no answer came within WithTimeout.
	ErrUnavailable = errors.New("unavailable")
	// ErrClosed: the Client was closed.
	ErrClosed = errors.New("closed")
)

// Errors of this package a user acts on.
var (
	// ErrDirty: OMV refuses the call until pending configuration changes
	// are applied ("Please apply the configuration changes first.").
	ErrDirty = errors.New("configuration changes pending")
	// ErrTimeout: the web server gave up waiting for OMV (HTTP 504). The
	// call may still complete on the NAS; read the state back. It is also
	// ErrUnavailable.
	ErrTimeout = errors.New("gateway timeout")
	// ErrJobFailed: a background job finished with an error.
	ErrJobFailed = errors.New("background job failed")
	// ErrTooLarge: a reply was larger than the client reads (WithMaxReply);
	// the call may have taken effect. It is also ErrInvalid (elsewhere in
	// the SDK a reply over the cap is ErrUnavailable).
	ErrTooLarge = clientcfg.ErrTooLarge
)

// FingerprintMismatchError is the error a pinned connection fails with when
// the server shows another certificate; errors.As reaches it, and its Got
// is the fingerprint seen (to pin after checking it).
type FingerprintMismatchError = tlspin.MismatchError

// Error is the one error type of this package: an error OMV's /rpc.php
// reported, or a failure on the way there. Match it with errors.As for the
// details, or its class with errors.Is and the sentinels above.
type Error struct {
	// Op is what the client did, outermost first, ending in the RPC
	// method: "ensure user anna: UserMgmt.setUser".
	Op string
	// StatusCode is the HTTP status, which carries OMV's error class; 0
	// when no reply came.
	StatusCode int
	// Code is OMV's error code (almost always 0 since OMV 5; 5000/5001 on
	// OMV 4 for session errors).
	Code int
	// Message is OMV's error message, or what the client found wrong.
	Message string
	// Trace is the PHP stack trace OMV sent, kept for debugging and not
	// included in Error().
	Trace string
	// Err is the cause: a sentinel, a network error, a context error.
	Err error
}

// Error returns "omv: <op>: <message> (http <status>)".
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("omv: ")
	if e.Op != "" {
		b.WriteString(e.Op)
		b.WriteString(": ")
	}
	msg := strings.TrimSpace(e.Message)
	switch {
	case msg != "":
	case e.Err != nil:
		msg = e.Err.Error()
	case e.StatusCode != 0:
		msg = strings.ToLower(http.StatusText(e.StatusCode))
	default:
		msg = "failed"
	}
	b.WriteString(msg)
	if e.StatusCode != 0 {
		b.WriteString(" (http " + strconv.Itoa(e.StatusCode) + ")")
	}
	return b.String()
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

const (
	msgExpired  = "Session expired."
	msgNotAuth  = "Session not authenticated."
	msgDirty    = "Please apply the configuration changes first."
	msgBadLogin = "Incorrect username or password."
)

// Is matches the sentinels by HTTP status and message, as OMV gives no
// useful code (fact sheet §1.2).
func (e *Error) Is(target error) bool {
	m := e.Message
	switch target {
	case ErrAuth:
		return e.StatusCode == http.StatusUnauthorized || m == msgBadLogin ||
			e.Code == 5000 || e.Code == 5001
	case ErrPermission:
		return e.StatusCode == http.StatusForbidden
	case ErrNotFound:
		return e.StatusCode == http.StatusNotFound ||
			(e.StatusCode == http.StatusInternalServerError &&
				(strings.Contains(m, "does not exist") || strings.Contains(m, "Failed to execute XPath query") ||
					strings.Contains(m, "not found")))
	case ErrDirty:
		return m == msgDirty
	case ErrInvalid:
		return e.StatusCode == http.StatusBadRequest && m != msgBadLogin
	case ErrConflict:
		return e.StatusCode != 0 && (strings.Contains(m, "already exists") || strings.Contains(m, "is referenced"))
	case ErrTimeout:
		return e.StatusCode == http.StatusGatewayTimeout
	case ErrUnavailable:
		return e.StatusCode == http.StatusBadGateway || e.StatusCode == http.StatusServiceUnavailable ||
			e.StatusCode == http.StatusGatewayTimeout
	}
	return false
}

// classed is a cause that belongs to a class: errors.Is reaches both, the
// text is the cause's.
type classed struct{ class, cause error }

func (c classed) Error() string   { return c.cause.Error() }
func (c classed) Unwrap() []error { return []error{c.class, c.cause} }

// errf builds a client-side error of a class.
func errf(op string, class error, msg string) *Error {
	return &Error{Op: op, Message: msg, Err: class}
}

// wrap puts op in front of err's operation, so that composite calls read
// "omv: ensure share media: ensure user anna: UserMgmt.setUser: …" with one
// prefix. Context errors pass unchanged.
func wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) {
		cp := *e
		if cp.Op == "" {
			cp.Op = op
		} else {
			cp.Op = op + ": " + cp.Op
		}
		return &cp
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return &Error{Op: op, Err: err}
}

// sessionGone reports a 401 that a fresh login can cure.
func sessionGone(err error) bool {
	var e *Error
	if !errors.As(err, &e) {
		return false
	}
	if e.Code == 5000 || e.Code == 5001 {
		return true
	}
	return e.StatusCode == http.StatusUnauthorized && (e.Message == msgExpired || e.Message == msgNotAuth)
}
