package poll

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDelayGrowsAndCaps(t *testing.T) {
	t.Parallel()
	b := Backoff{Initial: 100 * time.Millisecond, Max: time.Second, Factor: 2, Jitter: -1}
	want := []time.Duration{100, 200, 400, 800, 1000, 1000}
	for i, w := range want {
		assert.Equal(t, w*time.Millisecond, b.Delay(i), "attempt %d", i)
	}
	assert.Equal(t, time.Second, Backoff{}.norm().Initial)
}

func TestDelayJitterBounded(t *testing.T) {
	t.Parallel()
	b := Backoff{Initial: time.Second, Max: time.Second, Jitter: 0.2}
	for range 1000 {
		d := b.Delay(3)
		assert.GreaterOrEqual(t, d, 800*time.Millisecond)
		assert.LessOrEqual(t, d, 1200*time.Millisecond)
	}
}

func TestUntilDoneAfterAttempts(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		calls := 0
		start := time.Now()
		err := Until(t.Context(), Backoff{Initial: time.Second, Max: 4 * time.Second, Jitter: -1}, func(context.Context) (bool, error) {
			calls++
			return calls == 4, nil
		})
		require.NoError(t, err)
		assert.Equal(t, 4, calls)
		// 1 + 2 + 4 seconds of fake time between the four looks.
		assert.Equal(t, 7*time.Second, time.Since(start))
	})
}

func TestUntilStopsOnError(t *testing.T) {
	t.Parallel()
	boom := errors.New("task failed")
	err := Until(t.Context(), Backoff{Initial: time.Millisecond}, func(context.Context) (bool, error) { return false, boom })
	assert.ErrorIs(t, err, boom)
}

func TestWaitHonoursContext(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		defer cancel()
		calls := 0
		start := time.Now()
		err := Wait(ctx, time.Second, func(context.Context) (bool, error) { calls++; return false, nil })
		assert.ErrorIs(t, err, context.DeadlineExceeded)
		assert.Equal(t, 10*time.Second, time.Since(start), "returns as soon as the deadline passes")
		assert.Greater(t, calls, 3)
	})
}

func TestSleep(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		go func() { time.Sleep(time.Second); cancel() }()
		start := time.Now()
		assert.ErrorIs(t, Sleep(ctx, time.Hour), context.Canceled)
		assert.Equal(t, time.Second, time.Since(start))
		assert.NoError(t, Sleep(t.Context(), 0))
	})
}
