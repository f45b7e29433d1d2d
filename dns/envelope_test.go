package dns_test

import (
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/thehomelab/homelab/dns"
)

func TestParseEnvelope(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	h := http.Header{"Retry-After": {"42"}, "Cf-Ray": {"ray1"}}
	tests := []struct {
		name   string
		status int
		body   string
		ok     bool
		plain  bool
		codes  []int
	}{
		{"ok", 200, `{"success":true,"errors":[],"result":{}}`, true, false, nil},
		{"no success field", 200, `{"result":{}}`, true, false, nil},
		{"success false on 200", 200, `{"success":false,"errors":[{"code":10001,"message":"x"}]}`, false, false, []int{10001}},
		{"bare string errors", 400, `{"success":false,"errors":["quota exceeded"]}`, false, false, []int{0}},
		{"html 502", 502, `<html>bad gateway</html>`, false, false, []int{0}},
		{"not json on 200", 200, `<html>captive portal</html>`, false, true, nil},
		{"empty object on 200", 200, `{}`, false, true, nil},
		{"null on 200", 200, `null`, false, true, nil},
		{"errors only on 200", 200, `{"errors":[]}`, false, true, nil},
		{"result null", 200, `{"result":null}`, true, false, nil},
		{"429", 429, `{"success":false,"errors":[{"code":971,"message":"slow down"}]}`, false, false, []int{971}},
		{"two codes", 400, `{"success":false,"errors":[{"code":6003,"message":"a"},{"code":6111,"message":"b"}]}`, false, false, []int{6003, 6111}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e, err := dns.ParseEnvelope(tt.status, h, []byte(tt.body), now)
			switch {
			case tt.ok:
				require.NoError(t, err)
				assert.Nil(t, e)
			case tt.plain:
				require.Error(t, err)
				assert.Nil(t, e)
			default:
				require.NoError(t, err)
				require.NotNil(t, e)
				assert.Equal(t, tt.status, e.StatusCode)
				assert.Equal(t, "ray1", e.RayID)
				var codes []int
				for _, a := range e.Errors {
					codes = append(codes, a.Code)
				}
				assert.Equal(t, tt.codes, codes)
				if tt.status == 429 {
					assert.Equal(t, 42*time.Second, e.RetryAfter)
					assert.ErrorIs(t, e, dns.ErrRateLimited)
				}
			}
		})
	}
}

func FuzzParseEnvelope(f *testing.F) {
	seeds, err := filepath.Glob(filepath.Join("testdata", "envelope", "*"))
	require.NoError(f, err)
	for _, s := range seeds {
		b, err := os.ReadFile(s)
		require.NoError(f, err)
		for _, st := range []int{200, 400, 403, 429, 500} {
			f.Add(st, b)
		}
	}
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		if status < 100 || status > 599 {
			return
		}
		e, err := dns.ParseEnvelope(status, http.Header{"Retry-After": {"1"}}, body, time.Now())
		if e != nil && err != nil {
			t.Fatal("both an *Error and an error")
		}
		if status >= 400 && e == nil && err == nil {
			t.Fatalf("status %d accepted", status)
		}
		if e != nil {
			_ = e.Error()
			if status >= 400 && len(e.Errors) == 0 {
				t.Fatal("failed call without an error entry")
			}
		}
	})
}
