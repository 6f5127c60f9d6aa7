package nbjson

import (
	"encoding/json"
	"io"
	"slices"
	"strconv"

	"github.com/sparkhub/sparkhub/internal/jsonw"
)

// Writer writes values as encoding/json does without HTML escaping, map
// keys sorted, into B and, when it has an io.Writer, hands B to it each
// time it holds the limit's bytes between two elements: a large answer
// goes out while the rest of it is written.
type Writer struct {
	B     []byte // written and not yet handed on
	Err   error  // the first error; once set, nothing more is written
	w     io.Writer
	limit int
}

// NewWriter writes into buf, handing it to w (when not nil) as it
// reaches limit bytes.
func NewWriter(buf []byte, w io.Writer, limit int) *Writer {
	return &Writer{B: buf, w: w, limit: limit}
}

// An Appender is a value of the caller's own type that writes itself.
type Appender interface {
	AppendJSON(w *Writer)
}

// Flush hands what is written to the io.Writer: always when force is
// set, else once it holds the limit's bytes.
func (jw *Writer) Flush(force bool) {
	if jw.w == nil || jw.Err != nil || !force && len(jw.B) < jw.limit {
		return
	}
	_, jw.Err = jw.w.Write(jw.B)
	jw.B = jw.B[:0]
}

// List writes list as a JSON array, each element with write.
func List[T any](jw *Writer, list []T, write func(*Writer, T)) {
	jw.B = append(jw.B, '[')
	for i, e := range list {
		if i > 0 {
			jw.B = append(jw.B, ',')
		}
		write(jw, e)
		jw.Flush(false)
	}
	jw.B = append(jw.B, ']')
}

// Value writes v: a value Parse gives, a Joined, an int64, an Appender,
// or else what encoding/json makes of it.
func (jw *Writer) Value(v any) {
	if jw.Err != nil {
		return
	}
	switch x := v.(type) {
	case nil:
		jw.B = append(jw.B, "null"...)
	case bool:
		jw.B = strconv.AppendBool(jw.B, x)
	case string:
		jw.B = jsonw.AppendString(jw.B, x, false)
	case Joined:
		jw.B = append(jw.B, '"')
		for _, piece := range x {
			jw.B = jsonw.AppendStringBody(jw.B, piece.(string), false)
		}
		jw.B = append(jw.B, '"')
	case json.Number: // as parsed, so valid
		if x == "" {
			x = "0"
		}
		jw.B = append(jw.B, x...)
	case int64:
		jw.B = strconv.AppendInt(jw.B, x, 10)
	case []any:
		List(jw, x, (*Writer).Value)
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		jw.B = append(jw.B, '{')
		for i, k := range keys {
			if i > 0 {
				jw.B = append(jw.B, ',')
			}
			jw.B = jsonw.AppendString(jw.B, k, false)
			jw.B = append(jw.B, ':')
			jw.Value(x[k])
			jw.Flush(false)
		}
		jw.B = append(jw.B, '}')
	case Appender:
		x.AppendJSON(jw)
	default:
		data, err := json.Marshal(v)
		if err != nil {
			jw.Err = err
			return
		}
		jw.B = append(jw.B, data...)
	}
}
