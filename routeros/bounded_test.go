package routeros

import (
	"bufio"
	"context"
	"net"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/thehomelab/homelab/routeros/routerostest"
)

// endlessRouter logs anyone in and answers the next command with a reply
// that never ends: one sentence of endless words ("words"), or endless !re
// sentences ("sentences"), or endless one-byte words ("tiny"). It returns
// the address to dial.
func endlessRouter(tb testing.TB, mode string) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(tb, err)
	tb.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go serveEndless(conn, mode)
		}
	}()
	return ln.Addr().String()
}

func serveEndless(conn net.Conn, mode string) {
	defer conn.Close()
	br := bufio.NewReader(conn)
	login, err := routerostest.ReadSentence(br, 1<<16)
	if err != nil {
		return
	}
	if _, err := conn.Write(routerostest.AppendSentence(nil, "!done", tagOf(login))); err != nil {
		return
	}
	cmd, err := routerostest.ReadSentence(br, 1<<16)
	if err != nil {
		return
	}
	tag := tagOf(cmd)
	var chunk []byte
	switch mode {
	case "words":
		if _, err := conn.Write(routerostest.AppendLength(nil, 3)); err != nil {
			return
		}
		_, _ = conn.Write([]byte("!re"))
		w := "=data=" + strings.Repeat("x", 1000)
		for range 64 {
			chunk = append(routerostest.AppendLength(chunk, len(w)), w...)
		}
	case "tiny":
		_, _ = conn.Write(append(routerostest.AppendLength(nil, 3), "!re"...))
		for range 4096 {
			chunk = append(chunk, 1, '=')
		}
	default:
		for range 256 {
			chunk = routerostest.AppendSentence(chunk, "!re", "=a=b", tag)
		}
	}
	for {
		if _, err := conn.Write(chunk); err != nil {
			return
		}
	}
}

func tagOf(words []string) string {
	for _, w := range words {
		if strings.HasPrefix(w, ".tag=") {
			return w
		}
	}
	return ".tag=none"
}

// TestEndlessReplyIsCapped: a peer that never ends its reply costs a typed
// error and a bounded amount of memory, well before the timeout.
func TestEndlessReplyIsCapped(t *testing.T) {
	t.Parallel()
	for _, mode := range []string{"words", "sentences", "tiny"} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			addr := endlessRouter(t, mode)
			c, err := Dial(t.Context(), addr, creds, WithMaxSentenceSize(1<<20), WithMaxReplySize(4<<20))
			require.NoError(t, err)
			defer c.Close()
			start := time.Now()
			_, err = c.Run(t.Context(), "/ip/firewall/address-list/print")
			require.ErrorIs(t, err, ErrTooLarge)
			assert.ErrorIs(t, err, ErrConnection)
			assert.Contains(t, err.Error(), "exceeds the")
			assert.Less(t, time.Since(start), 10*time.Second, "stopped by the cap, not by the timeout")
		})
	}
}

// BenchmarkEndlessReply reads a reply that never ends until the reply cap
// (4 MiB here) stops it: B/op stays near the cap whatever the peer sends.
// The naive reader it replaces kept every sentence until the timeout.
func BenchmarkEndlessReply(b *testing.B) {
	for _, mode := range []string{"words", "sentences", "tiny"} {
		b.Run(mode, func(b *testing.B) {
			addr := endlessRouter(b, mode)
			b.ReportAllocs()
			var peak uint64
			for b.Loop() {
				c, err := Dial(context.Background(), addr, creds, WithMaxReplySize(4<<20))
				if err != nil {
					b.Fatal(err)
				}
				if _, err := c.Run(context.Background(), "/ip/firewall/address-list/print"); err == nil {
					b.Fatal("an endless reply ended")
				}
				var ms runtime.MemStats
				runtime.ReadMemStats(&ms)
				peak = max(peak, ms.HeapInuse)
				_ = c.Close()
			}
			b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
		})
	}
}
