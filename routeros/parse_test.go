package routeros

import (
	"bufio"
	"bytes"
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseDuration(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"1w2d3h4m5s", 9*24*time.Hour + 3*time.Hour + 4*time.Minute + 5*time.Second, true},
		{"0s", 0, true},
		{"25", 25 * time.Second, true},
		{"150ms", 150 * time.Millisecond, true},
		{"5s100ms", 5100 * time.Millisecond, true},
		{"1h12m40s", time.Hour + 12*time.Minute + 40*time.Second, true},
		{"00:05:00", 5 * time.Minute, true},
		{"1d02:00:00", 26 * time.Hour, true},
		{"10us", 10 * time.Microsecond, true},
		{"", 0, false},
		{"5x", 0, false},
		{"h", 0, false},
		{"1:2", 0, false},
		{"00:61:00", 0, false},
		{"99999999999999w", 0, false},
		{"9223372036854775807", 0, false},
		{"-5s", 0, false},
	} {
		got, err := parseDuration(tc.in)
		if tc.ok {
			require.NoError(t, err, tc.in)
			assert.Equal(t, tc.want, got, tc.in)
		} else {
			assert.Error(t, err, tc.in)
		}
	}
	assert.Equal(t, "1w2d3h4m5s", FormatDuration(9*24*time.Hour+3*time.Hour+4*time.Minute+5*time.Second))
	assert.Equal(t, "0s", FormatDuration(0))
	assert.Equal(t, "25s", FormatDuration(25*time.Second))
}

func TestParseBool(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]bool{"true": true, "yes": true, "false": false, "no": false} {
		got, err := parseBool(in)
		require.NoError(t, err)
		assert.Equal(t, want, got)
	}
	for _, in := range []string{"", "True", "1", "on"} {
		_, err := parseBool(in)
		assert.Error(t, err, in)
	}
	assert.Equal(t, "yes", formatBool(true))
	assert.Equal(t, "no", formatBool(false))
}

func TestParsePrefix(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"203.0.113.45/32": "203.0.113.45/32", "192.168.1.1/24": "192.168.1.1/24", "10.0.0.1": "10.0.0.1/32",
		"2001:db8::1": "2001:db8::1/128", "2001:db8::/32": "2001:db8::/32",
	} {
		p, err := parsePrefix(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, p.String())
	}
	for _, in := range []string{"", "1.2.3.4/33", "pppoe-out1", "1.2.3.4-1.2.3.9"} {
		_, err := parsePrefix(in)
		assert.Error(t, err, in)
	}
	ps, err := parsePrefixes("192.168.100.2/32, 10.0.0.0/8")
	require.NoError(t, err)
	assert.Equal(t, []netip.Prefix{mustPrefix("192.168.100.2/32"), mustPrefix("10.0.0.0/8")}, ps)
	ps, err = parsePrefixes("")
	require.NoError(t, err)
	assert.Empty(t, ps)
	assert.Equal(t, "10.0.0.1", NormalizeListAddress("10.0.0.1/32"))
	assert.Equal(t, "10.0.0.0/8", NormalizeListAddress("10.1.2.3/8"))
	assert.Equal(t, "example.com", NormalizeListAddress("example.com"))
}

func TestParseClock(t *testing.T) {
	t.Parallel()
	got, err := parseClock("2026-11-26", "14:03:07", "+01:00")
	require.NoError(t, err)
	assert.Equal(t, time.Date(2026, 11, 26, 13, 3, 7, 0, time.UTC), got.UTC())
	got, err = parseClock("nov/26/2026", "14:03:07", "")
	require.NoError(t, err)
	assert.Equal(t, time.Date(2026, 11, 26, 14, 3, 7, 0, time.UTC), got)
	_, err = parseClock("26.11.2026", "14:03:07", "")
	assert.Error(t, err)
	_, err = parseClock("2026-11-26", "14:03:07", "CET")
	assert.Error(t, err)
}

func TestParseVersion(t *testing.T) {
	t.Parallel()
	for in, want := range map[string][2]int{"7.20.5": {7, 20}, "7.18": {7, 18}, "7.19rc2": {7, 19}, "6.49.10": {6, 49}} {
		ma, mi, err := parseVersion(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, [2]int{ma, mi})
	}
	for _, in := range []string{"", "7", "x.y", "99999.1"} {
		_, _, err := parseVersion(in)
		assert.Error(t, err, in)
	}
}

func TestReadSentence(t *testing.T) {
	t.Parallel()
	enc := func(words ...string) []byte {
		var b []byte
		for _, w := range words {
			b = appendLen(b, len(w))
			b = append(b, w...)
		}
		return append(b, 0)
	}
	for _, tc := range []struct {
		name string
		in   []byte
		err  string
		word string
	}{
		{"re", enc("!re", "=a=b=c", "=empty", ".tag=5"), "", "!re"},
		{"fatal bare word", enc("!fatal", "session terminated on request"), "", "!fatal"},
		{"skips empty sentences", append([]byte{0, 0}, enc("!done")...), "", "!done"},
		{"not a reply", enc("=a=b"), "does not start with a reply word", ""},
		{"oversized", []byte{0xF0, 0x7F, 0xFF, 0xFF, 0xFF}, "exceeds", ""},
		{"control byte", []byte{0xF8}, "control byte", ""},
		{"truncated word", []byte{0x05, '!', 'r'}, "unexpected EOF", ""},
		{"truncated sentence", []byte{0x03, '!', 'r', 'e'}, "unexpected EOF", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := readSentence(bufio.NewReader(bytes.NewReader(tc.in)), 1<<16)
			if tc.err != "" {
				assert.ErrorContains(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.word, s.word)
		})
	}
	s, err := readSentence(bufio.NewReader(bytes.NewReader(enc("!re", "=a=b=c", "=empty", ".tag=5"))), 100)
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"a": "b=c", "empty": ""}, s.attrs)
	assert.Equal(t, "5", s.tag)
	s, err = readSentence(bufio.NewReader(bytes.NewReader(enc("!fatal", "session terminated on request"))), 100)
	require.NoError(t, err)
	assert.Equal(t, []string{"session terminated on request"}, s.bare)
	for _, n := range []int{0x7F, 0x80, 0x3FFF, 0x4000, 0x1FFFFF, 0x200000} {
		w := bytes.Repeat([]byte{'x'}, n)
		in := append(appendLen([]byte{0x03, '!', 'r', 'e'}, n+1), '=')
		in = append(append(in, w...), 0)
		s, err := readSentence(bufio.NewReader(bytes.NewReader(in)), 1<<22)
		require.NoError(t, err, n)
		assert.Contains(t, s.attrs, string(w), n)
	}
}

// appendLen is a test-only encoder, independent of go-routeros.
func appendLen(b []byte, n int) []byte {
	switch {
	case n < 0x80:
		return append(b, byte(n))
	case n < 0x4000:
		return append(b, byte(n>>8)|0x80, byte(n))
	case n < 0x200000:
		return append(b, byte(n>>16)|0xC0, byte(n>>8), byte(n))
	case n < 0x10000000:
		return append(b, byte(n>>24)|0xE0, byte(n>>16), byte(n>>8), byte(n))
	}
	return append(b, 0xF0, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
}

func FuzzReadSentence(f *testing.F) {
	f.Add([]byte("\x03!re\x06=a=b=c\x05.tag=\x00"))
	f.Add([]byte("\x06!fatal\x05reason\x00"))
	f.Add([]byte{0xF0, 0x7F, 0xFF, 0xFF, 0xFF})
	f.Add([]byte{0xC0, 0x00, 0x05, '!', 'd', 'o', 'n', 'e', 0})
	f.Fuzz(func(t *testing.T, in []byte) {
		const limit = 1 << 12
		br := bufio.NewReader(bytes.NewReader(in))
		for range 64 {
			s, err := readSentence(br, limit)
			if err != nil {
				return
			}
			if s.word == "" || s.word[0] != '!' || len(s.word) > limit {
				t.Fatalf("bad sentence %q", s.word)
			}
			for k, v := range s.attrs {
				if len(k)+len(v) > limit {
					t.Fatalf("word over limit")
				}
			}
		}
	})
}

func TestParseTime(t *testing.T) {
	t.Parallel()
	got, err := parseTime("2025-11-27 08:17:04")
	require.NoError(t, err)
	assert.Equal(t, time.Date(2025, 11, 27, 8, 17, 4, 0, time.UTC), got)
	got, err = parseTime("nov/27/2025 08:17:04")
	require.NoError(t, err)
	assert.Equal(t, time.Date(2025, 11, 27, 8, 17, 4, 0, time.UTC), got)
	for _, in := range []string{"", "2025-11-27", "soon"} {
		_, err := parseTime(in)
		assert.Error(t, err, in)
	}
	assert.True(t, Record{}.Time("x").IsZero())
}

// FuzzAuditRule feeds filter-rule matcher values as the router prints them
// (addresses with !, connection states, interface lists) to the isolation
// audit: it must never panic, and negating an address matcher must flip
// all and none.
func FuzzAuditRule(f *testing.F) {
	f.Add("10.1.1.0/24", "!192.168.1.0/24", "new", "!LAN", "drop")
	f.Add("10.1.1.1-10.1.1.9", "", "!established,related", "", "accept")
	f.Add("", "192.168.1.5", "", "all", "jump")
	f.Fuzz(func(t *testing.T, src, dst, state, list, action string) {
		guest, lan := netip.MustParsePrefix("10.1.1.0/24"), netip.MustParsePrefix("192.168.1.0/24")
		lists := resolveLists([]Record{{"name": "LAN"}}, []Record{{"list": "LAN", "interface": "bridge-lan"}})
		rules := []FilterRule{
			{Chain: "forward", Action: action, JumpTarget: list, SrcAddress: src, DstAddress: dst, ConnectionState: state, InInterfaceList: list},
			{Chain: list, Action: action, JumpTarget: "forward", OutInterfaceList: list, SrcAddressList: list, DstAddressList: "!" + list},
		}
		lists.addr = map[string][]Record{list: {{"address": src}, {"address": dst, "dynamic": "true"}}}
		_, _, _ = auditForward(rules, guest, lan, "bridge-guest", "bridge-lan", lists)
		_, _, _ = auditForward(rules, guest, lan, "", "", auditLists{})
		_, _, _ = auditForward(rules, netip.Prefix{}, netip.Prefix{}, "", "", auditLists{addr: map[string][]Record{list: {{"address": src}}}})
		if src != "" && src[0] != '!' {
			if m, n := addrMatch(src, guest), addrMatch("!"+src, guest); m != matchSome && m+n != matchAll {
				t.Fatalf("negation of %q: %d and %d", src, m, n)
			}
		}
	})
}
