package ups

import (
	"errors"
	"strings"
)

var errUnterminated = errors.New("unterminated quoted word")

// splitLine splits one protocol line into words the way upsd's parser does:
// runs of blanks separate words, "…" groups a word, and a backslash makes the
// next byte literal both inside and outside quotes. Unlike upsd it accepts '#'
// inside quotes (upsd sends it unescaped) and treats an unquoted '#' as an
// ordinary byte, since replies never carry comments. The words are appended to
// dst, which may be nil; words without escapes share memory with line.
func splitLine(line string, dst []string) ([]string, error) {
	var scratch []byte
	return splitLineBuf(line, dst, &scratch)
}

// splitLineBuf is splitLine with a reusable buffer for unescaping.
func splitLineBuf(line string, dst []string, scratch *[]byte) ([]string, error) {
	i, n := 0, len(line)
	for {
		for i < n && isBlank(line[i]) {
			i++
		}
		if i >= n {
			return dst, nil
		}
		quoted := line[i] == '"'
		if quoted {
			i++
		}
		start := i
		var b []byte // only when the word holds an escape
		escaped := false
		for {
			if i >= n {
				if quoted {
					return dst, errUnterminated
				}
				break
			}
			c := line[i]
			if quoted && c == '"' {
				break
			}
			if !quoted && (isBlank(c) || c == '"') {
				break
			}
			if c == '\\' {
				if !escaped {
					escaped = true
					b = append((*scratch)[:0], line[start:i]...)
				}
				i++
				if i >= n {
					if quoted {
						return dst, errUnterminated
					}
					break // a trailing lone backslash escapes nothing
				}
				c = line[i]
			}
			if escaped {
				b = append(b, c)
			}
			i++
		}
		if escaped {
			dst = append(dst, string(b))
			*scratch = b[:0]
		} else {
			dst = append(dst, line[start:i])
		}
		if quoted {
			i++ // closing quote
		}
	}
}

func isBlank(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

// quote returns s as one quoted protocol word, escaping '"', '\' and '#'
// (upsd rejects an unescaped '#' inside quotes and silently drops the line).
func quote(s string) string { return string(appendQuoted(nil, s)) }

func appendQuoted(b []byte, s string) []byte {
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '"', '\\', '#':
			b = append(b, '\\', c)
		default:
			b = append(b, c)
		}
	}
	return append(b, '"')
}

// appendWord appends s bare when that is unambiguous, quoted otherwise.
func appendWord(b []byte, s string) []byte {
	if s == "" {
		return append(b, '"', '"')
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == '_' || c == ':' || c == '@' || c == '/') {
			return appendQuoted(b, s)
		}
	}
	return append(b, s...)
}

// checkArg rejects bytes that cannot travel inside one protocol line.
func checkArg(s string) error {
	if strings.ContainsAny(s, "\n\r\x00") {
		return errors.New("argument contains a line break or NUL")
	}
	return nil
}
