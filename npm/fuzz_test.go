package npm

import (
	"encoding/json"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseTime(t *testing.T) {
	t.Parallel()
	want := time.Date(2026, 6, 3, 10, 4, 5, 0, time.UTC)
	for _, in := range []string{`"2026-06-03T10:04:05.000Z"`, `"2026-06-03 10:04:05"`, `"2026-06-03T12:04:05+02:00"`, `"2026-06-03T10:04:05"`, `1780481045000`} {
		got, err := parseTime([]byte(in))
		require.NoError(t, err, in)
		assert.True(t, want.Equal(got), "%s → %v", in, got)
	}
	for _, in := range []string{`null`, `""`} {
		got, err := parseTime([]byte(in))
		require.NoError(t, err)
		assert.True(t, got.IsZero())
	}
	for _, in := range []string{`"yesterday"`, `true`, `"2026-13-01 00:00:00"`} {
		_, err := parseTime([]byte(in))
		assert.Error(t, err, in)
	}
}

func TestParseBool(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]bool{`true`: true, `false`: false, `1`: true, `0`: false, `"1"`: true, `"false"`: false, `null`: false} {
		got, err := parseBool([]byte(in))
		require.NoError(t, err, in)
		assert.Equal(t, want, got, in)
	}
	_, err := parseBool([]byte(`2`))
	assert.Error(t, err)
}

func TestParseErrorBody(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		body string
		code int
		msg  string
	}{
		{`{"error":{"code":400,"message":"x is already in use"}}`, 400, "x is already in use"},
		{`{"error":{"message":"Internal Error"},"debug":{"stack":[]}}`, 0, "Internal Error"},
		{`{"error":{"code":400,"message":"Token has expired","message_i18n":{"name":"TokenExpiredError"}}}`, 400, "Token has expired"},
		{`{"error":"No files were uploaded"}`, 0, "No files were uploaded"},
		{`<html>502 Bad Gateway</html>`, 0, ""},
	} {
		code, msg := parseErrorBody([]byte(tc.body))
		assert.Equal(t, tc.code, code, tc.body)
		assert.Equal(t, tc.msg, msg, tc.body)
	}
}

func TestClassify(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		status int
		msg    string
		want   error
	}{
		{404, "Not Found - /nginx/proxy-hosts", ErrPermission},
		{404, "Not Found - 12", ErrNotFound},
		{404, "Not Found - cloudflare2", ErrNotFound},
		{403, "Permission Denied", ErrPermission},
		{400, "nextcloud.thehomelab.site is already in use", ErrConflict},
		{400, "Host is already enabled", ErrConflict},
		{400, "Token has expired", ErrAuth},
		{400, "Invalid email or password", ErrAuth},
		{400, "data must NOT have additional properties", ErrInvalid},
		{500, "Internal Error", nil},
		// The CommonJS backend (≤2.12) words missing objects "Item Not
		// Found - <id>" and answers bad credentials with 401.
		{404, "Item Not Found - 12", ErrNotFound},
		{401, "Invalid password", ErrAuth},
		{400, "data.forward_port should be <= 65535", ErrInvalid},
	} {
		assert.Equal(t, tc.want, classify(tc.status, tc.msg), "%d %s", tc.status, tc.msg)
	}
}

// FuzzDecodeProxyHost feeds arbitrary JSON to the proxy host decoder: it
// must never panic, and what it accepts must survive a second decode of
// the same bytes identically.
func FuzzDecodeProxyHost(f *testing.F) {
	addSeeds(f, "proxyhost")
	f.Fuzz(func(t *testing.T, data []byte) {
		h, err := decodeProxyHost(data)
		if err != nil {
			return
		}
		h2, err := decodeProxyHost(data)
		if err != nil {
			t.Fatalf("second decode failed: %v", err)
		}
		if h.ID != h2.ID || !h.CreatedOn.Equal(h2.CreatedOn) || h.Enabled != h2.Enabled {
			t.Fatal("decode not deterministic")
		}
	})
}

// FuzzDecodeCertificate covers certificate answers (dates in both forms).
func FuzzDecodeCertificate(f *testing.F) {
	addSeeds(f, "certificate")
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := decodeCertificate(data)
		if err != nil {
			return
		}
		for _, d := range c.Domains {
			if d == "" {
				t.Fatal("empty domain kept")
			}
		}
	})
}

// FuzzParseTime checks that every accepted date is in UTC.
func FuzzParseTime(f *testing.F) {
	for _, s := range []string{`"2026-06-03T10:04:05.000Z"`, `"2026-06-03 10:04:05"`, `null`, `""`, `0`, `"2026-06-03"`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := parseTime(data)
		if err == nil && !v.IsZero() && v.Location() != time.UTC {
			t.Fatalf("%q decoded to non-UTC %v", data, v)
		}
	})
}

// FuzzParseBool checks that true and false are the only outcomes, and that
// JSON booleans round-trip.
func FuzzParseBool(f *testing.F) {
	for _, s := range []string{`true`, `false`, `0`, `1`, `"1"`, `null`, `2`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := parseBool(data)
		if err != nil {
			return
		}
		b, _ := json.Marshal(v)
		w, err := parseBool(b)
		if err != nil || w != v {
			t.Fatalf("round trip of %v failed", v)
		}
	})
}

// FuzzDecodeAccessList covers access lists (client addresses as prefixes
// or "all", booleans in both forms).
func FuzzDecodeAccessList(f *testing.F) {
	addSeeds(f, "accesslist")
	f.Fuzz(func(t *testing.T, data []byte) {
		a, err := decodeAccessList(data)
		if err != nil {
			return
		}
		for _, c := range a.Clients {
			if c.Prefix.IsValid() {
				if _, err := parseClientAddress(clientAddress(c.Prefix)); err != nil {
					t.Fatalf("address %v does not round-trip: %v", c.Prefix, err)
				}
			}
		}
	})
}

// FuzzParseErrorBody feeds arbitrary answers to the error-body parser
// (objects, the string form of upload errors, HTML from a proxy): it must
// never panic, and a message it finds is the one classify sees.
func FuzzParseErrorBody(f *testing.F) {
	addSeeds(f, "error")
	f.Fuzz(func(t *testing.T, data []byte) {
		code, msg := parseErrorBody(data)
		code2, msg2 := parseErrorBody(data)
		if code != code2 || msg != msg2 {
			t.Fatal("parse not deterministic")
		}
		_ = classify(400, msg)
		_ = classify(404, msg)
	})
}

// FuzzDecodeOtherHosts covers redirection hosts, 404 hosts and streams
// (booleans and integers in every form, both date styles): no panic, and
// an enabled host whose meta says nginx_online=false is reported.
func FuzzDecodeOtherHosts(f *testing.F) {
	addSeeds(f, "redirection")
	addSeeds(f, "dead")
	addSeeds(f, "stream")
	f.Fuzz(func(t *testing.T, data []byte) {
		if h, err := decodeRedirectionHost(data); err == nil && h.Enabled && h.NginxOnline != nil && !*h.NginxOnline {
			if nginxErr("fuzz", int(h.ID), h.Enabled, h.NginxOnline, h.NginxErr) == nil {
				t.Fatal("nginx failure of a redirection host not reported")
			}
		}
		if h, err := decodeDeadHost(data); err == nil && h.CreatedOn.Location() != time.UTC && !h.CreatedOn.IsZero() {
			t.Fatalf("404 host date not in UTC: %v", h.CreatedOn)
		}
		if s, err := decodeStream(data); err == nil {
			s2, err := decodeStream(data)
			if err != nil || s2.StreamSpec != s.StreamSpec || s2.Enabled != s.Enabled {
				t.Fatal("stream decode not deterministic")
			}
		}
	})
}

func TestDecodeOtherHostsSeeds(t *testing.T) {
	t.Parallel()
	r, err := decodeRedirectionHost(mustRead(t, "testdata/redirection-2.11-sqlite.json"))
	require.NoError(t, err)
	assert.Equal(t, 301, r.ForwardHTTPCode, "numeric string")
	assert.True(t, r.PreservePath && r.BlockExploits && r.Enabled, "0/1 booleans")
	assert.Equal(t, time.Date(2024, 7, 1, 10, 0, 0, 0, time.UTC), r.CreatedOn, "SQLite date, UTC")
	d, err := decodeDeadHost(mustRead(t, "testdata/dead-2.15-iso.json"))
	require.NoError(t, err)
	assert.False(t, d.Enabled)
	require.NotNil(t, d.NginxOnline)
	assert.False(t, *d.NginxOnline)
	assert.Equal(t, "nginx: [emerg] unknown directive", d.NginxErr)
	s, err := decodeStream(mustRead(t, "testdata/stream-2.15-iso.json"))
	require.NoError(t, err)
	assert.Equal(t, StreamSpec{IncomingPort: 51413, ForwardingHost: "transmission", ForwardingPort: 51413, TCP: true, UDP: true}, s.StreamSpec)
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	return b
}
