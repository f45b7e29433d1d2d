package routerostest

import (
	"bufio"
	"errors"
	"fmt"
	"io"
)

// MaxWordSize is the largest word the fake accepts from a client. A longer
// length prefix closes the connection before anything is allocated.
const MaxWordSize = 1 << 20

var errControlByte = errors.New("routerostest: reserved control byte in length prefix")

// ReadWord reads one length-prefixed API word from r. It understands all
// five prefix forms; a word longer than limit is refused before allocating.
func ReadWord(r *bufio.Reader, limit int) ([]byte, error) {
	b, err := r.ReadByte()
	if err != nil {
		return nil, err
	}
	var n, extra int
	switch {
	case b&0x80 == 0x00:
		n = int(b)
	case b&0xC0 == 0x80:
		n, extra = int(b&0x3F), 1
	case b&0xE0 == 0xC0:
		n, extra = int(b&0x1F), 2
	case b&0xF0 == 0xE0:
		n, extra = int(b&0x0F), 3
	case b == 0xF0:
		n, extra = 0, 4
	default:
		return nil, errControlByte
	}
	for range extra {
		c, err := r.ReadByte()
		if err != nil {
			return nil, noEOF(err)
		}
		n = n<<8 | int(c)
	}
	if n < 0 || n > limit {
		return nil, fmt.Errorf("routerostest: word of %d bytes exceeds limit %d", n, limit)
	}
	w := make([]byte, n)
	if _, err := io.ReadFull(r, w); err != nil {
		return nil, noEOF(err)
	}
	return w, nil
}

func noEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// ReadSentence reads words up to the terminating empty word. Empty sentences
// are skipped, as the API manual asks.
func ReadSentence(r *bufio.Reader, limit int) ([]string, error) {
	var words []string
	for {
		w, err := ReadWord(r, limit)
		if err != nil {
			if len(words) > 0 {
				err = noEOF(err)
			}
			return nil, err
		}
		if len(w) == 0 {
			if len(words) == 0 {
				continue
			}
			return words, nil
		}
		words = append(words, string(w))
	}
}

// AppendLength appends the API length prefix for a word of n bytes.
func AppendLength(dst []byte, n int) []byte {
	switch {
	case n < 0x80:
		return append(dst, byte(n))
	case n < 0x4000:
		return append(dst, byte(n>>8)|0x80, byte(n))
	case n < 0x200000:
		return append(dst, byte(n>>16)|0xC0, byte(n>>8), byte(n))
	case n < 0x10000000:
		return append(dst, byte(n>>24)|0xE0, byte(n>>16), byte(n>>8), byte(n))
	default:
		return append(dst, 0xF0, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	}
}

// AppendSentence appends words and the terminating empty word.
func AppendSentence(dst []byte, words ...string) []byte {
	for _, w := range words {
		dst = AppendLength(dst, len(w))
		dst = append(dst, w...)
	}
	return append(dst, 0)
}
