package auth

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm/clause"
)

// revokedSession is a row of hub_revoked_sessions: a session that was
// logged out. Its id is refused until ExpiresAt, when every cookie that
// carries it has expired; then the row is swept.
type revokedSession struct {
	ID        string
	UserID    int64
	ExpiresAt time.Time
}

// TableName is the table's name.
func (revokedSession) TableName() string { return "hub_revoked_sessions" }

// RevokeSession refuses the user's session id from now until until,
// and sweeps the rows whose time has passed.
func (s *Store) RevokeSession(ctx context.Context, userID int64, sid string, until time.Time) error {
	defer s.changed()
	now := time.Now().UTC()
	if err := s.db.WithContext(ctx).Where("expires_at < ?", now).Delete(&revokedSession{}).Error; err != nil {
		return fmt.Errorf("sweep revoked sessions: %w", err)
	}
	row := &revokedSession{ID: sid, UserID: userID, ExpiresAt: until.UTC().Truncate(time.Microsecond)}
	// Logging out twice (two tabs) keeps the first row.
	if err := s.db.WithContext(ctx).Clauses(clause.OnConflict{DoNothing: true}).Create(row).Error; err != nil {
		return fmt.Errorf("revoke session: %w", err)
	}
	return nil
}

// SessionRevoked reports whether the session id was logged out.
func (s *Store) SessionRevoked(ctx context.Context, sid string) (bool, error) {
	var n int64
	if err := s.db.WithContext(ctx).Model(&revokedSession{}).Where("id = ?", sid).Count(&n).Error; err != nil {
		return false, fmt.Errorf("look up session: %w", err)
	}
	return n > 0, nil
}
