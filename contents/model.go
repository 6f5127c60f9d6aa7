package contents

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"mime"
	"path"
	"strings"
	"time"
)

// Model is the Jupyter contents model. Every key is always present, as
// Jupyter's handlers require; hash and hash_algorithm (jupyter_server 2)
// are null unless asked for with hash=1.
type Model struct {
	Name          string  `json:"name"`
	Path          string  `json:"path"`
	Type          string  `json:"type"`
	Writable      bool    `json:"writable"`
	Created       string  `json:"created"`
	LastModified  string  `json:"last_modified"`
	Content       any     `json:"content"`
	Format        *string `json:"format"`
	Mimetype      *string `json:"mimetype"`
	Size          *int64  `json:"size"`
	Hash          *string `json:"hash"`
	HashAlgorithm *string `json:"hash_algorithm"`
	Message       string  `json:"message,omitempty"`

	modified time.Time // for Last-Modified
}

func strp(s string) *string { return &s }

// isoTime writes a time as Jupyter does: ISO 8601 in UTC with "Z", with
// microseconds unless there are none.
func isoTime(t time.Time) string {
	t = t.UTC()
	if t.Nanosecond()/1000 == 0 {
		return t.Format("2006-01-02T15:04:05Z")
	}
	return t.Format("2006-01-02T15:04:05.000000Z")
}

func dirModel(p string) *Model {
	_, name := splitPath(p)
	return &Model{Name: name, Path: p, Type: "directory", Writable: true,
		Created: epochString, LastModified: epochString, modified: time.Unix(0, 0).UTC()}
}

// fileType is pgcontents' guess: a name ending in .ipynb is a notebook.
func fileType(name string) string {
	if strings.HasSuffix(name, ".ipynb") {
		return "notebook"
	}
	return "file"
}

func fileModel(p, typ string, row *fileRow) *Model {
	_, name := splitPath(p)
	m := &Model{Name: name, Path: p, Type: typ, Writable: true,
		Created: isoTime(row.CreatedAt), LastModified: isoTime(row.CreatedAt), modified: row.CreatedAt}
	if n := row.size(); n >= 0 {
		m.Size = &n
	}
	return m
}

// setHash adds jupyter_server's hash of the file's bytes.
func (m *Model) setHash(data []byte) {
	sum := sha256.Sum256(data)
	m.Hash = strp(hex.EncodeToString(sum[:]))
	m.HashAlgorithm = strp("sha256")
}

// encodePayload is what pgcontents stores (before encryption): standard
// base64 of the file's bytes.
func encodePayload(data []byte) []byte {
	out := make([]byte, base64.StdEncoding.EncodedLen(len(data)))
	// A large payload is encoded in two halves at once, cut at a whole
	// group of three bytes: the hub has cores to spare for it.
	if half := len(data) / 2 / 3 * 3; half >= 1<<20 {
		inParallel(func() { base64.StdEncoding.Encode(out, data[:half]) },
			func() { base64.StdEncoding.Encode(out[half/3*4:], data[half:]) })
		return out
	}
	base64.StdEncoding.Encode(out, data)
	return out
}

// decodePayload reads a stored payload. A base64 upload is stored as the
// client sent it, so it is read exactly as Python's base64.b64decode
// reads it: characters outside the alphabet (line breaks) are skipped,
// and padding that completes a group of four ends the data.
func decodePayload(p []byte) ([]byte, error) {
	// What this service and pgcontents write decodes as it is; only
	// other clients' uploads need Python's leniency below.
	out := make([]byte, base64.StdEncoding.DecodedLen(len(p)))
	if n, ok := decodeClean(out, p); ok {
		return out[:n], nil
	}
	clean := make([]byte, 0, len(p))
	quad, pads := 0, 0
	for _, c := range p {
		if c == '=' {
			pads++
			if quad >= 2 && quad+pads >= 4 {
				break
			}
			continue
		}
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '+' || c == '/') {
			continue
		}
		pads = 0
		clean = append(clean, c)
		quad = (quad + 1) % 4
	}
	if quad == 1 {
		return nil, errors.New("base64 data cannot be 1 more than a multiple of 4")
	}
	if quad != 0 && quad+pads < 4 {
		return nil, errors.New("incorrect base64 padding")
	}
	out = out[:base64.RawStdEncoding.DecodedLen(len(clean))]
	n, err := base64.RawStdEncoding.Decode(out, clean)
	return out[:n], err
}

// decodeClean decodes base64 with no line breaks, a large one in two
// halves at once, cut at a whole group of four characters.
func decodeClean(out, p []byte) (int, bool) {
	half := len(p) / 2 / 4 * 4
	if half < 1<<20 || bytes.ContainsAny(p, "\r\n") {
		n, err := base64.StdEncoding.Decode(out, p)
		return n, err == nil
	}
	var n1, n2 int
	var err1, err2 error
	inParallel(func() {
		// Decode writes whole words past what it decodes while dst is
		// long enough: end the first half's dst where the second begins.
		n1, err1 = base64.StdEncoding.Decode(out[:half/4*3:half/4*3], p[:half])
	}, func() {
		n2, err2 = base64.StdEncoding.Decode(out[half/4*3:], p[half:])
	})
	if err1 != nil || err2 != nil || n1 != half/4*3 {
		return 0, false
	}
	return n1 + n2, true
}

// inParallel runs a and b at once and returns when both are done.
func inParallel(a, b func()) {
	done := make(chan struct{})
	go func() {
		a()
		close(done)
	}()
	b()
	<-done
}

// builtinTypes are the types Python's mimetypes gives for names common in
// notebooks' folders, used before the host's own table.
var builtinTypes = map[string]string{
	".txt": "text/plain", ".py": "text/x-python", ".md": "text/markdown", ".csv": "text/csv",
	".json": "application/json", ".html": "text/html", ".htm": "text/html", ".css": "text/css",
	".js": "application/javascript", ".svg": "image/svg+xml", ".png": "image/png",
	".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".gif": "image/gif", ".pdf": "application/pdf",
	".xml": "text/xml", ".yaml": "application/x-yaml", ".yml": "application/x-yaml",
	".sh": "application/x-sh", ".tsv": "text/tab-separated-values", ".zip": "application/zip",
	".gz": "application/gzip", ".tar": "application/x-tar", ".sql": "application/sql",
	".r": "text/x-r", ".tex": "text/x-tex", ".parquet": "application/octet-stream",
}

// guessMimetype is mimetypes.guess_type(name)[0], or "" when unknown.
func guessMimetype(name string) string {
	ext := strings.ToLower(path.Ext(name))
	if ext == "" {
		return ""
	}
	if t, ok := builtinTypes[ext]; ok {
		return t
	}
	t := mime.TypeByExtension(ext)
	if i := strings.IndexByte(t, ';'); i >= 0 {
		t = strings.TrimSpace(t[:i])
	}
	return t
}
