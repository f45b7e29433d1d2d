package routeros

import (
	"errors"
	"slices"
	"strconv"
	"strings"

	"github.com/thehomelab/homelab/internal/tlspin"
)

// Class sentinels, the same in every package of the SDK: match them with
// errors.Is against any error this package returns.
var (
	// ErrNotFound: the router has no such item (trap "no such item",
	// category 0) or a typed lookup found nothing.
	ErrNotFound = errors.New("not found")
	// ErrAuth: login was refused.
	ErrAuth = errors.New("authentication failed")
	// ErrPermission: the user's policy does not allow the command.
	ErrPermission = errors.New("permission denied")
	// ErrConflict: the item already exists, or a name matches several.
	ErrConflict = errors.New("conflict")
	// ErrInvalid: an argument or option was refused (trap category 1, an
	// unknown command, a bad option).
	ErrInvalid = errors.New("invalid request")
	// ErrUnavailable: the router could not be reached or the connection
	// broke (every ErrConnection matches it).
	ErrUnavailable = errors.New("unavailable")
	// ErrClosed: the client or listener was closed.
	ErrClosed = errors.New("closed")
)

// Errors of this package a user acts on.
var (
	// ErrUnknownCommand: the router does not know the command or menu (an
	// older RouterOS). It also matches ErrInvalid.
	ErrUnknownCommand = errors.New("unknown command")
	// ErrInterrupted: the command was cancelled (trap category 2).
	ErrInterrupted = errors.New("interrupted")
	// ErrFatal: the router sent !fatal and closed the connection. It also
	// matches ErrConnection and ErrUnavailable.
	ErrFatal = errors.New("fatal")
	// ErrConnection: the connection broke (I/O error, malformed or
	// oversized reply, !fatal, or the context ended in the middle of an
	// exchange — that error also matches the context's). The client
	// closes it; a client made by Dial redials on the next call, and
	// repeats a read-only call once when a connection that had been used
	// before turns out dead. For a write the outcome is unknown: read back
	// before retrying. It also matches ErrUnavailable.
	ErrConnection = errors.New("connection broken")
	// ErrTooLarge: a word, a sentence or a whole reply from the router
	// went over its cap (WithMaxWordSize, WithMaxSentenceSize,
	// WithMaxReplySize); the connection was closed before memory grew.
	// It also matches ErrConnection.
	ErrTooLarge = errors.New("reply too large")
)

// FingerprintMismatchError is the error a pinned TLS handshake fails with
// when the router shows another certificate; errors.As reaches it and the
// fingerprint seen (Got).
type FingerprintMismatchError = tlspin.MismatchError

// Error is the error type of this package: a !trap (Code, Message), a
// !fatal, a login refusal, a refused option or a broken connection, with
// the operation and command it happened in. Match the class with errors.Is
// and the sentinels; reach the details with errors.As.
type Error struct {
	Op      string // what the SDK was doing, e.g. "add wireguard peer"
	Command string // API command word, e.g. "/interface/wireguard/peers/add"
	Code    int    // the !trap category (0 missing item, 1 bad argument, 2 interrupted…); -1 when the router sent none
	Message string // the router's message
	Err     error  // underlying cause (I/O error, context error), if any

	kinds []error
}

// Error implements error. Secrets never appear: only the operation, the
// command word and the router's message are printed.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("routeros: ")
	b.WriteString(e.Op)
	// Run names its operation after the command: say it once.
	if e.Command != "" && !strings.Contains(e.Op, e.Command) {
		b.WriteString(" (")
		b.WriteString(e.Command)
		b.WriteString(")")
	}
	b.WriteString(": ")
	switch {
	case e.Message != "" && e.Code >= 0:
		b.WriteString("trap category " + strconv.Itoa(e.Code) + ": " + e.Message)
	case e.Message != "":
		b.WriteString(e.Message)
	case len(e.kinds) > 0 && e.Err == nil:
		b.WriteString(e.kinds[0].Error())
	}
	if e.Err != nil {
		if e.Message != "" {
			b.WriteString(": ")
		}
		// A cause from a layer that already says "routeros: " (an
		// option refused by clientcfg) is not prefixed twice.
		b.WriteString(strings.TrimPrefix(e.Err.Error(), "routeros: "))
	}
	return b.String()
}

// Unwrap returns the sentinels this error matches, their classes and its
// cause.
func (e *Error) Unwrap() []error {
	out := append([]error(nil), e.kinds...)
	for _, k := range e.kinds {
		switch k {
		case ErrConnection:
			out = append(out, ErrUnavailable)
		case ErrFatal:
			out = append(out, ErrConnection, ErrUnavailable)
		case ErrTooLarge:
			if !slices.Contains(e.kinds, ErrConnection) {
				out = append(out, ErrConnection, ErrUnavailable)
			}
		case ErrUnknownCommand:
			out = append(out, ErrInvalid)
		}
	}
	if e.Err != nil {
		out = append(out, e.Err)
	}
	return out
}

// trapKinds classifies a !trap by category and message.
func trapKinds(category int, msg string) []error {
	m := strings.ToLower(msg)
	switch {
	case strings.Contains(m, "no such command"):
		return []error{ErrUnknownCommand}
	case strings.Contains(m, "no such item"), category == 0:
		return []error{ErrNotFound}
	case strings.Contains(m, "already have"), strings.Contains(m, "already exists"):
		return []error{ErrConflict}
	case strings.Contains(m, "not enough permissions"), strings.Contains(m, "permission"):
		return []error{ErrPermission}
	case category == 2:
		return []error{ErrInterrupted}
	case category == 1, strings.Contains(m, "invalid value"), strings.Contains(m, "unknown parameter"),
		strings.Contains(m, "input does not match"):
		return []error{ErrInvalid}
	}
	return nil
}

func trapError(op, cmd string, s *sentence) *Error {
	cat := -1
	if v, ok := s.attrs["category"]; ok {
		if n, err := strconv.Atoi(v); err == nil {
			cat = n
		}
	}
	msg := s.attrs["message"]
	return &Error{Op: op, Command: cmd, Code: cat, Message: msg, kinds: trapKinds(cat, msg)}
}

func connError(op, cmd string, err error) *Error {
	return &Error{Op: op, Command: cmd, Code: -1, Err: err, kinds: []error{ErrConnection}}
}

func notFound(op, format string) *Error {
	return &Error{Op: op, Code: -1, Message: format, kinds: []error{ErrNotFound}}
}

// invalid is a request the SDK refuses before sending it.
func invalid(op, msg string) *Error {
	return &Error{Op: op, Code: -1, Message: msg, kinds: []error{ErrInvalid}}
}
