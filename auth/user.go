package auth

import (
	"context"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/sparkhub/sparkhub/db"
)

// User is a row of hub_users.
type User struct {
	ID                int64
	Name              string
	Admin             bool
	PasswordHash      string `json:"-"`
	Disabled          bool
	SessionGeneration int64
	CreatedAt         time.Time
	LastActivity      *time.Time
}

// TableName is the table's name.
func (User) TableName() string { return "hub_users" }

// CreateUser adds a user with the given password hash (empty: no
// password login until one is set).
func (s *Store) CreateUser(ctx context.Context, name string, admin bool, passwordHash string) (*User, error) {
	if err := ValidateName(name); err != nil {
		return nil, err
	}
	u := &User{Name: name, Admin: admin, PasswordHash: passwordHash, CreatedAt: time.Now().UTC().Truncate(time.Microsecond)}
	if err := s.db.WithContext(ctx).Create(u).Error; err != nil {
		if err = mapErr(err); err == ErrExists {
			return nil, fmt.Errorf("user %s: %w", name, err)
		}
		return nil, fmt.Errorf("create user %s: %w", name, err)
	}
	return u, nil
}

// CreateUsers adds every name not yet taken, all in one transaction, and
// returns the users it created. Names must be valid; ones already taken
// are skipped.
func (s *Store) CreateUsers(ctx context.Context, names []string, admin bool) ([]*User, error) {
	for _, n := range names {
		if err := ValidateName(n); err != nil {
			return nil, err
		}
	}
	var created []*User
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var taken []string
		for chunk := range chunks(names, 500) {
			var got []string
			if err := tx.Model(&User{}).Where("name IN ?", chunk).Pluck("name", &got).Error; err != nil {
				return err
			}
			taken = append(taken, got...)
		}
		skip := make(map[string]bool, len(taken))
		for _, n := range taken {
			skip[n] = true
		}
		now := time.Now().UTC().Truncate(time.Microsecond)
		for _, n := range names {
			if skip[n] {
				continue
			}
			skip[n] = true
			created = append(created, &User{Name: n, Admin: admin, CreatedAt: now})
		}
		if len(created) == 0 {
			return nil
		}
		return tx.CreateInBatches(created, 200).Error
	})
	if err != nil {
		return nil, fmt.Errorf("create users: %w", mapErr(err))
	}
	return created, nil
}

func chunks(s []string, n int) func(func([]string) bool) {
	return func(yield func([]string) bool) {
		for len(s) > 0 {
			k := min(n, len(s))
			if !yield(s[:k]) {
				return
			}
			s = s[k:]
		}
	}
}

// UserByName returns the named user or ErrNotFound.
func (s *Store) UserByName(ctx context.Context, name string) (*User, error) {
	var u User
	if err := s.db.WithContext(ctx).Where("name = ?", name).Take(&u).Error; err != nil {
		return nil, mapErr(err)
	}
	return &u, nil
}

// UserByID returns the user with that id or ErrNotFound.
func (s *Store) UserByID(ctx context.Context, id int64) (*User, error) {
	var u User
	if err := s.db.WithContext(ctx).Where("id = ?", id).Take(&u).Error; err != nil {
		return nil, mapErr(err)
	}
	return &u, nil
}

// Names returns the names of the users with these ids, by id, in one
// query per 10,000 ids; ids of no user are left out. The spawner asks it
// for the users of the servers it recovers.
func (s *Store) Names(ctx context.Context, ids []int64) (map[int64]string, error) {
	out := make(map[int64]string, len(ids))
	for len(ids) > 0 {
		chunk := ids[:min(len(ids), 10000)]
		ids = ids[len(chunk):]
		var rows []struct {
			ID   int64
			Name string
		}
		if err := s.db.WithContext(ctx).Model(&User{}).Select("id, name").Where("id IN ?", chunk).Find(&rows).Error; err != nil {
			return nil, fmt.Errorf("name users: %w", err)
		}
		for _, r := range rows {
			out[r.ID] = r.Name
		}
	}
	return out, nil
}

// AllNames returns every username, sorted.
func (s *Store) AllNames(ctx context.Context) ([]string, error) {
	var names []string
	if err := s.db.WithContext(ctx).Model(&User{}).Order("name").Pluck("name", &names).Error; err != nil {
		return nil, fmt.Errorf("list usernames: %w", err)
	}
	return names, nil
}

// UserQuery selects a page of users.
type UserQuery struct {
	Offset, Limit int
	// NameFilter keeps names that start with it.
	NameFilter string
	// Names, when not nil, keeps only these names.
	Names []string
	// Order is "name", "-name", "created", "-created", "last_activity",
	// "-last_activity", "admin", "-admin"; empty is by id.
	Order string
}

// Orders lists the values UserQuery.Order takes.
var Orders = []string{"name", "created", "last_activity", "admin"}

// ListUsers returns a page of users and how many match in all.
func (s *Store) ListUsers(ctx context.Context, q UserQuery) ([]*User, int64, error) {
	base := s.db.WithContext(ctx).Model(&User{})
	if q.NameFilter != "" {
		base = base.Where("name LIKE ? ESCAPE '!'", likePrefix(q.NameFilter))
	}
	if q.Names != nil {
		base = base.Where("name IN ?", q.Names)
	}
	var total int64
	if err := base.Session(&gorm.Session{}).Count(&total).Error; err != nil {
		return nil, 0, fmt.Errorf("count users: %w", err)
	}
	order := "id"
	if q.Order != "" {
		col, desc := strings.CutPrefix(q.Order, "-")
		switch col {
		case "name", "admin", "last_activity":
		case "created":
			col = "created_at"
		default:
			return nil, 0, inputErrorf("cannot sort users by %q; use name, created, last_activity or admin, with '-' before for descending", q.Order)
		}
		order = col
		if desc {
			order += " DESC"
		}
		order += ", id"
	}
	var users []*User
	cols := userColumns
	if db.DialectOf(s.db) == db.SQLite {
		// SQLite keeps times as text, and its driver tries several
		// layouts on each; these are read as text and parsed once.
		cols = userColumnsSQLite
	}
	qq := base.Select(cols).Order(order).Offset(q.Offset)
	if q.Limit > 0 {
		qq = qq.Limit(q.Limit)
	}
	// Scanned by hand: for thousands of users gorm's reflection costs
	// more than the query.
	rows, err := qq.Rows()
	if err != nil {
		return nil, 0, fmt.Errorf("list users: %w", err)
	}
	defer rows.Close()
	n := int(total)
	if q.Limit > 0 {
		n = min(q.Limit, n)
	}
	users = make([]*User, 0, n)
	// The users and their times in two blocks, not two allocations each;
	// should more rows come than were counted, append starts new blocks
	// and the pointers already taken keep the old ones.
	block := make([]User, 0, n)
	times := make([]time.Time, 0, n)
	for rows.Next() {
		block = append(block, User{})
		u := &block[len(block)-1]
		var created, last dbTime
		if err := rows.Scan(&u.ID, &u.Name, &u.Admin, &u.Disabled, &u.SessionGeneration, &created, &last); err != nil {
			return nil, 0, fmt.Errorf("list users: %w", err)
		}
		u.CreatedAt = created.t
		if last.valid {
			times = append(times, last.t)
			u.LastActivity = &times[len(times)-1]
		}
		users = append(users, u)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("list users: %w", err)
	}
	return users, total, nil
}

// likePrefix escapes LIKE's wildcards (with '!', which all three engines
// accept as ESCAPE) and adds a trailing %.
func likePrefix(s string) string {
	r := strings.NewReplacer("!", "!!", "%", "!%", "_", "!_")
	return r.Replace(s) + "%"
}

// CountUsers returns how many users exist.
func (s *Store) CountUsers(ctx context.Context) (int64, error) {
	var n int64
	err := s.db.WithContext(ctx).Model(&User{}).Count(&n).Error
	return n, err
}

// DeleteUser removes the user and, by the foreign key, their tokens.
func (s *Store) DeleteUser(ctx context.Context, name string) error {
	defer s.changed()
	res := s.db.WithContext(ctx).Where("name = ?", name).Delete(&User{})
	if res.Error != nil {
		return fmt.Errorf("delete user %s: %w", name, res.Error)
	}
	if res.RowsAffected == 0 {
		return ErrNotFound
	}
	return nil
}

// KeepAnAdmin refuses to take away u when u is the last enabled admin:
// demoting, disabling or deleting them would leave no one to manage the
// hub. Call it in the transaction that makes the change.
func (s *Store) KeepAnAdmin(ctx context.Context, u *User) error {
	if !u.Admin || u.Disabled {
		return nil
	}
	var n int64
	err := s.db.WithContext(ctx).Model(&User{}).
		Where("admin = ? AND disabled = ? AND id <> ?", true, false, u.ID).Count(&n).Error
	if err != nil {
		return fmt.Errorf("count admins: %w", err)
	}
	if n == 0 {
		return inputErrorf("%s is the last admin; make someone else an admin first", u.Name)
	}
	return nil
}

// UserChange is a PATCH: nil fields stay as they are.
type UserChange struct {
	Name     *string
	Admin    *bool
	Disabled *bool
}

// UpdateUser applies the change and returns the user as it now is. A
// user being disabled is logged out everywhere.
func (s *Store) UpdateUser(ctx context.Context, name string, c UserChange) (*User, error) {
	defer s.changed()
	if c.Name != nil {
		if err := ValidateName(*c.Name); err != nil {
			return nil, err
		}
	}
	var out *User
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var u User
		if err := tx.Where("name = ?", name).Take(&u).Error; err != nil {
			return err
		}
		updates := map[string]any{}
		if c.Name != nil && *c.Name != u.Name {
			updates["name"] = *c.Name
		}
		if c.Admin != nil && *c.Admin != u.Admin {
			updates["admin"] = *c.Admin
		}
		if c.Disabled != nil && *c.Disabled != u.Disabled {
			updates["disabled"] = *c.Disabled
			if *c.Disabled {
				updates["session_generation"] = gorm.Expr("session_generation + 1")
			}
		}
		if len(updates) > 0 {
			if err := tx.Model(&User{}).Where("id = ?", u.ID).Updates(updates).Error; err != nil {
				return err
			}
		}
		if err := tx.Where("id = ?", u.ID).Take(&u).Error; err != nil {
			return err
		}
		out = &u
		return nil
	})
	if err != nil {
		return nil, mapErr(err)
	}
	return out, nil
}

// SetPasswordHash stores a new password hash and logs the user out
// everywhere. With revokeTokens their API tokens are deleted too, in the
// same transaction, so a token made by whoever knew the old password
// stops working with it; it returns how many were. The token of the
// user's running server (KindServer, their contents only) stays: the
// server's next start replaces it.
func (s *Store) SetPasswordHash(ctx context.Context, name, hash string, revokeTokens bool) (int64, error) {
	defer s.changed()
	var revoked int64
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var u User
		if err := tx.Select("id").Where("name = ?", name).Take(&u).Error; err != nil {
			return err
		}
		err := tx.Model(&User{}).Where("id = ?", u.ID).Updates(map[string]any{
			"password_hash":      hash,
			"session_generation": gorm.Expr("session_generation + 1"),
		}).Error
		if err != nil || !revokeTokens {
			return err
		}
		res := tx.Where("user_id = ? AND kind = ?", u.ID, KindAPIToken).Delete(&Token{})
		revoked = res.RowsAffected
		return res.Error
	})
	if err = mapErr(err); err != nil && err != ErrNotFound {
		return 0, fmt.Errorf("set password of %s: %w", name, err)
	}
	return revoked, err
}

// RevokeSessions logs the user out of every browser.
func (s *Store) RevokeSessions(ctx context.Context, name string) error {
	defer s.changed()
	res := s.db.WithContext(ctx).Model(&User{}).Where("name = ?", name).
		Update("session_generation", gorm.Expr("session_generation + 1"))
	if res.Error != nil {
		return fmt.Errorf("revoke sessions of %s: %w", name, res.Error)
	}
	if res.RowsAffected == 0 {
		return ErrNotFound
	}
	return nil
}

// TouchUsers records last activity for many users at once.
func (s *Store) TouchUsers(ctx context.Context, seen map[int64]time.Time) error {
	for id, t := range seen {
		err := s.db.WithContext(ctx).Model(&User{}).
			Where("id = ? AND (last_activity IS NULL OR last_activity < ?)", id, t).
			Update("last_activity", t.UTC()).Error
		if err != nil {
			return fmt.Errorf("record activity: %w", err)
		}
	}
	return nil
}

// userColumns are what lists of users read: everything but the password
// hash, which a list never needs.
const (
	userColumns = userFlagColumns + ", created_at, last_activity"
	// userColumnsSQLite are userColumns with the times as SQLite stores
	// them, as text.
	userColumnsSQLite = userFlagColumns + ", CAST(created_at AS TEXT) AS created_at, CAST(last_activity AS TEXT) AS last_activity"
	userFlagColumns   = "id, name, admin, disabled, session_generation"
)

// dbTime scans a time column: a time.Time from MySQL and PostgreSQL, or
// SQLite's text, in the layout the SQLite driver writes or, from rows
// another program wrote, one of the other timeLayouts.
type dbTime struct {
	t     time.Time
	valid bool
}

// sqliteTimeLayout is what the SQLite driver writes (_time_format=sqlite).
const sqliteTimeLayout = "2006-01-02 15:04:05.999999999-07:00"

func (d *dbTime) Scan(src any) error {
	var s string
	switch v := src.(type) {
	case nil:
		*d = dbTime{}
		return nil
	case time.Time:
		*d = dbTime{t: v, valid: true}
		return nil
	case string:
		s = v
	case []byte:
		s = string(v)
	default:
		return fmt.Errorf("a time column holds a %T", src)
	}
	for _, layout := range timeLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			*d = dbTime{t: t, valid: true}
			return nil
		}
	}
	return fmt.Errorf("a time column holds %q, in no known layout", s)
}

// timeLayouts are tried in order: the SQLite driver's, then others a
// program writing SQLite by hand may have used.
var timeLayouts = []string{sqliteTimeLayout, "2006-01-02 15:04:05.999999999Z07:00", time.RFC3339Nano,
	"2006-01-02 15:04:05.999999999", "2006-01-02T15:04:05.999999999", "2006-01-02 15:04", "2006-01-02"}
