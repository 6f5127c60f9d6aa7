package nbjson

import (
	"bytes"
	"encoding/json"
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
// nbjson's Indent also writes numbers as Python does, which the others
// do not; the bytes otherwise match for this notebook.
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
				if _, err := c.write(v); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("Indent/"+c.name, func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				if _, err := c.indent(v); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// A codec is one way to read and write notebooks' JSON.
type codec struct {
	name          string
	parse         func([]byte) (any, error)
	write, indent func(any) ([]byte, error)
}

var codecs = []codec{
	{
		name:  "nbjson",
		parse: ParseInPlace,
		write: func(v any) ([]byte, error) { return appendJSON(nil, v) },
		indent: func(v any) ([]byte, error) {
			var buf bytes.Buffer
			err := Indent(&buf, v)
			return buf.Bytes(), err
		},
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
		write: func(v any) ([]byte, error) { return encodeV1(v, false) },
		indent: func(v any) ([]byte, error) {
			return encodeV1(v, true)
		},
	},
}

func encodeV1(v any, indent bool) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if indent {
		enc.SetIndent("", " ")
	}
	err := enc.Encode(v)
	return buf.Bytes(), err
}
