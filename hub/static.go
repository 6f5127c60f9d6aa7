package hub

import (
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
)

func newStaticFiles(embedded fs.FS) (*staticFiles, error) {
	sub, err := fs.Sub(embedded, "static")
	if err != nil {
		return nil, err
	}
	s := &staticFiles{fsys: sub, names: map[string]string{}, files: map[string]string{}}
	err = fs.WalkDir(sub, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(sub, p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		ext := path.Ext(p)
		hashed := strings.TrimSuffix(p, ext) + "." + hex.EncodeToString(sum[:5]) + ext
		s.names[p] = hashed
		s.files[hashed] = p
		return nil
	})
	return s, err
}

// URL is the content-hashed URL of a static file; it panics on a name
// that is not embedded, which page parsing at start turns into an error.
func (s *staticFiles) URL(name string) string {
	hashed, ok := s.names[name]
	if !ok {
		panic("no static file " + name)
	}
	return "/hub/static/" + hashed
}

func (s *staticFiles) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	name, ok := s.files[strings.TrimPrefix(r.URL.Path, "/hub/static/")]
	if !ok {
		http.NotFound(w, r)
		return
	}
	b, err := fs.ReadFile(s.fsys, name)
	if err != nil {
		http.NotFound(w, r)
		return
	}
	ct := mime.TypeByExtension(path.Ext(name))
	if ct == "" {
		ct = "application/octet-stream"
	}
	w.Header().Set("Content-Type", ct)
	w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	w.Write(b)
}
