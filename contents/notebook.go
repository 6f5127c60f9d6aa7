package contents

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/sparkhub/sparkhub/internal/httperr"
	"strconv"
	"strings"

	"github.com/sparkhub/sparkhub/internal/nbjson"
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

// serialiseNotebook writes nb as nbformat does into buf, which it
// resets, and returns buf's bytes. It changes nb: lines are split,
// transient keys dropped and missing cell ids added. sizeHint is about
// how long the result will be (the notebook's size as JSON), or 0.
func serialiseNotebook(buf *bytes.Buffer, nb map[string]any, sizeHint int) ([]byte, error) {
	stripTransient(nb)
	addCellIDs(nb)
	splitLines(nb)
	buf.Reset()
	buf.Grow(sizeHint + sizeHint/4) // nbformat's indentation and one string per line
	if err := nbjson.Indent(buf, nb); err != nil {
		var ne *nbjson.NumberError
		if errors.As(err, &ne) {
			return nil, badRequest("The number %s is out of range.", httperr.Shorten(ne.Number, 60))
		}
		return nil, err
	}
	return buf.Bytes(), nil
}

// parseNotebookInPlace reads stored notebook bytes as nbformat.reads
// does for version 4 (lines rejoined, transient keys dropped), from a
// buffer handed over (see nbjson.ParseInPlace), for a notebook that is
// only to be written out as JSON: its line lists stay lists, as
// nbjson.Joined.
func parseNotebookInPlace(data []byte) (map[string]any, error) {
	v, err := nbjson.ParseInPlace(data)
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
			cell["source"] = nbjson.Lines(src)
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
					out["text"] = nbjson.Lines(text)
				}
			}
		}
	}
}

func splitBundle(data map[string]any) {
	for k, v := range data {
		if s, ok := v.(string); ok && (strings.HasPrefix(k, "text/") || nonTextSplitMimes[k]) {
			data[k] = nbjson.Lines(s)
		}
	}
}

func isJSONMime(m string) bool {
	return m == "application/json" || (strings.HasPrefix(m, "application/") && strings.HasSuffix(m, "+json"))
}

// joiner makes one value of a list of strings, or says it is not one.
type joiner func(list []any) (any, bool)

func joinLater(list []any) (any, bool) {
	for _, v := range list {
		if _, ok := v.(string); !ok {
			return nil, false
		}
	}
	return nbjson.Joined(list), true
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
	case string, nbjson.Lines, nbjson.Joined:
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
