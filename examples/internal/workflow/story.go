package workflow

import (
	"errors"
	"fmt"
	"io"
)

// Title starts a workflow's part of the story.
func Title(w io.Writer, format string, args ...any) {
	fmt.Fprintf(w, "\n== "+format+"\n", args...)
}

// say prints one indented line of the story. Write errors are ignored: the
// story is a report, and the workflow's outcome is its error.
func say(w io.Writer, format string, args ...any) {
	fmt.Fprintf(w, "   "+format+"\n", args...)
}

// ErrProblem is matched by every error that reports a problem a check found
// (a leak, an unhealthy NAS, drift), as opposed to a check that could not
// run. The programs exit with status 1 for it.
var ErrProblem = errors.New("problem found")

// problem is an error that a check found something wrong; it matches
// ErrProblem.
type problem struct{ msg string }

func (p problem) Error() string        { return p.msg }
func (p problem) Is(target error) bool { return target == ErrProblem }
