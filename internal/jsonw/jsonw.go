// Package jsonw writes JSON strings exactly as encoding/json does, for
// the hand-written encoders of the hub's largest answers (notebooks, the
// users list), which skip encoding/json's reflection.
package jsonw

import "unicode/utf8"

// plain marks the bytes copied as they are: printable ASCII but the
// quote and the backslash, and, with HTML escaping, but <, > and &.
var plain, plainHTML = func() (t, h [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
		h[c] = t[c] && c != '<' && c != '>' && c != '&'
	}
	return t, h
}()

// AppendString appends s as a quoted JSON string: quotes, backslashes and
// control characters escaped, invalid UTF-8 as U+FFFD, U+2028 and U+2029
// escaped, and with html also <, > and & (encoding/json's default).
func AppendString(b []byte, s string, html bool) []byte {
	b = append(b, '"')
	b = AppendStringBody(b, s, html)
	return append(b, '"')
}

// AppendStringBody is AppendString without the quotes: strings written
// one after another this way read as their concatenation.
func AppendStringBody(b []byte, s string, html bool) []byte {
	const hexdig = "0123456789abcdef"
	table := &plain
	if html {
		table = &plainHTML
	}
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if table[c] {
			i++
			continue
		}
		if c < utf8.RuneSelf {
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			default:
				b = append(b, '\\', 'u', '0', '0', hexdig[c>>4], hexdig[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexdig[r&0xf])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	return append(b, s[start:]...)
}
