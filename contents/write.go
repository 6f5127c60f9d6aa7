package contents

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"regexp"
	"strconv"
	"strings"
)

// saveRequest is the model a PUT carries.
type saveRequest struct {
	Type     *string
	Format   *string
	Content  any // parsed; nil when absent or null
	Chunk    *json.Number
	Path     *string
	CopyFrom *string
	size     int // of the request, a hint for the stored notebook's
}

// saveRequestOf reads a PUT's fields, with a sentence for a field of the
// wrong type.
func saveRequestOf(fields map[string]any, size int) (*saveRequest, error) {
	req := &saveRequest{Content: fields["content"], size: size}
	for _, f := range []struct {
		key string
		dst **string
	}{{"type", &req.Type}, {"format", &req.Format}, {"path", &req.Path}, {"copy_from", &req.CopyFrom}} {
		key, dst := f.key, f.dst
		switch v := fields[key].(type) {
		case nil:
		case string:
			*dst = &v
		default:
			return nil, wrongType(key, jsonKind(v))
		}
	}
	switch v := fields["chunk"].(type) {
	case nil:
	case json.Number:
		req.Chunk = &v
	default:
		return nil, wrongType("chunk", jsonKind(v))
	}
	return req, nil
}

// jsonKind names a parsed JSON value's kind as encoding/json's errors do.
func jsonKind(v any) string {
	switch v.(type) {
	case string:
		return "string"
	case json.Number:
		return "number"
	case bool:
		return "bool"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return "null"
}

func (r *saveRequest) hasContent() bool { return r.Content != nil }

// put is PUT: save over an existing file (200) or make a new one (201).
func (s *Service) put(ctx context.Context, user, rawPath string, req *saveRequest) (m *Model, created bool, err error) {
	p, err := cleanPath(rawPath)
	if err != nil {
		return nil, false, err
	}
	if req.CopyFrom != nil && *req.CopyFrom != "" {
		return nil, false, badRequest("Cannot copy with PUT, only POST")
	}
	if err := s.hiddenErr(p, http.StatusBadRequest); err != nil {
		return nil, false, err
	}
	if req.Path != nil {
		if err := s.hiddenErr(strings.Trim(*req.Path, "/"), http.StatusBadRequest); err != nil {
			return nil, false, err
		}
	}
	if err := checkWritable(p); err != nil {
		return nil, false, err
	}
	row, err := s.ctxStore(ctx).file(user, p, wantID, false)
	if err != nil {
		return nil, false, err
	}
	typ := ""
	if req.Type != nil {
		typ = *req.Type
	}
	if row == nil {
		// Jupyter's new(): defaults for what the model leaves out.
		if typ == "" {
			typ = fileType(p)
		}
		if !req.hasContent() && typ != "directory" {
			if typ == "notebook" {
				req.Content = emptyNotebook()
			} else {
				typ, req.Content, req.Format = "file", "", strp("text")
			}
		}
	}
	if typ == "" {
		return nil, false, badRequest("No model type provided")
	}
	if typ != "directory" && !req.hasContent() {
		return nil, false, badRequest("No file content provided")
	}
	m, err = s.save(ctx, user, p, typ, req)
	return m, row == nil, err
}

// save writes one model to a path.
func (s *Service) save(ctx context.Context, user, p, typ string, req *saveRequest) (*Model, error) {
	format := ""
	if req.Format != nil {
		format = *req.Format
	}
	chunk := 0
	if req.Chunk != nil {
		n, err := strconv.Atoi(req.Chunk.String())
		if err != nil || n == 0 || n < -1 {
			return nil, badRequest("chunk must be 1, 2, … for each part of an upload and -1 for the last one, not %s", req.Chunk.String())
		}
		if typ != "file" {
			return nil, badRequest("File type %q is not supported for large file transfer", typ)
		}
		chunk = n
	}
	switch typ {
	case "directory":
		return s.mkdir(ctx, user, p)
	case "notebook":
		nb, err := checkNotebook(req.Content)
		if err != nil {
			return nil, err
		}
		// The text is garbage once encoded: its buffer serves the next
		// save, which spares the collector a notebook's size each time.
		buf, _ := s.texts.Get().(*bytes.Buffer)
		if buf == nil {
			buf = new(bytes.Buffer)
		}
		data, err := serialiseNotebook(buf, nb, req.size)
		var payload []byte
		if err == nil {
			payload = encodePayload(data)
		}
		s.texts.Put(buf)
		if err != nil {
			return nil, err
		}
		m, err := s.writeBytes(ctx, user, p, payload, 0)
		if err != nil {
			return nil, err
		}
		m.Message = validateNotebook(nb)
		return m, nil
	case "file":
		text, ok := req.Content.(string)
		if !ok {
			return nil, badRequest("A file's content must be a string.")
		}
		var payload []byte
		switch format {
		case "text":
			payload = encodePayload([]byte(text))
		case "base64":
			data, err := decodePayload([]byte(text))
			if err != nil {
				return nil, badRequest("The content is not valid base64.")
			}
			// Stored re-encoded, without the line breaks some clients
			// send: pgcontents reads it the same, and the stored length
			// then gives the file's size without reading it.
			payload = encodePayload(data)
		default:
			return nil, badRequest("Must specify format of file contents as 'text' or 'base64'")
		}
		return s.writeBytes(ctx, user, p, payload, chunk)
	default:
		return nil, badRequest("Unhandled contents type: %s", typ)
	}
}

// writeBytes stores a payload at a path; a chunk after the first is
// appended to what is there.
func (s *Service) writeBytes(ctx context.Context, user, p string, payload []byte, chunk int) (*Model, error) {
	c := s.keys.forUser(user)
	stored := c.encrypt(payload)
	if chunk == 0 || chunk == 1 {
		if err := s.checkSize(p, stored); err != nil {
			return nil, err
		}
	}
	var row *fileRow
	err := s.st.tx(ctx, func(st *store) error {
		if err := s.checkTarget(st, user, p); err != nil {
			return err
		}
		if chunk != 0 && chunk != 1 {
			existing, err := st.file(user, p, wantContent, true)
			if err != nil {
				return err
			}
			if existing != nil {
				old, err := s.readBytes(user, p, existing.Content)
				if err != nil {
					return err
				}
				add, _ := decodePayload(payload)
				stored = c.encrypt(encodePayload(append(old, add...)))
			}
			if err := s.checkSize(p, stored); err != nil {
				return err
			}
		}
		var err error
		row, err = st.writeFile(user, p, stored, now())
		return err
	})
	if err != nil {
		return nil, err
	}
	// The model of what was written, as a GET without content gives it.
	return fileModel(p, fileType(p), row), nil
}

// checkTarget makes sure a file can be written at p: the user and root
// exist, the parent directory exists, and no directory has that name.
func (s *Service) checkTarget(st *store, user, p string) error {
	if err := st.ensureUser(user); err != nil {
		return err
	}
	dir, _ := splitPath(p)
	ok, err := st.dirExists(user, dirDBName(dir))
	if err != nil {
		return err
	}
	if !ok {
		return badRequest("No such directory: %s", dir)
	}
	if isDir, err := st.dirExists(user, dirDBName(p)); err != nil {
		return err
	} else if isDir {
		return badRequest("%s is a directory.", p)
	}
	return nil
}

// mkdir makes a directory; one that exists already is fine.
func (s *Service) mkdir(ctx context.Context, user, p string) (*Model, error) {
	err := s.st.tx(ctx, func(st *store) error {
		if err := st.ensureUser(user); err != nil {
			return err
		}
		parent, _ := splitPath(p)
		if ok, err := st.dirExists(user, dirDBName(parent)); err != nil {
			return err
		} else if !ok {
			return badRequest("No such directory: %s", parent)
		}
		if f, err := st.file(user, p, wantID, false); err != nil {
			return err
		} else if f != nil {
			return badRequest("A file named %s exists already.", p)
		}
		return st.createDir(user, p)
	})
	if err != nil {
		return nil, err
	}
	return dirModel(p), nil
}

// postTarget checks the directory a POST names.
func (s *Service) postTarget(st *store, user, dir string) error {
	if dir != "" {
		if f, err := st.file(user, dir, wantID, false); err != nil {
			return err
		} else if f != nil {
			return badRequest("Cannot POST to files, use PUT instead.")
		}
	}
	if dir == "" {
		return st.ensureUser(user)
	}
	if ok, err := st.dirExists(user, dirDBName(dir)); err != nil {
		return err
	} else if !ok {
		return notFound("No such directory: %s", dir)
	}
	return nil
}

// newUntitled is POST without copy_from: Untitled.ipynb, untitled.txt,
// Untitled Folder, numbered as Jupyter numbers them.
func (s *Service) newUntitled(ctx context.Context, user, rawDir, typ, ext string) (*Model, error) {
	dir, err := cleanPath(rawDir)
	if err != nil {
		return nil, err
	}
	if err := s.hiddenErr(dir, http.StatusBadRequest); err != nil {
		return nil, err
	}
	if strings.ContainsRune(ext, '/') {
		return nil, badRequest("An extension cannot contain '/'.")
	}
	if typ == "" {
		typ = "file"
		if ext == ".ipynb" {
			typ = "notebook"
		}
	}
	var base, insert string
	var payload []byte
	switch typ {
	case "directory":
		base, insert = "Untitled Folder"+ext, " "
	case "notebook":
		base = "Untitled.ipynb"
		data, _ := serialiseNotebook(new(bytes.Buffer), emptyNotebook(), 0)
		payload = encodePayload(data)
	case "file":
		base, payload = "untitled"+ext, []byte{}
	default:
		return nil, badRequest("Unexpected model type: '%s'", typ)
	}
	stored := s.keys.forUser(user).encrypt(payload)
	var p string
	err = s.st.tx(ctx, func(st *store) error {
		if err := s.postTarget(st, user, dir); err != nil {
			return err
		}
		name, err := incrementName(st, user, dir, base, insert)
		if err != nil {
			return err
		}
		p = joinPath(dir, name)
		if err := checkWritable(p); err != nil {
			return err
		}
		if typ == "directory" {
			return st.createDir(user, p)
		}
		return st.insertFile(user, p, stored, now())
	})
	if err != nil {
		return nil, err
	}
	return s.get(ctx, user, p, getOptions{})
}

var copyPat = regexp.MustCompile(`-Copy\d*\.`)

// copyFile is POST with copy_from: name-Copy1.ext, -Copy2, … in the
// directory the POST names. Checkpoints are not copied.
func (s *Service) copyFile(ctx context.Context, user, rawFrom, rawDir string) (*Model, error) {
	from, err := cleanPath(rawFrom)
	if err != nil {
		return nil, err
	}
	dir, err := cleanPath(rawDir)
	if err != nil {
		return nil, err
	}
	if err := s.hiddenErr(from, http.StatusBadRequest); err != nil {
		return nil, err
	}
	if err := s.hiddenErr(dir, http.StatusBadRequest); err != nil {
		return nil, err
	}
	var p string
	err = s.st.tx(ctx, func(st *store) error {
		if err := s.postTarget(st, user, dir); err != nil {
			return err
		}
		row, err := st.file(user, from, wantContent, false)
		if err != nil {
			return err
		}
		if row == nil {
			if ok, _ := st.dirExists(user, dirDBName(from)); ok || from == "" {
				return badRequest("Can't copy directories")
			}
			return notFound("No such file: %s", from)
		}
		if err := s.checkSize(from, row.Content); err != nil {
			return err
		}
		_, fromName := splitPath(from)
		name, err := incrementName(st, user, dir, copyPat.ReplaceAllString(fromName, "."), "-Copy")
		if err != nil {
			return err
		}
		p = joinPath(dir, name)
		if err := checkWritable(p); err != nil {
			return err
		}
		return st.insertFile(user, p, row.Content, now())
	})
	if err != nil {
		return nil, err
	}
	return s.get(ctx, user, p, getOptions{})
}

// incrementName is Jupyter's increment_filename: the first of name,
// name{insert}1, name{insert}2, … that no file or directory in dir has.
// The number goes before the extension: the last dot for .ipynb, the
// first dot otherwise (untitled1.tar.gz).
func incrementName(st *store, user, dir, name, insert string) (string, error) {
	taken := map[string]bool{}
	files, err := st.filesIn(user, dirDBName(dir))
	if err != nil {
		return "", err
	}
	for _, f := range files {
		taken[f.Name] = true
	}
	dirs, err := st.subdirs(user, dirDBName(dir))
	if err != nil {
		return "", err
	}
	for _, d := range dirs {
		_, n := splitPath(apiFromDB(d))
		taken[n] = true
	}
	base, suffix := name, ""
	if i := strings.LastIndexByte(name, '.'); i >= 0 && name[i+1:] == "ipynb" {
		base, suffix = name[:i], name[i:]
	} else if i := strings.IndexByte(name, '.'); i >= 0 {
		base, suffix = name[:i], name[i:]
	}
	for i := 0; ; i++ {
		candidate := base + suffix
		if i > 0 {
			candidate = base + insert + strconv.Itoa(i) + suffix
		}
		if !taken[candidate] {
			return candidate, nil
		}
	}
}

// rename is PATCH: move a file or a directory with everything under it.
func (s *Service) rename(ctx context.Context, user, rawOld, rawNew string) (*Model, error) {
	old, err := cleanPath(rawOld)
	if err != nil {
		return nil, err
	}
	dst, err := cleanPath(rawNew)
	if err != nil {
		return nil, err
	}
	if err := s.hiddenErr(old, http.StatusBadRequest); err != nil {
		return nil, err
	}
	if err := s.hiddenErr(dst, http.StatusBadRequest); err != nil {
		return nil, err
	}
	if old == dst {
		return s.get(ctx, user, old, getOptions{})
	}
	if old == "" {
		return nil, conflict("Renaming the root directory is not permitted.")
	}
	if err := checkWritable(dst); err != nil {
		return nil, err
	}
	err = s.st.tx(ctx, func(st *store) error {
		row, err := st.file(user, old, wantID, true)
		if err != nil {
			return err
		}
		isDir := false
		if row == nil {
			if isDir, err = st.dirExists(user, dirDBName(old)); err != nil {
				return err
			}
			if !isDir {
				return notFound("No such file or directory: %s", old)
			}
		}
		if f, err := st.file(user, dst, wantID, false); err != nil {
			return err
		} else if f != nil {
			return conflict("File already exists: [%s]", dst)
		}
		if ok, err := st.dirExists(user, dirDBName(dst)); err != nil {
			return err
		} else if ok {
			return conflict("File already exists: [%s]", dst)
		}
		parent, _ := splitPath(dst)
		if ok, err := st.dirExists(user, dirDBName(parent)); err != nil {
			return err
		} else if !ok {
			return badRequest("No such directory: %s", parent)
		}
		if row != nil {
			if err := st.moveFile(user, row.ID, dst, now()); err != nil {
				return err
			}
			return st.moveCheckpoints(user, old, dst)
		}
		if strings.HasPrefix(dst+"/", old+"/") {
			return badRequest("Cannot move the directory %s into itself.", old)
		}
		return st.moveDir(user, old, dst)
	})
	if err != nil {
		return nil, err
	}
	return s.get(ctx, user, dst, getOptions{})
}

// remove is DELETE: a file with its checkpoints, or a directory with
// everything under it, in one transaction.
func (s *Service) remove(ctx context.Context, user, rawPath string) error {
	p, err := cleanPath(rawPath)
	if err != nil {
		return err
	}
	if p == "" {
		return badRequest("Can't delete root")
	}
	if err := s.hiddenErr(p, http.StatusBadRequest); err != nil {
		return err
	}
	return s.st.tx(ctx, func(st *store) error {
		row, err := st.file(user, p, wantID, true)
		if err != nil {
			return err
		}
		if row != nil {
			if err := st.deleteFile(row.ID); err != nil {
				return err
			}
			return st.deleteCheckpoints(user, p)
		}
		ok, err := st.dirExists(user, dirDBName(p))
		if err != nil {
			return err
		}
		if !ok {
			return notFound("No such file or directory: %s", p)
		}
		return st.deleteDir(user, p)
	})
}
