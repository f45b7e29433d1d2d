package npm

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// Sentinel errors matched with errors.Is against *Error and the other error
// types of this package.
var (
	// ErrAuth: bad credentials, an expired or invalid token that a fresh
	// login could not replace.
	ErrAuth = errors.New("npm: authentication failed")
	// ErrTwoFactor: the account asks for a second factor. Use an account
	// without 2FA for automation, or pass WithTwoFactor.
	ErrTwoFactor = errors.New("npm: two-factor authentication required")
	// ErrPermission: the user may not do this. NPM 2.13.0–2.15.1 report it
	// as "404 Not Found - <path>", older and fixed builds as 403.
	ErrPermission = errors.New("npm: permission denied")
	// ErrNotFound: the object does not exist (or was deleted).
	ErrNotFound = errors.New("npm: not found")
	// ErrConflict: a domain name is already used by another host, or a host
	// is already in the requested enabled/disabled state.
	ErrConflict = errors.New("npm: conflict")
	// ErrValidation: the server (or the client, before sending) rejected
	// the request body.
	ErrValidation = errors.New("npm: invalid request")
	// ErrNginx: the API call succeeded but nginx rejected the generated
	// configuration (meta.nginx_online=false).
	ErrNginx = errors.New("npm: nginx rejected the configuration")
	// ErrUnsupported: the feature needs a newer (or older) NPM than the
	// server runs.
	ErrUnsupported = errors.New("npm: not supported by this npm version")
)

// Error is an error answer of the NPM API. Its body is
// {"error":{"code":N,"message":M}}; Code falls back to the HTTP status when
// the server leaves it out (≤2.14 on 500s).
type Error struct {
	Op      string // operation, e.g. "create proxy host nextcloud.thehomelab.site"
	Status  int    // HTTP status
	Code    int    // error.code, or Status when absent
	Message string // error.message
	kind    error  // the sentinel it matches, if any
}

// Error formats the operation, the server's message and the HTTP status.
func (e *Error) Error() string {
	msg := e.Message
	if msg == "" {
		msg = http.StatusText(e.Status)
	}
	if e.Op == "" {
		return fmt.Sprintf("npm: %s (http %d)", msg, e.Status)
	}
	return fmt.Sprintf("npm: %s: %s (http %d)", e.Op, msg, e.Status)
}

// Is matches the sentinel that classifies the error.
func (e *Error) Is(target error) bool { return e.kind != nil && target == e.kind }

// classify maps an NPM error answer onto a sentinel. The rules follow the
// server's quirks: permission failures of 2.13–2.15 arrive as
// "404 Not Found - /route/path" (a path, where a missing object says
// "Not Found - <id>"), an expired token is a 400, a garbage token a 500.
func classify(status int, msg string) error {
	lm := strings.ToLower(msg)
	switch {
	case status == http.StatusUnauthorized:
		return ErrAuth
	case status == http.StatusForbidden:
		return ErrPermission
	case status == http.StatusNotFound:
		if rest, ok := strings.CutPrefix(msg, "Not Found - "); ok && strings.HasPrefix(rest, "/") {
			return ErrPermission
		}
		return ErrNotFound
	case status == http.StatusBadRequest:
		switch {
		case strings.HasSuffix(lm, "is already in use"), strings.HasPrefix(lm, "email address already in use"):
			return ErrConflict
		case strings.Contains(lm, "is already enabled"), strings.Contains(lm, "is already disabled"):
			return ErrConflict
		case lm == "token has expired", lm == "invalid email or password",
			strings.Contains(lm, "challenge token"), lm == "invalid verification code":
			return ErrAuth
		}
		return ErrValidation
	}
	return nil
}

// NginxError reports a write that NPM accepted but whose nginx config
// failed `nginx -t`. The host exists (disabled in effect); Message is the
// server's nginx_err text.
type NginxError struct {
	Op      string
	HostID  int // id of the proxy, redirection or 404 host
	Message string
}

// Error names the operation, the host and nginx's complaint.
func (e *NginxError) Error() string {
	return fmt.Sprintf("npm: %s: nginx rejected the configuration of host %d: %s", e.Op, e.HostID, e.Message)
}

// Is reports a match with ErrNginx.
func (e *NginxError) Is(target error) bool { return target == ErrNginx }

// opErr wraps a non-API error (transport, decoding, client-side checks) with
// the operation.
func opErr(op string, err error) error {
	if err == nil {
		return nil
	}
	var ae *Error
	if errors.As(err, &ae) && ae.Op == "" {
		ae.Op = op
		return ae
	}
	var ne *NginxError
	if errors.As(err, &ae) || errors.As(err, &ne) || strings.HasPrefix(err.Error(), "npm: ") {
		return err
	}
	return fmt.Errorf("npm: %s: %w", op, err)
}
