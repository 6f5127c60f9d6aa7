package contents

import (
	"context"
	"net/http"
	"unicode/utf8"
)

// getOptions are GET's query parameters.
type getOptions struct {
	typ     string // "", "directory", "file", "notebook"
	format  string // "", "text", "base64"
	content bool
	hash    bool
}

// get returns the model of a path.
func (s *Service) get(ctx context.Context, user, rawPath string, o getOptions) (*Model, error) {
	p, err := cleanPath(rawPath)
	if err != nil {
		return nil, err
	}
	if err := s.hiddenErr(p, http.StatusNotFound); err != nil {
		return nil, err
	}
	st := s.ctxStore(ctx)
	row, isDir := (*fileRow)(nil), p == ""
	// With content, the stored value is decoded while the driver holds
	// it; a file answered in base64 also keeps the payload as a string.
	var data []byte
	var payload string
	var readErr error
	read := func(r *fileRow) error {
		if data, readErr = s.readBytes(user, p, r.Content); readErr != nil {
			return nil
		}
		asNotebook := o.typ == "notebook" || o.typ == "" && fileType(p) == "notebook"
		if o.content && !asNotebook && (o.format == "base64" || o.format == "" && !utf8.Valid(data)) {
			var pl []byte
			if pl, readErr = s.readPayload(user, p, r.Content); readErr == nil {
				payload = string(pl)
			}
		}
		return nil
	}
	if p != "" {
		if o.content || o.hash {
			row, err = st.fileWith(user, p, read)
		} else {
			row, err = st.file(user, p, wantMeta, false)
		}
		if err != nil {
			return nil, err
		}
		if isDir, err = st.dirExists(user, dirDBName(p)); err != nil {
			return nil, err
		}
	}
	typ := o.typ
	switch {
	case typ == "" && row != nil && fileType(p) == "notebook":
		typ = "notebook"
	case typ == "" && isDir:
		typ = "directory"
	case typ == "" && row != nil:
		typ = "file"
	case typ == "":
		return nil, notFound("No such file or directory: %s", p)
	case typ == "directory" && !isDir:
		if row != nil {
			return nil, &clientError{kind: ErrBadRequest, msg: p + " is not a directory", reason: "bad type"}
		}
		return nil, notFound("No such directory: %s", p)
	case typ != "directory" && row == nil:
		if isDir {
			return nil, &clientError{kind: ErrBadRequest, msg: p + " is a directory, not a " + typ, reason: "bad type"}
		}
		return nil, notFound("No such file: %s", p)
	}
	if typ == "directory" {
		return s.directory(st, user, p, o)
	}
	m := fileModel(p, typ, row)
	if !o.content && !o.hash {
		return m, nil
	}
	if readErr != nil {
		return nil, readErr
	}
	n := int64(len(data))
	m.Size = &n
	if o.hash {
		m.setHash(data)
	}
	if !o.content {
		return m, nil
	}
	if typ == "notebook" {
		nb, err := parseNotebookInPlace(data) // data is not used after this
		if err != nil {
			return nil, badRequest("Unreadable Notebook: %s %v", p, err)
		}
		m.Content, m.Format, m.Message = nb, strp("json"), validateNotebook(nb)
		return m, nil
	}
	format := o.format
	if format == "" {
		format = "base64"
		if utf8.Valid(data) {
			format = "text"
		}
	}
	switch format {
	case "text":
		if !utf8.Valid(data) {
			return nil, &clientError{kind: ErrBadRequest, msg: p + " is not UTF-8 encoded", reason: "bad format"}
		}
		m.Content = string(data)
	default:
		m.Content = payload
	}
	m.Format = &format
	mt := guessMimetype(p)
	if mt == "" {
		mt = "text/plain"
		if format == "base64" {
			mt = "application/octet-stream"
		}
	}
	m.Mimetype = &mt
	return m, nil
}

// directory returns a directory's model: its files by name, then its
// subdirectories, without hidden ones unless allowed.
func (s *Service) directory(st *store, user, p string, o getOptions) (*Model, error) {
	m := dirModel(p)
	if !o.content {
		return m, nil
	}
	dbName := dirDBName(p)
	files, err := st.filesIn(user, dbName)
	if err != nil {
		return nil, err
	}
	dirs, err := st.subdirs(user, dbName)
	if err != nil {
		return nil, err
	}
	children := make(modelList, 0, len(files)+len(dirs))
	for i := range files {
		f := &files[i]
		if !s.listed(f.Name) {
			continue
		}
		children = append(children, fileModel(joinPath(p, f.Name), fileType(f.Name), f))
	}
	for _, d := range dirs {
		_, name := splitPath(apiFromDB(d))
		if !s.listed(name) {
			continue
		}
		children = append(children, dirModel(apiFromDB(d)))
	}
	m.Content, m.Format = children, strp("json")
	return m, nil
}

func (s *Service) listed(name string) bool {
	return shouldList(name) && (s.allowHidden || !isHidden(name))
}
