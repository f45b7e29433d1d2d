package workflow

import (
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
