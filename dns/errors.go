package dns

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/thehomelab/homelab/internal/clientcfg"
)

// Class sentinels, the same in every package of the SDK: match them with
// errors.Is against any error this package returns.
var (
	// ErrNotFound: the record does not exist (HTTP 404, code 81044); a
	// zone that does not exist (ErrZoneNotFound) matches it too.
	ErrNotFound = errors.New("not found")
	// ErrAuth: the token is missing, invalid, disabled or expired (HTTP 401,
	// codes 1000, 6003, 6111, 9103, 10000).
	ErrAuth = errors.New("authentication failed")
	// ErrPermission: the token lacks a permission (HTTP 403, code 9109).
	ErrPermission = errors.New("permission denied")
	// ErrConflict: a record clashes with an existing one (codes 81053,
	// 81054, 81057, 81058), or an Updater plan is stale.
	ErrConflict = errors.New("conflict")
	// ErrInvalid: Cloudflare rejected the request as invalid (other 400s),
	// or the package refused an argument or option before sending it.
	ErrInvalid = errors.New("invalid request")
	// ErrUnavailable: Cloudflare failed (5xx) or could not be reached.
	ErrUnavailable = errors.New("unavailable")
	// ErrClosed: the client was closed.
	ErrClosed = errors.New("closed")
)

// Errors of this package a user acts on.
var (
	// ErrZoneNotFound: no zone of that name is visible to the token, or the
	// zone id is unknown (code 1003). It also matches ErrNotFound.
	ErrZoneNotFound = errors.New("zone not found")
	// ErrAmbiguousZone: more than one zone of that name is visible. It also
	// matches ErrConflict.
	ErrAmbiguousZone = errors.New("ambiguous zone name")
	// ErrRateLimited: Cloudflare answered 429; Error.RetryAfter (or
	// RetryAfter) says how long to wait.
	ErrRateLimited = errors.New("rate limited")
	// ErrBadAddress: an address source reported an address that must never
	// be published (private, CGNAT, loopback, link-local, …) or none.
	ErrBadAddress = errors.New("bad address")
	// ErrUnmanaged: a record of a managed name lacks the managed comment and
	// was left alone.
	ErrUnmanaged = errors.New("unmanaged record in the way")
	// ErrTooLarge: an answer was larger than the client reads (16 MiB from
	// Cloudflare, 64 KiB from an EchoSource). It also matches
	// ErrUnavailable.
	ErrTooLarge = clientcfg.ErrTooLarge
)

// Cloudflare error codes the package interprets.
const (
	CodeInvalidToken      = 1000
	CodeInvalidZone       = 1003
	CodeUnauthorized      = 9109
	CodeAuthentication    = 10000
	CodeRecordNotFound    = 81044
	CodeCNAMEConflict     = 81053
	CodeCNAMEExists       = 81054
	CodeRecordExists      = 81057
	CodeIdenticalRecord   = 81058
	codeRateLimited       = 971
	codeInvalidHeaders    = 6003
	codeInvalidAuthHeader = 6111
	codeInvalidTokenFmt   = 9103
)

// APIError is one entry of the "errors" array of Cloudflare's envelope.
type APIError struct {
	Code    int
	Message string
}

// Error is the typed error of this package: the operation, and for a
// failed Cloudflare call the HTTP status and Cloudflare's own error codes
// and messages. Every error the package returns is or wraps one. Match it
// with errors.Is against the sentinels, or errors.As to read the details.
type Error struct {
	// Op is what the package was doing, e.g. "patch record vpn.thehomelab.site A".
	Op string
	// StatusCode is the HTTP status (200 when Cloudflare said
	// "success": false on a 2xx answer); 0 when no answer was read.
	StatusCode int
	// Code is Cloudflare's first error code (0 when there is none).
	Code int
	// Message is Cloudflare's first error message, or what the package
	// found wrong.
	Message string
	// Err is the cause, often a sentinel; nil for a Cloudflare answer,
	// whose class follows from StatusCode and the codes.
	Err error
	// Errors are all of Cloudflare's error entries, in order (Code and
	// Message repeat the first).
	Errors []APIError
	// RetryAfter is the Retry-After of a 429 (zero when absent).
	RetryAfter time.Duration
	// RayID is Cloudflare's request id (cf-ray), useful for support.
	RayID string
}

// Error implements error: one "dns: " prefix, then the operation.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("dns: ")
	if e.Op != "" {
		b.WriteString(e.Op)
		b.WriteString(": ")
	}
	if e.StatusCode == 0 && len(e.Errors) == 0 {
		switch {
		case e.Message != "" && e.Err != nil:
			b.WriteString(e.Message)
			if c := causeText(e.Err); !strings.Contains(e.Message, c) {
				b.WriteString(": ")
				b.WriteString(c)
			}
		case e.Message != "":
			b.WriteString(e.Message)
		case e.Err != nil:
			b.WriteString(causeText(e.Err))
		default:
			b.WriteString("failed")
		}
		return b.String()
	}
	fmt.Fprintf(&b, "cloudflare http %d", e.StatusCode)
	if e.StatusCode < 300 {
		b.WriteString(" with success false")
	}
	for _, a := range e.Errors {
		fmt.Fprintf(&b, ": %d %s", a.Code, strings.TrimSuffix(a.Message, "."))
	}
	if e.RetryAfter > 0 {
		fmt.Fprintf(&b, " (retry after %s)", e.RetryAfter)
	}
	return b.String()
}

// causeText is a cause's text without a second "dns: " prefix (on every
// line: a joined error holds one per line).
func causeText(err error) string {
	return strings.ReplaceAll("\n"+err.Error(), "\ndns: ", "\n")[1:]
}

// withOp returns err with op in front of its operation, keeping the
// *Error (and so its codes) reachable with errors.As.
func withOp(op string, err error) error {
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
	return opError(op, err)
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// HasCode reports whether Cloudflare returned the error code.
func (e *Error) HasCode(code int) bool {
	for _, a := range e.Errors {
		if a.Code == code {
			return true
		}
	}
	return false
}

// Is matches the sentinels from the HTTP status and Cloudflare's codes.
func (e *Error) Is(target error) bool {
	if e.StatusCode == 0 && len(e.Errors) == 0 {
		// Not an answer: the class is the cause's (Unwrap), except for
		// this package's own sentinels that imply a class.
		switch target {
		case ErrNotFound:
			return errors.Is(e.Err, ErrZoneNotFound)
		case ErrConflict:
			return errors.Is(e.Err, ErrAmbiguousZone)
		case ErrInvalid:
			return errors.Is(e.Err, ErrBadAddress)
		}
		return false
	}
	switch target {
	case ErrAuth:
		return e.StatusCode == http.StatusUnauthorized || e.HasCode(CodeInvalidToken) ||
			e.HasCode(CodeAuthentication) || e.HasCode(codeInvalidHeaders) ||
			e.HasCode(codeInvalidAuthHeader) || e.HasCode(codeInvalidTokenFmt)
	case ErrPermission:
		return e.StatusCode == http.StatusForbidden || e.HasCode(CodeUnauthorized)
	case ErrNotFound:
		return e.StatusCode == http.StatusNotFound || e.HasCode(CodeRecordNotFound) || e.HasCode(CodeInvalidZone)
	case ErrZoneNotFound:
		return e.HasCode(CodeInvalidZone)
	case ErrConflict:
		return e.HasCode(CodeCNAMEConflict) || e.HasCode(CodeCNAMEExists) ||
			e.HasCode(CodeRecordExists) || e.HasCode(CodeIdenticalRecord)
	case ErrRateLimited:
		return e.StatusCode == http.StatusTooManyRequests || e.HasCode(codeRateLimited)
	case ErrUnavailable:
		return e.StatusCode >= 500
	case ErrInvalid:
		return e.StatusCode == http.StatusBadRequest && !e.Is(ErrConflict) && !e.Is(ErrAuth) && !e.Is(ErrZoneNotFound)
	}
	return false
}

// RetryAfter returns how long err asks to wait before the next call (a
// 429's Retry-After), or zero.
func RetryAfter(err error) time.Duration {
	var e *Error
	if errors.As(err, &e) {
		return e.RetryAfter
	}
	return 0
}

// opError wraps a failure that is not a Cloudflare answer with the
// operation.
func opError(op string, err error) error {
	return &Error{Op: op, Err: err}
}

// unreachable is a cause that is no Cloudflare answer at all (connection
// refused or dropped, an answer that is not Cloudflare's): it matches
// ErrUnavailable and keeps the original error reachable with errors.As.
type unreachable struct{ err error }

func (u unreachable) Error() string        { return u.err.Error() }
func (u unreachable) Unwrap() error        { return u.err }
func (u unreachable) Is(target error) bool { return target == ErrUnavailable }

// invalid is an argument the package refuses before sending anything.
func invalid(op, format string, args ...any) error {
	return &Error{Op: op, Message: fmt.Sprintf(format, args...), Err: ErrInvalid}
}
