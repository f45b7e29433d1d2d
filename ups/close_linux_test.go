package ups_test

import (
	"context"
	"net"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/thehomelab/homelab/ups"
)

// fullBacklog listens on 127.0.0.1 with an accept queue of one and never
// accepts: once the queue is full, a new dial hangs in SYN retransmits, like
// a dial to a host that has gone away.
func fullBacklog(t *testing.T) (addr string, fill func()) {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, 0)
	require.NoError(t, err)
	t.Cleanup(func() { _ = syscall.Close(fd) })
	require.NoError(t, syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}))
	require.NoError(t, syscall.Listen(fd, 0))
	sa, err := syscall.Getsockname(fd)
	require.NoError(t, err)
	addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(sa.(*syscall.SockaddrInet4).Port))
	fill = func() {
		for range 8 {
			c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
			if err != nil {
				return // the queue is full
			}
			t.Cleanup(func() { _ = c.Close() })
		}
		t.Skip("the kernel kept accepting connections into a backlog of 0")
	}
	return addr, fill
}

func TestCloseInterruptsARedial(t *testing.T) {
	t.Parallel()
	addr, fill := fullBacklog(t)
	c, err := ups.Dial(t.Context(), addr, ups.WithKeepAlive(0), ups.WithTimeout(time.Minute))
	require.NoError(t, err, "nothing to set up: the queued connection is enough")
	// The server never answers: the first call times out and drops the
	// connection; the next call has to redial, and that dial hangs.
	short, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	_, err = c.ProtocolVersion(short)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	fill()
	done := make(chan error, 1)
	go func() { _, err := c.ProtocolVersion(context.Background()); done <- err }()
	timer := time.NewTimer(300 * time.Millisecond) // let the call reach the dial
	<-timer.C
	start := time.Now()
	closed := make(chan struct{})
	go func() { _ = c.Close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		t.Fatal("Close waited for a hanging dial")
	}
	assert.Less(t, time.Since(start), 2*time.Second)
	select {
	case err := <-done:
		assert.ErrorIs(t, err, ups.ErrClosed)
	case <-time.After(5 * time.Second):
		t.Fatal("the call did not end with Close")
	}
}
