package httpx

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestExplainSeesTheFinalOutcome(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusTeapot)
	}))
	t.Cleanup(srv.Close)
	calls := 0
	explained := errors.New("explained")
	tr := &Transport{Attempts: 1, Explain: func(_ *http.Request, resp *http.Response, err error) (*http.Response, error) {
		calls++
		if resp != nil {
			_ = resp.Body.Close()
		}
		return nil, explained
	}}
	hc := &http.Client{Transport: tr}
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL, nil)
	require.NoError(t, err)
	_, err = hc.Do(req)
	require.ErrorIs(t, err, explained)
	assert.Equal(t, 1, calls)

	// a request whose ctx ended returns the ctx error unexplained
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	req, err = http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
	require.NoError(t, err)
	_, err = hc.Do(req)
	require.ErrorIs(t, err, context.Canceled)
	assert.Equal(t, 1, calls)
}
