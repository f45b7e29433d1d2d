package ups

import (
	"errors"
	"strings"
)

// Error is a failure reported by upsd as an "ERR <CODE> [message]" line, or
// one detected by the client (then Code is empty or one of the client codes
// below). It matches the package's sentinels with errors.Is.
type Error struct {
	Op      string // what the client was doing, e.g. "get var dummy ups.status"
	Code    string // NUT error code, e.g. "UNKNOWN-UPS"; empty for client-side failures
	Message string // extra words after the code, or a client-side explanation
	Err     error  // underlying cause for client-side failures, if any
}

// Error returns "ups: <op>: <CODE> [message]".
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("ups: ")
	if e.Op != "" {
		b.WriteString(e.Op)
		b.WriteString(": ")
	}
	server := e.Code != "" && e.Code[0] != '-'
	if server {
		b.WriteString("server said ")
		b.WriteString(e.Code)
		if e.Message != "" {
			b.WriteByte(' ')
		}
	}
	b.WriteString(e.Message)
	if e.Err != nil {
		if server || e.Message != "" {
			b.WriteString(": ")
		}
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

// Unwrap returns the underlying cause of a client-side failure.
func (e *Error) Unwrap() error { return e.Err }

// Is reports whether target is the sentinel for e's code or for its class.
func (e *Error) Is(target error) bool {
	specific, class := sentinels(e.Code)
	return target != nil && (target == specific || target == class)
}

// Sentinels for every error code of the protocol (server/neterr.h).
var (
	ErrAccessDenied         = errors.New("access denied")
	ErrUnknownUPS           = errors.New("unknown ups")
	ErrVarNotSupported      = errors.New("variable not supported")
	ErrCmdNotSupported      = errors.New("command not supported")
	ErrInvalidArgument      = errors.New("invalid argument")
	ErrInstCmdFailed        = errors.New("instant command failed")
	ErrSetFailed            = errors.New("set failed")
	ErrReadOnly             = errors.New("variable is read-only")
	ErrTooLong              = errors.New("value too long")
	ErrFeatureNotSupported  = errors.New("feature not supported")
	ErrFeatureNotConfigured = errors.New("feature not configured")
	ErrAlreadySSLMode       = errors.New("already in tls mode")
	ErrDriverNotConnected   = errors.New("driver not connected")
	ErrDataStale            = errors.New("data stale")
	ErrAlreadyLoggedIn      = errors.New("already logged in")
	ErrInvalidPassword      = errors.New("invalid password")
	ErrAlreadySetPassword   = errors.New("password already set")
	ErrInvalidUsername      = errors.New("invalid username")
	ErrAlreadySetUsername   = errors.New("username already set")
	ErrUsernameRequired     = errors.New("username required")
	ErrPasswordRequired     = errors.New("password required")
	ErrUnknownCommand       = errors.New("unknown command")
	ErrInvalidValue         = errors.New("invalid value")
	ErrVarUnknown           = errors.New("variable unknown")
	ErrUnknownType          = errors.New("unknown type")
	ErrUnknownInstCmd       = errors.New("unknown instant command")
	ErrMissingArgument      = errors.New("missing argument")
	ErrTrackingUnknown      = errors.New("tracking id or command unknown") // GET TRACKING: ERR UNKNOWN
	ErrTrackingFailed       = errors.New("tracked command failed")         // GET TRACKING: ERR FAILED
)

// Class sentinels: each matches several codes.
var (
	// ErrNotFound matches UNKNOWN-UPS, VAR-NOT-SUPPORTED, CMD-NOT-SUPPORTED,
	// VAR-UNKNOWN and UNKNOWN-INSTCMD.
	ErrNotFound = errors.New("not found")
	// ErrAuth matches USERNAME-REQUIRED, PASSWORD-REQUIRED, INVALID-USERNAME and
	// INVALID-PASSWORD.
	ErrAuth = errors.New("authentication required or invalid")
	// ErrPermission matches ACCESS-DENIED and READONLY.
	ErrPermission = errors.New("permission denied")
	// ErrConflict matches ALREADY-LOGGED-IN, ALREADY-SET-USERNAME,
	// ALREADY-SET-PASSWORD and ALREADY-SSL-MODE.
	ErrConflict = errors.New("already done on this connection")
	// ErrNoData matches DATA-STALE and DRIVER-NOT-CONNECTED: upsd is reachable
	// but has no current data from the UPS. The policy counts it as comm loss.
	ErrNoData = errors.New("no current data from the ups driver")
	// ErrProtocol matches replies the client cannot understand, including lines
	// longer than the client's cap.
	ErrProtocol = errors.New("protocol error")
	// ErrLineTooLong matches a reply line longer than the client's cap.
	ErrLineTooLong = errors.New("reply line too long")
	// ErrClosed matches calls on a closed client.
	ErrClosed = errors.New("client closed")
)

// Client-side codes carried in Error.Code.
const (
	codeProtocol    = "-protocol"
	codeLineTooLong = "-line-too-long"
	codeClosed      = "-closed"
	codeBadArg      = "-bad-argument"
)

func sentinels(code string) (specific, class error) {
	switch code {
	case "ACCESS-DENIED":
		return ErrAccessDenied, ErrPermission
	case "UNKNOWN-UPS":
		return ErrUnknownUPS, ErrNotFound
	case "VAR-NOT-SUPPORTED":
		return ErrVarNotSupported, ErrNotFound
	case "CMD-NOT-SUPPORTED":
		return ErrCmdNotSupported, ErrNotFound
	case "INVALID-ARGUMENT":
		return ErrInvalidArgument, nil
	case "INSTCMD-FAILED":
		return ErrInstCmdFailed, nil
	case "SET-FAILED":
		return ErrSetFailed, nil
	case "READONLY":
		return ErrReadOnly, ErrPermission
	case "TOO-LONG":
		return ErrTooLong, nil
	case "FEATURE-NOT-SUPPORTED":
		return ErrFeatureNotSupported, nil
	case "FEATURE-NOT-CONFIGURED":
		return ErrFeatureNotConfigured, nil
	case "ALREADY-SSL-MODE":
		return ErrAlreadySSLMode, ErrConflict
	case "DRIVER-NOT-CONNECTED":
		return ErrDriverNotConnected, ErrNoData
	case "DATA-STALE":
		return ErrDataStale, ErrNoData
	case "ALREADY-LOGGED-IN":
		return ErrAlreadyLoggedIn, ErrConflict
	case "INVALID-PASSWORD":
		return ErrInvalidPassword, ErrAuth
	case "ALREADY-SET-PASSWORD":
		return ErrAlreadySetPassword, ErrConflict
	case "INVALID-USERNAME":
		return ErrInvalidUsername, ErrAuth
	case "ALREADY-SET-USERNAME":
		return ErrAlreadySetUsername, ErrConflict
	case "USERNAME-REQUIRED":
		return ErrUsernameRequired, ErrAuth
	case "PASSWORD-REQUIRED":
		return ErrPasswordRequired, ErrAuth
	case "UNKNOWN-COMMAND":
		return ErrUnknownCommand, nil
	case "INVALID-VALUE":
		return ErrInvalidValue, nil
	case "VAR-UNKNOWN":
		return ErrVarUnknown, ErrNotFound
	case "UNKNOWN-TYPE":
		return ErrUnknownType, nil
	case "UNKNOWN-INSTCMD":
		return ErrUnknownInstCmd, ErrNotFound
	case "MISSING-ARGUMENT":
		return ErrMissingArgument, nil
	case "UNKNOWN":
		return ErrTrackingUnknown, ErrNotFound
	case "FAILED":
		return ErrTrackingFailed, nil
	case codeProtocol:
		return ErrProtocol, nil
	case codeLineTooLong:
		return ErrLineTooLong, ErrProtocol
	case codeClosed:
		return ErrClosed, nil
	case codeBadArg:
		return ErrInvalidArgument, nil
	}
	return nil, nil
}

// isServerErr reports whether err is an ERR reply: the connection is still in
// sync after it.
func isServerErr(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Code != "" && e.Code[0] != '-'
}
