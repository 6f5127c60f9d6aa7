package contents

import (
	"github.com/sparkhub/sparkhub/internal/httperr"
	"sort"
	"strings"
	"unicode/utf8"
)

type dirRow struct {
	Name       string  `gorm:"column:name"`
	ParentName *string `gorm:"column:parent_name"`
}

// dirExists reports whether the directory with this db name exists.
func (st *store) dirExists(user, dbName string) (bool, error) {
	var names []string
	err := st.db.Raw("SELECT name FROM "+st.t.dirs+" WHERE user_id = ? AND name = ?", user, dbName).Scan(&names).Error
	if err != nil {
		return false, err
	}
	for _, n := range names {
		if n == dbName { // MySQL's PAD SPACE collations match trailing spaces
			return true, nil
		}
	}
	return false, nil
}

// subdirs lists the db names of a directory's direct subdirectories.
func (st *store) subdirs(user, dbName string) ([]string, error) {
	var names []string
	err := st.db.Raw("SELECT name FROM "+st.t.dirs+" WHERE user_id = ? AND parent_name = ?", user, dbName).Scan(&names).Error
	sort.Strings(names)
	return names, err
}

// descendants returns the db names of a directory and everything below
// it. The prefix is matched in Go: LIKE treats "_" and "%" as wildcards
// and is case-blind on SQLite, which is how pgcontents moved unrelated
// directories.
func (st *store) descendants(user, dbName string) ([]string, error) {
	var names []string
	err := st.db.Raw("SELECT name FROM "+st.t.dirs+" WHERE user_id = ? AND name LIKE ? ESCAPE '!'",
		user, likePrefix(dbName)).Scan(&names).Error
	if err != nil {
		return nil, err
	}
	out := names[:0]
	for _, n := range names {
		if strings.HasPrefix(n, dbName) {
			out = append(out, n)
		}
	}
	sort.Slice(out, func(i, j int) bool { return len(out[i]) < len(out[j]) || len(out[i]) == len(out[j]) && out[i] < out[j] })
	return out, nil
}

// likePrefix is a LIKE pattern matching strings that start with p, with
// "!" as the escape character (a backslash means different things to
// MySQL's and PostgreSQL's string literals).
func likePrefix(p string) string {
	r := strings.NewReplacer("!", "!!", "%", "!%", "_", "!_")
	return r.Replace(p) + "%"
}

// createDir inserts a directory row under an existing parent; an
// existing directory is left as it is.
func (st *store) createDir(user, p string) error {
	parent, _ := splitPath(p)
	return st.insertIgnore(st.t.dirs, "user_id, name, parent_user_id, parent_name", "?, ?, ?, ?",
		user, dirDBName(p), user, dirDBName(parent))
}

// deleteDirRows deletes directory rows, deepest first so that no row
// ever points at a deleted parent (MySQL cannot defer that check).
func (st *store) deleteDirRows(user string, names []string) error {
	sorted := append([]string(nil), names...)
	sort.Slice(sorted, func(i, j int) bool { return strings.Count(sorted[i], "/") > strings.Count(sorted[j], "/") })
	for _, n := range sorted {
		if err := st.db.Exec("DELETE FROM "+st.t.dirs+" WHERE user_id = ? AND name = ?", user, n).Error; err != nil {
			return err
		}
	}
	return nil
}

// moveDir moves a directory and everything below it: new directory rows
// first, then files and checkpoints repointed, then the old rows
// deleted. No referenced key is ever updated, so it works with both
// foreign-key variants pgcontents databases have and on MySQL.
func (st *store) moveDir(user, oldPath, newPath string) error {
	oldDB, newDB := dirDBName(oldPath), dirDBName(newPath)
	names, err := st.descendants(user, oldDB)
	if err != nil {
		return err
	}
	newParent, _ := splitPath(newPath)
	for _, n := range names {
		moved := newDB + n[len(oldDB):]
		if utf8.RuneCountInString(moved) > maxName {
			return badRequest("Moving %q there would make the path %q longer than %d characters.", oldPath, httperr.Shorten(apiFromDB(moved), 60), maxName-2)
		}
		parent := dirDBName(newParent)
		if n != oldDB {
			d, _ := splitPath(apiFromDB(moved))
			parent = dirDBName(d)
		}
		if err := st.db.Exec("INSERT INTO "+st.t.dirs+" (user_id, name, parent_user_id, parent_name) VALUES (?, ?, ?, ?)",
			user, moved, user, parent).Error; err != nil {
			return err
		}
		if err := st.db.Exec("UPDATE "+st.t.files+" SET parent_name = ? WHERE user_id = ? AND parent_name = ?",
			moved, user, n).Error; err != nil {
			return err
		}
	}
	if err := st.moveCheckpointsUnder(user, oldPath, newPath); err != nil {
		return err
	}
	return st.deleteDirRows(user, names)
}

// deleteDir deletes a directory with everything in it.
func (st *store) deleteDir(user, p string) error {
	names, err := st.descendants(user, dirDBName(p))
	if err != nil {
		return err
	}
	for _, n := range names {
		if err := st.db.Exec("DELETE FROM "+st.t.files+" WHERE user_id = ? AND parent_name = ?", user, n).Error; err != nil {
			return err
		}
	}
	if err := st.deleteCheckpointsUnder(user, p); err != nil {
		return err
	}
	return st.deleteDirRows(user, names)
}
