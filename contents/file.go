package contents

import (
	"bytes"
	"database/sql"
	"sort"
	"time"

	"github.com/sparkhub/sparkhub/db"
)

// fileRow is a files row without its content.
type fileRow struct {
	ID         int64     `gorm:"column:id"`
	Name       string    `gorm:"column:name"`
	ParentName string    `gorm:"column:parent_name"`
	CreatedAt  time.Time `gorm:"column:created_at"`
	// For listings: the stored length and the ends of the stored value,
	// enough to know a plaintext file's size without reading it.
	StoredLen int64  `gorm:"column:stored_len"`
	Head      []byte `gorm:"column:head"`
	Tail      []byte `gorm:"column:tail"`
	Wrap      []byte `gorm:"column:wrap"` // byte 77: a line break in base64 wrapped at 76 columns
	Content   []byte `gorm:"column:content"`
}

// size is the decoded length of a plaintext base64 payload, or -1 when
// the stored value is encrypted and only its content can tell.
func (f *fileRow) size() int64 {
	if string(f.Head) == "gAAAAA" || f.StoredLen%4 != 0 || bytes.ContainsAny(f.Wrap, "\r\n") || bytes.ContainsAny(f.Tail, "\r\n") {
		return -1 // encrypted, or written with line breaks by another client
	}
	n := f.StoredLen / 4 * 3
	for i := len(f.Tail) - 1; i >= 0 && f.Tail[i] == '='; i-- {
		n--
	}
	return n
}

// The columns of a files row, by what a caller needs of it. On SQLite
// every SUBSTR of the content loads the whole stored value, so only a
// caller that needs the size without the content pays for them.
// created_at comes after the content in pgcontents' rows, so on SQLite
// even reading it walks the stored value's overflow pages.
const (
	fileIDCols   = "id, name, parent_name"
	fileMetaCols = fileIDCols + ", created_at, LENGTH(content) AS stored_len, " +
		"SUBSTR(content, 1, 6) AS head, SUBSTR(content, LENGTH(content) - 1, 2) AS tail, SUBSTR(content, 77, 1) AS wrap"
	fileContentCols = fileIDCols + ", created_at, content"
)

// fileWant is how much of a files row a lookup reads.
type fileWant int

const (
	wantID      fileWant = iota // id and name: the file exists
	wantMeta                    // and what gives its size
	wantContent                 // and the stored value
)

// setStored fills the size columns from a stored value in hand.
func (f *fileRow) setStored(stored []byte) {
	f.StoredLen = int64(len(stored))
	f.Head = bytes.Clone(stored[:min(6, len(stored))])
	f.Tail = bytes.Clone(stored[max(0, len(stored)-2):])
	f.Wrap = nil
	if len(stored) > 76 {
		f.Wrap = []byte{stored[76]}
	}
}

// selectFile is the query for one file's columns cols, by user, parent
// and name.
func (st *store) selectFile(cols string) string {
	return "SELECT " + cols + " FROM " + st.t.files + " WHERE user_id = ? AND parent_name = ? AND name = ?"
}

// file reads one file's row, as much of it as want says. A missing file
// is (nil, nil).
func (st *store) file(user, p string, want fileWant, lock bool) (*fileRow, error) {
	dir, name := splitPath(p)
	cols := fileIDCols
	switch want {
	case wantMeta:
		cols = fileMetaCols
	case wantContent:
		cols = fileContentCols
	}
	q := st.selectFile(cols)
	if lock {
		q += st.forUpdate()
	}
	var rows []fileRow
	if err := st.db.Raw(q, user, dirDBName(dir), name).Scan(&rows).Error; err != nil {
		return nil, err
	}
	for i := range rows {
		if rows[i].Name == name {
			rows[i].CreatedAt = utcTime(rows[i].CreatedAt)
			if want == wantContent {
				rows[i].setStored(rows[i].Content)
			}
			return &rows[i], nil
		}
	}
	return nil, nil
}

// fileWith reads one file's row with its stored value and hands it to
// use while the database driver still holds the value: a large value is
// not copied once more, so use must not keep row.Content. A missing
// file is (nil, nil) and use is not called.
func (st *store) fileWith(user, p string, use func(row *fileRow) error) (*fileRow, error) {
	dir, name := splitPath(p)
	rows, err := st.db.Raw(st.selectFile(fileContentCols), user, dirDBName(dir), name).Rows()
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var row fileRow
		var content sql.RawBytes
		if err := rows.Scan(&row.ID, &row.Name, &row.ParentName, &row.CreatedAt, &content); err != nil {
			return nil, err
		}
		if row.Name != name {
			continue // a case-insensitive match
		}
		row.CreatedAt = utcTime(row.CreatedAt)
		row.setStored(content)
		row.Content = content
		err := use(&row)
		row.Content = nil
		if err != nil {
			return nil, err
		}
		return &row, nil
	}
	return nil, rows.Err()
}

// filesIn lists the files of a directory (db name), by name.
func (st *store) filesIn(user, dbName string) ([]fileRow, error) {
	var rows []fileRow
	err := st.db.Raw("SELECT "+fileMetaCols+" FROM "+st.t.files+" WHERE user_id = ? AND parent_name = ?", user, dbName).
		Scan(&rows).Error
	for i := range rows {
		rows[i].CreatedAt = utcTime(rows[i].CreatedAt)
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].Name < rows[j].Name })
	return rows, err
}

// writeFile stores a file's value: an existing row keeps its id, as in
// pgcontents, and every write sets created_at. It returns the row as
// written, without its id when it is new. The time is read back where
// an existing schema may keep less than the microseconds at has (a
// MySQL port of pgcontents' tables with DATETIME); SQLite's tables are
// always sparkhub's, and there reading it would walk the whole value.
func (st *store) writeFile(user, p string, stored []byte, at time.Time) (*fileRow, error) {
	existing, err := st.file(user, p, wantID, true)
	if err != nil {
		return nil, err
	}
	if existing != nil {
		err = st.db.Exec("UPDATE "+st.t.files+" SET content = ?, created_at = ? WHERE id = ?", stored, at, existing.ID).Error
	} else {
		err = st.insertFile(user, p, stored, at)
	}
	if err != nil {
		return nil, err
	}
	dir, name := splitPath(p)
	row := &fileRow{Name: name, ParentName: dirDBName(dir), CreatedAt: at}
	if existing != nil {
		row.ID = existing.ID
	}
	if st.dialect != db.SQLite {
		var times []time.Time
		if err := st.db.Raw(st.selectFile("created_at"), user, row.ParentName, name).Scan(&times).Error; err != nil {
			return nil, err
		}
		if len(times) == 1 {
			row.CreatedAt = utcTime(times[0])
		}
	}
	row.setStored(stored)
	return row, nil
}

// insertFile adds a new file row; a file already there is a
// gorm.ErrDuplicatedKey.
func (st *store) insertFile(user, p string, stored []byte, at time.Time) error {
	dir, name := splitPath(p)
	return st.db.Exec("INSERT INTO "+st.t.files+" (name, user_id, parent_name, content, created_at) VALUES (?, ?, ?, ?, ?)",
		name, user, dirDBName(dir), stored, at).Error
}

// moveFile renames or moves a file; like pgcontents it stamps the time.
func (st *store) moveFile(user string, id int64, newPath string, at time.Time) error {
	dir, name := splitPath(newPath)
	return st.db.Exec("UPDATE "+st.t.files+" SET name = ?, parent_name = ?, created_at = ? WHERE id = ?",
		name, dirDBName(dir), at, id).Error
}

func (st *store) deleteFile(id int64) error {
	return st.db.Exec("DELETE FROM "+st.t.files+" WHERE id = ?", id).Error
}
