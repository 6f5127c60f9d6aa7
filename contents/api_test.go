package contents

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"

	"gorm.io/gorm"

	"github.com/sparkhub/sparkhub/db"
	"github.com/sparkhub/sparkhub/db/dbtest"
)

// client talks to a test server as one user.
type client struct {
	t    *testing.T
	base string
	user string
}

type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("response %d is not a JSON object: %s", r.status, r.body)
	}
	return m
}

func (c *client) do(method, path string, body any) response {
	c.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		data, err := json.Marshal(b)
		if err != nil {
			c.t.Fatal(err)
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, c.base+"/user/"+c.user+"/"+path, rd)
	if err != nil {
		c.t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return response{status: resp.StatusCode, header: resp.Header, body: data}
}

// must does a request and checks its status.
func (c *client) must(want int, method, path string, body any) response {
	c.t.Helper()
	r := c.do(method, path, body)
	if r.status != want {
		c.t.Fatalf("%s %s: status %d, want %d: %s", method, path, r.status, want, r.body)
	}
	return r
}

func (c *client) putText(path, text string) response {
	c.t.Helper()
	return c.do("PUT", "api/contents/"+path, map[string]any{"type": "file", "format": "text", "content": text})
}

func (c *client) text(path string) string {
	c.t.Helper()
	m := c.must(200, "GET", "api/contents/"+path+"?type=file&format=text", nil).json(c.t)
	return m["content"].(string)
}

// testLog sends the service's log to the test's.
type testLog struct{ t *testing.T }

func (l testLog) Write(p []byte) (int, error) {
	l.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

func newTestServer(t *testing.T, gdb *gorm.DB, opts Options) *httptest.Server {
	t.Helper()
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(testLog{t}, nil))
	}
	svc, err := New(gdb, opts)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(svc.Handler())
	t.Cleanup(srv.Close)
	return srv
}

func names(t *testing.T, dir map[string]any) []string {
	t.Helper()
	var out []string
	for _, c := range dir["content"].([]any) {
		out = append(out, c.(map[string]any)["name"].(string))
	}
	return out
}

// TestContents runs the contents suite on every engine.
func TestContents(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, gdb *gorm.DB) {
		srv := newTestServer(t, gdb, Options{MaxFileSize: 4096})
		for _, tc := range suite {
			t.Run(tc.name, func(t *testing.T) {
				tc.fn(t, &client{t: t, base: srv.URL, user: strings.ReplaceAll(strings.ToLower(tc.name), " ", "")[:min(20, len(strings.ReplaceAll(tc.name, " ", "")))]}, gdb)
			})
		}
	})
}

var suite = []struct {
	name string
	fn   func(t *testing.T, c *client, gdb *gorm.DB)
}{
	{"empty root", func(t *testing.T, c *client, _ *gorm.DB) {
		m := c.must(200, "GET", "api/contents/", nil).json(t)
		if m["type"] != "directory" || m["path"] != "" || len(m["content"].([]any)) != 0 || m["last_modified"] != "1970-01-01T00:00:00Z" {
			t.Errorf("root = %v", m)
		}
		c.must(200, "GET", "api/contents", nil)
	}},
	{"untitled names", func(t *testing.T, c *client, _ *gorm.DB) {
		tests := []struct {
			body any
			want string
		}{
			{nil, "untitled"},
			{map[string]any{"ext": ".ipynb"}, "Untitled.ipynb"},
			{map[string]any{"type": "notebook"}, "Untitled1.ipynb"},
			{map[string]any{"ext": ".txt"}, "untitled.txt"},
			{map[string]any{"ext": ".txt"}, "untitled1.txt"},
			{map[string]any{"ext": ".tar.gz"}, "untitled.tar.gz"},
			{map[string]any{"ext": ".tar.gz"}, "untitled1.tar.gz"},
			{map[string]any{"type": "directory"}, "Untitled Folder"},
			{map[string]any{"type": "directory"}, "Untitled Folder 1"},
		}
		for _, tt := range tests {
			r := c.must(201, "POST", "api/contents/", tt.body)
			m := r.json(t)
			if m["name"] != tt.want {
				t.Errorf("POST %v made %v, want %s", tt.body, m["name"], tt.want)
			}
			if loc := r.header.Get("Location"); loc != "/user/"+c.user+"/api/contents/"+urlEscape(tt.want) {
				t.Errorf("Location = %q", loc)
			}
		}
		nb := c.must(200, "GET", "api/contents/Untitled.ipynb", nil).json(t)
		content := nb["content"].(map[string]any)
		if content["nbformat"] != 4.0 || len(content["cells"].([]any)) != 0 || nb["format"] != "json" {
			t.Errorf("new notebook = %v", nb)
		}
		if txt := c.text("untitled.txt"); txt != "" {
			t.Errorf("new file holds %q", txt)
		}
		c.must(201, "PUT", "api/contents/Untitled Folder", nil) // PUT without a body: untitled inside
		c.must(200, "GET", "api/contents/Untitled Folder/untitled", nil)
	}},
	{"save and read", func(t *testing.T, c *client, _ *gorm.DB) {
		r := c.putText("a.txt", "héllo")
		if r.status != 201 {
			t.Fatalf("first save: %d %s", r.status, r.body)
		}
		r = c.putText("a.txt", "héllo again")
		if r.status != 200 {
			t.Fatalf("second save: %d %s", r.status, r.body)
		}
		saved := r.json(t)
		got := c.must(200, "GET", "api/contents/a.txt?hash=1", nil)
		m := got.json(t)
		sum := sha256.Sum256([]byte("héllo again"))
		for k, want := range map[string]any{
			"content": "héllo again", "format": "text", "mimetype": "text/plain", "type": "file",
			"size": float64(len("héllo again")), "hash": hex.EncodeToString(sum[:]), "hash_algorithm": "sha256",
			"last_modified": saved["last_modified"], "created": saved["last_modified"], "writable": true,
		} {
			if m[k] != want {
				t.Errorf("%s = %v, want %v", k, m[k], want)
			}
		}
		if lm := m["last_modified"].(string); !strings.HasSuffix(lm, "Z") {
			t.Errorf("last_modified %q is not UTC with Z", lm)
		}
		if got.header.Get("Last-Modified") == "" {
			t.Error("no Last-Modified header")
		}
		noContent := c.must(200, "GET", "api/contents/a.txt?content=0", nil).json(t)
		if noContent["content"] != nil || noContent["format"] != nil || noContent["mimetype"] != nil || noContent["size"] != m["size"] {
			t.Errorf("content=0 model = %v", noContent)
		}
		blob := []byte{0, 0xff, 'b', 'l', 'o', 'b'}
		c.must(201, "PUT", "api/contents/b.bin", map[string]any{"type": "file", "format": "base64", "content": base64.StdEncoding.EncodeToString(blob)})
		bm := c.must(200, "GET", "api/contents/b.bin", nil).json(t)
		if bm["format"] != "base64" || bm["content"] != base64.StdEncoding.EncodeToString(blob) || bm["mimetype"] != "application/octet-stream" {
			t.Errorf("binary model = %v", bm)
		}
		wrapped := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte("wrapped "), 20))
		wrapped = wrapped[:76] + "\n" + wrapped[76:] + "\n" // as Python's encodebytes writes it
		c.must(201, "PUT", "api/contents/w.bin", map[string]any{"type": "file", "format": "base64", "content": wrapped})
		wm := c.must(200, "GET", "api/contents/w.bin?content=0", nil).json(t)
		if wm["size"] != float64(160) {
			t.Errorf("size of a base64 upload with line breaks = %v, want 160", wm["size"])
		}
		r = c.do("GET", "api/contents/b.bin?format=text", nil)
		if r.status != 400 || r.json(t)["reason"] != "bad format" {
			t.Errorf("text of binary: %d %s", r.status, r.body)
		}
		list := c.must(200, "GET", "api/contents/", nil).json(t)
		for _, e := range list["content"].([]any) {
			e := e.(map[string]any)
			if e["name"] == "a.txt" && e["size"] != m["size"] {
				t.Errorf("listed size %v, want %v", e["size"], m["size"])
			}
		}
	}},
	{"notebook bytes", func(t *testing.T, c *client, gdb *gorm.DB) {
		in, _ := os.ReadFile("testdata/notebook_in.json")
		want, _ := os.ReadFile("testdata/notebook_nbformat.ipynb")
		c.must(201, "PUT", "api/contents/n.ipynb", fmt.Sprintf(`{"type": "notebook", "content": %s}`, in))
		var stored []byte
		st := newStore(gdb)
		if err := gdb.Raw("SELECT content FROM "+st.t.files+" WHERE user_id = ? AND name = ?", c.user, "n.ipynb").Row().Scan(&stored); err != nil {
			t.Fatal(err)
		}
		data, err := decodePayload(stored)
		if err != nil || string(data) != string(want) {
			t.Errorf("stored notebook differs from what nbformat writes:\n%s", data)
		}
		m := c.must(200, "GET", "api/contents/n.ipynb", nil).json(t)
		if m["type"] != "notebook" || m["mimetype"] != nil || m["message"] != nil {
			t.Errorf("notebook model = %v", m)
		}
		asFile := c.must(200, "GET", "api/contents/n.ipynb?type=file", nil).json(t)
		if asFile["content"] != string(want) || asFile["format"] != "text" {
			t.Errorf("notebook as file = %v", asFile["format"])
		}
		r := c.must(200, "PUT", "api/contents/n.ipynb", `{"type": "notebook", "content": {"cells": [{"cell_type": "wrong", "metadata": {}}], "metadata": {}, "nbformat": 4, "nbformat_minor": 4}}`)
		if msg, _ := r.json(t)["message"].(string); !strings.Contains(msg, "validation failed") {
			t.Errorf("invalid notebook saved without a warning: %s", r.body)
		}
	}},
	{"chunked upload", func(t *testing.T, c *client, _ *gorm.DB) {
		for i, chunk := range []struct {
			n    int
			data string
			want int
		}{{1, "AAAA", 201}, {2, "BBBB", 200}, {-1, "CCCC", 200}} {
			c.must(chunk.want, "PUT", "api/contents/big.txt", map[string]any{
				"type": "file", "format": "base64", "chunk": chunk.n, "content": base64.StdEncoding.EncodeToString([]byte(chunk.data))})
			_ = i
		}
		if got := c.text("big.txt"); got != "AAAABBBBCCCC" {
			t.Errorf("chunks gave %q, want AAAABBBBCCCC", got)
		}
		c.must(200, "PUT", "api/contents/big.txt", map[string]any{"type": "file", "format": "text", "chunk": 1, "content": "new"})
		if got := c.text("big.txt"); got != "new" {
			t.Errorf("chunk 1 gave %q, want it to start over", got)
		}
	}},
	{"copy", func(t *testing.T, c *client, _ *gorm.DB) {
		c.must(201, "PUT", "api/contents/d", map[string]any{"type": "directory"})
		c.must(201, "PUT", "api/contents/d/n.ipynb", map[string]any{"type": "notebook", "content": emptyNotebook()})
		c.putText("a.tar.gz", "x")
		for _, tt := range []struct{ from, dir, want string }{
			{"d/n.ipynb", "d", "d/n-Copy1.ipynb"},
			{"d/n.ipynb", "d", "d/n-Copy2.ipynb"},
			{"d/n-Copy1.ipynb", "d", "d/n-Copy3.ipynb"},
			{"d/n.ipynb", "", "n.ipynb"},
			{"d/n.ipynb", "", "n-Copy1.ipynb"},
			{"a.tar.gz", "", "a-Copy1.tar.gz"},
		} {
			m := c.must(201, "POST", "api/contents/"+tt.dir, map[string]any{"copy_from": tt.from}).json(t)
			if m["path"] != tt.want {
				t.Errorf("copy %s into %q made %v, want %s", tt.from, tt.dir, m["path"], tt.want)
			}
		}
		c.must(400, "POST", "api/contents/", map[string]any{"copy_from": "d"})
		c.must(404, "POST", "api/contents/", map[string]any{"copy_from": "nope.txt"})
		c.must(404, "POST", "api/contents/nodir", map[string]any{"copy_from": "a.tar.gz"})
		c.must(400, "POST", "api/contents/a.tar.gz", map[string]any{"copy_from": "a.tar.gz"})
	}},
	{"rename", func(t *testing.T, c *client, _ *gorm.DB) {
		c.putText("pre.txt", "1")
		c.putText("pre.txt.bak", "2")
		c.must(201, "POST", "api/contents/pre.txt/checkpoints", nil)
		c.must(201, "POST", "api/contents/pre.txt.bak/checkpoints", nil)
		r := c.must(200, "PATCH", "api/contents/pre.txt", map[string]any{"path": "post.txt"})
		if r.json(t)["path"] != "post.txt" || !strings.HasSuffix(r.header.Get("Location"), "/api/contents/post.txt") {
			t.Errorf("rename answered %s, Location %s", r.body, r.header.Get("Location"))
		}
		c.must(404, "GET", "api/contents/pre.txt", nil)
		if got := c.text("post.txt"); got != "1" {
			t.Errorf("post.txt = %q", got)
		}
		var cps []any
		json.Unmarshal(c.must(200, "GET", "api/contents/post.txt/checkpoints", nil).body, &cps)
		var bak []any
		json.Unmarshal(c.must(200, "GET", "api/contents/pre.txt.bak/checkpoints", nil).body, &bak)
		if len(cps) != 1 || len(bak) != 1 {
			t.Errorf("checkpoints after rename: post.txt %d, pre.txt.bak %d; want 1 and 1", len(cps), len(bak))
		}
		c.must(409, "PATCH", "api/contents/post.txt", map[string]any{"path": "pre.txt.bak"})
		c.must(409, "PATCH", "api/contents/", map[string]any{"path": "x"})
		c.must(404, "PATCH", "api/contents/missing.txt", map[string]any{"path": "x.txt"})
		c.must(400, "PATCH", "api/contents/post.txt", map[string]any{"path": "nodir/x.txt"})
		c.must(400, "PATCH", "api/contents/post.txt", nil)
	}},
	{"rename directories", func(t *testing.T, c *client, _ *gorm.DB) {
		for _, d := range []string{"a_b", "a_b/sub", "a_b/sub/deep", "axb", "axb/sub", "A_B"} {
			c.must(201, "PUT", "api/contents/"+d, map[string]any{"type": "directory"})
			c.putText(d+"/f.txt", d)
		}
		c.must(201, "POST", "api/contents/a_b/sub/f.txt/checkpoints", nil)
		c.must(201, "POST", "api/contents/axb/sub/f.txt/checkpoints", nil)
		c.must(200, "PATCH", "api/contents/a_b", map[string]any{"path": "c"})
		for path, want := range map[string]string{
			"c/f.txt": "a_b", "c/sub/f.txt": "a_b/sub", "c/sub/deep/f.txt": "a_b/sub/deep",
			"axb/f.txt": "axb", "axb/sub/f.txt": "axb/sub", "A_B/f.txt": "A_B",
		} {
			if got := c.text(path); got != want {
				t.Errorf("%s = %q, want %q", path, got, want)
			}
		}
		c.must(404, "GET", "api/contents/a_b", nil)
		var cps []any
		json.Unmarshal(c.must(200, "GET", "api/contents/c/sub/f.txt/checkpoints", nil).body, &cps)
		if len(cps) != 1 {
			t.Errorf("moved file has %d checkpoints, want 1", len(cps))
		}
		json.Unmarshal(c.must(200, "GET", "api/contents/axb/sub/f.txt/checkpoints", nil).body, &cps)
		if len(cps) != 1 {
			t.Errorf("unrelated file has %d checkpoints, want 1", len(cps))
		}
		c.must(200, "PATCH", "api/contents/c/sub", map[string]any{"path": "axb/moved"})
		if got := c.text("axb/moved/deep/f.txt"); got != "a_b/sub/deep" {
			t.Errorf("after move: %q", got)
		}
		c.must(409, "PATCH", "api/contents/c", map[string]any{"path": "axb"})
		c.must(400, "PATCH", "api/contents/axb", map[string]any{"path": "axb/moved/x"})
	}},
	{"delete", func(t *testing.T, c *client, gdb *gorm.DB) {
		c.must(201, "PUT", "api/contents/d", map[string]any{"type": "directory"})
		c.must(201, "PUT", "api/contents/d/e", map[string]any{"type": "directory"})
		c.putText("d/e/f.txt", "x")
		c.putText("d2.txt", "keep")
		c.must(201, "POST", "api/contents/d/e/f.txt/checkpoints", nil)
		c.must(204, "DELETE", "api/contents/d", nil)
		c.must(404, "GET", "api/contents/d/e/f.txt", nil)
		c.must(404, "GET", "api/contents/d", nil)
		var n int64
		gdb.Table(newStore(gdb).t.checkpoints).Where("user_id = ?", c.user).Count(&n)
		if n != 0 {
			t.Errorf("%d checkpoints left after deleting their directory", n)
		}
		if got := c.text("d2.txt"); got != "keep" {
			t.Errorf("d2.txt = %q", got)
		}
		c.must(204, "DELETE", "api/contents/d2.txt", nil)
		c.must(404, "DELETE", "api/contents/d2.txt", nil)
		c.must(400, "DELETE", "api/contents/", nil)
	}},
	{"checkpoints", func(t *testing.T, c *client, _ *gorm.DB) {
		c.putText("f.txt", "one")
		r := c.must(201, "POST", "api/contents/f.txt/checkpoints", nil)
		cp1 := r.json(t)
		if !strings.HasSuffix(r.header.Get("Location"), "/api/contents/f.txt/checkpoints/"+cp1["id"].(string)) {
			t.Errorf("Location %q", r.header.Get("Location"))
		}
		c.putText("f.txt", "two")
		cp2 := c.must(201, "POST", "api/contents/f.txt/checkpoints", nil).json(t)
		c.putText("f.txt", "three")
		var list []map[string]any
		json.Unmarshal(c.must(200, "GET", "api/contents/f.txt/checkpoints", nil).body, &list)
		// Oldest first: Jupyter's front ends revert to the last listed.
		if len(list) != 2 || list[0]["id"] != cp1["id"] || list[1]["id"] != cp2["id"] {
			t.Errorf("checkpoints = %v, want oldest first", list)
		}
		c.must(204, "POST", "api/contents/f.txt/checkpoints/"+cp1["id"].(string), nil)
		if got := c.text("f.txt"); got != "one" {
			t.Errorf("restored %q, want one", got)
		}
		c.must(204, "DELETE", "api/contents/f.txt/checkpoints/"+cp1["id"].(string), nil)
		c.must(404, "DELETE", "api/contents/f.txt/checkpoints/"+cp1["id"].(string), nil)
		c.must(404, "POST", "api/contents/f.txt/checkpoints/999999", nil)
		c.must(404, "POST", "api/contents/f.txt/checkpoints/abc", nil)
		c.must(404, "POST", "api/contents/nope.txt/checkpoints", nil)
		json.Unmarshal(c.must(200, "GET", "api/contents/nope.txt/checkpoints", nil).body, &list)
		if len(list) != 0 {
			t.Errorf("a missing file has checkpoints %v", list)
		}
	}},
	{"hidden", func(t *testing.T, c *client, gdb *gorm.DB) {
		c.must(400, "PUT", "api/contents/.hidden.txt", map[string]any{"type": "file", "format": "text", "content": "x"})
		c.must(400, "PUT", "api/contents/.hidden", map[string]any{"type": "directory"})
		c.must(400, "PUT", "api/contents/ok.txt", map[string]any{"type": "file", "format": "text", "content": "x", "path": ".h.txt"})
		c.putText("v.txt", "x")
		c.must(400, "PATCH", "api/contents/v.txt", map[string]any{"path": ".v.txt"})
		// A pgcontents database may hold dot-files.
		st := newStore(gdb)
		if err := st.insertFile(c.user, ".secret", encodePayload([]byte("s")), now()); err != nil {
			t.Fatal(err)
		}
		c.must(404, "GET", "api/contents/.secret", nil)
		c.must(404, "GET", "files/.secret", nil)
		c.must(400, "DELETE", "api/contents/.secret", nil)
		if got := names(t, c.must(200, "GET", "api/contents/", nil).json(t)); strings.Contains(strings.Join(got, ","), ".secret") {
			t.Errorf("hidden file listed: %v", got)
		}
		open := &client{t: t, base: newTestServer(t, gdb, Options{AllowHidden: true}).URL, user: c.user}
		open.must(200, "GET", "api/contents/.secret", nil)
		if got := names(t, open.must(200, "GET", "api/contents/", nil).json(t)); !strings.Contains(strings.Join(got, ","), ".secret") {
			t.Errorf("with allow-hidden the listing is %v", got)
		}
	}},
	{"size limit", func(t *testing.T, c *client, _ *gorm.DB) {
		c.putText("s.txt", "small")
		big := strings.Repeat("x", 4000) // 5336 bytes of base64 > 4096
		r := c.putText("s.txt", big)
		if r.status != 413 {
			t.Fatalf("oversized save: %d %s", r.status, r.body)
		}
		if got := c.text("s.txt"); got != "small" {
			t.Errorf("after a refused save s.txt = %q", got)
		}
		c.must(413, "PUT", "api/contents/new.txt", map[string]any{"type": "file", "format": "text", "content": big})
		c.must(404, "GET", "api/contents/new.txt", nil)
		for i := 1; i <= 3; i++ {
			n := i
			if i == 3 {
				n = -1
			}
			r = c.do("PUT", "api/contents/chunks.txt", map[string]any{"type": "file", "format": "text", "chunk": n, "content": strings.Repeat("y", 1200)})
		}
		if r.status != 413 {
			t.Errorf("chunks past the limit: %d", r.status)
		}
		if got := c.text("chunks.txt"); len(got) != 2400 {
			t.Errorf("after the refused chunk the file has %d bytes, want 2400", len(got))
		}
	}},
	{"files download", func(t *testing.T, c *client, _ *gorm.DB) {
		c.putText("r.csv", "a,b\n1,2\n")
		c.must(201, "PUT", "api/contents/n ü.ipynb", map[string]any{"type": "notebook", "content": emptyNotebook()})
		r := c.must(200, "GET", "files/r.csv", nil)
		if string(r.body) != "a,b\n1,2\n" || r.header.Get("Content-Type") != "text/csv" || r.header.Get("Content-Disposition") != "" {
			t.Errorf("files/r.csv: %q %v", r.body, r.header)
		}
		r = c.must(200, "GET", "files/n%20%C3%BC.ipynb?download=1", nil)
		if r.header.Get("Content-Type") != "application/x-ipynb+json" ||
			r.header.Get("Content-Disposition") != "attachment; filename*=utf-8''n%20%C3%BC.ipynb" {
			t.Errorf("download headers: %v", r.header)
		}
		if _, err := parseNotebook(r.body); err != nil {
			t.Errorf("downloaded notebook: %v", err)
		}
		c.must(404, "GET", "files/missing.txt", nil)
	}},
	{"long names", func(t *testing.T, c *client, _ *gorm.DB) {
		long := strings.Repeat("é", 301)
		c.must(400, "PUT", "api/contents/"+long, map[string]any{"type": "file", "format": "text", "content": ""})
		deep := strings.Repeat("abcdefghij/", 28) + "x.txt"
		c.must(400, "PUT", "api/contents/"+deep, map[string]any{"type": "file", "format": "text", "content": ""})
		c.must(201, "PUT", "api/contents/"+strings.Repeat("é", 290), map[string]any{"type": "file", "format": "text", "content": ""})
	}},
	{"concurrent saves", func(t *testing.T, c *client, _ *gorm.DB) {
		c.must(201, "PUT", "api/contents/d", map[string]any{"type": "directory"})
		errs := make(chan string, 60)
		var wg sync.WaitGroup
		for i := range 60 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				path := fmt.Sprintf("d/f%d.txt", i%20) // three savers per file
				r := c.do("PUT", "api/contents/"+path, map[string]any{"type": "file", "format": "text", "content": path})
				if r.status != 200 && r.status != 201 {
					errs <- fmt.Sprintf("%s: %d %s", path, r.status, r.body)
				}
			}()
		}
		wg.Wait()
		close(errs)
		for e := range errs {
			t.Error(e)
		}
		if got := names(t, c.must(200, "GET", "api/contents/d", nil).json(t)); len(got) != 20 {
			t.Errorf("%d files after concurrent saves, want 20", len(got))
		}
	}},
	{"case and wildcards", func(t *testing.T, c *client, _ *gorm.DB) {
		c.putText("A.txt", "upper")
		c.putText("a.txt", "lower")
		c.putText("%25_.txt", "odd")
		if c.text("A.txt") != "upper" || c.text("a.txt") != "lower" || c.text("%25_.txt") != "odd" {
			t.Error("names that differ by case or hold wildcards were mixed up")
		}
	}},
}

// snapshot is every contents row of a user, to check that nothing changed.
func snapshot(t *testing.T, gdb *gorm.DB, user string) string {
	t.Helper()
	st := newStore(gdb)
	var dirs []dirRow
	var files []fileRow
	var cps []checkpointRow
	for _, q := range []struct {
		sql  string
		dest any
	}{
		{"SELECT name, parent_name FROM " + st.t.dirs + " WHERE user_id = ? ORDER BY name", &dirs},
		{"SELECT id, name, parent_name, content, created_at FROM " + st.t.files + " WHERE user_id = ? ORDER BY id", &files},
		{"SELECT id, path, content, last_modified FROM " + st.t.checkpoints + " WHERE user_id = ? ORDER BY id", &cps},
	} {
		if err := gdb.Raw(q.sql, user).Scan(q.dest).Error; err != nil {
			t.Fatal(err)
		}
	}
	var b strings.Builder
	for _, d := range dirs {
		fmt.Fprintf(&b, "dir %s\n", d.Name)
	}
	for _, f := range files {
		fmt.Fprintf(&b, "file %d %s%s %q %s\n", f.ID, f.ParentName, f.Name, f.Content, f.CreatedAt.UTC())
	}
	for _, c := range cps {
		fmt.Fprintf(&b, "checkpoint %d %s %q %s\n", c.ID, c.Path, c.Content, c.LastModified.UTC())
	}
	return b.String()
}

// TestBadInputs: every bad request is a 4xx with a JSON message and
// changes nothing.
func TestBadInputs(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, gdb *gorm.DB) {
		srv := newTestServer(t, gdb, Options{MaxFileSize: 4096})
		c := &client{t: t, base: srv.URL, user: "bad"}
		c.must(201, "PUT", "api/contents/d", map[string]any{"type": "directory"})
		c.putText("keep.txt", "v1")
		c.must(201, "PUT", "api/contents/nb.ipynb", map[string]any{"type": "notebook", "content": emptyNotebook()})
		c.must(201, "POST", "api/contents/keep.txt/checkpoints", nil)
		before := snapshot(t, gdb, "bad")
		tests := []struct {
			name, method, path string
			body               any
			want               int
		}{
			{"bad type", "GET", "api/contents/keep.txt?type=folder", nil, 400},
			{"bad format", "GET", "api/contents/keep.txt?format=json", nil, 400},
			{"bad content flag", "GET", "api/contents/keep.txt?content=yes", nil, 400},
			{"bad hash flag", "GET", "api/contents/keep.txt?hash=2", nil, 400},
			{"directory as file", "GET", "api/contents/d?type=file", nil, 400},
			{"file as directory", "GET", "api/contents/keep.txt?type=directory", nil, 400},
			{"outside root", "GET", "api/contents/d/%2E%2E/%2E%2E/x", nil, 404},
			{"missing", "GET", "api/contents/nope", nil, 404},
			{"body not JSON", "PUT", "api/contents/keep.txt", "{not json", 400},
			{"body not an object", "PUT", "api/contents/keep.txt", `[1, 2]`, 400},
			{"no type on save", "PUT", "api/contents/keep.txt", map[string]any{"content": "x", "format": "text"}, 400},
			{"no content", "PUT", "api/contents/keep.txt", map[string]any{"type": "file", "format": "text"}, 400},
			{"no format", "PUT", "api/contents/keep.txt", map[string]any{"type": "file", "content": "x"}, 400},
			{"wrong format", "PUT", "api/contents/keep.txt", map[string]any{"type": "file", "content": "x", "format": "json"}, 400},
			{"bad base64", "PUT", "api/contents/keep.txt", map[string]any{"type": "file", "content": "QUJDRA=", "format": "base64"}, 400},
			{"base64 without padding", "PUT", "api/contents/keep.txt", map[string]any{"type": "file", "content": "QUJDRA", "format": "base64"}, 400},
			{"content not a string", "PUT", "api/contents/keep.txt", map[string]any{"type": "file", "content": 5, "format": "text"}, 400},
			{"type not a string", "PUT", "api/contents/keep.txt", map[string]any{"type": 5, "content": "x", "format": "text"}, 400},
			{"unknown type", "PUT", "api/contents/keep.txt", map[string]any{"type": "folder", "content": "x"}, 400},
			{"notebook not an object", "PUT", "api/contents/nb.ipynb", map[string]any{"type": "notebook", "content": "text"}, 400},
			{"cells not a list", "PUT", "api/contents/nb.ipynb", map[string]any{"type": "notebook", "content": map[string]any{"cells": 3}}, 400},
			{"cell not an object", "PUT", "api/contents/nb.ipynb", map[string]any{"type": "notebook", "content": map[string]any{"cells": []any{1}}}, 400},
			{"nbformat 3", "PUT", "api/contents/nb.ipynb", map[string]any{"type": "notebook", "content": map[string]any{"nbformat": 3, "worksheets": []any{}}}, 400},
			{"huge number", "PUT", "api/contents/nb.ipynb", `{"type": "notebook", "content": {"cells": [], "metadata": {"x": 1e999}, "nbformat": 4, "nbformat_minor": 5}}`, 400},
			{"missing parent", "PUT", "api/contents/nodir/x.txt", map[string]any{"type": "file", "content": "x", "format": "text"}, 400},
			{"file over directory", "PUT", "api/contents/d", map[string]any{"type": "file", "content": "x", "format": "text"}, 400},
			{"directory over file", "PUT", "api/contents/keep.txt", map[string]any{"type": "directory"}, 400},
			{"copy with PUT", "PUT", "api/contents/k2.txt", map[string]any{"copy_from": "keep.txt"}, 400},
			{"bad chunk", "PUT", "api/contents/keep.txt", map[string]any{"type": "file", "content": "x", "format": "text", "chunk": 0}, 400},
			{"chunk of a notebook", "PUT", "api/contents/nb.ipynb", map[string]any{"type": "notebook", "content": emptyNotebook(), "chunk": 2}, 400},
			{"too large", "PUT", "api/contents/keep.txt", map[string]any{"type": "file", "content": strings.Repeat("x", 5000), "format": "text"}, 413},
			{"trailing space", "PUT", "api/contents/keep.txt ", map[string]any{"type": "file", "content": "x", "format": "text"}, 400},
			{"control character", "PUT", "api/contents/a%01b", map[string]any{"type": "file", "content": "x", "format": "text"}, 400},
			{"NUL in path", "PUT", "api/contents/a%00b", map[string]any{"type": "file", "content": "x", "format": "text"}, 400},
			{"write outside root", "PUT", "api/contents/%2E%2E/x.txt", map[string]any{"type": "file", "content": "x", "format": "text"}, 404},
			{"POST to a file", "POST", "api/contents/keep.txt", nil, 400},
			{"POST to a missing dir", "POST", "api/contents/nodir", nil, 404},
			{"POST unknown type", "POST", "api/contents/", map[string]any{"type": "thing"}, 400},
			{"POST bad ext", "POST", "api/contents/", map[string]any{"ext": "/x"}, 400},
			{"copy a directory", "POST", "api/contents/", map[string]any{"copy_from": "d"}, 400},
			{"copy missing", "POST", "api/contents/", map[string]any{"copy_from": "zz.txt"}, 404},
			{"PATCH without body", "PATCH", "api/contents/keep.txt", nil, 400},
			{"PATCH path not a string", "PATCH", "api/contents/keep.txt", map[string]any{"path": 1}, 400},
			{"rename onto a file", "PATCH", "api/contents/keep.txt", map[string]any{"path": "nb.ipynb"}, 409},
			{"rename onto a directory", "PATCH", "api/contents/keep.txt", map[string]any{"path": "d"}, 409},
			{"rename root", "PATCH", "api/contents/", map[string]any{"path": "x"}, 409},
			{"rename into missing dir", "PATCH", "api/contents/keep.txt", map[string]any{"path": "nodir/k.txt"}, 400},
			{"rename dir into itself", "PATCH", "api/contents/d", map[string]any{"path": "d/e"}, 400},
			{"rename too long", "PATCH", "api/contents/keep.txt", map[string]any{"path": strings.Repeat("x", 301)}, 400},
			{"delete root", "DELETE", "api/contents/", nil, 400},
			{"delete missing", "DELETE", "api/contents/nope.txt", nil, 404},
			{"restore missing checkpoint", "POST", "api/contents/keep.txt/checkpoints/424242", nil, 404},
			{"delete missing checkpoint", "DELETE", "api/contents/keep.txt/checkpoints/424242", nil, 404},
			{"checkpoint of a directory", "POST", "api/contents/d/checkpoints", nil, 400},
			{"checkpoint of nothing", "POST", "api/contents/nope.txt/checkpoints", nil, 404},
			{"GET a checkpoint id", "GET", "api/contents/keep.txt/checkpoints/1", nil, 405},
			{"DELETE checkpoint list", "DELETE", "api/contents/keep.txt/checkpoints", nil, 405},
			{"trust a missing notebook", "POST", "api/contents/nope.ipynb/trust", nil, 404},
			{"files of a directory", "GET", "files/d", nil, 404},
			{"unknown method", "OPTIONS", "api/contents/keep.txt", nil, 405},
			{"write to files", "PUT", "files/keep.txt", "x", 405},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				r := c.do(tt.method, tt.path, tt.body)
				if r.status != tt.want {
					t.Fatalf("%s %s: status %d, want %d: %s", tt.method, tt.path, r.status, tt.want, r.body)
				}
				m := r.json(t)
				if msg, _ := m["message"].(string); msg == "" || m["status"] != float64(tt.want) {
					t.Errorf("error body %s lacks status or message", r.body)
				}
				if after := snapshot(t, gdb, "bad"); after != before {
					t.Errorf("the request changed the database:\nbefore %s\nafter  %s", before, after)
				}
			})
		}
		if got := c.text("keep.txt"); got != "v1" {
			t.Errorf("keep.txt = %q after bad requests", got)
		}
	})
}

func TestBadUserName(t *testing.T) {
	gdb := dbtest.Open(t, db.SQLite)
	c := &client{t: t, base: newTestServer(t, gdb, Options{}).URL}
	for _, name := range []string{"%FF", "a%00b"} {
		c.user = name
		c.must(400, "GET", "api/contents/", nil)
		c.must(400, "PUT", "api/contents/x.txt", map[string]any{"type": "file", "format": "text", "content": ""})
	}
	c.user = strings.Repeat("u", 31)
	c.must(400, "PUT", "api/contents/x.txt", map[string]any{"type": "file", "format": "text", "content": ""})
	c.must(200, "GET", "api/contents/", nil)
}

func TestRenameAndDeleteUser(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, gdb *gorm.DB) {
		srv := newTestServer(t, gdb, Options{})
		c := &client{t: t, base: srv.URL, user: "old"}
		c.must(201, "PUT", "api/contents/d", map[string]any{"type": "directory"})
		c.putText("d/f.txt", "mine")
		c.must(201, "POST", "api/contents/d/f.txt/checkpoints", nil)
		ctx := context.Background()
		svc, err := New(gdb, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if err := gdb.Transaction(func(tx *gorm.DB) error { return svc.RenameUser(ctx, tx, "old", "new") }); err != nil {
			t.Fatal(err)
		}
		c.user = "new"
		if got := c.text("d/f.txt"); got != "mine" {
			t.Errorf("after rename: %q", got)
		}
		var cps []any
		json.Unmarshal(c.must(200, "GET", "api/contents/d/f.txt/checkpoints", nil).body, &cps)
		if len(cps) != 1 {
			t.Errorf("after rename %d checkpoints", len(cps))
		}
		c.user = "old"
		if got := names(t, c.must(200, "GET", "api/contents/", nil).json(t)); len(got) != 0 {
			t.Errorf("old name still has %v", got)
		}
		if err := gdb.Transaction(func(tx *gorm.DB) error { return DeleteUser(ctx, tx, "new") }); err != nil {
			t.Fatal(err)
		}
		if snap := snapshot(t, gdb, "new"); snap != "" {
			t.Errorf("rows left after DeleteUser: %s", snap)
		}
	})
}

// On MySQL a value larger than max_allowed_packet is a 413, not a
// dropped connection.
func TestMySQLPacketLimit(t *testing.T) {
	gdb := dbtest.Open(t, db.MySQL)
	var packet int64
	if err := gdb.Raw("SELECT @@max_allowed_packet").Scan(&packet).Error; err != nil {
		t.Fatal(err)
	}
	if packet > 64<<20 {
		t.Skipf("max_allowed_packet is %d; the test needs it below 64 MiB", packet)
	}
	c := &client{t: t, base: newTestServer(t, gdb, Options{}).URL, user: "big"}
	r := c.putText("big.txt", strings.Repeat("x", int(packet)))
	if r.status != 413 {
		t.Fatalf("a save larger than max_allowed_packet answered %d %s", r.status, r.body)
	}
	c.must(404, "GET", "api/contents/big.txt", nil)
}
