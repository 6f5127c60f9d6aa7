package contents

import (
	"github.com/sparkhub/sparkhub/internal/httperr"
	"path"
	"strings"
	"unicode/utf8"
)

// Column widths of the pgcontents schema, in characters.
const (
	maxUserID   = 30
	maxName     = 300 // a file's base name, a directory's whole db name, a checkpoint's path
	rootDBName  = "/"
	epochString = "1970-01-01T00:00:00Z"
)

// hideGlobs are the names Jupyter's FileContentsManager leaves out of
// listings by default (hide_globs).
var hideGlobs = []string{"__pycache__", "*.pyc", "*.pyo", ".DS_Store", "*.so", "*.dylib", "*~"}

// cleanPath turns an API path into its normal form: no leading or
// trailing slash, "." and ".." resolved, "" for the root. A path that
// climbs out of the root is not found, as in Jupyter.
func cleanPath(p string) (string, error) {
	if !utf8.ValidString(p) || strings.ContainsRune(p, 0) {
		return "", badRequest("The path %q is not valid text.", p)
	}
	trimmed := strings.Trim(p, "/")
	clean := path.Clean(trimmed)
	if clean == "." {
		clean = ""
	}
	if clean == ".." || strings.HasPrefix(clean, "../") {
		return "", notFound("Path outside root: [%s]", p)
	}
	return clean, nil
}

// splitPath returns the API path of the parent directory and the base name.
func splitPath(p string) (dir, name string) {
	i := strings.LastIndexByte(p, '/')
	if i < 0 {
		return "", p
	}
	return p[:i], p[i+1:]
}

// dirDBName is how the directories table names an API directory path:
// "/" for the root, "/a/b/" for "a/b".
func dirDBName(p string) string {
	if p == "" {
		return rootDBName
	}
	return "/" + p + "/"
}

// apiFromDB turns a directories.name back into an API path.
func apiFromDB(dbName string) string { return strings.Trim(dbName, "/") }

// checkpointPath is remote_checkpoints.path for an API path.
func checkpointPath(p string) string { return "/" + p }

// joinPath joins an API directory and a name.
func joinPath(dir, name string) string {
	if dir == "" {
		return name
	}
	return dir + "/" + name
}

// isHidden reports whether any segment of an API path starts with a dot.
func isHidden(p string) bool {
	for _, seg := range strings.Split(p, "/") {
		if strings.HasPrefix(seg, ".") {
			return true
		}
	}
	return false
}

// shouldList reports whether a name passes Jupyter's hide_globs.
func shouldList(name string) bool {
	for _, g := range hideGlobs {
		if ok, _ := path.Match(g, name); ok {
			return false
		}
	}
	return true
}

// checkWritable refuses names the schema cannot hold or that would be
// ambiguous, with a 400 instead of a database error.
func checkWritable(p string) error {
	if p == "" {
		return badRequest("The root directory cannot be written to as a file.")
	}
	dir, name := splitPath(p)
	if utf8.RuneCountInString(name) > maxName {
		return badRequest("The name %q is longer than %d characters.", httperr.Shorten(name, 60), maxName)
	}
	if utf8.RuneCountInString(dirDBName(dir)) > maxName || utf8.RuneCountInString(checkpointPath(p))+1 > maxName {
		return badRequest("The path %q is longer than the %d characters a path may have.", httperr.Shorten(p, 60), maxName-2)
	}
	for _, seg := range strings.Split(p, "/") {
		if strings.TrimRight(seg, " ") != seg {
			return badRequest("The name %q ends with a space; remove it.", seg)
		}
		for _, r := range seg {
			if r < 0x20 || r == 0x7f {
				return badRequest("The name %q contains a control character.", seg)
			}
		}
	}
	return nil
}
