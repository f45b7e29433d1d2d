// Package netctx makes a context's deadline and cancellation reach a
// net.Conn, for socket protocols whose libraries ignore contexts.
package netctx

import (
	"context"
	"errors"
	"net"
	"time"
)

// past is a deadline in the past: setting it makes pending reads and writes
// on a conn return at once with a timeout error.
var past = time.Unix(1, 0)

// Do runs fn with conn's deadline set from ctx; if ctx is cancelled while fn
// runs, the conn's deadline is moved to the past so blocked I/O returns.
// When ctx ended during fn, Do returns ctx.Err() in place of fn's I/O error,
// so callers see context.Canceled or context.DeadlineExceeded rather than an
// opaque timeout. The deadline is cleared before Do returns.
//
// After Do returns a context error the conn may hold half a message:
// protocol clients should close it.
//
// The caller must serialize Do calls on one conn.
func Do(ctx context.Context, conn net.Conn, fn func() error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	dl, _ := ctx.Deadline()
	if err := conn.SetDeadline(dl); err != nil {
		return err
	}
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(past) })
	err := fn()
	if !stop() {
		// The AfterFunc ran or is running; ctx is done and the conn's
		// deadline has been poisoned. Report the context's error.
		if cerr := ctx.Err(); cerr != nil {
			return cerr
		}
	}
	if err != nil {
		if cerr := ctx.Err(); cerr != nil {
			return cerr
		}
		// The conn's deadline can fire a hair before the context's timer.
		var ne net.Error
		if !dl.IsZero() && errors.As(err, &ne) && ne.Timeout() && !time.Now().Before(dl) {
			return context.DeadlineExceeded
		}
		return err
	}
	_ = conn.SetDeadline(time.Time{})
	return nil
}
