package ups

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSplitLine(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want []string
		err  bool
	}{
		{`VAR dummy ups.status "OL"`, []string{"VAR", "dummy", "ups.status", "OL"}, false},
		{`VAR dummy ups.serial "A \"q\" \\ z"`, []string{"VAR", "dummy", "ups.serial", `A "q" \ z`}, false},
		{`VAR dummy ups.id "rack #3"`, []string{"VAR", "dummy", "ups.id", "rack #3"}, false},
		{"  GET\tVAR   x  ", []string{"GET", "VAR", "x"}, false},
		{`ups.sta\tus`, []string{"ups.status"}, false},
		{`""`, []string{""}, false},
		{`RANGE u v "1" "2"`, []string{"RANGE", "u", "v", "1", "2"}, false},
		{`"unterminated`, nil, true},
		{`"ends in escape\`, nil, true},
		{"", nil, false},
	}
	for _, tt := range tests {
		got, err := splitLine(tt.in, nil)
		if tt.err {
			assert.Error(t, err, tt.in)
			continue
		}
		require.NoError(t, err, tt.in)
		assert.Equal(t, tt.want, got, tt.in)
	}
}

func TestQuote(t *testing.T) {
	t.Parallel()
	assert.Equal(t, `"a \"b\" \\ \#"`, quote(`a "b" \ #`))
	assert.Equal(t, `x`, string(appendWord(nil, "x")))
	assert.Equal(t, `"a b"`, string(appendWord(nil, "a b")))
	assert.Equal(t, `""`, string(appendWord(nil, "")))
}

func TestParseStatus(t *testing.T) {
	t.Parallel()
	s := ParseStatus("ALARM ob  lb DISCHRG ECO")
	assert.True(t, s.Has(OnBattery|LowBattery|Discharging|Alarm))
	assert.False(t, s.Has(OnLine))
	assert.Equal(t, []string{"ECO"}, s.Unknown())
	assert.Equal(t, "OB LB DISCHRG ALARM", (OnBattery | LowBattery | Discharging | Alarm).String())
	assert.Zero(t, ParseStatus("").Flags)
	assert.False(t, ParseStatus("OL").Has(0))
}

// FuzzSplitLine checks that the tokenizer never panics and that every word
// survives a Quote/SplitLine round trip.
func FuzzSplitLine(f *testing.F) {
	for _, s := range []string{`VAR dummy ups.status "OL"`, `VAR d x "A \"q\" \\ z"`, `"#"`, `a\`, `"`, "\t\r\n", `UPS x "y"z`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		words, err := splitLine(line, nil)
		if err != nil {
			return
		}
		var b []byte
		for i, w := range words {
			if i > 0 {
				b = append(b, ' ')
			}
			b = appendQuoted(b, w)
		}
		again, err := splitLine(string(b), nil)
		if err != nil {
			t.Fatalf("re-split of %q: %v", b, err)
		}
		if len(words) == 0 {
			again = nil
		}
		if strings.Join(again, "\x00") != strings.Join(words, "\x00") || len(again) != len(words) {
			t.Fatalf("round trip %q -> %q -> %q", words, b, again)
		}
	})
}

// FuzzParseStatus checks that the status parser never panics, keeps the raw
// text, and sets only flags whose token appears.
func FuzzParseStatus(f *testing.F) {
	for _, s := range []string{"OL", "OB DISCHRG LB", "FSD OL", "ALARM OL CHRG", "ol ob", "WAIT", " \t", "OL\x00LB"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		st := ParseStatus(s)
		if st.String() != s {
			t.Fatalf("raw %q became %q", s, st.String())
		}
		for i, name := range flagNames {
			if st.Flags&(1<<i) != 0 && !strings.Contains(strings.ToUpper(s), name) {
				t.Fatalf("flag %s set for %q", name, s)
			}
		}
		_ = st.Unknown()
	})
}
