package dns_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/thehomelab/homelab/dns"
	"github.com/thehomelab/homelab/secret"
)

// localServer starts an httptest server on 127.0.0.1, closed in t.Cleanup.
func localServer(t *testing.T, h http.Handler) *httptest.Server {
	t.Helper()
	srv := httptest.NewUnstartedServer(h)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	srv.Listener.Close()
	srv.Listener = l
	srv.Start()
	t.Cleanup(srv.Close)
	return srv
}

// A zone listing whose result_info lies (more pages than zones, a
// negative count) must be an error, not a panic or a huge allocation.
func TestZoneLookupBadPagination(t *testing.T) {
	t.Parallel()
	for _, ri := range []string{
		`{"page":1,"per_page":50,"count":1,"total_pages":3,"total_count":10}`,
		`{"page":1,"per_page":50,"count":1,"total_pages":2,"total_count":-1}`,
		`{"page":1,"per_page":50,"count":1,"total_pages":100000,"total_count":5000000}`,
	} {
		t.Run(ri, func(t *testing.T) {
			t.Parallel()
			var hits atomic.Int32
			srv := localServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				hits.Add(1)
				fmt.Fprintf(w, `{"success":true,"errors":[],"messages":[],"result":[{"id":"z1","name":"thehomelab.site","status":"active"}],"result_info":%s}`, ri)
			}))
			c, err := dns.NewClient(secret.New("t"), dns.WithBaseURL(srv.URL), dns.WithRateLimit(0), dns.WithRetries(0))
			require.NoError(t, err)
			t.Cleanup(func() { _ = c.Close() })
			var zerr error
			assert.NotPanics(t, func() { _, zerr = c.Zone(t.Context(), "thehomelab.site") })
			assert.LessOrEqual(t, hits.Load(), int32(20), "pages fetched are bounded")
			if hits.Load() == 20 {
				assert.Error(t, zerr, "endless listing is an error")
			}
		})
	}
}

// A redirect (a proxy or a hijacked base URL) must not carry the token to
// another host: the transport sets it on every request it sends.
func TestRedirectDoesNotLeakToken(t *testing.T) {
	t.Parallel()
	var leaked atomic.Value
	other := localServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		leaked.Store(r.Header.Get("Authorization"))
		fmt.Fprint(w, `{"success":true,"errors":[],"messages":[],"result":[]}`)
	}))
	srv := localServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+r.URL.RequestURI(), http.StatusTemporaryRedirect)
	}))
	c, err := dns.NewClient(secret.New("secret-token"), dns.WithBaseURL(srv.URL), dns.WithRateLimit(0), dns.WithRetries(0))
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	_, err = c.Zone(t.Context(), "thehomelab.site")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "redirect")
	assert.Nil(t, leaked.Load(), "the other host saw no request")
}

// "Already exists" is success only when the re-check finds the record:
// otherwise (it vanished, or differs) it stays ErrConflict.
func TestCreateExistsWithoutMatchIsConflict(t *testing.T) {
	t.Parallel()
	for _, code := range []int{dns.CodeRecordExists, dns.CodeIdenticalRecord} {
		var lists atomic.Int32
		srv := localServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			switch r.Method {
			case http.MethodPost:
				w.WriteHeader(http.StatusBadRequest)
				fmt.Fprintf(w, `{"success":false,"errors":[{"code":%d,"message":"Record already exists."}],"messages":[],"result":null}`, code)
			default:
				lists.Add(1)
				fmt.Fprint(w, `{"success":true,"errors":[],"messages":[],"result":[{"id":"r1","type":"A","name":"vpn.thehomelab.site","content":"192.0.2.1","ttl":1}],"result_info":{"page":1,"per_page":100,"count":1,"total_count":1,"total_pages":1}}`)
			}
		}))
		c, err := dns.NewClient(secret.New("t"), dns.WithBaseURL(srv.URL), dns.WithRateLimit(0), dns.WithRetries(0))
		require.NoError(t, err)
		t.Cleanup(func() { _ = c.Close() })
		z := dns.Zone{ID: "z1", Name: "thehomelab.site"}
		_, err = c.CreateRecord(t.Context(), z, dns.Record{Type: dns.TypeA, Name: "vpn", Addr: netip.MustParseAddr("203.0.113.10")})
		require.ErrorIs(t, err, dns.ErrConflict, code)
		assert.Equal(t, int32(1), lists.Load(), "re-checked once")
	}
}

// What goes on the wire for a PATCH, checked without dnstest (which could
// agree with the client): PATCH (never PUT), the changed content, the
// record's current tags (v0 alone would send "tags": null), nothing that
// was not asked for (TTL, proxied, comment, name, v0's "settings": {}).
func TestPatchWireBody(t *testing.T) {
	t.Parallel()
	var method, path string
	var sent map[string]json.RawMessage
	srv := localServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		method, path = r.Method, r.URL.Path
		b, _ := io.ReadAll(r.Body)
		sent = nil
		_ = json.Unmarshal(b, &sent)
		fmt.Fprint(w, `{"success":true,"errors":[],"messages":[],"result":{"id":"r1","type":"A","name":"vpn.thehomelab.site","content":"198.51.100.20","ttl":300,"proxied":false,"comment":"c","tags":["team:lab"]}}`)
	}))
	c, err := dns.NewClient(secret.New("t"), dns.WithBaseURL(srv.URL), dns.WithRateLimit(0), dns.WithRetries(0))
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	z := dns.Zone{ID: "z1", Name: "thehomelab.site"}
	cur := dns.Record{ID: "r1", Type: dns.TypeA, Name: "vpn.thehomelab.site", Addr: netip.MustParseAddr("203.0.113.10"),
		Content: "203.0.113.10", TTL: 5 * time.Minute, Comment: "c", Tags: []string{"team:lab"}}
	got, err := c.PatchRecord(t.Context(), z, cur, dns.RecordPatch{Addr: netip.MustParseAddr("198.51.100.20")})
	require.NoError(t, err)
	assert.Equal(t, http.MethodPatch, method)
	assert.Equal(t, "/client/v4/zones/z1/dns_records/r1", path)
	assert.JSONEq(t, `"198.51.100.20"`, string(sent["content"]))
	assert.JSONEq(t, `["team:lab"]`, string(sent["tags"]), "current tags sent")
	for _, k := range []string{"ttl", "proxied", "comment", "name", "settings"} {
		assert.NotContains(t, sent, k, "only what changed")
	}
	assert.Equal(t, 5*time.Minute, got.TTL)
	assert.Equal(t, []string{"team:lab"}, got.Tags)

	// A record without tags gets [] rather than null.
	cur.Tags = nil
	_, err = c.PatchRecord(t.Context(), z, cur, dns.RecordPatch{Comment: dns.Ptr("")})
	require.NoError(t, err)
	assert.JSONEq(t, `[]`, string(sent["tags"]))
	assert.JSONEq(t, `""`, string(sent["comment"]), "an explicit empty comment clears it")
	assert.NotContains(t, sent, "content", "content unchanged, not sent")

	_, err = c.PatchRecord(t.Context(), z, cur, dns.RecordPatch{TTL: time.Hour, Proxied: dns.Ptr(false)})
	require.NoError(t, err)
	assert.JSONEq(t, `3600`, string(sent["ttl"]))
	assert.JSONEq(t, `false`, string(sent["proxied"]), "an explicit false is sent")
	assert.JSONEq(t, `"A"`, string(sent["type"]))
}

// A record listing announcing endless pages stops at a bound.
func TestListBoundedPages(t *testing.T) {
	t.Parallel()
	var hits atomic.Int32
	srv := localServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		fmt.Fprint(w, `{"success":true,"errors":[],"messages":[],"result":[{"id":"r1","type":"TXT","name":"t.thehomelab.site","content":"x","ttl":1}],"result_info":{"page":1,"per_page":1,"count":1,"total_count":1000000,"total_pages":1000000}}`)
	}))
	c, err := dns.NewClient(secret.New("t"), dns.WithBaseURL(srv.URL), dns.WithRateLimit(0), dns.WithRetries(0))
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	_, err = c.ListRecords(t.Context(), dns.Zone{ID: "z1", Name: "thehomelab.site"}, dns.RecordFilter{})
	require.Error(t, err)
	assert.LessOrEqual(t, hits.Load(), int32(200))
}

// An endless answer costs a typed error once the cap is reached, never
// the memory of the whole body.
func TestHugeAnswerIsTooLarge(t *testing.T) {
	t.Parallel()
	srv := localServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, `{"success":true,"errors":[],"messages":[],"result":[`)
		chunk := []byte(`{"id":"z1","name":"thehomelab.site","status":"active"},`)
		for n := 0; n < 17<<20; n += len(chunk) {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	}))
	c, err := dns.NewClient(secret.New("t"), dns.WithBaseURL(srv.URL), dns.WithRateLimit(0), dns.WithRetries(0))
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	_, err = c.Zone(t.Context(), "thehomelab.site")
	require.ErrorIs(t, err, dns.ErrTooLarge)
	assert.ErrorIs(t, err, dns.ErrUnavailable)
	assert.Contains(t, err.Error(), "too large")
}
