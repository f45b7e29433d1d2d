package routeros

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"strings"
)

// DefaultMaxWordSize caps a word read from the router unless WithMaxWordSize
// says otherwise. The largest words in practice are script sources and
// 32 KiB /file/read chunks.
const DefaultMaxWordSize = 4 << 20

// Caps on what one sentence and one reply may cost, unless
// WithMaxSentenceSize or WithMaxReplySize say otherwise. A reply is every
// sentence of one call (a pipelined batch counts as one). Each word is
// charged its length plus wordOverhead, each sentence sentenceOverhead,
// so a peer streaming empty !re sentences or one-byte words is stopped as
// surely as one streaming long words.
const (
	DefaultMaxSentenceSize = 16 << 20
	DefaultMaxReplySize    = 256 << 20
	wordOverhead           = 32
	sentenceOverhead       = 64
)

// readLimits bound one read: the largest word, the sentence budget and the
// remaining budget of the reply (nil: none, as for a listen stream).
type readLimits struct {
	word, sentence int
	reply          *int
	replyCap       int
}

// tooLargeError is a word, sentence or reply over its cap; the connection
// cannot continue.
type tooLargeError struct {
	what  string
	limit int
}

func (e *tooLargeError) Error() string {
	return fmt.Sprintf("%s exceeds the %d byte limit", e.what, e.limit)
}

// sentence is one decoded reply sentence.
type sentence struct {
	word  string // !re, !done, !trap, !fatal, !empty, …
	tag   string
	attrs map[string]string
	keys  []string // attribute names in wire order
	bare  []string // words that are neither attributes nor .tag (!fatal's reason)
}

// readLength decodes an API length prefix. A control byte (0xF8 and up)
// or a length above limit is an error before anything is allocated; this
// is where go-routeros' reader would allocate up to 4 GiB.
func readLength(r *bufio.Reader, limit int) (int, error) {
	b, err := r.ReadByte()
	if err != nil {
		return 0, err
	}
	var n, extra int
	switch {
	case b < 0x80:
		return int(b), nil
	case b < 0xC0:
		n, extra = int(b&0x3F), 1
	case b < 0xE0:
		n, extra = int(b&0x1F), 2
	case b < 0xF0:
		n, extra = int(b&0x0F), 3
	case b == 0xF0:
		n, extra = 0, 4
	default:
		return 0, &protocolError{fmt.Sprintf("reserved control byte 0x%02x in length prefix", b)}
	}
	for range extra {
		c, err := r.ReadByte()
		if err != nil {
			return 0, unexpectedEOF(err)
		}
		n = n<<8 | int(c)
	}
	if n > limit {
		return 0, &tooLargeError{fmt.Sprintf("word of %d bytes", n), limit}
	}
	return n, nil
}

func unexpectedEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// readSentence reads one sentence, skipping empty ones, with only a word
// cap.
func readSentence(r *bufio.Reader, limit int) (*sentence, error) {
	return readSentenceLimited(r, readLimits{word: limit, sentence: math.MaxInt})
}

// readSentenceLimited reads one sentence, skipping empty ones. Every cap is
// checked before the word is allocated.
func readSentenceLimited(r *bufio.Reader, lim readLimits) (*sentence, error) {
	var words []string
	cost := sentenceOverhead
	for {
		n, err := readLength(r, lim.word)
		if err != nil {
			if len(words) > 0 {
				err = unexpectedEOF(err)
			}
			return nil, err
		}
		if n == 0 {
			if len(words) == 0 {
				continue
			}
			return parseSentence(words)
		}
		if len(words) == 0 && lim.reply != nil {
			*lim.reply -= sentenceOverhead
		}
		cost += n + wordOverhead
		if cost > lim.sentence {
			return nil, &tooLargeError{"sentence", lim.sentence}
		}
		if lim.reply != nil {
			if *lim.reply -= n + wordOverhead; *lim.reply < 0 {
				return nil, &tooLargeError{"reply", lim.replyCap}
			}
		}
		buf := make([]byte, n)
		if _, err := io.ReadFull(r, buf); err != nil {
			return nil, unexpectedEOF(err)
		}
		words = append(words, string(buf))
	}
}

// parseSentence turns reply words into a sentence. It is a pure function
// (fuzzed by FuzzParseSentence).
func parseSentence(words []string) (*sentence, error) {
	if len(words) == 0 || !strings.HasPrefix(words[0], "!") {
		first := ""
		if len(words) > 0 {
			first = words[0]
		}
		if len(words) == 1 && len(first) >= 2 && first[0] == 0x03 && first[1] <= 0x04 {
			// A TLS alert record (0x15 0x03 0x0N …) read as a word: a
			// plain client on the api-ssl port.
			return nil, &protocolError{"the router answered with TLS: that port is api-ssl (8729); dial it with WithTLS, WithFingerprint or WithRootCAs, or use the plain api port 8728"}
		}
		return nil, &protocolError{fmt.Sprintf("reply does not start with a reply word: %q", truncate(first, 40))}
	}
	s := &sentence{word: words[0], attrs: make(map[string]string, len(words)-1)}
	for _, w := range words[1:] {
		switch {
		case strings.HasPrefix(w, ".tag="):
			s.tag = w[5:]
		case strings.HasPrefix(w, "="):
			k, v, _ := strings.Cut(w[1:], "=")
			if _, dup := s.attrs[k]; !dup {
				s.keys = append(s.keys, k)
			}
			s.attrs[k] = v
		default:
			s.bare = append(s.bare, w)
		}
	}
	return s, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// protocolError is a malformed reply; the connection cannot continue.
type protocolError struct{ msg string }

func (e *protocolError) Error() string { return "protocol error: " + e.msg }
