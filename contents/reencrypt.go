package contents

import (
	"context"
	"fmt"
	"log/slog"

	"gorm.io/gorm"
)

// Reencrypt rewrites every row from oldKeys to newKeys (either may be
// empty = plaintext), one transaction per user, safe to stop and rerun:
// each row is read with the new keys, then the old ones, then as
// plaintext, and written with the new ones, as pgcontents'
// reencrypt_all_users does.
func Reencrypt(ctx context.Context, gdb *gorm.DB, oldKeys, newKeys []string, logger *slog.Logger) error {
	oldK, err := checkKeys(oldKeys)
	if err != nil {
		return err
	}
	newK, err := checkKeys(newKeys)
	if err != nil {
		return err
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	st := newStore(gdb.WithContext(ctx))
	var users []string
	if err := st.db.Raw("SELECT id FROM " + st.t.users + " ORDER BY id").Scan(&users).Error; err != nil {
		return fmt.Errorf("list contents users: %w", err)
	}
	oldRing, newRing := newKeyring(oldK), newKeyring(newK)
	for _, user := range users {
		if err := ctx.Err(); err != nil {
			return err
		}
		enc := newRing.forUser(user)
		dec := crypter{keys: append(append([][]byte(nil), enc.keys...), oldRing.forUser(user).keys...)}
		rows := 0
		err := st.tx(ctx, func(tx *store) error {
			for _, table := range []string{tx.t.files, tx.t.checkpoints} {
				var ids []int64
				if err := tx.db.Raw("SELECT id FROM "+table+" WHERE user_id = ? ORDER BY id", user).Scan(&ids).Error; err != nil {
					return err
				}
				for _, id := range ids {
					var row []contentRow
					if err := tx.db.Raw("SELECT id, content FROM "+table+" WHERE id = ?"+tx.forUpdate(), id).Scan(&row).Error; err != nil {
						return err
					}
					if len(row) == 0 {
						continue
					}
					plain, err := dec.decrypt(row[0].Content)
					if err != nil {
						return fmt.Errorf("row %d of %s belongs to %q but opens with none of the keys given", id, table, user)
					}
					if err := tx.db.Exec("UPDATE "+table+" SET content = ? WHERE id = ?", enc.encrypt(plain), id).Error; err != nil {
						return err
					}
					rows++
				}
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("re-encrypt the contents of %q (nothing of theirs changed): %w", user, err)
		}
		logger.InfoContext(ctx, "contents re-encrypted", "user", user, "rows", rows)
	}
	return nil
}
