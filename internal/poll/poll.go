// Package poll waits for work a device runs in the background, with a timer
// and select (never time.Sleep), exponential backoff and jitter, stopping at
// once when the context ends.
package poll

import (
	"context"
	"math/rand/v2"
	"time"
)

// Backoff describes the delays between attempts. The zero value means one
// second, doubling, capped at 30 s, with 10 % jitter.
type Backoff struct {
	Initial time.Duration // first delay; default 1 s
	Max     time.Duration // cap; default 30 s (never below Initial)
	Factor  float64       // growth per attempt; default 2 (values < 1 mean 1)
	Jitter  float64       // ± fraction of each delay; default 0.1, negative means none
}

func (b Backoff) norm() Backoff {
	if b.Initial <= 0 {
		b.Initial = time.Second
	}
	if b.Max <= 0 {
		b.Max = 30 * time.Second
	}
	if b.Max < b.Initial {
		b.Max = b.Initial
	}
	if b.Factor == 0 {
		b.Factor = 2
	}
	if b.Factor < 1 {
		b.Factor = 1
	}
	if b.Jitter == 0 {
		b.Jitter = 0.1
	}
	if b.Jitter < 0 {
		b.Jitter = 0
	}
	if b.Jitter > 1 {
		b.Jitter = 1
	}
	return b
}

// Delay returns the wait before retry number attempt (0-based): Initial ×
// Factor^attempt, capped at Max, then spread by ±Jitter.
func (b Backoff) Delay(attempt int) time.Duration {
	b = b.norm()
	d := float64(b.Initial)
	for i := 0; i < attempt && d < float64(b.Max); i++ {
		d *= b.Factor
	}
	if d > float64(b.Max) {
		d = float64(b.Max)
	}
	if b.Jitter > 0 {
		d *= 1 + b.Jitter*(2*rand.Float64()-1)
	}
	if d < 1 {
		d = 1
	}
	return time.Duration(d)
}

// Sleep waits d or until ctx ends, whichever is first, and returns ctx.Err()
// in the second case.
func Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Check is one look at the background work: done reports it finished; a
// non-nil error stops the wait and is returned as is.
type Check func(ctx context.Context) (done bool, err error)

// Until calls check at once and then after each backoff delay until it
// reports done or fails, or ctx ends (then ctx.Err() is returned).
func Until(ctx context.Context, b Backoff, check Check) error {
	for attempt := 0; ; attempt++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		done, err := check(ctx)
		if err != nil {
			return err
		}
		if done {
			return nil
		}
		if err := Sleep(ctx, b.Delay(attempt)); err != nil {
			return err
		}
	}
}

// Wait polls check every interval at first, backing off up to eight times
// the interval: the common shape for device tasks that usually finish fast
// but sometimes take minutes.
func Wait(ctx context.Context, interval time.Duration, check Check) error {
	if interval <= 0 {
		interval = time.Second
	}
	return Until(ctx, Backoff{Initial: interval, Max: 8 * interval, Factor: 1.5}, check)
}
