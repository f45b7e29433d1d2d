package routerostest

import (
	"bufio"
	"bytes"
	"strings"
	"testing"
)

func FuzzReadSentence(f *testing.F) {
	f.Add(AppendSentence(nil, "/ip/address/print", "?interface=ether1", "=.proplist=address", ".tag=1"))
	f.Add([]byte{0xF0, 0x7F, 0xFF, 0xFF, 0xFF})
	f.Add([]byte{0xF8, 0x00})
	f.Fuzz(func(t *testing.T, in []byte) {
		br := bufio.NewReader(bytes.NewReader(in))
		for range 64 {
			words, err := ReadSentence(br, 1<<12)
			if err != nil {
				return
			}
			if len(words) == 0 {
				t.Fatal("empty sentence returned")
			}
			// What we decode, we re-encode to the same words.
			back, err := ReadSentence(bufio.NewReader(bytes.NewReader(AppendSentence(nil, words...))), 1<<12)
			if err != nil || strings.Join(back, "\x00") != strings.Join(words, "\x00") {
				t.Fatalf("round trip failed: %v", err)
			}
			_, _ = parseCommand(words)
		}
	})
}

func FuzzMatchQuery(f *testing.F) {
	f.Add("?type=ether\n?type=vlan\n?#|!")
	f.Add("?#0")
	f.Add("?<mtu=1400\n?-name\n?#.&")
	f.Fuzz(func(t *testing.T, q string) {
		var words []string
		for w := range strings.SplitSeq(q, "\n") {
			if strings.HasPrefix(w, "?") {
				words = append(words, w)
			}
		}
		_, _ = matchQuery(words, map[string]string{"type": "ether", "mtu": "1500", "name": "e1"})
	})
}
