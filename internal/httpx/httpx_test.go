package httpx

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/thehomelab/homelab/internal/poll"
)

// fast keeps retries quick in tests.
var fast = poll.Backoff{Initial: time.Millisecond, Max: 2 * time.Millisecond}

func client(tr *Transport) *http.Client { return &http.Client{Transport: tr} }

func statusServer(t *testing.T, codes ...int) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		i := int(n.Add(1)) - 1
		_, _ = io.Copy(io.Discard, r.Body)
		code := codes[len(codes)-1]
		if i < len(codes) {
			code = codes[i]
		}
		w.WriteHeader(code)
		_, _ = w.Write([]byte(r.UserAgent()))
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

func TestUserAgent(t *testing.T) {
	t.Parallel()
	srv, _ := statusServer(t, 200)
	resp, err := client(&Transport{}).Get(srv.URL)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	assert.True(t, strings.HasPrefix(string(b), "homelab/"), string(b))
}

func TestRetriesIdempotentOnGatewayErrors(t *testing.T) {
	t.Parallel()
	for _, code := range []int{502, 503, 504, 429} {
		srv, n := statusServer(t, code, code, 200)
		for _, m := range []string{"GET", "PUT", "DELETE", "HEAD"} {
			n.Store(0)
			req, _ := http.NewRequestWithContext(t.Context(), m, srv.URL, strings.NewReader("body"))
			resp, err := client(&Transport{Backoff: fast}).Do(req)
			require.NoError(t, err)
			resp.Body.Close()
			assert.Equal(t, 200, resp.StatusCode, "%s %d", m, code)
			assert.EqualValues(t, 3, n.Load(), "%s %d", m, code)
		}
	}
}

func TestNoRetryForPostPatchUnlessMarked(t *testing.T) {
	t.Parallel()
	for _, m := range []string{"POST", "PATCH"} {
		srv, n := statusServer(t, 503, 200)
		req, _ := http.NewRequestWithContext(t.Context(), m, srv.URL, strings.NewReader("x"))
		resp, err := client(&Transport{Backoff: fast}).Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, 503, resp.StatusCode)
		assert.EqualValues(t, 1, n.Load())

		n.Store(0)
		req, _ = http.NewRequestWithContext(Retryable(t.Context()), m, srv.URL, strings.NewReader("x"))
		resp, err = client(&Transport{Backoff: fast}).Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, 200, resp.StatusCode)
		assert.EqualValues(t, 2, n.Load())
	}
}

func TestNoRetryOnClientErrorsAnd500(t *testing.T) {
	t.Parallel()
	for _, code := range []int{400, 401, 404, 500} {
		srv, n := statusServer(t, code, 200)
		resp, err := client(&Transport{Backoff: fast}).Get(srv.URL)
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, code, resp.StatusCode)
		assert.EqualValues(t, 1, n.Load())
	}
}

func TestGivesUpAfterAttempts(t *testing.T) {
	t.Parallel()
	srv, n := statusServer(t, 503)
	resp, err := client(&Transport{Backoff: fast, Attempts: 3}).Get(srv.URL)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, 503, resp.StatusCode)
	assert.EqualValues(t, 3, n.Load())
}

func TestBodyReplayedOnRetry(t *testing.T) {
	t.Parallel()
	var bodies []string
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		bodies = append(bodies, string(b))
		if n.Add(1) == 1 {
			w.WriteHeader(503)
		}
	}))
	defer srv.Close()
	req, _ := http.NewRequestWithContext(t.Context(), "PUT", srv.URL, bytes.NewReader([]byte("payload")))
	resp, err := client(&Transport{Backoff: fast}).Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, []string{"payload", "payload"}, bodies)
}

func TestRetryAfterHonoured(t *testing.T) {
	t.Parallel()
	var n atomic.Int32
	var gap time.Duration
	var first time.Time
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) == 1 {
			first = time.Now()
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(429)
			return
		}
		gap = time.Since(first)
	}))
	defer srv.Close()
	resp, err := client(&Transport{Backoff: fast}).Get(srv.URL)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, 200, resp.StatusCode)
	assert.GreaterOrEqual(t, gap, 900*time.Millisecond, "waited the server's Retry-After, not the 1 ms backoff")
}

func TestLongRetryAfterReturnedToCaller(t *testing.T) {
	t.Parallel()
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		w.Header().Set("Retry-After", "3600")
		w.WriteHeader(429)
	}))
	defer srv.Close()
	resp, err := client(&Transport{Backoff: fast}).Get(srv.URL)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, 429, resp.StatusCode)
	assert.Equal(t, "3600", resp.Header.Get("Retry-After"))
	assert.EqualValues(t, 1, n.Load())
}

func TestContextEndsRetryAtOnce(t *testing.T) {
	t.Parallel()
	srv, _ := statusServer(t, 503)
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL, nil)
	start := time.Now()
	_, err := client(&Transport{Backoff: poll.Backoff{Initial: time.Hour, Max: time.Hour}}).Do(req)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Less(t, time.Since(start), 5*time.Second)
}

func TestRetriesConnectionErrors(t *testing.T) {
	t.Parallel()
	// A listener that drops the first connection without answering.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	var n atomic.Int32
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("ok")) }),
		ConnState: func(c net.Conn, s http.ConnState) {
			if s == http.StateNew && n.Add(1) == 1 {
				_ = c.Close()
			}
		}}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	resp, err := client(&Transport{Backoff: fast}).Get("http://" + ln.Addr().String())
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, 200, resp.StatusCode)
	assert.GreaterOrEqual(t, n.Load(), int32(2))
}

func TestRefusedConnectionFailsAfterAttempts(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	_ = ln.Close()
	_, err = client(&Transport{Backoff: fast, Attempts: 2}).Get("http://" + addr)
	require.Error(t, err)
}

func TestLogOneLineNoSecrets(t *testing.T) {
	t.Parallel()
	srv, _ := statusServer(t, 200)
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	req, _ := http.NewRequestWithContext(t.Context(), "GET", srv.URL+"/api/x?name=nas&password=hunter2&api_token=abc", nil)
	req.Header.Set("Authorization", "Bearer topsecret")
	resp, err := client(&Transport{Logger: log}).Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	out := buf.String()
	assert.Equal(t, 1, strings.Count(out, "\n"), out)
	assert.Contains(t, out, "method=GET")
	assert.Contains(t, out, "/api/x")
	assert.Contains(t, out, "status=200")
	assert.Contains(t, out, "duration=")
	assert.Contains(t, out, "name=nas")
	for _, s := range []string{"hunter2", "abc", "topsecret", "Bearer"} {
		assert.NotContains(t, out, s)
	}
}

func TestRetryAfterParse(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	h := http.Header{}
	h.Set("Retry-After", "7")
	d, ok := RetryAfter(h, now)
	assert.True(t, ok)
	assert.Equal(t, 7*time.Second, d)
	h.Set("Retry-After", now.Add(90*time.Second).Format(http.TimeFormat))
	d, ok = RetryAfter(h, now)
	assert.True(t, ok)
	assert.Equal(t, 90*time.Second, d)
	for _, bad := range []string{"", "soon", "-3"} {
		h.Set("Retry-After", bad)
		_, ok = RetryAfter(h, now)
		assert.False(t, ok, bad)
	}
}

func TestRedactURL(t *testing.T) {
	t.Parallel()
	u, _ := url.Parse("https://root:pw@host/a/b?vmid=101&password=x&Token=y&CSRFPreventionToken=z")
	got := RedactURL(u)
	assert.NotContains(t, got, "pw")
	assert.NotContains(t, got, "=x")
	assert.NotContains(t, got, "=y")
	assert.NotContains(t, got, "=z")
	assert.Contains(t, got, "vmid=101")
	assert.True(t, strings.HasPrefix(got, "/a/b?"))
}
