package dns

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// Sentinels matched with errors.Is against errors of this package.
var (
	// ErrAuth: the token is missing, invalid, disabled or expired (HTTP 401,
	// codes 1000, 6003, 6111, 9103, 10000).
	ErrAuth = errors.New("dns: authentication failed")
	// ErrPermission: the token lacks a permission (HTTP 403, code 9109).
	ErrPermission = errors.New("dns: permission denied")
	// ErrNotFound: the record does not exist (HTTP 404, code 81044).
	ErrNotFound = errors.New("dns: not found")
	// ErrZoneNotFound: no zone of that name is visible to the token, or the
	// zone id is unknown (code 1003).
	ErrZoneNotFound = errors.New("dns: zone not found")
	// ErrAmbiguousZone: more than one zone of that name is visible.
	ErrAmbiguousZone = errors.New("dns: ambiguous zone name")
	// ErrConflict: a record clashes with an existing one (codes 81053,
	// 81054, 81057, 81058).
	ErrConflict = errors.New("dns: record conflict")
	// ErrRateLimited: Cloudflare answered 429; Error.RetryAfter says how
	// long to wait.
	ErrRateLimited = errors.New("dns: rate limited")
	// ErrInvalid: Cloudflare rejected the request as invalid (other 400s).
	ErrInvalid = errors.New("dns: invalid request")
	// ErrUnavailable: Cloudflare failed (5xx).
	ErrUnavailable = errors.New("dns: cloudflare unavailable")
	// ErrBadAddress: an address source reported an address that must never
	// be published (private, CGNAT, loopback, link-local, …) or none.
	ErrBadAddress = errors.New("dns: bad address")
	// ErrUnmanaged: a record of a managed name lacks the managed comment and
	// was left alone.
	ErrUnmanaged = errors.New("dns: unmanaged record in the way")
	// ErrClosed: the client was closed.
	ErrClosed = errors.New("dns: client closed")
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

// Error is a failed Cloudflare call: the operation, the HTTP status and
// Cloudflare's own error codes and messages. Match it with errors.Is
// against the sentinels, or errors.As to read the codes.
type Error struct {
	// Op is what the package was doing, e.g. "patch record vpn.thehomelab.site A".
	Op string
	// StatusCode is the HTTP status (200 when Cloudflare said
	// "success": false on a 2xx answer).
	StatusCode int
	// Errors are Cloudflare's error entries, in order.
	Errors []APIError
	// RetryAfter is the Retry-After of a 429 (zero when absent).
	RetryAfter time.Duration
	// RayID is Cloudflare's request id (cf-ray), useful for support.
	RayID string
}

// Error implements error.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("dns: ")
	if e.Op != "" {
		b.WriteString(e.Op)
		b.WriteString(": ")
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

// HasCode reports whether Cloudflare returned the error code.
func (e *Error) HasCode(code int) bool {
	for _, a := range e.Errors {
		if a.Code == code {
			return true
		}
	}
	return false
}

// Is matches the sentinels.
func (e *Error) Is(target error) bool {
	switch target {
	case ErrAuth:
		return e.StatusCode == http.StatusUnauthorized || e.HasCode(CodeInvalidToken) ||
			e.HasCode(CodeAuthentication) || e.HasCode(codeInvalidHeaders) ||
			e.HasCode(codeInvalidAuthHeader) || e.HasCode(codeInvalidTokenFmt)
	case ErrPermission:
		return e.StatusCode == http.StatusForbidden || e.HasCode(CodeUnauthorized)
	case ErrNotFound:
		return e.StatusCode == http.StatusNotFound || e.HasCode(CodeRecordNotFound)
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

// opError wraps a non-API failure (transport, decoding) with the operation.
func opError(op string, err error) error {
	return fmt.Errorf("dns: %s: %w", op, err)
}
