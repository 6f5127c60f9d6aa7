package spawner

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/sparkhub/sparkhub/db"
)

// tokenKeySetting names the hub_settings row holding the AES-256 key that
// seals server tokens at rest.
const tokenKeySetting = "spawner_token_key"

// row is one hub_servers row.
type row struct {
	ID            int64 `gorm:"primaryKey"`
	UserID        int64
	Name          string
	State         State
	Profile       string
	HandleBackend string
	HandleID      string
	HandleState   []byte
	Target        string
	Token         []byte
	Started       *time.Time
	ReadyAt       *time.Time
	LastActivity  *time.Time
	Stopped       *time.Time
	StopReason    string
	LogTail       *string
	UpdatedAt     time.Time
	// The start's bootstrap credential (see Bootstrapper): its hash,
	// when it expires, and when it was traded.
	BootstrapHash    string
	BootstrapExpires *time.Time
	Bootstrapped     *time.Time
}

func (row) TableName() string { return "hub_servers" }

// store reads and writes hub_servers, and seals tokens. It reads no
// other table: users come by id (auth owns hub_users).
type store struct {
	db   *gorm.DB
	aead cipher.AEAD
}

func newStore(ctx context.Context, gdb *gorm.DB) (*store, error) {
	key, err := db.NewSettings(gdb).Secret(ctx, tokenKeySetting, 32)
	if err != nil {
		return nil, fmt.Errorf("load the server token key: %w", err)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("server token key: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &store{db: gdb, aead: aead}, nil
}

// seal encrypts a server token, bound to the user id so a sealed token
// moved to another row does not open.
func (s *store) seal(userID int64, token string) []byte {
	nonce := make([]byte, s.aead.NonceSize())
	rand.Read(nonce)
	return s.aead.Seal(nonce, nonce, []byte(token), tokenAD(userID))
}

func (s *store) open(userID int64, sealed []byte) (string, error) {
	n := s.aead.NonceSize()
	if len(sealed) < n {
		return "", errors.New("sealed server token is too short")
	}
	plain, err := s.aead.Open(nil, sealed[:n], sealed[n:], tokenAD(userID))
	if err != nil {
		return "", errors.New("server token does not open with the hub key")
	}
	return string(plain), nil
}

func tokenAD(userID int64) []byte {
	return []byte("hub_servers token user " + strconv.FormatInt(userID, 10))
}

// begin writes the row of a server that is starting, replacing what an
// earlier run left. ErrNoUser when no user has the row's user id.
func (s *store) begin(ctx context.Context, r *row) error {
	r.UpdatedAt = now()
	err := s.db.WithContext(ctx).Clauses(clause.OnConflict{
		Columns: []clause.Column{{Name: "user_id"}, {Name: "name"}},
		DoUpdates: clause.AssignmentColumns([]string{
			"state", "profile", "handle_backend", "handle_id", "handle_state", "target", "token",
			"started", "ready_at", "stopped", "stop_reason", "log_tail", "updated_at",
			"bootstrap_hash", "bootstrap_expires", "bootstrapped",
		}),
	}).Create(r).Error
	if errors.Is(err, gorm.ErrForeignKeyViolated) {
		return ErrNoUser
	}
	if err != nil {
		return fmt.Errorf("record server start: %w", err)
	}
	return nil
}

// endedColumns are what a row keeps of a server that ended: the state
// and why, its last log lines; nothing of its token, handle, address or
// bootstrap credential.
func endedColumns(st State, reason string, tail []string) map[string]any {
	return map[string]any{
		"state": st, "stopped": now(), "stop_reason": reason, "log_tail": joinLines(tail),
		"token": nil, "handle_id": "", "handle_state": nil, "target": "",
		"bootstrap_hash": "", "bootstrap_expires": nil, "bootstrapped": nil,
	}
}

// update writes the given columns of the user's default server.
func (s *store) update(ctx context.Context, userID int64, cols map[string]any) error {
	cols["updated_at"] = now()
	err := s.db.WithContext(ctx).Model(&row{}).Where("user_id = ? AND name = ?", userID, "").Updates(cols).Error
	if err != nil {
		return fmt.Errorf("record server state: %w", err)
	}
	return nil
}

// claimBootstrap records the start's credential, known by its hash, as
// traded at t. It reports false when it was traded already or is no
// longer the start's: of two at once, one wins.
func (s *store) claimBootstrap(ctx context.Context, userID int64, hash string, t time.Time) (bool, error) {
	res := s.defaults(ctx).Where("user_id = ? AND bootstrap_hash = ? AND bootstrapped IS NULL", userID, hash).
		Updates(map[string]any{"bootstrapped": t, "updated_at": now()})
	if res.Error != nil {
		return false, fmt.Errorf("record the server's bootstrap: %w", res.Error)
	}
	return res.RowsAffected == 1, nil
}

// live returns every row in a live state, for recovery.
func (s *store) live(ctx context.Context) ([]row, error) {
	var rows []row
	err := s.defaults(ctx).Where("state IN ?", []State{Spawning, Running, Stopping}).Find(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("load live servers: %w", err)
	}
	return rows, nil
}

// maxIDsPerQuery keeps IN lists under every engine's parameter limit
// (SQLite's is 32766).
const maxIDsPerQuery = 10000

// byUsers returns the rows of the users' default servers.
func (s *store) byUsers(ctx context.Context, users []int64) ([]row, error) {
	var all []row
	if len(users) > manyUsers {
		return s.byUsersScan(ctx, users)
	}
	for len(users) > 0 {
		chunk := users[:min(len(users), maxIDsPerQuery)]
		users = users[len(chunk):]
		var rows []row
		if err := s.defaults(ctx).Where("user_id IN ?", chunk).Find(&rows).Error; err != nil {
			return nil, fmt.Errorf("load servers: %w", err)
		}
		all = append(all, rows...)
	}
	return all, nil
}

// manyUsers is where asking for users one by one (IN with a parameter
// each) costs more than reading every server row: the pure-Go SQLite
// driver binds parameters in time that grows with their number.
const manyUsers = 200

// byUsersScan reads every default server's row, without the columns a
// listing never shows (log lines, token, handle state), and keeps the
// users asked for.
func (s *store) byUsersScan(ctx context.Context, users []int64) ([]row, error) {
	want := make(map[int64]bool, len(users))
	for _, u := range users {
		want[u] = true
	}
	var rows []row
	err := s.defaults(ctx).
		Select("id, user_id, name, state, profile, handle_backend, handle_id, target, started, ready_at, last_activity, stopped, stop_reason, updated_at").
		Find(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("load servers: %w", err)
	}
	kept := rows[:0]
	for _, r := range rows {
		if want[r.UserID] {
			kept = append(kept, r)
		}
	}
	return kept, nil
}

// logTails reads the log lines kept for the users' default servers, by
// user id, for those that have any.
func (s *store) logTails(ctx context.Context, users []int64) (map[int64]string, error) {
	var rows []struct {
		UserID  int64
		LogTail string
	}
	err := s.defaults(ctx).Select("user_id, log_tail").
		Where("log_tail IS NOT NULL AND user_id IN ?", users).Find(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("load server logs: %w", err)
	}
	out := make(map[int64]string, len(rows))
	for _, r := range rows {
		out[r.UserID] = r.LogTail
	}
	return out, nil
}

// handles returns the handles the rows hold of a backend.
func (s *store) handles(ctx context.Context, backend string) ([]Handle, error) {
	var rows []row
	err := s.db.WithContext(ctx).Model(&row{}).Select("handle_id, handle_state").
		Where("handle_backend = ? AND handle_id <> ''", backend).Find(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("list %s servers: %w", backend, err)
	}
	hs := make([]Handle, 0, len(rows))
	for _, r := range rows {
		hs = append(hs, Handle{Backend: backend, ID: r.HandleID, State: r.HandleState})
	}
	return hs, nil
}

// defaults selects users' default servers (the name "").
func (s *store) defaults(ctx context.Context) *gorm.DB {
	return s.db.WithContext(ctx).Model(&row{}).Where("name = ?", "")
}

// flushActivity writes last_activity for many servers in one transaction.
func (s *store) flushActivity(ctx context.Context, byUser map[int64]time.Time) error {
	if len(byUser) == 0 {
		return nil
	}
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		for id, t := range byUser {
			err := tx.Model(&row{}).Where("user_id = ? AND name = ? AND (last_activity IS NULL OR last_activity < ?)", id, "", t).
				Update("last_activity", t).Error
			if err != nil {
				return fmt.Errorf("record activity: %w", err)
			}
		}
		return nil
	})
}

func now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

func joinLines(lines []string) *string {
	if len(lines) == 0 {
		return nil
	}
	s := strings.Join(lines, "\n")
	return &s
}

func splitLines(s *string) []string {
	if s == nil || *s == "" {
		return nil
	}
	return strings.Split(*s, "\n")
}
