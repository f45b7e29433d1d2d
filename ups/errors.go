package ups

import (
	"errors"
	"strings"

	"github.com/thehomelab/homelab/internal/tlspin"
)

// Code is a NUT error code, the word after "ERR" in a reply (the complete
// list is server/neterr.h), or one of the few codes the client sets itself
// (lower case, never sent by upsd).
type Code string

// The error codes of the NUT network protocol (server/neterr.h, NUT 2.8.0),
// plus the two answers of GET TRACKING.
const (
	CodeAccessDenied         Code = "ACCESS-DENIED"          // credentials or host not allowed to do this
	CodeUnknownUPS           Code = "UNKNOWN-UPS"            // no such UPS in ups.conf
	CodeVarNotSupported      Code = "VAR-NOT-SUPPORTED"      // the UPS does not have this variable
	CodeCmdNotSupported      Code = "CMD-NOT-SUPPORTED"      // the UPS does not have this instant command
	CodeInvalidArgument      Code = "INVALID-ARGUMENT"       // bad or missing subcommand or argument
	CodeInstCmdFailed        Code = "INSTCMD-FAILED"         // upsd could not hand the command to the driver
	CodeSetFailed            Code = "SET-FAILED"             // upsd could not hand the SET to the driver
	CodeReadOnly             Code = "READONLY"               // the variable is not writable
	CodeTooLong              Code = "TOO-LONG"               // the value is longer than the variable's STRING:n
	CodeFeatureNotSupported  Code = "FEATURE-NOT-SUPPORTED"  // upsd was built without it (TLS)
	CodeFeatureNotConfigured Code = "FEATURE-NOT-CONFIGURED" // not set up (TLS certificate, TRACKING off)
	CodeAlreadySSLMode       Code = "ALREADY-SSL-MODE"       // STARTTLS sent twice
	CodeDriverNotConnected   Code = "DRIVER-NOT-CONNECTED"   // upsd has no driver for the UPS
	CodeDataStale            Code = "DATA-STALE"             // the driver has stopped updating
	CodeAlreadyLoggedIn      Code = "ALREADY-LOGGED-IN"      // LOGIN sent twice on one connection
	CodeInvalidPassword      Code = "INVALID-PASSWORD"       // malformed password
	CodeAlreadySetPassword   Code = "ALREADY-SET-PASSWORD"   // PASSWORD sent twice
	CodeInvalidUsername      Code = "INVALID-USERNAME"       // malformed user name
	CodeAlreadySetUsername   Code = "ALREADY-SET-USERNAME"   // USERNAME sent twice
	CodeUsernameRequired     Code = "USERNAME-REQUIRED"      // the command needs a login
	CodePasswordRequired     Code = "PASSWORD-REQUIRED"      // the command needs a password
	CodeUnknownCommand       Code = "UNKNOWN-COMMAND"        // upsd does not know the verb
	CodeInvalidValue         Code = "INVALID-VALUE"          // outside the variable's ENUM or RANGE
	CodeVarUnknown           Code = "VAR-UNKNOWN"            // no such variable name
	CodeUnknownType          Code = "UNKNOWN-TYPE"           // the variable's type is unknown
	CodeUnknownInstCmd       Code = "UNKNOWN-INSTCMD"        // no such instant command name
	CodeMissingArgument      Code = "MISSING-ARGUMENT"       // an argument is missing
	CodeTrackingUnknown      Code = "UNKNOWN"                // GET TRACKING: unknown ID, or the driver did not know the command
	CodeTrackingFailed       Code = "FAILED"                 // GET TRACKING: the driver could not execute it
)

// Codes the client sets itself; upsd never sends them.
const (
	CodeProtocol Code = "protocol"  // a reply the client cannot understand
	CodeTooLarge Code = "too large" // a reply line or list longer than the client's cap
	CodeClosed   Code = "closed"    // the client is closed, or a NewClient connection is gone
	CodeNotReady Code = "not ready" // a Monitor check failed: the shutdown could not be carried out (the cause is in Err)
)

// server reports whether upsd sent the code (client codes are lower case).
func (c Code) server() bool { return c != "" && c[0] >= 'A' && c[0] <= 'Z' }

// Error is every error the package returns: an "ERR <CODE> [message]" reply
// of upsd, or a failure the client detected (then Code is one of the client
// codes, or empty with the cause in Err). It matches the class sentinels,
// and the few specific ones, with errors.Is; errors.As gives the details.
type Error struct {
	Op      string // what the client was doing, e.g. "get var dummy ups.status"
	Code    Code   // NUT error code, e.g. CodeUnknownUPS; a client code or empty for client-side failures
	Message string // extra words after the code, or a client-side explanation
	Err     error  // the cause (a network error, a sentinel), if any
	local   bool   // a server code set by the client without asking upsd
}

// Error returns "ups: <op>: server said <CODE> [message]" for a reply of
// upsd, and "ups: <op>: <message>: <cause>" otherwise.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("ups: ")
	if e.Op != "" {
		b.WriteString(e.Op)
		b.WriteString(": ")
	}
	server := e.Code.server() && !e.local
	if server {
		b.WriteString("server said ")
		b.WriteString(string(e.Code))
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

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Is reports whether target is the sentinel for e's code or for its class.
func (e *Error) Is(target error) bool {
	if target == nil {
		return false
	}
	var inner *Error
	if e.Code == "" && errors.As(e.Err, &inner) {
		return false // the wrapped *Error has the class
	}
	specific, class := sentinels(e.Code)
	return target == specific || target == class
}

// The class sentinels, the same in every package of the SDK. Each matches
// the codes listed.
var (
	// ErrNotFound: UNKNOWN-UPS, VAR-NOT-SUPPORTED, CMD-NOT-SUPPORTED,
	// VAR-UNKNOWN, UNKNOWN-INSTCMD and the tracking answer UNKNOWN.
	ErrNotFound = errors.New("not found")
	// ErrAuth: USERNAME-REQUIRED, PASSWORD-REQUIRED, INVALID-USERNAME and
	// INVALID-PASSWORD. A wrong password is not ErrAuth: upsd accepts any
	// password and answers ACCESS-DENIED (ErrPermission) when it is used.
	ErrAuth = errors.New("authentication failed")
	// ErrPermission: ACCESS-DENIED and READONLY.
	ErrPermission = errors.New("permission denied")
	// ErrConflict: ALREADY-LOGGED-IN, ALREADY-SET-USERNAME,
	// ALREADY-SET-PASSWORD and ALREADY-SSL-MODE.
	ErrConflict = errors.New("conflict")
	// ErrInvalid: INVALID-ARGUMENT, INVALID-VALUE, TOO-LONG, MISSING-ARGUMENT,
	// UNKNOWN-TYPE, UNKNOWN-COMMAND, and arguments the client refuses before
	// sending (a line break in a value).
	ErrInvalid = errors.New("invalid request")
	// ErrUnavailable: upsd is reachable but cannot serve: DATA-STALE and
	// DRIVER-NOT-CONNECTED (no current data from the UPS; the policy counts
	// it as comm loss), INSTCMD-FAILED, SET-FAILED, the tracking answer
	// FAILED, FEATURE-NOT-SUPPORTED and FEATURE-NOT-CONFIGURED, a reply the
	// client cannot understand, one longer than its caps (CodeTooLarge),
	// and a network failure under the call (Code empty, the cause in Err).
	ErrUnavailable = errors.New("unavailable")
	// ErrClosed: a call on a closed client, or on a NewClient client whose
	// connection is gone.
	ErrClosed = errors.New("closed")
)

// The specific sentinels a user acts on. Each also matches its class.
var (
	// ErrUnknownUPS: the UPS name is not in upsd's ups.conf (UNKNOWN-UPS;
	// also ErrNotFound). Check the name@host the program was given.
	ErrUnknownUPS = errors.New("unknown ups")
	// ErrDataStale: the driver has stopped updating (DATA-STALE; also
	// ErrUnavailable).
	ErrDataStale = errors.New("data stale")
	// ErrDriverNotConnected: upsd has no driver for the UPS
	// (DRIVER-NOT-CONNECTED; also ErrUnavailable).
	ErrDriverNotConnected = errors.New("driver not connected")
	// ErrAccessDenied: the user may not do this, or the password is wrong:
	// upsd only checks it here (ACCESS-DENIED; also ErrPermission).
	ErrAccessDenied = errors.New("access denied")
	// ErrTooLarge: a reply line or a list was longer than the client's cap
	// (WithMaxLineLength, WithMaxListItems); also ErrUnavailable.
	ErrTooLarge = errors.New("reply too large")
)

// FingerprintMismatchError is the cause of a STARTTLS handshake that failed
// because the server's certificate does not match WithFingerprint; errors.As
// reaches it, and its Got is the fingerprint the server presented.
type FingerprintMismatchError = tlspin.MismatchError

func sentinels(code Code) (specific, class error) {
	switch code {
	case CodeAccessDenied:
		return ErrAccessDenied, ErrPermission
	case CodeReadOnly:
		return nil, ErrPermission
	case CodeUnknownUPS:
		return ErrUnknownUPS, ErrNotFound
	case CodeVarNotSupported, CodeCmdNotSupported, CodeVarUnknown, CodeUnknownInstCmd, CodeTrackingUnknown:
		return nil, ErrNotFound
	case CodeInvalidArgument, CodeInvalidValue, CodeTooLong, CodeMissingArgument, CodeUnknownType, CodeUnknownCommand:
		return nil, ErrInvalid
	case CodeDriverNotConnected:
		return ErrDriverNotConnected, ErrUnavailable
	case CodeDataStale:
		return ErrDataStale, ErrUnavailable
	case CodeInstCmdFailed, CodeSetFailed, CodeTrackingFailed, CodeFeatureNotSupported, CodeFeatureNotConfigured, CodeProtocol:
		return nil, ErrUnavailable
	case CodeTooLarge:
		return ErrTooLarge, ErrUnavailable
	case CodeAlreadySSLMode, CodeAlreadyLoggedIn, CodeAlreadySetPassword, CodeAlreadySetUsername:
		return nil, ErrConflict
	case CodeInvalidPassword, CodeInvalidUsername, CodeUsernameRequired, CodePasswordRequired:
		return nil, ErrAuth
	case CodeClosed:
		return nil, ErrClosed
	case "":
		// The network failed under the call (refused, reset, cut short,
		// TLS handshake): upsd could not be reached.
		return nil, ErrUnavailable
	}
	return nil, nil
}

// isServerErr reports whether err is an ERR reply: the connection is still in
// sync after it.
func isServerErr(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Code.server() && !e.local
}

// invalid is a request the client refuses before sending anything.
func invalid(op, msg string) error {
	return &Error{Op: op, Code: CodeInvalidArgument, local: true, Message: msg}
}

// hasCode reports whether err is an *Error with code.
func hasCode(err error, code Code) bool {
	var e *Error
	return errors.As(err, &e) && e.Code == code
}
