package routeros

import (
	"errors"
	"strconv"
	"strings"
)

// Sentinels matched with errors.Is against an *Error.
var (
	// ErrNotFound: the router has no such item (trap "no such item",
	// category 0) or a typed lookup found nothing.
	ErrNotFound = errors.New("not found")
	// ErrUnknownCommand: the router does not know the command or menu.
	ErrUnknownCommand = errors.New("unknown command")
	// ErrBadValue: an argument was refused (trap category 1).
	ErrBadValue = errors.New("bad value")
	// ErrConflict: the item already exists.
	ErrConflict = errors.New("already exists")
	// ErrInterrupted: the command was cancelled (trap category 2).
	ErrInterrupted = errors.New("interrupted")
	// ErrAuth: login was refused.
	ErrAuth = errors.New("authentication failed")
	// ErrPermission: the user's policy does not allow the command.
	ErrPermission = errors.New("permission denied")
	// ErrFatal: the router sent !fatal and closed the connection.
	ErrFatal = errors.New("fatal")
	// ErrConnection: the connection broke (I/O error, malformed or
	// oversized reply, !fatal, or the context ended in the middle of an
	// exchange — that error also matches the context's). The client
	// closes it; a client made by
	// Dial redials on the next call, and repeats a read-only call once
	// when a connection that had been used before turns out dead. For a
	// write the outcome is unknown: read back before retrying.
	ErrConnection = errors.New("connection broken")
	// ErrClosed: the client was closed.
	ErrClosed = errors.New("client closed")
)

// Error is the error type of this package: a !trap (Category, Message), a
// !fatal, a login refusal or a broken connection, with the operation and
// command it happened in. Match the kind with errors.Is and the sentinels.
type Error struct {
	Op       string // what the SDK was doing, e.g. "add wireguard peer"
	Command  string // API command word, e.g. "/interface/wireguard/peers/add"
	Category int    // !trap category; -1 when the router sent none
	Message  string // the router's message
	Err      error  // underlying cause (I/O error, context error), if any

	kinds []error
}

// Error implements error. Secrets never appear: only the operation, the
// command word and the router's message are printed.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("routeros: ")
	b.WriteString(e.Op)
	if e.Command != "" {
		b.WriteString(" (")
		b.WriteString(e.Command)
		b.WriteString(")")
	}
	b.WriteString(": ")
	switch {
	case e.Message != "" && e.Category >= 0:
		b.WriteString("trap category " + strconv.Itoa(e.Category) + ": " + e.Message)
	case e.Message != "":
		b.WriteString(e.Message)
	case len(e.kinds) > 0 && e.Err == nil:
		b.WriteString(e.kinds[0].Error())
	}
	if e.Err != nil {
		if e.Message != "" {
			b.WriteString(": ")
		}
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

// Unwrap returns the sentinels this error matches and its cause.
func (e *Error) Unwrap() []error {
	out := append([]error(nil), e.kinds...)
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
		return []error{ErrBadValue}
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
	return &Error{Op: op, Command: cmd, Category: cat, Message: msg, kinds: trapKinds(cat, msg)}
}

func connError(op, cmd string, err error) *Error {
	return &Error{Op: op, Command: cmd, Category: -1, Err: err, kinds: []error{ErrConnection}}
}

func notFound(op, format string) *Error {
	return &Error{Op: op, Category: -1, Message: format, kinds: []error{ErrNotFound}}
}
