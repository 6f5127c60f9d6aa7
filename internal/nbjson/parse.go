package nbjson

import (
	"encoding/json"
	"fmt"
	"slices"
	"unicode/utf16"
	"unicode/utf8"
	"unsafe"
)

// maxDepth is encoding/json's nesting limit.
const maxDepth = 10000

// SyntaxError says where a JSON text goes wrong.
type SyntaxError struct {
	Msg    string // what is wrong
	Offset int    // the byte where reading stopped
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("%s at offset %d", e.Msg, e.Offset)
}

type parser struct {
	data  []byte
	pos   int
	depth int
	// Strings are written into arenas, each a single allocation whose
	// bytes never change once a string points at them: a notebook has
	// a string per line of every output, and one allocation each would
	// cost more than the parse.
	arena []byte
	stack []any // elements of the arrays being read
	// inPlace: strings are made from data itself (ParseInPlace).
	inPlace bool
}

// plain marks the bytes a JSON string carries as they are: printable
// ASCII but the quote and the backslash.
var plain = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// arenaString copies b into the arena and returns it as a string.
func (p *parser) arenaString(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	p.reserve(len(b))
	off := len(p.arena)
	p.arena = append(p.arena, b...)
	return unsafe.String(&p.arena[off], len(b))
}

// reserve makes room for n more bytes in the arena, starting a new one
// (the old one stays as it is, for the strings that point into it) when
// the current one is full.
func (p *parser) reserve(n int) {
	if cap(p.arena)-len(p.arena) >= n {
		return
	}
	p.arena = make([]byte, 0, max(n, len(p.data)-p.pos, 4096))
}

// Parse reads one JSON value; only whitespace may follow it. What it
// refuses is a *SyntaxError.
func Parse(data []byte) (any, error) {
	return (&parser{data: data}).parse()
}

// ParseInPlace is Parse for a buffer the caller hands over: when
// it is valid UTF-8, strings are unescaped where they stand and point
// into it (unescaping only shortens text), so nothing is copied; data
// must not be used or changed afterwards.
func ParseInPlace(data []byte) (any, error) {
	return (&parser{data: data, inPlace: utf8.Valid(data)}).parse()
}

func (p *parser) parse() (any, error) {
	v, err := p.value()
	if err != nil {
		return nil, err
	}
	p.space()
	if p.pos < len(p.data) {
		return nil, p.fail("data after the JSON value")
	}
	return v, nil
}

// ParseObject reads a JSON object, each member parsed; with
// inPlace, as ParseInPlace.
func ParseObject(data []byte, inPlace bool) (map[string]any, error) {
	parse := Parse
	if inPlace {
		parse = ParseInPlace
	}
	v, err := parse(data)
	if err != nil {
		return nil, err
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, &SyntaxError{Msg: "not a JSON object", Offset: 0}
	}
	return m, nil
}

func (p *parser) fail(msg string) error {
	return &SyntaxError{Msg: msg, Offset: p.pos}
}

func (p *parser) space() {
	for p.pos < len(p.data) {
		switch p.data[p.pos] {
		case ' ', '\t', '\n', '\r':
			p.pos++
		default:
			return
		}
	}
}

func (p *parser) value() (any, error) {
	p.space()
	if p.pos >= len(p.data) {
		return nil, p.fail("unexpected end of JSON input")
	}
	switch c := p.data[p.pos]; {
	case c == '{':
		return p.object()
	case c == '[':
		return p.array()
	case c == '"':
		return p.str()
	case c == '-' || '0' <= c && c <= '9':
		return p.number()
	case c == 't':
		return true, p.literal("true")
	case c == 'f':
		return false, p.literal("false")
	case c == 'n':
		return nil, p.literal("null")
	default:
		return nil, p.fail(fmt.Sprintf("invalid character %q looking for the beginning of a value", c))
	}
}

func (p *parser) literal(word string) error {
	if len(p.data)-p.pos < len(word) || string(p.data[p.pos:p.pos+len(word)]) != word {
		return p.fail("invalid literal, expected " + word)
	}
	p.pos += len(word)
	return nil
}

func (p *parser) nest() error {
	p.depth++
	if p.depth > maxDepth {
		return p.fail("exceeded max depth")
	}
	return nil
}

func (p *parser) object() (any, error) {
	if err := p.nest(); err != nil {
		return nil, err
	}
	p.pos++ // {
	m := map[string]any{}
	p.space()
	if p.pos < len(p.data) && p.data[p.pos] == '}' {
		p.pos++
		p.depth--
		return m, nil
	}
	for {
		p.space()
		if p.pos >= len(p.data) || p.data[p.pos] != '"' {
			return nil, p.fail("expected a string for an object key")
		}
		k, err := p.str()
		if err != nil {
			return nil, err
		}
		p.space()
		if p.pos >= len(p.data) || p.data[p.pos] != ':' {
			return nil, p.fail("expected ':' after an object key")
		}
		p.pos++
		v, err := p.value()
		if err != nil {
			return nil, err
		}
		m[k] = v
		if more, err := p.next('}', "an object member"); err != nil {
			return nil, err
		} else if !more {
			return m, nil
		}
	}
}

func (p *parser) array() (any, error) {
	if err := p.nest(); err != nil {
		return nil, err
	}
	p.pos++ // [
	p.space()
	if p.pos < len(p.data) && p.data[p.pos] == ']' {
		p.pos++
		p.depth--
		return []any{}, nil
	}
	// Elements gather on a stack shared by every array being read, and
	// each array is made once at its final length.
	base := len(p.stack)
	defer func() { clear(p.stack[base:]); p.stack = p.stack[:base] }()
	for {
		v, err := p.value()
		if err != nil {
			return nil, err
		}
		p.stack = append(p.stack, v)
		if more, err := p.next(']', "an array element"); err != nil {
			return nil, err
		} else if !more {
			return slices.Clone(p.stack[base:]), nil
		}
	}
}

// next reads what follows an object member or array element: a comma,
// with more to come, or the closing bracket, with no more.
func (p *parser) next(closing byte, after string) (more bool, err error) {
	p.space()
	if p.pos >= len(p.data) {
		return false, p.fail("unexpected end of JSON input")
	}
	switch p.data[p.pos] {
	case ',':
		p.pos++
		return true, nil
	case closing:
		p.pos++
		p.depth--
		return false, nil
	}
	return false, p.fail("expected ',' or '" + string(closing) + "' after " + after)
}

func (p *parser) number() (any, error) {
	d, start, i := p.data, p.pos, p.pos
	digits := func() int {
		j := i
		for i < len(d) && '0' <= d[i] && d[i] <= '9' {
			i++
		}
		return i - j
	}
	if i < len(d) && d[i] == '-' {
		i++
	}
	switch {
	case i < len(d) && d[i] == '0':
		i++
	case digits() == 0:
		p.pos = i
		return nil, p.fail("invalid number")
	}
	if i < len(d) && d[i] == '.' {
		i++
		if digits() == 0 {
			p.pos = i
			return nil, p.fail("invalid number: no digits after the decimal point")
		}
	}
	if i < len(d) && (d[i] == 'e' || d[i] == 'E') {
		i++
		if i < len(d) && (d[i] == '+' || d[i] == '-') {
			i++
		}
		if digits() == 0 {
			p.pos = i
			return nil, p.fail("invalid number: no digits in the exponent")
		}
	}
	p.pos = i
	return json.Number(d[start:i]), nil
}

// str reads a string at p.pos (its opening quote).
func (p *parser) str() (string, error) {
	d := p.data
	start := p.pos + 1
	i := start
	ascii := true
	for i < len(d) {
		c := d[i]
		if plain[c] {
			i++
			continue
		}
		if c == '"' {
			p.pos = i + 1
			if p.inPlace {
				if i == start {
					return "", nil
				}
				return unsafe.String(&d[start], i-start), nil
			}
			if ascii || utf8.Valid(d[start:i]) {
				return p.arenaString(d[start:i]), nil
			}
			return p.slowStr(start)
		}
		if c == '\\' {
			return p.slowStr(start)
		}
		if c < 0x20 {
			p.pos = i
			return "", p.fail("invalid control character in string")
		}
		if c >= utf8.RuneSelf {
			ascii = false
		}
		i++
	}
	p.pos = i
	return "", p.fail("unexpected end of JSON input in a string")
}

// slowStr reads a string with escapes or invalid UTF-8 from start (just
// after its opening quote).
func (p *parser) slowStr(start int) (string, error) {
	d := p.data
	if p.inPlace {
		// Written over the escaped text as it is read: the writing
		// never passes the reading, and data has no invalid byte to
		// become a longer U+FFFD.
		b, err := p.unescape(start, d[start:start])
		if err != nil || len(b) == 0 {
			return "", err
		}
		return unsafe.String(&b[0], len(b)), nil
	}
	// The string is built at the arena's end. An arena is made as large
	// as the input left to read and unescaping never lengthens text, so
	// the room is there unless invalid bytes became three-byte U+FFFDs;
	// then append moves the arena to a new array, and the strings
	// already made keep the old one.
	p.reserve(len(d) - start)
	off := len(p.arena)
	b, err := p.unescape(start, p.arena)
	if err != nil {
		return "", err
	}
	p.arena = b
	if len(b) == off {
		return "", nil
	}
	return unsafe.String(&b[off], len(b)-off), nil
}

// unescape appends the string starting at start (just after its opening
// quote) to b, unescaped, and moves past its closing quote.
func (p *parser) unescape(start int, b []byte) ([]byte, error) {
	d := p.data
	i := start
	for i < len(d) {
		c := d[i]
		switch {
		case c == '"':
			p.pos = i + 1
			return b, nil
		case c == '\\':
			if i+1 >= len(d) {
				p.pos = i
				return nil, p.fail("unexpected end of JSON input in a string")
			}
			switch e := d[i+1]; e {
			case '"', '\\', '/':
				b = append(b, e)
			case 'b':
				b = append(b, '\b')
			case 'f':
				b = append(b, '\f')
			case 'n':
				b = append(b, '\n')
			case 'r':
				b = append(b, '\r')
			case 't':
				b = append(b, '\t')
			case 'u':
				r, ok := hex4(d[i+2:])
				if !ok {
					p.pos = i
					return nil, p.fail(`invalid \u escape in string`)
				}
				i += 6
				if utf16.IsSurrogate(r) {
					r2, ok := rune(-1), false
					if i+1 < len(d) && d[i] == '\\' && d[i+1] == 'u' {
						r2, ok = hex4(d[i+2:])
					}
					if dec := utf16.DecodeRune(r, r2); ok && dec != utf8.RuneError {
						i += 6
						r = dec
					} else {
						r = utf8.RuneError
					}
				}
				b = utf8.AppendRune(b, r)
				continue
			default:
				p.pos = i
				return nil, p.fail("invalid escape in string")
			}
			i += 2
		case c < 0x20:
			p.pos = i
			return nil, p.fail("invalid control character in string")
		case c < utf8.RuneSelf:
			j := i + 1
			for j < len(d) && plain[d[j]] {
				j++
			}
			b = append(b, d[i:j]...)
			i = j
		default:
			r, size := utf8.DecodeRune(d[i:])
			if r == utf8.RuneError && size == 1 {
				b = utf8.AppendRune(b, utf8.RuneError)
			} else {
				b = append(b, d[i:i+size]...)
			}
			i += size
		}
	}
	p.pos = i
	return nil, p.fail("unexpected end of JSON input in a string")
}

func hex4(d []byte) (rune, bool) {
	if len(d) < 4 {
		return 0, false
	}
	var r rune
	for _, c := range d[:4] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c -= 'a' - 10
		case 'A' <= c && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}
