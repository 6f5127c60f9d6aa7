package contents

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
)

// Notebooks are stored as nbformat.writes(nb, version=4) writes them:
// json.dumps(indent=1, sort_keys=True, separators=(',', ': '),
// ensure_ascii=False) of the notebook after split_lines and
// strip_transient, with no trailing newline. Writing the same bytes means
// a notebook saved here reads the same in pgcontents, and the other way.

// nbMinor is the nbformat minor version new notebooks get (nbformat 5.5).
const nbMinor = 5

// emptyNotebook is nbformat.v4.new_notebook(), serialised.
func emptyNotebook() map[string]any {
	return map[string]any{
		"cells":          []any{},
		"metadata":       map[string]any{},
		"nbformat":       json.Number("4"),
		"nbformat_minor": json.Number(strconv.Itoa(nbMinor)),
	}
}

// checkNotebook refuses what is not a notebook at all: Jupyter would fail
// on it with a 500. What is a notebook but breaks the schema is saved,
// with a warning (validateNotebook).
func checkNotebook(v any) (map[string]any, error) {
	nb, ok := v.(map[string]any)
	if !ok {
		return nil, badRequest("A notebook's content must be a JSON object.")
	}
	if major, ok := nb["nbformat"].(json.Number); ok {
		if n, err := major.Int64(); err == nil && n < 4 {
			return nil, badRequest("This notebook is in nbformat %d; only nbformat 4 notebooks can be saved. Open and save it in Jupyter to convert it.", n)
		}
	}
	cells, ok := nb["cells"].([]any)
	if !ok {
		return nil, badRequest("A notebook must have a list of cells.")
	}
	for i, c := range cells {
		if _, ok := c.(map[string]any); !ok {
			return nil, badRequest("Cell %d of the notebook is not a JSON object.", i)
		}
	}
	if md, has := nb["metadata"]; has {
		if _, ok := md.(map[string]any); !ok {
			return nil, badRequest("A notebook's metadata must be a JSON object.")
		}
	}
	return nb, nil
}

// serialiseNotebook writes nb as nbformat does. It changes nb: lines are
// split, transient keys dropped and missing cell ids added. sizeHint is
// about how long the result will be (the notebook's size as JSON), or 0.
func serialiseNotebook(nb map[string]any, sizeHint int) ([]byte, error) {
	stripTransient(nb)
	addCellIDs(nb)
	splitLines(nb)
	var buf bytes.Buffer
	buf.Grow(sizeHint + sizeHint/4) // nbformat's indentation and one string per line
	if err := pyDump(&buf, nb, 0); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// parseNotebookInPlace reads stored notebook bytes as nbformat.reads
// does for version 4 (lines rejoined, transient keys dropped), from a
// buffer handed over (see parseJSONInPlace), for a notebook that is only
// to be written out as JSON: its line lists stay lists, as joinedText.
func parseNotebookInPlace(data []byte) (map[string]any, error) {
	v, err := parseJSONInPlace(data)
	return readNotebook(v, err, joinLater)
}

func readNotebook(v any, err error, join joiner) (map[string]any, error) {
	if err != nil {
		return nil, err
	}
	nb, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("not a JSON object")
	}
	if cells, ok := nb["cells"].([]any); ok {
		for _, c := range cells {
			if cell, ok := c.(map[string]any); ok {
				rejoinCell(cell, join)
			}
		}
	}
	stripTransient(nb)
	return nb, nil
}

func cellsOf(nb map[string]any) []map[string]any {
	raw, _ := nb["cells"].([]any)
	cells := make([]map[string]any, 0, len(raw))
	for _, c := range raw {
		if cell, ok := c.(map[string]any); ok {
			cells = append(cells, cell)
		}
	}
	return cells
}

func stripTransient(nb map[string]any) {
	if md, ok := nb["metadata"].(map[string]any); ok {
		delete(md, "orig_nbformat")
		delete(md, "orig_nbformat_minor")
		delete(md, "signature")
	}
	for _, cell := range cellsOf(nb) {
		if md, ok := cell["metadata"].(map[string]any); ok {
			delete(md, "trusted")
		}
	}
}

// addCellIDs gives cells of a 4.5+ notebook the ids nbformat's validator
// adds when missing, and replaces duplicates.
func addCellIDs(nb map[string]any) {
	major, _ := numberOf(nb["nbformat"])
	minor, _ := numberOf(nb["nbformat_minor"])
	if major != 4 || minor < 5 {
		return
	}
	seen := map[string]bool{}
	for _, cell := range cellsOf(nb) {
		id, ok := cell["id"].(string)
		if _, has := cell["id"]; has && !ok {
			continue // a wrong type is the validator's business
		}
		if !ok || seen[id] {
			id = randomCellID()
			cell["id"] = id
		}
		seen[id] = true
	}
}

func numberOf(v any) (int64, bool) {
	n, ok := v.(json.Number)
	if !ok {
		return 0, false
	}
	i, err := n.Int64()
	return i, err == nil
}

func randomCellID() string {
	b := make([]byte, 4)
	rand.Read(b)
	return hex.EncodeToString(b)
}

var nonTextSplitMimes = map[string]bool{"application/javascript": true, "image/svg+xml": true}

func splitLines(nb map[string]any) {
	for _, cell := range cellsOf(nb) {
		if src, ok := cell["source"].(string); ok {
			cell["source"] = splitText(src)
		}
		if att, ok := cell["attachments"].(map[string]any); ok {
			for _, a := range att {
				if bundle, ok := a.(map[string]any); ok {
					splitBundle(bundle)
				}
			}
		}
		if cell["cell_type"] != "code" {
			continue
		}
		outputs, _ := cell["outputs"].([]any)
		for _, o := range outputs {
			out, ok := o.(map[string]any)
			if !ok {
				continue
			}
			switch out["output_type"] {
			case "execute_result", "display_data":
				if data, ok := out["data"].(map[string]any); ok {
					splitBundle(data)
				}
			case "stream":
				if text, ok := out["text"].(string); ok {
					out["text"] = splitText(text)
				}
			}
		}
	}
}

func splitBundle(data map[string]any) {
	for k, v := range data {
		if s, ok := v.(string); ok && (strings.HasPrefix(k, "text/") || nonTextSplitMimes[k]) {
			data[k] = splitText(s)
		}
	}
}

func isJSONMime(m string) bool {
	return m == "application/json" || (strings.HasPrefix(m, "application/") && strings.HasSuffix(m, "+json"))
}

// joiner makes one value of a list of strings, or says it is not one.
type joiner func(list []any) (any, bool)

// joinedText is a list of strings that stands for their concatenation;
// the JSON writer writes it as one string, without making it.
type joinedText []any

func joinLater(list []any) (any, bool) {
	for _, v := range list {
		if _, ok := v.(string); !ok {
			return nil, false
		}
	}
	return joinedText(list), true
}

func rejoinCell(cell map[string]any, join joiner) {
	if src, ok := cell["source"].([]any); ok {
		if s, ok := join(src); ok {
			cell["source"] = s
		}
	}
	if att, ok := cell["attachments"].(map[string]any); ok {
		for _, a := range att {
			if bundle, ok := a.(map[string]any); ok {
				rejoinBundle(bundle, join)
			}
		}
	}
	if cell["cell_type"] != "code" {
		return
	}
	outputs, _ := cell["outputs"].([]any)
	for _, o := range outputs {
		out, ok := o.(map[string]any)
		if !ok {
			continue
		}
		switch out["output_type"] {
		case "execute_result", "display_data":
			if data, ok := out["data"].(map[string]any); ok {
				rejoinBundle(data, join)
			}
		default:
			if text, ok := out["text"].([]any); ok {
				if s, ok := join(text); ok {
					out["text"] = s
				}
			}
		}
	}
}

func rejoinBundle(data map[string]any, join joiner) {
	for k, v := range data {
		if list, ok := v.([]any); ok && !isJSONMime(k) {
			if s, ok := join(list); ok {
				data[k] = s
			}
		}
	}
}

// splitText is a string nbformat stores as a list of its lines; pyDump
// writes it so, without the list being made.
type splitText string

// pyDump writes v as Python's json.dumps(v, indent=1, sort_keys=True,
// separators=(',', ': '), ensure_ascii=False).
func pyDump(b *bytes.Buffer, v any, level int) error {
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
	case splitText:
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
			if err := pyDump(b, e, level+1); err != nil {
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
			if err := pyDump(b, x[k], level+1); err != nil {
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
		return "", badRequest("The number %s is out of range.", truncate(s))
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

// validateNotebook checks a notebook against the main rules of the
// nbformat 4 schema and returns Jupyter's warning, or "" when it passes.
func validateNotebook(nb map[string]any) string {
	problem := notebookProblem(nb)
	if problem == "" {
		return ""
	}
	return "Notebook validation failed: " + problem
}

func notebookProblem(nb map[string]any) string {
	for _, k := range []string{"metadata", "nbformat", "nbformat_minor", "cells"} {
		if _, ok := nb[k]; !ok {
			return fmt.Sprintf("'%s' is a required property", k)
		}
	}
	if _, ok := nb["metadata"].(map[string]any); !ok {
		return "the notebook's metadata is not an object"
	}
	if n, ok := numberOf(nb["nbformat"]); !ok || n != 4 {
		return "nbformat must be 4"
	}
	minor, ok := numberOf(nb["nbformat_minor"])
	if !ok || minor < 0 {
		return "nbformat_minor must be a non-negative integer"
	}
	for i, cell := range cellsOf(nb) {
		where := fmt.Sprintf("cell %d: ", i)
		ct, _ := cell["cell_type"].(string)
		switch ct {
		case "code", "markdown", "raw":
		default:
			return where + fmt.Sprintf("%q is not a valid cell type", fmt.Sprint(cell["cell_type"]))
		}
		if _, ok := cell["metadata"].(map[string]any); !ok {
			return where + "'metadata' is a required property"
		}
		if !isMultiline(cell["source"]) {
			return where + "'source' must be a string or a list of strings"
		}
		if minor >= 5 {
			if id, ok := cell["id"].(string); !ok || id == "" || len(id) > 64 {
				return where + "'id' must be a string of 1 to 64 characters"
			}
		}
		if ct != "code" {
			continue
		}
		if ec, has := cell["execution_count"]; !has {
			return where + "'execution_count' is a required property"
		} else if _, isInt := numberOf(ec); ec != nil && !isInt {
			return where + "'execution_count' must be an integer or null"
		}
		outputs, ok := cell["outputs"].([]any)
		if !ok {
			return where + "'outputs' is a required property"
		}
		for j, o := range outputs {
			out, ok := o.(map[string]any)
			if !ok {
				return where + fmt.Sprintf("output %d is not an object", j)
			}
			switch out["output_type"] {
			case "stream":
				if _, ok := out["name"].(string); !ok || !isMultiline(out["text"]) {
					return where + fmt.Sprintf("output %d: a stream needs 'name' and 'text'", j)
				}
			case "display_data", "execute_result":
				if _, ok := out["data"].(map[string]any); !ok {
					return where + fmt.Sprintf("output %d: 'data' is a required property", j)
				}
			case "error":
				if _, ok := out["ename"].(string); !ok {
					return where + fmt.Sprintf("output %d: 'ename' is a required property", j)
				}
			default:
				return where + fmt.Sprintf("output %d: %q is not a valid output type", j, fmt.Sprint(out["output_type"]))
			}
		}
	}
	return ""
}

func isMultiline(v any) bool {
	switch x := v.(type) {
	case string, splitText, joinedText:
		return true
	case []any:
		for _, e := range x {
			if _, ok := e.(string); !ok {
				return false
			}
		}
		return true
	}
	return false
}
