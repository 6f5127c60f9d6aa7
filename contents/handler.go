package contents

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/sparkhub/sparkhub/internal/httperr"
	"github.com/sparkhub/sparkhub/internal/nbjson"
)

// Handler serves /user/{name}/api/contents/... and /user/{name}/files/... .
// The hub authenticates and authorises the caller before calling it
// (owner, or admin with --admin-access, XSRF checks): the handler trusts
// the {name} in the path and does no auth itself.
func (s *Service) Handler() http.Handler {
	mux := http.NewServeMux()
	for _, pattern := range []string{"/user/{name}/api/contents", "/user/{name}/api/contents/{path...}"} {
		mux.HandleFunc("GET "+pattern, s.checkUser(s.handleGet))
		mux.HandleFunc("PUT "+pattern, s.checkUser(s.handlePut))
		mux.HandleFunc("POST "+pattern, s.checkUser(s.handlePost))
		mux.HandleFunc("PATCH "+pattern, s.checkUser(s.handlePatch))
		mux.HandleFunc("DELETE "+pattern, s.checkUser(s.handleDelete))
		mux.HandleFunc(pattern, s.notAllowed) // any other method, answered in JSON
	}
	mux.HandleFunc("GET /user/{name}/files/{path...}", s.checkUser(s.handleFiles))
	mux.HandleFunc("/user/{name}/files/{path...}", s.notAllowed)
	return mux
}

// checkUser refuses a user name no database could hold (the hub checks
// names; this keeps a bad one from reaching SQL as a 500).
func (s *Service) checkUser(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if name := r.PathValue("name"); name == "" || !utf8.ValidString(name) || strings.ContainsRune(name, 0) {
			s.writeError(w, r, badRequest("The user name in the URL is not valid."))
			return
		}
		next(w, r)
	}
}

// route is what a contents URL names: a path, and maybe its checkpoints
// (Jupyter routes ".../checkpoints" and ".../checkpoints/{id}" before
// plain paths, and ".../trust").
type route struct {
	path       string
	checkpoint bool
	id         string
	trust      bool
}

var checkpointID = regexp.MustCompile(`^[\w-]+$`)

func parseRoute(r *http.Request) route {
	p := r.PathValue("path")
	segs := strings.Split(strings.TrimSuffix(p, "/"), "/")
	n := len(segs)
	switch {
	case n >= 1 && segs[n-1] == "checkpoints":
		return route{path: strings.Join(segs[:n-1], "/"), checkpoint: true}
	case n >= 2 && segs[n-2] == "checkpoints" && checkpointID.MatchString(segs[n-1]):
		return route{path: strings.Join(segs[:n-2], "/"), checkpoint: true, id: segs[n-1]}
	case n >= 1 && segs[n-1] == "trust":
		return route{path: strings.Join(segs[:n-1], "/"), trust: true}
	}
	return route{path: p}
}

func (s *Service) notAllowed(w http.ResponseWriter, r *http.Request) {
	s.writeError(w, r, &clientError{kind: errMethod, msg: fmt.Sprintf("%s is not allowed here.", r.Method)})
}

var errMethod = errors.New("method not allowed")

func (s *Service) handleGet(w http.ResponseWriter, r *http.Request) {
	user, rt := r.PathValue("name"), parseRoute(r)
	if rt.trust || rt.checkpoint && rt.id != "" {
		s.notAllowed(w, r)
		return
	}
	if rt.checkpoint {
		cps, err := s.listCheckpoints(r.Context(), user, rt.path)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		httperr.Jupyter.WriteJSON(w, http.StatusOK, cps)
		return
	}
	o, err := parseGetQuery(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	m, err := s.get(r.Context(), user, rt.path, o)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeModel(w, r, http.StatusOK, m, false)
}

func parseGetQuery(r *http.Request) (getOptions, error) {
	q := r.URL.Query()
	o := getOptions{typ: q.Get("type"), format: q.Get("format"), content: true}
	switch o.typ {
	case "", "directory", "file", "notebook":
	default:
		return o, badRequest("Type %q is invalid", o.typ)
	}
	switch o.format {
	case "", "text", "base64":
	default:
		return o, badRequest("Format %q is invalid", o.format)
	}
	switch c := q.Get("content"); c {
	case "", "1":
	case "0":
		o.content = false
	default:
		return o, badRequest("Content %q is invalid", c)
	}
	switch h := q.Get("hash"); h {
	case "", "0":
	case "1":
		o.hash = true
	default:
		return o, badRequest("Hash %q is invalid", h)
	}
	return o, nil
}

// writeModel answers with a model, its Last-Modified and, for what was
// created or moved, its Location.
func (s *Service) writeModel(w http.ResponseWriter, r *http.Request, status int, m *Model, location bool) {
	w.Header().Set("Last-Modified", m.modified.UTC().Format(http.TimeFormat))
	if location {
		w.Header().Set("Location", s.contentsURL(r, m.Path))
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	hint := 512
	if sz, ok := m.Content.(string); ok {
		hint += len(sz) + len(sz)/8
	} else if m.Size != nil && m.Content != nil {
		hint += int(*m.Size) // a notebook's JSON, less its indentation
	}
	const chunk = 256 << 10
	if hint <= chunk {
		jw := nbjson.NewWriter(make([]byte, 0, hint), nil, 0)
		m.appendJSON(jw)
		if jw.Err != nil {
			s.writeError(w, r, jw.Err)
			return
		}
		jw.B = append(jw.B, '\n')
		w.Header().Set("Content-Length", strconv.Itoa(len(jw.B)))
		w.WriteHeader(status)
		_, _ = w.Write(jw.B) // a client that hung up is not an error
		return
	}
	// A large model goes out as it is written. Nothing in it can fail
	// to encode (it is parsed JSON and strings); a write error is the
	// client hanging up.
	w.WriteHeader(status)
	jw := nbjson.NewWriter(make([]byte, 0, chunk+chunk/4), w, chunk)
	m.appendJSON(jw)
	jw.B = append(jw.B, '\n')
	jw.Flush(true)
}

func (s *Service) contentsURL(r *http.Request, p string) string {
	return "/user/" + urlEscape(r.PathValue("name")) + "/api/contents/" + urlEscape(p)
}

// urlEscape is Jupyter's url_escape: each segment percent-encoded as
// Python's quote does, slashes kept.
func urlEscape(p string) string {
	const hexdig = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		c := p[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9',
			c == '_', c == '.', c == '-', c == '~', c == '/':
			b.WriteByte(c)
		default:
			b.WriteByte('%')
			b.WriteByte(hexdig[c>>4])
			b.WriteByte(hexdig[c&0xf])
		}
	}
	return b.String()
}

// readBody reads a JSON body; an empty body is nil. Bodies are capped
// well above the largest file a save may store, so the size check can
// answer with the file's name.
//
// With inPlace the body's strings are made from its bytes, which the
// caller must then leave alone (see nbjson.ParseInPlace).
func (s *Service) readBody(w http.ResponseWriter, r *http.Request, inPlace bool) (map[string]any, []byte, error) {
	limit := 2*s.maxSize + 1<<20
	data, err := readUpTo(http.MaxBytesReader(w, r.Body, limit), r.ContentLength)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, nil, &clientError{kind: ErrTooLarge, msg: "The request is larger than the largest file this service stores."}
		}
		if errors.Is(err, httperr.ErrSlowBody) {
			return nil, nil, &clientError{kind: httperr.ErrSlowBody, msg: httperr.SlowBody}
		}
		return nil, nil, badRequest("The request body could not be read.")
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, nil, nil
	}
	fields, err := nbjson.ParseObject(data, inPlace)
	if err != nil {
		return nil, nil, badRequest("The request body must be a JSON object.")
	}
	return fields, data, nil
}

// firstRead is how much of a declared body is made room for before any
// of it arrives.
const firstRead = 4 << 20

// readUpTo reads src to its end. A body's declared length (Content-Length;
// 0 or less when unknown) is trusted only as far as what has arrived: the
// buffer starts at firstRead at most and at most doubles, stopping at the
// declared length, so an honest body is read with a few copies and a
// client that declares a large body and sends little makes the hub hold
// little.
func readUpTo(src io.Reader, declared int64) ([]byte, error) {
	want := int64(512)
	if declared > 0 {
		want = min(declared+1, firstRead) // +1: see EOF without growing
	}
	buf := make([]byte, 0, want)
	for {
		if len(buf) == cap(buf) {
			next := 2 * int64(cap(buf))
			if d := declared + 1; d > int64(len(buf)) && d < next {
				next = d
			}
			grown := make([]byte, len(buf), next)
			copy(grown, buf)
			buf = grown
		}
		n, err := src.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}

// decodeModel decodes a body into a struct, with a sentence for a field
// of the wrong type.
func decodeModel(data []byte, v any) error {
	if err := json.Unmarshal(data, v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return wrongType(te.Field, te.Value)
		}
		return badRequest("The request body is not a valid contents model.")
	}
	return nil
}

func (s *Service) handlePut(w http.ResponseWriter, r *http.Request) {
	user, rt := r.PathValue("name"), parseRoute(r)
	if rt.checkpoint || rt.trust {
		s.notAllowed(w, r)
		return
	}
	fields, data, err := s.readBody(w, r, true) // only its length is used after
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if len(fields) == 0 {
		m, err := s.newUntitled(r.Context(), user, rt.path, "", "")
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		s.writeModel(w, r, http.StatusCreated, m, true)
		return
	}
	req, err := saveRequestOf(fields, len(data))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	m, created, err := s.put(r.Context(), user, rt.path, req)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	s.writeModel(w, r, status, m, true)
}

type postRequest struct {
	CopyFrom *string `json:"copy_from"`
	Type     *string `json:"type"`
	Ext      *string `json:"ext"`
}

func (s *Service) handlePost(w http.ResponseWriter, r *http.Request) {
	user, rt := r.PathValue("name"), parseRoute(r)
	switch {
	case rt.trust:
		// Trust is a signature in the Jupyter server's own notary; the
		// hub has none, so this only checks that the notebook exists.
		if _, err := s.get(r.Context(), user, rt.path, getOptions{typ: "notebook"}); err != nil {
			s.writeError(w, r, err)
			return
		}
		w.WriteHeader(http.StatusCreated)
		return
	case rt.checkpoint && rt.id == "":
		cp, err := s.createCheckpoint(r.Context(), user, rt.path)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		w.Header().Set("Location", s.contentsURL(r, rt.path)+"/checkpoints/"+cp.ID)
		httperr.Jupyter.WriteJSON(w, http.StatusCreated, cp)
		return
	case rt.checkpoint:
		if err := s.restoreCheckpoint(r.Context(), user, rt.path, rt.id); err != nil {
			s.writeError(w, r, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
		return
	}
	_, data, err := s.readBody(w, r, false)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var req postRequest
	if data != nil {
		if err := decodeModel(data, &req); err != nil {
			s.writeError(w, r, err)
			return
		}
	}
	var m *Model
	if req.CopyFrom != nil && *req.CopyFrom != "" {
		m, err = s.copyFile(r.Context(), user, *req.CopyFrom, rt.path)
	} else {
		typ, ext := "", ""
		if req.Type != nil {
			typ = *req.Type
		}
		if req.Ext != nil {
			ext = *req.Ext
		}
		m, err = s.newUntitled(r.Context(), user, rt.path, typ, ext)
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeModel(w, r, http.StatusCreated, m, true)
}

func (s *Service) handlePatch(w http.ResponseWriter, r *http.Request) {
	user, rt := r.PathValue("name"), parseRoute(r)
	if rt.checkpoint || rt.trust {
		s.notAllowed(w, r)
		return
	}
	fields, data, err := s.readBody(w, r, false)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if fields == nil {
		s.writeError(w, r, badRequest("JSON body missing"))
		return
	}
	var req struct {
		Path *string `json:"path"`
	}
	if err := decodeModel(data, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	var m *Model
	if req.Path == nil || *req.Path == "" {
		m, err = s.get(r.Context(), user, rt.path, getOptions{})
	} else {
		m, err = s.rename(r.Context(), user, rt.path, *req.Path)
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeModel(w, r, http.StatusOK, m, true)
}

func (s *Service) handleDelete(w http.ResponseWriter, r *http.Request) {
	user, rt := r.PathValue("name"), parseRoute(r)
	var err error
	switch {
	case rt.trust, rt.checkpoint && rt.id == "":
		s.notAllowed(w, r)
		return
	case rt.checkpoint:
		err = s.deleteCheckpointAPI(r.Context(), user, rt.path, rt.id)
	default:
		err = s.remove(r.Context(), user, rt.path)
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// handleFiles serves a file's bytes, as Jupyter's /files/ does.
func (s *Service) handleFiles(w http.ResponseWriter, r *http.Request) {
	user := r.PathValue("name")
	p, err := cleanPath(r.PathValue("path"))
	if err == nil {
		err = s.hiddenErr(p, http.StatusNotFound)
	}
	var row *fileRow
	if err == nil {
		row, err = s.ctxStore(r.Context()).file(user, p, wantContent, false)
		if err == nil && row == nil {
			err = notFound("No such file: %s", p)
		}
	}
	var data []byte
	if err == nil {
		data, err = s.readBytes(user, p, row.Content)
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	_, name := splitPath(p)
	h := w.Header()
	switch mt := guessMimetype(name); {
	case strings.HasSuffix(strings.ToLower(name), ".ipynb"):
		h.Set("Content-Type", "application/x-ipynb+json")
	case mt == "text/plain":
		h.Set("Content-Type", "text/plain; charset=UTF-8")
	case mt != "":
		h.Set("Content-Type", mt)
	case isText(data):
		h.Set("Content-Type", "text/plain; charset=UTF-8")
	default:
		h.Set("Content-Type", "application/octet-stream")
	}
	if d := r.URL.Query().Get("download"); d != "" && d != "0" && d != "false" {
		h.Set("Content-Disposition", "attachment; filename*=utf-8''"+urlEscape(name))
	}
	// Files are served from the hub's origin: never let them run script
	// there or be sniffed into something else.
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "sandbox")
	h.Set("Cache-Control", "private, no-cache")
	http.ServeContent(w, r, name, row.CreatedAt.Truncate(time.Second), bytes.NewReader(data))
}

func isText(data []byte) bool {
	return !bytes.ContainsRune(data, 0) && strings.ToValidUTF8(string(data), "\uFFFD") == string(data)
}
