package fakeserver

import (
	"crypto/tls"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestFaultsCountUses(t *testing.T) {
	t.Parallel()
	var q Faults[string]
	q.Add("once", 1)
	q.Add("always", 0)
	any := func(string) bool { return true }
	f, ok := q.Take(any)
	require.True(t, ok)
	assert.Equal(t, "once", f)
	for range 3 {
		f, ok = q.Take(any)
		require.True(t, ok)
		assert.Equal(t, "always", f)
	}
	q.Clear()
	_, ok = q.Take(any)
	assert.False(t, ok)
}

func TestLogAndLatency(t *testing.T) {
	t.Parallel()
	var l Log[int]
	l.Add(1)
	l.Add(2)
	all := l.All()
	all[0] = 9
	assert.Equal(t, []int{1, 2}, l.All(), "All returns a copy")
	var lat Latency
	lat.Set(time.Millisecond)
	start := time.Now()
	lat.Wait(t.Context())
	assert.GreaterOrEqual(t, time.Since(start), time.Millisecond)
}

func TestNewHTTPPinnedTLS(t *testing.T) {
	t.Parallel()
	srv, fp, err := NewHTTP(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}), true)
	require.NoError(t, err)
	defer srv.Close()
	var seen string
	tr := &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true, VerifyConnection: func(cs tls.ConnectionState) error {
		seen = Fingerprint(cs.PeerCertificates[0].Raw)
		return nil
	}}}
	resp, err := (&http.Client{Transport: tr}).Get(srv.URL)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, fp, seen)
}
