package contents

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/sparkhub/sparkhub/db"
	"github.com/sparkhub/sparkhub/db/dbtest"
	"github.com/sparkhub/sparkhub/internal/nbjson"
)

// FuzzCleanPath checks what every handler relies on: a cleaned path
// never climbs out of the root, has no empty, "." or ".." segment and no
// slash at either end, and cleaning it again changes nothing. The
// helpers built on it (splitPath, joinPath, dirDBName, apiFromDB) must
// agree with it, and checkWritable must answer, not panic.
func FuzzCleanPath(f *testing.F) {
	for _, s := range []string{
		"", "/", "a", "a/b.ipynb", "/a/b/", "..", "../x", "a/../../x", "a/./b",
		"a//b", "./", "a/..", ".../x", "a\x00b", "\xff", "dir/ end ", "é/ü.txt",
		strings.Repeat("a/", 200), "a/\u2028b", "a\\..\\b",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		clean, err := cleanPath(p)
		if err != nil {
			if code := statusOf(err); code != http.StatusBadRequest && code != http.StatusNotFound {
				t.Fatalf("cleanPath(%q): status %d, want 400 or 404", p, code)
			}
			return
		}
		if !utf8.ValidString(clean) || strings.ContainsRune(clean, 0) {
			t.Fatalf("cleanPath(%q) = %q: not valid text", p, clean)
		}
		if strings.HasPrefix(clean, "/") || strings.HasSuffix(clean, "/") {
			t.Fatalf("cleanPath(%q) = %q: slash at an end", p, clean)
		}
		if clean != "" {
			for _, seg := range strings.Split(clean, "/") {
				if seg == "" || seg == "." || seg == ".." {
					t.Fatalf("cleanPath(%q) = %q: segment %q", p, clean, seg)
				}
			}
		}
		again, err := cleanPath(clean)
		if err != nil || again != clean {
			t.Fatalf("cleanPath(cleanPath(%q)) = %q, %v; want %q", p, again, err, clean)
		}
		if got := apiFromDB(dirDBName(clean)); got != clean {
			t.Fatalf("apiFromDB(dirDBName(%q)) = %q", clean, got)
		}
		if clean != "" {
			dir, name := splitPath(clean)
			if name == "" || strings.Contains(name, "/") || joinPath(dir, name) != clean {
				t.Fatalf("splitPath(%q) = %q, %q", clean, dir, name)
			}
		}
		if err := checkWritable(clean); err != nil && statusOf(err) != http.StatusBadRequest {
			t.Fatalf("checkWritable(%q): status %d, want 400", clean, statusOf(err))
		}
		_ = isHidden(clean)
		_ = shouldList(clean)
	})
}

// FuzzNotebookRoundTrip checks the storage format: whatever notebook a
// client may save is either refused with a 400 or serialised so that
// reading it back gives the same notebook after every further save,
// and saving what was read gives the same bytes (what pgcontents and a
// later save see is what was acknowledged); the stored bytes are JSON.
func FuzzNotebookRoundTrip(f *testing.F) {
	for _, name := range []string{"testdata/notebook_in.json", "testdata/notebook_read.json"} {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	for _, s := range []string{
		`{}`, `[]`, `null`, `{"cells": []}`, `{"cells": [1]}`, `{"cells": [], "metadata": 3}`,
		`{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}`,
		`{"cells": [{"cell_type": "code", "source": "a\r\nb\u2028c", "outputs": [{"output_type": "stream", "text": ["x", "y\n"]}]}], "nbformat": 4, "nbformat_minor": 5}`,
		`{"cells": [{"id": "x"}, {"id": "x"}, {"id": 3}], "nbformat": 4, "nbformat_minor": 5}`,
		`{"cells": [], "x": 1e400}`, `{"cells": [], "x": -0, "y": 1.0, "z": 1E5, "w": 123456789012345678901234567890}`,
		`{"cells": [], "nbformat": 3}`, `{"cells": [], "nbformat": "4"}`, `{"cells": [], "a": "\ud800"}`,
		`{"cells": [{"cell_type": "markdown", "source": ["a", 1], "attachments": {"i.png": {"image/png": "AAA=", "text/plain": "a\nb"}}}]}`,
		`{"cells": [{"cell_type": "code", "outputs": [{"output_type": "display_data", "data": {"application/json": ["a", "b"], "text/html": ["<b>", "</b>"]}}]}]}`,
		`{"cells": [], "metadata": {"signature": "s", "orig_nbformat": 3}} trailing`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		v, err := nbjson.Parse(in)
		if err != nil {
			return
		}
		nb, err := checkNotebook(v)
		if err != nil {
			if statusOf(err) != http.StatusBadRequest {
				t.Fatalf("checkNotebook: status %d, want 400", statusOf(err))
			}
			return
		}
		_ = validateNotebook(nb)
		first, err := serialiseNotebook(new(bytes.Buffer), nb, 0)
		if err != nil {
			if statusOf(err) != http.StatusBadRequest {
				t.Fatalf("serialiseNotebook: %v (status %d), want a 400", err, statusOf(err))
			}
			return
		}
		if !json.Valid(first) {
			t.Fatalf("stored bytes are not JSON:\n%s", first)
		}
		// A list where nbformat keeps strings is read back joined, so the
		// bytes may change once; after that a save of what was read must
		// give the same bytes, and reading must give the same notebook.
		back, err := parseNotebook(first)
		if err != nil {
			t.Fatalf("parseNotebook of what serialiseNotebook wrote: %v\n%s", err, first)
		}
		readJSON, _ := json.Marshal(back)
		// A load reads in place and writes lists as joined strings: the
		// same JSON value as reading the notebook whole.
		lazy, err := parseNotebookInPlace(bytes.Clone(first))
		if err != nil {
			t.Fatalf("parseNotebookInPlace: %v", err)
		}
		out, err := appendJSON(lazy)
		if err != nil {
			t.Fatalf("writing the loaded notebook: %v", err)
		}
		viaWriter, err := nbjson.Parse(out)
		if err != nil {
			t.Fatalf("the loaded notebook written is not JSON: %v\n%s", err, out)
		}
		if whole, _ := nbjson.Parse(readJSON); !reflect.DeepEqual(viaWriter, whole) {
			t.Fatalf("load differs from reading the notebook whole:\nload:  %s\nwhole: %s", out, readJSON)
		}
		second, err := serialiseNotebook(new(bytes.Buffer), back, 0)
		if err != nil {
			t.Fatalf("serialising the read-back notebook: %v", err)
		}
		again, err := parseNotebook(second)
		if err != nil {
			t.Fatalf("parseNotebook of the second save: %v\n%s", err, second)
		}
		if againJSON, _ := json.Marshal(again); !bytes.Equal(readJSON, againJSON) {
			t.Fatalf("read, save, read differs:\nfirst:  %s\nsecond: %s", readJSON, againJSON)
		}
		third, err := serialiseNotebook(new(bytes.Buffer), again, 0)
		if err != nil {
			t.Fatalf("serialising the second read-back notebook: %v", err)
		}
		if !bytes.Equal(second, third) {
			t.Fatalf("save, read, save differs:\nfirst:  %s\nsecond: %s", second, third)
		}
	})
}

// FuzzContentsAPI sends hostile requests to the contents service on
// SQLite: any method, path, query and body. None may get a 500 (the
// service would have failed, or a client mistake would look like one),
// and every error is Jupyter's JSON shape.
func FuzzContentsAPI(f *testing.F) {
	gdb := dbtest.Open(f, db.SQLite)
	svc, err := New(gdb, Options{MaxFileSize: 1 << 20, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		f.Fatal(err)
	}
	h := svc.Handler()
	nb := `{"type": "notebook", "content": {"cells": [{"cell_type": "code", "source": "1", "metadata": {}, "outputs": [], "execution_count": null}], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}}`
	seeds := []struct{ method, path, query, body string }{
		{"GET", "", "", ""},
		{"PUT", "a.ipynb", "", nb},
		{"GET", "a.ipynb", "content=1&type=notebook", ""},
		{"GET", "a.ipynb", "type=file&format=base64&hash=1", ""},
		{"PUT", "d", "", `{"type": "directory"}`},
		{"POST", "d", "", `{"copy_from": "a.ipynb"}`},
		{"POST", "d", "", `{"type": "notebook"}`},
		{"PATCH", "a.ipynb", "", `{"path": "d/b.ipynb"}`},
		{"PATCH", "d", "", `{"path": "../e"}`},
		{"POST", "a.ipynb/checkpoints", "", ""},
		{"POST", "a.ipynb/checkpoints/1", "", ""},
		{"DELETE", "a.ipynb/checkpoints/x", "", ""},
		{"PUT", "t.txt", "", `{"type": "file", "format": "base64", "content": "!!!"}`},
		{"PUT", "t.txt", "", `{"type": "file", "format": "text", "content": 3}`},
		{"PUT", "n.ipynb", "", `{"type": "notebook", "content": {"cells": [], "x": 1e999}}`},
		{"PUT", "n.ipynb", "", `{"type": "notebook", "format": "text", "content": "{}"}`},
		{"DELETE", "d", "", ""},
		{"GET", "%2e%2e/x", "", ""},
		{"PUT", "a b /c", "", `{"type": "file", "format": "text", "content": ""}`},
		{"PUT", strings.Repeat("x", 400), "", `{"type": "directory"}`},
		{"FILES", "a.ipynb", "download=1", ""},
	}
	for _, s := range seeds {
		f.Add(s.method, s.path, s.query, s.body)
	}
	f.Fuzz(func(t *testing.T, method, p, query, body string) {
		var target string
		if method == "FILES" {
			method, target = "GET", "/user/fuzz/files/"+url.PathEscape(p)
		} else {
			target = "/user/fuzz/api/contents/" + escapePath(p)
		}
		u, err := url.Parse(target)
		if err != nil || !validMethod(method) {
			return
		}
		u.RawQuery = query
		r := httptest.NewRequest(http.MethodGet, "/", strings.NewReader(body))
		r.Method, r.URL, r.RequestURI = method, u, u.RequestURI()
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code >= 500 {
			t.Fatalf("%s %s (%q): %d\n%s", method, u, body, w.Code, w.Body.Bytes())
		}
		if w.Code >= 400 {
			var e struct {
				Message *string `json:"message"`
			}
			if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil || e.Message == nil {
				t.Fatalf("%s %s: error %d is not Jupyter's JSON: %s", method, u, w.Code, w.Body.Bytes())
			}
		}
	})
}

// escapePath escapes each segment, keeping the slashes.
func escapePath(p string) string {
	segs := strings.Split(p, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	return strings.Join(segs, "/")
}

func validMethod(m string) bool {
	if m == "" || len(m) > 10 {
		return false
	}
	for _, c := range m {
		if c < 'A' || c > 'Z' {
			return false
		}
	}
	return true
}

// appendJSON writes v as a model's content is written.
func appendJSON(v any) ([]byte, error) {
	jw := nbjson.NewWriter(nil, nil, 0)
	jw.Value(v)
	return jw.B, jw.Err
}
