//go:build goexperiment.jsonv2

package nbjson

import (
	"encoding/json/jsontext"
	jsonv2 "encoding/json/v2"
	"io"
)

// encoding/json/v2 in BenchmarkCodec, when built with
// GOEXPERIMENT=jsonv2 (Go 1.26 ships it only so).
func init() {
	codecs = append(codecs, codec{
		name: "encoding-json-v2",
		parse: func(data []byte) (any, error) {
			var v any
			err := jsonv2.Unmarshal(data, &v)
			return v, err
		},
		write: func(w io.Writer, v any) error {
			return jsonv2.MarshalWrite(w, v, jsonv2.Deterministic(true))
		},
		indent: func(w io.Writer, v any) error {
			return jsonv2.MarshalWrite(w, v, jsonv2.Deterministic(true), jsontext.WithIndent(" "), jsontext.SpaceAfterColon(true))
		},
	})
}
