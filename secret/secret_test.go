package secret

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const raw = "hunter2-s3cr3t"

func TestFormatNeverPrintsValue(t *testing.T) {
	t.Parallel()
	s := New(raw)
	type wrapper struct {
		Name string
		Pass Secret
		Ptr  *Secret
	}
	w := wrapper{Name: "root", Pass: s, Ptr: &s}
	verbs := []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%T", "%10s", "%-10v", "%t", "%p", "%e", "%g", "%c", "%U", "%o", "%b"}
	for _, verb := range verbs {
		for _, v := range []any{s, &s, w, &w, []Secret{s}, map[string]Secret{"k": s}} {
			out := fmt.Sprintf(verb, v)
			assert.NotContains(t, out, raw, "verb %s on %T", verb, v)
			assert.NotContains(t, strings.ToLower(out), fmt.Sprintf("%x", raw), "hex leak with %s", verb)
		}
	}
	assert.Equal(t, Redacted, fmt.Sprint(s))
	assert.Equal(t, Redacted, s.String())
	assert.Equal(t, `"REDACTED"`, fmt.Sprintf("%q", s))
	assert.Contains(t, fmt.Sprintf("%#v", s), Redacted)
	assert.Equal(t, raw, s.Reveal())
}

func TestJSONAndTextAndLog(t *testing.T) {
	t.Parallel()
	s := New(raw)
	b, err := json.Marshal(map[string]any{"password": s, "p": &s})
	require.NoError(t, err)
	assert.NotContains(t, string(b), raw)
	assert.Contains(t, string(b), Redacted)

	txt, err := s.MarshalText()
	require.NoError(t, err)
	assert.Equal(t, Redacted, string(txt))

	var buf bytes.Buffer
	for _, h := range []slog.Handler{slog.NewTextHandler(&buf, nil), slog.NewJSONHandler(&buf, nil)} {
		slog.New(h).Info("login", "password", s, slog.Any("any", s), slog.Group("g", "p", &s))
	}
	assert.NotContains(t, buf.String(), raw)
	assert.Contains(t, buf.String(), Redacted)
}

func TestZero(t *testing.T) {
	t.Parallel()
	assert.True(t, Secret{}.IsZero())
	assert.False(t, New("x").IsZero())
	assert.Equal(t, Redacted, Secret{}.String())
}
