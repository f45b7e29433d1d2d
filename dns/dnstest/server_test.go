package dnstest_test

import (
	"context"
	"encoding/json"
	"go/parser"
	"go/token"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/thehomelab/homelab/dns/dnstest"
)

type env struct {
	Success    bool              `json:"success"`
	Errors     []json.RawMessage `json:"errors"`
	Result     json.RawMessage   `json:"result"`
	ResultInfo *struct {
		Page       int `json:"page"`
		PerPage    int `json:"per_page"`
		Count      int `json:"count"`
		TotalCount int `json:"total_count"`
		TotalPages int `json:"total_pages"`
	} `json:"result_info"`
}

func do(t *testing.T, srv *dnstest.Server, token, method, path, body string) (int, env, http.Header) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, srv.BaseURL()+path, strings.NewReader(body))
	require.NoError(t, err)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	var e env
	require.NoError(t, json.Unmarshal(b, &e), string(b))
	return resp.StatusCode, e, resp.Header
}

func newServer(t *testing.T) *dnstest.Server {
	srv := dnstest.NewServer()
	t.Cleanup(srv.Close)
	return srv
}

func TestZonesAndPagination(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	st, e, _ := do(t, srv, dnstest.SeedToken, "GET", "/zones?name=thehomelab.site", "")
	require.Equal(t, 200, st)
	var zs []struct{ ID, Name string }
	require.NoError(t, json.Unmarshal(e.Result, &zs))
	require.Len(t, zs, 1)
	assert.Equal(t, dnstest.SeedZone, zs[0].Name)
	zid := zs[0].ID

	for i := range 5 {
		srv.AddRecord(dnstest.Record{ZoneName: dnstest.SeedZone, Type: "TXT", Name: "t.thehomelab.site", Content: strings.Repeat("x", i+1)})
	}
	st, e, _ = do(t, srv, dnstest.SeedToken, "GET", "/zones/"+zid+"/dns_records?type=TXT&per_page=2&page=3", "")
	require.Equal(t, 200, st)
	var rs []struct{ Content string }
	require.NoError(t, json.Unmarshal(e.Result, &rs))
	require.Len(t, rs, 1)
	assert.Equal(t, "xxxxx", rs[0].Content)
	assert.Equal(t, 3, e.ResultInfo.TotalPages)
	assert.Equal(t, 5, e.ResultInfo.TotalCount)
	assert.Equal(t, 1, countOf(srv, dnstest.EndpointListRecords))
}

func TestPatchSemanticsAndPut(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	z, _ := srv.Zone(dnstest.SeedZone)
	r := srv.AddRecord(dnstest.Record{ZoneName: dnstest.SeedZone, Type: "A", Name: "vpn.thehomelab.site", Content: "203.0.113.1", TTL: 300, Comment: "c", Tags: []string{"a:b"}})
	path := "/zones/" + z.ID + "/dns_records/" + r.ID

	st, _, _ := do(t, srv, dnstest.SeedToken, "PATCH", path, `{"content":"203.0.113.2"}`)
	require.Equal(t, 200, st)
	got := srv.Records("vpn.thehomelab.site")[0]
	assert.Equal(t, "203.0.113.2", got.Content)
	assert.Equal(t, []string{"a:b"}, got.Tags, "absent keeps")
	assert.Equal(t, 300, got.TTL)

	st, _, _ = do(t, srv, dnstest.SeedToken, "PATCH", path, `{"tags":null}`)
	require.Equal(t, 200, st)
	assert.Empty(t, srv.Records("vpn.thehomelab.site")[0].Tags, "null clears, as v0 would make it")

	st, _, _ = do(t, srv, dnstest.SeedToken, "PUT", path, `{"type":"A","name":"vpn","content":"203.0.113.3"}`)
	require.Equal(t, 200, st)
	got = srv.Records("vpn.thehomelab.site")[0]
	assert.Equal(t, "", got.Comment, "PUT wipes the comment")
	assert.Equal(t, 1, got.TTL, "PUT resets the TTL")
	assert.Equal(t, 1, countOf(srv, dnstest.EndpointPutRecord))
}

func TestValidationCodes(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	z, _ := srv.Zone(dnstest.SeedZone)
	path := "/zones/" + z.ID + "/dns_records"
	tests := []struct{ body, code string }{
		{`{"type":"A","name":"x","content":"2001:db8::1"}`, "9005"},
		{`{"type":"A","name":"x","content":"203.0.113.1","ttl":5}`, "9021"},
		{`{"type":"TXT","name":"x","content":"v","proxied":true}`, "9004"},
		{`{"type":"CNAME","name":"thehomelab.site","content":"x.example"}`, "81053"},
		{`{"type":"A","name":"thehomelab.site","content":"198.51.100.7","ttl":1,"proxied":true}`, "81058"},
		{`{"type":"A","name":"thehomelab.site","content":"198.51.100.7","ttl":300}`, "81057"},
	}
	for _, tt := range tests {
		st, e, _ := do(t, srv, dnstest.SeedToken, "POST", path, tt.body)
		assert.Equal(t, 400, st, tt.body)
		require.NotEmpty(t, e.Errors)
		assert.Contains(t, string(e.Errors[0]), tt.code, tt.body)
	}
	st, e, _ := do(t, srv, dnstest.SeedToken, "GET", "/zones/nope/dns_records", "")
	assert.Equal(t, 400, st)
	assert.Contains(t, string(e.Errors[0]), "1003")
}

func TestTokensAndPermissions(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	srv.AddToken(dnstest.Token{Value: "ro", Permissions: []dnstest.Permission{dnstest.DNSRead}})
	z, _ := srv.Zone(dnstest.SeedZone)
	st, e, _ := do(t, srv, "ro", "POST", "/zones/"+z.ID+"/dns_records", `{"type":"TXT","name":"x","content":"v"}`)
	assert.Equal(t, 403, st)
	assert.Contains(t, string(e.Errors[0]), "9109")
	srv.AddToken(dnstest.Token{Value: "no-zone-perm"})
	st, e, _ = do(t, srv, "no-zone-perm", "GET", "/zones?name=thehomelab.site", "")
	assert.Equal(t, 403, st, "listing refused, not an empty list")
	assert.Contains(t, string(e.Errors[0]), "to list zones")
	st, _, _ = do(t, srv, "nope", "GET", "/user/tokens/verify", "")
	assert.Equal(t, 401, st)
	st, _, _ = do(t, srv, "", "GET", "/zones", "")
	assert.Equal(t, 400, st)
	st, e, _ = do(t, srv, dnstest.SeedToken, "GET", "/user/tokens/verify", "")
	assert.Equal(t, 200, st)
	assert.Contains(t, string(e.Result), `"active"`)
}

func TestFaultsRateLimitLatency(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	srv.Inject(dnstest.Fault{Endpoint: dnstest.EndpointListZones, Kind: dnstest.FailSuccessFalse, Times: 1})
	st, e, _ := do(t, srv, dnstest.SeedToken, "GET", "/zones", "")
	assert.Equal(t, 200, st)
	assert.False(t, e.Success)

	srv.SetRateLimit(1, time.Minute)
	st, _, _ = do(t, srv, dnstest.SeedToken, "GET", "/zones", "")
	assert.Equal(t, 200, st)
	st, _, h := do(t, srv, dnstest.SeedToken, "GET", "/zones", "")
	assert.Equal(t, 429, st)
	assert.NotEmpty(t, h.Get("Retry-After"))
	srv.SetRateLimit(0, 0)

	srv.SetLatency(30 * time.Millisecond)
	start := time.Now()
	do(t, srv, dnstest.SeedToken, "GET", "/zones", "")
	assert.GreaterOrEqual(t, time.Since(start), 30*time.Millisecond)
	assert.Equal(t, 4, countOf(srv, dnstest.EndpointListZones))

	srv.SetLatency(0)
	srv.Inject(dnstest.Fault{Kind: dnstest.FailDrop})
	req, _ := http.NewRequestWithContext(t.Context(), "GET", srv.BaseURL()+"/zones", nil)
	tr := &http.Transport{DisableKeepAlives: true}
	defer tr.CloseIdleConnections()
	_, err := tr.RoundTrip(req)
	assert.Error(t, err)
	srv.Close()
	srv.Close()
}

// TestFaultsInjectedTogether: Skip counts every matching request, even one
// an earlier fault answered (internal/fakeserver's AddAfter, as every fake
// of the SDK counts), so a 500 on the first request and a 429 after one
// skipped fail the first and the second.
func TestFaultsInjectedTogether(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	srv.Inject(dnstest.Fault{Endpoint: dnstest.EndpointListZones, Kind: dnstest.Fail500, Times: 1})
	srv.Inject(dnstest.Fault{Endpoint: dnstest.EndpointListZones, Kind: dnstest.Fail429, Skip: 1, Times: 1})
	var got []int
	for range 3 {
		st, _, _ := do(t, srv, dnstest.SeedToken, "GET", "/zones", "")
		got = append(got, st)
	}
	assert.Equal(t, []int{500, 429, 200}, got)
}

func TestListFiltersOnTheWire(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	z, _ := srv.Zone(dnstest.SeedZone)
	srv.AddRecord(dnstest.Record{ZoneName: dnstest.SeedZone, Type: "A", Name: "a.thehomelab.site", Content: "203.0.113.1", Comment: "mine"})
	srv.AddRecord(dnstest.Record{ZoneName: dnstest.SeedZone, Type: "TXT", Name: "a.thehomelab.site", Content: "hello"})
	count := func(query string) int {
		st, e, _ := do(t, srv, dnstest.SeedToken, "GET", "/zones/"+z.ID+"/dns_records?"+query, "")
		require.Equal(t, 200, st, query)
		var rs []map[string]any
		require.NoError(t, json.Unmarshal(e.Result, &rs))
		require.Equal(t, len(rs), e.ResultInfo.Count)
		return len(rs)
	}
	assert.Equal(t, 3, count(""))
	assert.Equal(t, 1, count("comment=mine"))
	assert.Equal(t, 1, count("comment.exact=mine"))
	assert.Equal(t, 2, count("comment.present"), "the seeded apex has one too")
	assert.Equal(t, 1, count("comment.absent"))
	assert.Equal(t, 2, count("name=A.TheHomelab.Site"))
	assert.Equal(t, 1, count("name=a.thehomelab.site&type=txt"))
	assert.Equal(t, 1, count("content=hello"))
	assert.Equal(t, 0, count("comment=nope"))

	st, _, _ := do(t, srv, dnstest.SeedToken, "GET", "/no/such/route", "")
	assert.Equal(t, 400, st)
	assert.Equal(t, 9, countOf(srv, dnstest.EndpointListRecords))
	assert.Equal(t, 1, countOf(srv, ""), "an unknown route has no endpoint")
	reqs := srv.Requests()
	assert.Len(t, reqs, 10)
	assert.Equal(t, "GET", reqs[9].Method)
	assert.Equal(t, "/client/v4/no/such/route", reqs[9].Path)
	assert.False(t, reqs[9].Time.IsZero())
	srv.ResetRequests()
	assert.Empty(t, srv.Requests())
}

// The fake must not import the package it fakes: wire data built from its
// own types is what lets a wrong JSON tag in the client fail a test.
func TestDoesNotImportDNS(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob("*.go")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		af, err := parser.ParseFile(token.NewFileSet(), f, nil, parser.ImportsOnly)
		require.NoError(t, err)
		for _, imp := range af.Imports {
			assert.NotEqual(t, `"github.com/thehomelab/homelab/dns"`, imp.Path.Value, f)
			// internal/fakeserver is shared plumbing (listener, latency,
			// request log, faults); importing it keeps dnstest usable
			// outside the module, as Go allows a public package of the
			// module to import its internal ones.
		}
	}
}

// countOf returns how many requests reached endpoint.
func countOf(srv *dnstest.Server, endpoint string) int {
	n := 0
	for _, r := range srv.Requests() {
		if r.Endpoint == endpoint {
			n++
		}
	}
	return n
}

// A client that gives up on a delayed request with a body is noticed: the
// handler returns at once, so Close does not wait out the latency (net/http
// watches for a hang-up only once the body is read). A delayed body still
// arrives whole.
func TestLatencyNoticesClientGone(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	z, _ := srv.Zone(dnstest.SeedZone)
	srv.SetLatency(20 * time.Millisecond)
	st, e, _ := do(t, srv, dnstest.SeedToken, "POST", "/zones/"+z.ID+"/dns_records", `{"type":"TXT","name":"x","content":"v"}`)
	require.Equal(t, 200, st, "%s", e.Errors)

	const long = 10 * time.Second
	srv.SetLatency(long)
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "POST", srv.BaseURL()+"/zones/"+z.ID+"/dns_records", strings.NewReader(`{"type":"TXT","name":"y","content":"v"}`))
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+dnstest.SeedToken)
	_, err = http.DefaultClient.Do(req)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	start := time.Now()
	srv.Close()
	assert.Less(t, time.Since(start), long/5, "Close waited for the delayed handler")
}
