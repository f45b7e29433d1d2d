package fakeserver

import (
	"context"
	"crypto/tls"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
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

func TestFaultsAfterSkipsMatchingRequests(t *testing.T) {
	t.Parallel()
	type f struct {
		name string
		path string
	}
	var q Faults[f]
	q.AddAfter(f{"third /a", "/a"}, 2, 2)
	on := func(path string) func(f) bool { return func(x f) bool { return x.path == path } }
	var got []string
	for _, path := range []string{"/a", "/b", "/a", "/b", "/a", "/a", "/a"} {
		if hit, ok := q.Take(on(path)); ok {
			got = append(got, path+" "+hit.name)
		} else {
			got = append(got, path)
		}
	}
	// Only matching requests count: /b neither skips nor fires; the fault
	// fires on the third and fourth /a and is then gone.
	assert.Equal(t, []string{"/a", "/b", "/a", "/b", "/a third /a", "/a third /a", "/a"}, got)

	var neg Faults[string]
	neg.AddAfter("now", -3, 1)
	hit, ok := neg.Take(func(string) bool { return true })
	assert.True(t, ok, "a negative skip lets nothing pass")
	assert.Equal(t, "now", hit)
}

func TestFaultsAddedTogetherFireOnTheRequestEachNames(t *testing.T) {
	t.Parallel()
	var q Faults[string]
	any := func(string) bool { return true }
	q.AddAfter("first", 0, 1)
	q.AddAfter("second", 1, 1)
	q.AddAfter("also second", 1, 1)
	q.AddAfter("fourth", 3, 0)
	var got []string
	for range 6 {
		hit, ok := q.Take(any)
		if !ok {
			hit = "-"
		}
		got = append(got, hit)
	}
	// "second" counts the request "first" answers; "also second" is due
	// at the same time and fires on the next request; "fourth" then
	// fires every time.
	assert.Equal(t, []string{"first", "second", "also second", "fourth", "fourth", "fourth"}, got)
}

func TestFaultsTakeAsksNoFurtherThanTheHit(t *testing.T) {
	t.Parallel()
	// Fakes may count in match (dnstest does): Take must not ask about
	// faults after the one that fires unless they are still skipping.
	var q Faults[string]
	q.Add("a", 0)
	q.Add("b", 0)
	q.AddAfter("c", 1, 0)
	asked := map[string]int{}
	count := func(f string) bool { asked[f]++; return true }
	f, ok := q.Take(count)
	require.True(t, ok)
	assert.Equal(t, "a", f)
	assert.Equal(t, map[string]int{"a": 1, "c": 1}, asked, "b is not asked, c counts the request")
	f, _ = q.Take(count)
	assert.Equal(t, "a", f)
	assert.Equal(t, map[string]int{"a": 2, "c": 1}, asked, "c is due: no longer asked past the hit")
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

func TestLogKeepsTheMostRecent(t *testing.T) {
	t.Parallel()
	var l Log[int]
	l.SetLimit(3)
	for i := 1; i <= 7; i++ {
		l.Add(i)
	}
	assert.Equal(t, []int{5, 6, 7}, l.All(), "the most recent, oldest first")
	assert.Equal(t, 3, l.Len())
	assert.Equal(t, 7, l.Total(), "Total counts the dropped ones")
	l.SetLimit(2)
	assert.Equal(t, []int{6, 7}, l.All(), "lowering the limit drops the oldest")
	l.SetLimit(4)
	l.Add(8)
	l.Add(9)
	l.Add(10)
	assert.Equal(t, []int{7, 8, 9, 10}, l.All())
	l.Reset()
	assert.Nil(t, l.All())
	assert.Equal(t, 0, l.Total())

	var d Log[int]
	for i := range DefaultLogLimit + 5 {
		d.Add(i)
	}
	all := d.All()
	assert.Len(t, all, DefaultLogLimit, "the zero value keeps DefaultLogLimit")
	assert.Equal(t, 5, all[0])
	assert.Equal(t, DefaultLogLimit+4, all[len(all)-1])
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

// WaitRequest hands the handler the whole body, whether it fits the limit
// or not, and notices a client that hangs up during the delay.
func TestWaitRequest(t *testing.T) {
	t.Parallel()
	var lat Latency
	got := make(chan string, 1)
	gone := make(chan bool, 1)
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !lat.WaitRequest(r, 4) {
			gone <- true
			return
		}
		b, _ := io.ReadAll(r.Body)
		got <- string(b)
	}))
	defer ts.Close()
	post := func(ctx context.Context, body string) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, ts.URL, strings.NewReader(body))
		require.NoError(t, err)
		resp, err := ts.Client().Do(req)
		if err == nil {
			_ = resp.Body.Close()
		}
		return err
	}
	lat.Set(time.Millisecond)
	for _, body := range []string{"", "abc", "abcd", "abcdefghij"} {
		require.NoError(t, post(t.Context(), body))
		assert.Equal(t, body, <-got)
	}

	const long = 10 * time.Second
	lat.Set(long)
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	require.ErrorIs(t, post(ctx, "abcd"), context.DeadlineExceeded)
	select {
	case <-gone:
	case <-time.After(long / 5):
		t.Fatal("the handler did not notice the client had gone")
	}
	assert.Less(t, time.Since(start), long/5)
}
