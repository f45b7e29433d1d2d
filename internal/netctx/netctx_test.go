package netctx

import (
	"context"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func pipe(t *testing.T) (net.Conn, net.Conn) {
	t.Helper()
	a, b := net.Pipe()
	t.Cleanup(func() { _ = a.Close(); _ = b.Close() })
	return a, b
}

func TestDeadlineReachesRead(t *testing.T) {
	t.Parallel()
	a, _ := pipe(t)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := Do(ctx, a, func() error {
		_, err := a.Read(make([]byte, 1))
		return err
	})
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Less(t, time.Since(start), 5*time.Second)
}

func TestCancelUnblocksRead(t *testing.T) {
	t.Parallel()
	a, _ := pipe(t)
	ctx, cancel := context.WithCancel(t.Context())
	time.AfterFunc(20*time.Millisecond, cancel)
	err := Do(ctx, a, func() error {
		_, err := a.Read(make([]byte, 1))
		return err
	})
	assert.ErrorIs(t, err, context.Canceled)
}

func TestAlreadyDone(t *testing.T) {
	t.Parallel()
	a, _ := pipe(t)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	called := false
	err := Do(ctx, a, func() error { called = true; return nil })
	assert.ErrorIs(t, err, context.Canceled)
	assert.False(t, called)
}

func TestSuccessClearsDeadline(t *testing.T) {
	t.Parallel()
	a, b := pipe(t)
	go func() { _, _ = b.Write([]byte("x")); _, _ = b.Write([]byte("y")) }()
	ctx, cancel := context.WithTimeout(t.Context(), time.Second)
	defer cancel()
	require.NoError(t, Do(ctx, a, func() error {
		_, err := io.ReadFull(a, make([]byte, 1))
		return err
	}))
	cancel()
	// The deadline was cleared, so a later read without Do still works.
	_, err := io.ReadFull(a, make([]byte, 1))
	assert.NoError(t, err)
}

func TestIOErrorPassesThrough(t *testing.T) {
	t.Parallel()
	a, b := pipe(t)
	_ = b.Close()
	err := Do(t.Context(), a, func() error {
		_, err := a.Read(make([]byte, 1))
		return err
	})
	require.Error(t, err)
	assert.True(t, errors.Is(err, io.ErrClosedPipe), "got %v", err)
	assert.NotErrorIs(t, err, context.Canceled)
}
