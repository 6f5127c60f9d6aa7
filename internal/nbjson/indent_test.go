package nbjson

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestSplitLines(t *testing.T) {
	tests := []struct {
		in   string
		want []any
	}{
		{"", []any{}},
		{"a", []any{"a"}},
		{"a\n", []any{"a\n"}},
		{"a\r\nb\rc\n\nd", []any{"a\r\n", "b\r", "c\n", "\n", "d"}},
		{"x\u2028y\x0bz", []any{"x\u2028", "y\x0b", "z"}},
	}
	for _, tt := range tests {
		if got := splitLinesByRune(tt.in); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("splitlines(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestPyFloatRepr(t *testing.T) {
	tests := []struct {
		in   float64
		want string
	}{
		{1, "1.0"}, {0.1, "0.1"}, {1e-5, "1e-05"}, {1e-4, "0.0001"}, {1e16, "1e+16"},
		{1e15, "1000000000000000.0"}, {123456789.125, "123456789.125"}, {-2.5, "-2.5"},
		{1.5e300, "1.5e+300"}, {12345678901234567.0, "1.2345678901234568e+16"},
	}
	for _, tt := range tests {
		if got := pyFloatRepr(tt.in); got != tt.want {
			t.Errorf("pyFloatRepr(%v) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

// splitLinesByRune is str.splitlines(keepends=True) rune by rune, the
// plain reading of Python's rule that pyLines follows in one pass.
func splitLinesByRune(s string) []any {
	lines := []any{}
	start := 0
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		end := -1
		switch r {
		case '\r':
			end = i + 1
			if i+1 < len(s) && s[i+1] == '\n' {
				end = i + 2
			}
		case '\n', '\v', '\f', 0x1c, 0x1d, 0x1e, 0x85, 0x2028, 0x2029:
			end = i + size
		}
		if end < 0 {
			i += size
			continue
		}
		lines = append(lines, s[start:end])
		start, i = end, end
	}
	if start < len(s) {
		lines = append(lines, s[start:])
	}
	return lines
}

// pyLines is eachLine and pyString in one pass: the same bytes as
// writing the list of lines the plain way.
func TestPyLines(t *testing.T) {
	parts := []string{"a", "bc", "\n", "\r", "\r\n", "\v", "\f", "\x1c", "\x1d", "\x1e", "\u0085", "\u2028", "\u2029",
		"\u00c2", "\u20ac", "\u2027", "\u202a", "é", "x\u0086", "\"", "\\", "\t", "\b", "\x00", "\x1f", "\x7f", "😀"}
	for seed := range 5000 {
		var sb strings.Builder
		for k := range seed % 14 {
			sb.WriteString(parts[(seed*7+k*13+k*k*3)%len(parts)])
		}
		s := sb.String()
		var want bytes.Buffer
		lines := splitLinesByRune(s)
		if len(lines) == 0 {
			want.WriteString("[]")
		} else {
			want.WriteString("[\n")
			for i, l := range lines {
				if i > 0 {
					want.WriteString(",\n")
				}
				indent(&want, 3)
				pyString(&want, l.(string))
			}
			want.WriteString("\n")
			indent(&want, 2)
			want.WriteString("]")
		}
		var got bytes.Buffer
		pyLines(&got, s, 2)
		if got.String() != want.String() {
			t.Fatalf("pyLines(%q):\n got %s\nwant %s", s, got.String(), want.String())
		}
	}
}
