package smb

import "errors"

// Class sentinels, named as in every package of the SDK, for the errors an
// audit can return (failed checks are findings in the Report, not errors).
var (
	// ErrUnavailable: the server could not be reached.
	ErrUnavailable = errors.New("unavailable")
	// ErrInvalid: the audit was asked for something it cannot do (no
	// address, no share, no owner).
	ErrInvalid = errors.New("invalid request")
)

// Error is the one error type of this package. Match it with errors.As
// for the details, or its class with errors.Is and the sentinels above.
type Error struct {
	// Op is what the audit did: "audit media on nas:445 as bob".
	Op string
	// Code is the NT status of an SMB error where one applies; 0 otherwise.
	Code uint32
	// Message says what went wrong.
	Message string
	// Err is the cause: a sentinel or a network error.
	Err error
}

// Error returns "smb: <op>: <message>".
func (e *Error) Error() string {
	s := "smb: "
	if e.Op != "" {
		s += e.Op + ": "
	}
	switch {
	case e.Message != "":
		return s + e.Message
	case e.Err != nil:
		return s + e.Err.Error()
	}
	return s + "failed"
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// classed is a cause that belongs to a class: errors.Is reaches both, the
// text is the cause's.
type classed struct{ class, cause error }

func (c classed) Error() string   { return c.cause.Error() }
func (c classed) Unwrap() []error { return []error{c.class, c.cause} }
