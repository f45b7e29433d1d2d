package npm

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/thehomelab/homelab/internal/clientcfg"
)

// Class sentinels, the same in every package of the SDK: match them with
// errors.Is against any error this package returns.
var (
	// ErrNotFound: the object does not exist (or was deleted).
	ErrNotFound = errors.New("not found")
	// ErrAuth: bad credentials, an expired or invalid token that a fresh
	// login could not replace, or no credentials at all.
	ErrAuth = errors.New("authentication failed")
	// ErrPermission: the user may not do this. NPM 2.13.0–2.15.1 report it
	// as "404 Not Found - <path>", older and fixed builds as 403.
	ErrPermission = errors.New("permission denied")
	// ErrConflict: a domain name is already used by another host, or a host
	// is already in the requested enabled/disabled state.
	ErrConflict = errors.New("conflict")
	// ErrInvalid: the server (or the client, before sending) rejected the
	// request.
	ErrInvalid = errors.New("invalid request")
	// ErrUnavailable: the server could not be reached or answered that it
	// cannot serve now (502, 503, 504).
	ErrUnavailable = errors.New("unavailable")
	// ErrClosed: the client was closed.
	ErrClosed = errors.New("closed")
)

// Errors of this package a user acts on.
var (
	// ErrTwoFactor: the account asks for a second factor. Use an account
	// without 2FA for automation, or pass WithTOTP.
	ErrTwoFactor = errors.New("two-factor authentication required")
	// ErrNginx: the API call succeeded but nginx rejected the generated
	// configuration (meta.nginx_online=false).
	ErrNginx = errors.New("nginx rejected the configuration")
	// ErrUnsupported: the feature needs a newer (or older) NPM than the
	// server runs.
	ErrUnsupported = errors.New("not supported by this npm version")
	// ErrTooLarge: an answer was larger than the client reads (32 MiB); the
	// request may have taken effect. It is also ErrUnavailable.
	ErrTooLarge = clientcfg.ErrTooLarge
)

// Error is the typed error of this package. For an error answer of the NPM
// API ({"error":{"code":N,"message":M}}) StatusCode, Code and Message are
// set; Code falls back to the HTTP status when the server leaves it out
// (≤2.14 on 500s). For every other failure (transport, decoding, a check
// before sending) Err holds the cause. Match the class with errors.Is and
// the sentinels above, the details with errors.As.
type Error struct {
	// Op names the operation, e.g. "create proxy host nextcloud.thehomelab.site".
	Op string
	// StatusCode is the HTTP status of an API answer, 0 otherwise.
	StatusCode int
	// Code is error.code of the answer, or StatusCode when absent.
	Code int
	// Message is error.message of the answer.
	Message string
	// Err is the cause: the class sentinel of an API answer, or the
	// underlying error.
	Err error
}

// Error formats the operation, the server's message and the HTTP status,
// behind one "npm: " prefix.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("npm: ")
	if e.Op != "" {
		b.WriteString(e.Op)
		b.WriteString(": ")
	}
	msg := e.Message
	if msg == "" && e.Err == nil {
		msg = http.StatusText(e.StatusCode)
	}
	switch {
	case msg != "":
		b.WriteString(msg)
		if e.Err != nil && !isClass(e.Err) && !strings.Contains(msg, e.Err.Error()) {
			b.WriteString(": ")
			b.WriteString(e.Err.Error())
		}
	case e.Err != nil:
		b.WriteString(e.Err.Error())
	}
	if e.StatusCode != 0 {
		fmt.Fprintf(&b, " (http %d)", e.StatusCode)
	}
	return b.String()
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// isClass reports a sentinel (or pair of them) standing as the cause: the
// message already says what happened, so the sentinel's text is not
// repeated.
func isClass(err error) bool {
	switch err {
	case ErrNotFound, ErrAuth, ErrPermission, ErrConflict, ErrInvalid, ErrUnavailable, ErrClosed,
		ErrTwoFactor, ErrNginx, ErrUnsupported, ErrTooLarge:
		return true
	}
	_, ok := err.(both)
	return ok
}

// both is a cause that matches two sentinels (a rejected second factor is
// ErrAuth and ErrTwoFactor).
type both [2]error

func (b both) Error() string   { return b[0].Error() + ", " + b[1].Error() }
func (b both) Unwrap() []error { return b[:] }

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
		return ErrInvalid
	case status == http.StatusBadGateway, status == http.StatusServiceUnavailable, status == http.StatusGatewayTimeout:
		return ErrUnavailable
	}
	return nil
}

// NginxError reports a write that NPM accepted but whose nginx config
// failed `nginx -t`. The host exists (disabled in effect); Message is the
// server's nginx_err text. It arrives wrapped in an *Error that carries
// the operation; errors.As reaches it.
type NginxError struct {
	HostID  int // id of the proxy, redirection or 404 host
	Message string
}

// Error names the host and nginx's complaint.
func (e *NginxError) Error() string {
	return fmt.Sprintf("nginx rejected the configuration of host %d: %s", e.HostID, e.Message)
}

// Is reports a match with ErrNginx.
func (e *NginxError) Is(target error) bool { return target == ErrNginx }

// opErr wraps any error as an *Error of the operation: an *Error without
// an operation gets it, one with an operation is kept as it is.
func opErr(op string, err error) error {
	if err == nil {
		return nil
	}
	var ae *Error
	if errors.As(err, &ae) {
		if ae.Op == "" {
			ae.Op = op
		}
		return err
	}
	return &Error{Op: op, Err: err}
}

// errorf builds an *Error of the operation whose cause is formatted (wrap
// a class sentinel with %w).
func errorf(op, format string, args ...any) error {
	return &Error{Op: op, Err: fmt.Errorf(format, args...)}
}

// answered reports an error answer of the server (as opposed to no answer
// at all: transport failure, ctx done).
func answered(err error) bool {
	var ae *Error
	return errors.As(err, &ae) && ae.StatusCode != 0
}
