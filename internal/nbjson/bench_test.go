package nbjson

import (
	"bytes"
	"encoding/json"
	"io"
	"testing"

	"github.com/sparkhub/sparkhub/bench/notebook"
)

// BenchmarkCodec reads and writes the notebook every contents benchmark
// saves (10 MiB, bench/notebook) with this package and with the standard
// library, so the next person can see whether this package still pays:
//
//	go test -run '^$' -bench Codec ./internal/nbjson/
//	GOEXPERIMENT=jsonv2 go test -run '^$' -bench Codec ./internal/nbjson/
//
// The second adds encoding/json/v2 (bench_jsonv2_test.go); under that
// experiment encoding/json itself is built on v2. Each codec:
//   - Parse: the bytes to generic values (encoding/json with UseNumber;
//     v2 has no such option and makes float64s);
//   - Write: those values back as compact JSON, keys sorted, no HTML
//     escaping (a GET's answer);
//   - Indent: as Write, one space an indent level and ": " after keys
//     (nbformat's layout, which a save stores).
//
// For this notebook nbjson and encoding/json write the same bytes (but
// encoding/json's final newline); nbjson's Indent also writes floats as
// Python does, which the others do not.
func BenchmarkCodec(b *testing.B) {
	var body struct{ Content json.RawMessage }
	if err := json.Unmarshal(notebook.PutBody(10<<20), &body); err != nil {
		b.Fatal(err)
	}
	data := []byte(body.Content)
	for _, c := range codecs {
		v, err := c.parse(bytes.Clone(data))
		if err != nil {
			b.Fatalf("%s: %v", c.name, err)
		}
		b.Run("Parse/"+c.name, func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			buf := make([]byte, len(data))
			for b.Loop() {
				copy(buf, data) // ParseInPlace writes over its input
				if _, err := c.parse(buf); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("Write/"+c.name, func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				if err := c.write(io.Discard, v); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("Indent/"+c.name, func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				if err := c.indent(io.Discard, v); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// A codec is one way to read and write notebooks' JSON. Writing goes to
// an io.Writer, as an answer does: nbjson's Writer hands on 256 KiB at a
// time (as the contents service does) and its Indent writes into a
// buffer kept from one save to the next (as a save does), while
// encoding/json builds each value in a buffer of its own pool.
type codec struct {
	name          string
	parse         func([]byte) (any, error)
	write, indent func(io.Writer, any) error
}

var codecs = []codec{
	{
		name:  "nbjson",
		parse: ParseInPlace,
		write: func(w io.Writer, v any) error {
			const chunk = 256 << 10
			jw := NewWriter(make([]byte, 0, chunk+chunk/4), w, chunk)
			jw.Value(v)
			jw.Flush(true)
			return jw.Err
		},
		indent: func() func(io.Writer, any) error {
			var buf bytes.Buffer
			return func(w io.Writer, v any) error {
				buf.Reset()
				if err := Indent(&buf, v); err != nil {
					return err
				}
				_, err := w.Write(buf.Bytes())
				return err
			}
		}(),
	},
	{
		name: "encoding-json",
		parse: func(data []byte) (any, error) {
			dec := json.NewDecoder(bytes.NewReader(data))
			dec.UseNumber()
			var v any
			err := dec.Decode(&v)
			return v, err
		},
		write:  func(w io.Writer, v any) error { return encodeV1(w, v, false) },
		indent: func(w io.Writer, v any) error { return encodeV1(w, v, true) },
	},
}

func encodeV1(w io.Writer, v any, indent bool) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	if indent {
		enc.SetIndent("", " ")
	}
	return enc.Encode(v)
}
