package jsonw

import (
	"bytes"
	"encoding/json"
	"testing"
)

// The bytes are encoding/json's, with and without HTML escaping.
func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", "plain", "<a href=\"x\">&amp;</a>", "tab\tnl\nnul\x00\x1f\b\f\x7f",
		"é中😀", "\u2028\u2029", "bad\xffutf8\xc3", "\\\"/"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, html := range []bool{false, true} {
			var buf bytes.Buffer
			enc := json.NewEncoder(&buf)
			enc.SetEscapeHTML(html)
			if err := enc.Encode(s); err != nil {
				t.Fatal(err)
			}
			want := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
			if got := AppendString(nil, s, html); !bytes.Equal(got, want) {
				t.Fatalf("AppendString(%q, %v) = %s, want %s", s, html, got, want)
			}
		}
	})
}
