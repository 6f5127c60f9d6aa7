package nbjson

import (
	"bytes"
	"encoding/json"
	"io"
	"reflect"
	"strings"
	"testing"
)

// FuzzJSON checks the fast JSON reader and writer against encoding/json:
// the same values (numbers as written) for what it accepts, an error for
// what it refuses, and writing a value back reads as the same value.
func FuzzJSON(f *testing.F) {
	for _, s := range []string{
		`{}`, `[]`, `""`, `0`, `-0.5e+10`, `1E2`, `true`, `null`, ` {"a" : [1, "x\ny", {"b": null}] } `,
		`{"a":1,"a":2}`, `"\ud83d\ude00"`, `"\ud800"`, `"\ud800\u0041"`, `"\udc00\ud800"`, "\"\xff\xfe\"",
		`"\u00e9\t\"\\\/\b\f\r"`, "\"\u2028\u2029\"", `01`, `1.`, `.5`, `-`, `1e`, `[1,]`, `{"a"}`, `{"a":}`,
		`"abc`, `"\x"`, "\"a\x01\"", `[1] 2`, `tru`, `nul`, `{"é": "ü"}`, strings.Repeat("[", 10001),
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		dec := json.NewDecoder(bytes.NewReader(in))
		dec.UseNumber()
		var want any
		wantErr := dec.Decode(&want)
		if wantErr == nil {
			if _, err := dec.Token(); err != io.EOF {
				wantErr = io.ErrUnexpectedEOF // something after the value
			}
		}
		got, err := Parse(in)
		if (err != nil) != (wantErr != nil) {
			t.Fatalf("Parse(%q) error %v, encoding/json %v", in, err, wantErr)
		}
		inPlace, errInPlace := ParseInPlace(bytes.Clone(in))
		if (errInPlace != nil) != (err != nil) || !reflect.DeepEqual(inPlace, got) {
			t.Fatalf("ParseInPlace(%q) = %#v, %v; parseJSON %#v, %v", in, inPlace, errInPlace, got, err)
		}
		if err != nil {
			return
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("Parse(%q) = %#v, encoding/json %#v", in, got, want)
		}
		out, err := appendJSON(nil, got)
		if err != nil {
			t.Fatalf("appendJSON(%#v): %v", got, err)
		}
		back, err := Parse(out)
		if err != nil || !reflect.DeepEqual(back, got) {
			t.Fatalf("appendJSON wrote %q, which reads as %#v, %v", out, back, err)
		}
	})
}

// appendJSON writes v as Writer does: compactly, as encoding/json does
// without HTML escaping, map keys sorted.
func appendJSON(b []byte, v any) ([]byte, error) {
	jw := NewWriter(b, nil, 0)
	jw.Value(v)
	return jw.B, jw.Err
}
