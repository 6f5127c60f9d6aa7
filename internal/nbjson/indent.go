package nbjson

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
)

// Indent writes v as nbformat stores a notebook: Python's json.dumps(v,
// indent=1, sort_keys=True, separators=(',', ': '), ensure_ascii=False),
// with Lines as lists of lines. A number Python would not read back (out
// of float64's range) is a *NumberError.
func Indent(b *bytes.Buffer, v any) error {
	return dump(b, v, 0)
}

func dump(b *bytes.Buffer, v any, level int) error {
	switch x := v.(type) {
	case nil:
		b.WriteString("null")
	case bool:
		if x {
			b.WriteString("true")
		} else {
			b.WriteString("false")
		}
	case string:
		pyString(b, x)
	case Lines:
		pyLines(b, string(x), level)
	case json.Number:
		s, err := pyNumber(x)
		if err != nil {
			return err
		}
		b.WriteString(s)
	case float64:
		s, err := pyNumber(json.Number(strconv.FormatFloat(x, 'g', -1, 64)))
		if err != nil {
			return err
		}
		b.WriteString(s)
	case []any:
		if len(x) == 0 {
			b.WriteString("[]")
			return nil
		}
		b.WriteString("[\n")
		for i, e := range x {
			if i > 0 {
				b.WriteString(",\n")
			}
			indent(b, level+1)
			if err := dump(b, e, level+1); err != nil {
				return err
			}
		}
		b.WriteString("\n")
		indent(b, level)
		b.WriteString("]")
	case map[string]any:
		if len(x) == 0 {
			b.WriteString("{}")
			return nil
		}
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys) // byte order of UTF-8 is code point order, as Python sorts
		b.WriteString("{\n")
		for i, k := range keys {
			if i > 0 {
				b.WriteString(",\n")
			}
			indent(b, level+1)
			pyString(b, k)
			b.WriteString(": ")
			if err := dump(b, x[k], level+1); err != nil {
				return err
			}
		}
		b.WriteString("\n")
		indent(b, level)
		b.WriteString("}")
	default:
		return fmt.Errorf("cannot write %T in a notebook", v)
	}
	return nil
}

// spaces is indentation for a notebook nested this deep; deeper levels
// take several pieces.
const spaces = "                                "

func indent(b *bytes.Buffer, level int) {
	for level > len(spaces) {
		b.WriteString(spaces)
		level -= len(spaces)
	}
	b.WriteString(spaces[:level])
}

func pyString(b *bytes.Buffer, s string) {
	b.WriteByte('"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' { // UTF-8 goes as it is
			continue
		}
		b.WriteString(s[start:i])
		start = i + 1
		pyEscape(b, c)
	}
	b.WriteString(s[start:])
	b.WriteByte('"')
}

// pyEscape writes an ASCII control character, quote or backslash as
// Python's json.dumps does.
func pyEscape(b *bytes.Buffer, c byte) {
	const hexdig = "0123456789abcdef"
	switch c {
	case '"':
		b.WriteString(`\"`)
	case '\\':
		b.WriteString(`\\`)
	case '\n':
		b.WriteString(`\n`)
	case '\r':
		b.WriteString(`\r`)
	case '\t':
		b.WriteString(`\t`)
	case '\b':
		b.WriteString(`\b`)
	case '\f':
		b.WriteString(`\f`)
	default:
		b.WriteString(`\u00`)
		b.WriteByte(hexdig[c>>4])
		b.WriteByte(hexdig[c&0xf])
	}
}

// pyPlain marks the bytes pyLines copies as they are: all but control
// characters, the quote, the backslash, and the lead bytes of the
// line breaks U+0085 and U+2028/U+2029.
var pyPlain = func() (t [256]bool) {
	for c := 0x20; c < 256; c++ {
		t[c] = c != '"' && c != '\\' && c != 0xc2 && c != 0xe2
	}
	return t
}()

// pyLines writes s as nbformat stores a multi-line string: the list of
// its lines (str.splitlines(keepends=True)), each as pyString writes it,
// one per line at level+1. It is eachLine and pyString in one pass over
// the text, the bulk of writing a notebook with long outputs.
func pyLines(b *bytes.Buffer, s string, level int) {
	if s == "" {
		b.WriteString("[]")
		return
	}
	b.WriteString("[\n")
	indent(b, level+1)
	b.WriteByte('"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if pyPlain[c] {
			continue
		}
		b.WriteString(s[start:i])
		lineEnd := false
		switch c {
		case 0xc2: // U+0085 ends a line, other runes go as they are
			b.WriteByte(c)
			if i+1 < len(s) && s[i+1] == 0x85 {
				b.WriteByte(0x85)
				i++
				lineEnd = true
			}
		case 0xe2: // so do U+2028 and U+2029
			b.WriteByte(c)
			if i+2 < len(s) && s[i+1] == 0x80 && (s[i+2] == 0xa8 || s[i+2] == 0xa9) {
				b.WriteString(s[i+1 : i+3])
				i += 2
				lineEnd = true
			}
		case '\r':
			pyEscape(b, c)
			if i+1 < len(s) && s[i+1] == '\n' {
				pyEscape(b, '\n')
				i++
			}
			lineEnd = true
		default:
			pyEscape(b, c)
			lineEnd = c == '\n' || c == '\v' || c == '\f' || 0x1c <= c && c <= 0x1e
		}
		start = i + 1
		if lineEnd && start < len(s) {
			b.WriteString("\",\n")
			indent(b, level+1)
			b.WriteByte('"')
		}
	}
	b.WriteString(s[start:])
	b.WriteString("\"\n")
	indent(b, level)
	b.WriteByte(']')
}

// NumberError is a number out of float64's range, as it is written.
type NumberError struct{ Number string }

func (e *NumberError) Error() string { return "number out of range" }

// pyNumber writes a JSON number as Python reads and re-writes it: an
// integer as is, anything with a fraction or exponent as repr(float).
func pyNumber(n json.Number) (string, error) {
	s := string(n)
	if !strings.ContainsAny(s, ".eE") {
		if s == "-0" {
			return "0", nil
		}
		return s, nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return "", &NumberError{Number: s}
	}
	return pyFloatRepr(f), nil
}

// pyFloatRepr is Python's repr(float): the shortest round-tripping
// digits, positional when the exponent is in [-4, 16), else scientific.
func pyFloatRepr(f float64) string {
	if f == 0 {
		if math.Signbit(f) {
			return "-0.0"
		}
		return "0.0"
	}
	sign := ""
	if f < 0 {
		sign = "-"
		f = -f
	}
	e := strconv.FormatFloat(f, 'e', -1, 64) // d.ddde±XX
	mant, exp, _ := strings.Cut(e, "e")
	digits := strings.Replace(mant, ".", "", 1)
	x, _ := strconv.Atoi(exp)
	decpt := x + 1
	if decpt > -4 && decpt <= 16 {
		switch {
		case decpt <= 0:
			return sign + "0." + strings.Repeat("0", -decpt) + digits
		case decpt >= len(digits):
			return sign + digits + strings.Repeat("0", decpt-len(digits)) + ".0"
		default:
			return sign + digits[:decpt] + "." + digits[decpt:]
		}
	}
	m := digits[:1]
	if len(digits) > 1 {
		m += "." + digits[1:]
	}
	es := "+"
	if x < 0 {
		es = "-"
		x = -x
	}
	return fmt.Sprintf("%s%se%s%02d", sign, m, es, x)
}
