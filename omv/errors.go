package omv

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// Sentinel errors matched with errors.Is against an *Error.
var (
	// ErrAuth: the login was refused or the session is gone (HTTP 401, or
	// 400 "Incorrect username or password.").
	ErrAuth = errors.New("omv: authentication failed")
	// ErrPermission: the user lacks the admin role (HTTP 403 "Invalid context role.").
	ErrPermission = errors.New("omv: permission denied")
	// ErrNotFound: unknown service, method or object (HTTP 404, or a 500
	// saying the object does not exist).
	ErrNotFound = errors.New("omv: not found")
	// ErrDirty: OMV refuses the call until pending configuration changes
	// are applied ("Please apply the configuration changes first.").
	ErrDirty = errors.New("omv: configuration changes pending")
	// ErrInvalid: the parameters failed OMV's JSON schema (HTTP 400).
	ErrInvalid = errors.New("omv: invalid parameters")
	// ErrConflict: the object already exists or is still referenced.
	ErrConflict = errors.New("omv: conflict")
	// ErrTimeout: the web server gave up waiting for OMV (HTTP 504). The
	// call may still complete on the NAS; read the state back.
	ErrTimeout = errors.New("omv: gateway timeout")
	// ErrJobFailed: a background job finished with an error.
	ErrJobFailed = errors.New("omv: background job failed")
)

// Error is an error reported by OMV's /rpc.php. Status is the HTTP status,
// which carries the error class; Code is OMV's error code (almost always 0
// since OMV 5); Trace is the PHP stack trace OMV sent, kept for debugging
// and not included in Error().
type Error struct {
	Op      string // RPC operation, e.g. "RaidMgmt.getList"
	Status  int    // HTTP status code
	Code    int    // OMV error code
	Message string // OMV error message
	Trace   string // OMV stack trace
}

// Error returns "omv: <op>: <message> (http <status>)".
func (e *Error) Error() string {
	msg := strings.TrimSpace(e.Message)
	if msg == "" {
		msg = strings.ToLower(http.StatusText(e.Status))
	}
	return fmt.Sprintf("omv: %s: %s (http %d)", e.Op, msg, e.Status)
}

const (
	msgExpired    = "Session expired."
	msgNotAuth    = "Session not authenticated."
	msgDirty      = "Please apply the configuration changes first."
	msgBadLogin   = "Incorrect username or password."
	msgInvalidUsr = "Invalid user."
)

// Is matches the sentinels by HTTP status and message.
func (e *Error) Is(target error) bool {
	m := e.Message
	switch target {
	case ErrAuth:
		return e.Status == http.StatusUnauthorized || m == msgBadLogin ||
			e.Code == 5000 || e.Code == 5001
	case ErrPermission:
		return e.Status == http.StatusForbidden
	case ErrNotFound:
		return e.Status == http.StatusNotFound ||
			(e.Status == http.StatusInternalServerError &&
				(strings.Contains(m, "does not exist") || strings.Contains(m, "Failed to execute XPath query") ||
					strings.Contains(m, "not found")))
	case ErrDirty:
		return m == msgDirty
	case ErrInvalid:
		return e.Status == http.StatusBadRequest && m != msgBadLogin
	case ErrConflict:
		return strings.Contains(m, "already exists") || strings.Contains(m, "is referenced")
	case ErrTimeout:
		return e.Status == http.StatusGatewayTimeout
	}
	return false
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
	return e.Status == http.StatusUnauthorized && (e.Message == msgExpired || e.Message == msgNotAuth)
}
