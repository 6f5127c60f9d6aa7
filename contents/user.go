package contents

import (
	"context"
	"fmt"
	"github.com/sparkhub/sparkhub/internal/httperr"
	"sort"
	"unicode/utf8"

	"gorm.io/gorm"
)

// ensureUser makes the users row and the root directory row, as
// pgcontents does when its manager starts.
func (st *store) ensureUser(user string) error {
	if utf8.RuneCountInString(user) > maxUserID {
		return badRequest("The user name %q is longer than the %d characters the contents tables allow.", httperr.Shorten(user, 60), maxUserID)
	}
	if err := st.insertIgnore(st.t.users, "id", "?", user); err != nil {
		return fmt.Errorf("add contents user: %w", err)
	}
	if err := st.insertIgnore(st.t.dirs, "user_id, name, parent_user_id, parent_name", "?, ?, NULL, NULL", user, rootDBName); err != nil {
		return fmt.Errorf("add root directory: %w", err)
	}
	return nil
}

// RenameUser moves a user's contents rows to a new name inside the
// caller's transaction, re-encrypting each row for the new name's key.
func (s *Service) RenameUser(ctx context.Context, tx *gorm.DB, oldName, newName string) error {
	oldC, newC := s.keys.forUser(oldName), s.keys.forUser(newName)
	return storeFor(tx.WithContext(ctx)).renameUser(oldName, newName, func(b []byte) ([]byte, error) {
		p, err := oldC.decrypt(b)
		if err != nil {
			return nil, err
		}
		return newC.encrypt(p), nil
	})
}

func (st *store) renameUser(oldName, newName string, recrypt func([]byte) ([]byte, error)) error {
	if oldName == newName {
		return nil
	}
	var n int64
	if err := st.db.Table(st.t.users).Where("id = ?", oldName).Count(&n).Error; err != nil {
		return err
	}
	if n == 0 {
		return nil // never saved anything
	}
	if err := st.db.Table(st.t.users).Where("id = ?", newName).Count(&n).Error; err != nil {
		return err
	}
	if n != 0 {
		return conflict("Contents for the user %q already exist.", newName)
	}
	if utf8.RuneCountInString(newName) > maxUserID {
		return badRequest("The user name %q is longer than the %d characters the contents tables allow.", httperr.Shorten(newName, 60), maxUserID)
	}
	if err := st.db.Exec("INSERT INTO "+st.t.users+" (id) VALUES (?)", newName).Error; err != nil {
		return err
	}
	var dirs []dirRow
	if err := st.db.Raw("SELECT name, parent_name FROM "+st.t.dirs+" WHERE user_id = ?", oldName).Scan(&dirs).Error; err != nil {
		return err
	}
	sort.Slice(dirs, func(i, j int) bool { return len(dirs[i].Name) < len(dirs[j].Name) })
	for _, d := range dirs {
		var parentUser any
		if d.ParentName != nil {
			parentUser = newName
		}
		if err := st.db.Exec("INSERT INTO "+st.t.dirs+" (user_id, name, parent_user_id, parent_name) VALUES (?, ?, ?, ?)",
			newName, d.Name, parentUser, d.ParentName).Error; err != nil {
			return err
		}
	}
	for _, table := range []string{st.t.files, st.t.checkpoints} {
		var rows []contentRow
		if err := st.db.Raw("SELECT id, content FROM "+table+" WHERE user_id = ?", oldName).Scan(&rows).Error; err != nil {
			return err
		}
		for _, r := range rows {
			c, err := recrypt(r.Content)
			if err != nil {
				return fmt.Errorf("row %d of %s: %w", r.ID, table, ErrUnreadable)
			}
			if err := st.db.Exec("UPDATE "+table+" SET user_id = ?, content = ? WHERE id = ?", newName, c, r.ID).Error; err != nil {
				return err
			}
		}
	}
	return st.deleteUserRows(oldName, true)
}

// DeleteUser removes all of a user's contents, inside the caller's
// transaction.
func DeleteUser(ctx context.Context, tx *gorm.DB, name string) error {
	return storeFor(tx.WithContext(ctx)).deleteUserRows(name, false)
}

// deleteUserRows removes a user's rows; with dirsOnly the files and
// checkpoints have already moved away.
func (st *store) deleteUserRows(user string, dirsOnly bool) error {
	if !dirsOnly {
		for _, table := range []string{st.t.checkpoints, st.t.files} {
			if err := st.db.Exec("DELETE FROM "+table+" WHERE user_id = ?", user).Error; err != nil {
				return err
			}
		}
	}
	var names []string
	if err := st.db.Raw("SELECT name FROM "+st.t.dirs+" WHERE user_id = ?", user).Scan(&names).Error; err != nil {
		return err
	}
	if err := st.deleteDirRows(user, names); err != nil {
		return err
	}
	return st.db.Exec("DELETE FROM "+st.t.users+" WHERE id = ?", user).Error
}

type contentRow struct {
	ID      int64  `gorm:"column:id"`
	Content []byte `gorm:"column:content"`
}
