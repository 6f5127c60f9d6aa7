package contents

import (
	"strconv"

	"github.com/sparkhub/sparkhub/internal/jsonw"
	"github.com/sparkhub/sparkhub/internal/nbjson"
)

// A model is answered through nbjson's writer: a notebook's content is
// the bulk of the answer, written without encoding/json's reflection.

// modelList is a directory's content.
type modelList []*Model

// AppendJSON writes the list as encoding/json would.
func (l modelList) AppendJSON(jw *nbjson.Writer) {
	nbjson.List(jw, l, func(jw *nbjson.Writer, m *Model) { m.appendJSON(jw) })
}

// appendJSON writes the model as encoding/json would, with its content
// through the fast writer.
func (m *Model) appendJSON(jw *nbjson.Writer) {
	str := func(key, v string) {
		jw.B = append(jw.B, ',', '"')
		jw.B = append(jw.B, key...)
		jw.B = append(jw.B, '"', ':')
		jw.B = jsonw.AppendString(jw.B, v, false)
	}
	strPtr := func(key string, v *string) {
		if v == nil {
			jw.B = append(jw.B, ',', '"')
			jw.B = append(jw.B, key...)
			jw.B = append(jw.B, `":null`...)
			return
		}
		str(key, *v)
	}
	jw.B = append(jw.B, `{"name":`...)
	jw.B = jsonw.AppendString(jw.B, m.Name, false)
	str("path", m.Path)
	str("type", m.Type)
	jw.B = append(jw.B, `,"writable":`...)
	jw.B = strconv.AppendBool(jw.B, m.Writable)
	str("created", m.Created)
	str("last_modified", m.LastModified)
	jw.B = append(jw.B, `,"content":`...)
	jw.Value(m.Content)
	strPtr("format", m.Format)
	strPtr("mimetype", m.Mimetype)
	jw.B = append(jw.B, `,"size":`...)
	if m.Size == nil {
		jw.B = append(jw.B, "null"...)
	} else {
		jw.B = strconv.AppendInt(jw.B, *m.Size, 10)
	}
	strPtr("hash", m.Hash)
	strPtr("hash_algorithm", m.HashAlgorithm)
	if m.Message != "" {
		str("message", m.Message)
	}
	jw.B = append(jw.B, '}')
}
