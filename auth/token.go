package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Token kinds.
const (
	KindAPIToken = "api_token"
	// KindServer tokens are minted for a user's Jupyter server to reach
	// the contents service; they carry only the contents scope.
	KindServer = "server"
)

// Token is a row of hub_tokens. The token itself is never stored: only
// its SHA-256.
type Token struct {
	ID           int64
	UserID       int64
	Hash         string
	Kind         string
	Note         string
	Scopes       []string `gorm:"serializer:json"`
	CreatedAt    time.Time
	ExpiresAt    *time.Time
	LastActivity *time.Time
}

// TableName is the table's name.
func (Token) TableName() string { return "hub_tokens" }

// PublicID is the id the REST API shows, as JupyterHub does: "a" and
// the row id.
func (t *Token) PublicID() string { return "a" + strconv.FormatInt(t.ID, 10) }

// ParsePublicID reads an id the REST API showed; ok is false for
// anything else.
func ParsePublicID(s string) (int64, bool) {
	rest, ok := strings.CutPrefix(s, "a")
	if !ok {
		return 0, false
	}
	id, err := strconv.ParseInt(rest, 10, 64)
	return id, err == nil && id > 0
}

// MaxTokenLifetime is the longest a token may be made to last; longer
// is never.
const MaxTokenLifetime = 100 * 365 * 24 * time.Hour

// NewToken describes a token to create.
type NewToken struct {
	Kind      string
	Note      string
	Scopes    []string
	ExpiresIn time.Duration // 0: never
}

// HashToken is how a token is stored and looked up.
func HashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// CreateToken makes a token for the user and returns the row and the
// token, which exists only in this return value.
func (s *Store) CreateToken(ctx context.Context, userID int64, nt NewToken) (*Token, string, error) {
	if len(nt.Note) > 1000 {
		return nil, "", inputErrorf("a token's note may have at most 1000 characters")
	}
	if nt.ExpiresIn < 0 {
		return nil, "", inputErrorf("a token's expiry must be in the future")
	}
	raw := make([]byte, 32)
	rand.Read(raw)
	secret := hex.EncodeToString(raw)
	now := time.Now().UTC().Truncate(time.Microsecond)
	t := &Token{UserID: userID, Hash: HashToken(secret), Kind: nt.Kind, Note: nt.Note, Scopes: nt.Scopes, CreatedAt: now}
	if t.Kind == "" {
		t.Kind = KindAPIToken
	}
	if t.Scopes == nil {
		t.Scopes = []string{}
	}
	if nt.ExpiresIn > 0 {
		exp := now.Add(nt.ExpiresIn)
		t.ExpiresAt = &exp
	}
	if err := s.db.WithContext(ctx).Create(t).Error; err != nil {
		return nil, "", fmt.Errorf("create token: %w", mapErr(err))
	}
	return t, secret, nil
}

// Tokens lists the user's tokens of the given kind ("" for all), oldest
// first, deleting those that have expired.
func (s *Store) Tokens(ctx context.Context, userID int64, kind string) ([]*Token, error) {
	now := time.Now().UTC()
	purge := s.db.WithContext(ctx).Where("user_id = ? AND expires_at IS NOT NULL AND expires_at < ?", userID, now).Delete(&Token{})
	if purge.Error != nil {
		return nil, fmt.Errorf("purge expired tokens: %w", purge.Error)
	}
	if purge.RowsAffected > 0 {
		s.changed()
	}
	q := s.db.WithContext(ctx).Where("user_id = ?", userID)
	if kind != "" {
		q = q.Where("kind = ?", kind)
	}
	var out []*Token
	if err := q.Order("id").Find(&out).Error; err != nil {
		return nil, fmt.Errorf("list tokens: %w", err)
	}
	return out, nil
}

// TokenByID returns the user's token with that id, or ErrNotFound.
func (s *Store) TokenByID(ctx context.Context, userID, id int64) (*Token, error) {
	var t Token
	err := s.db.WithContext(ctx).Where("id = ? AND user_id = ?", id, userID).Take(&t).Error
	if err != nil {
		return nil, mapErr(err)
	}
	if t.expired(time.Now()) {
		return nil, ErrNotFound
	}
	return &t, nil
}

// DeleteToken removes the user's token with that id.
func (s *Store) DeleteToken(ctx context.Context, userID, id int64) error {
	defer s.changed()
	res := s.db.WithContext(ctx).Where("id = ? AND user_id = ?", id, userID).Delete(&Token{})
	if res.Error != nil {
		return fmt.Errorf("delete token: %w", res.Error)
	}
	if res.RowsAffected == 0 {
		return ErrNotFound
	}
	return nil
}

// DeleteTokens removes the user's tokens of one kind.
func (s *Store) DeleteTokens(ctx context.Context, userID int64, kind string) error {
	defer s.changed()
	return s.db.WithContext(ctx).Where("user_id = ? AND kind = ?", userID, kind).Delete(&Token{}).Error
}

// LookupToken finds the live token whose secret is given, with its owner.
// A wrong, expired or deleted token, or one whose owner is disabled, is
// ErrUnauthenticated.
func (s *Store) LookupToken(ctx context.Context, secret string) (*Token, *User, error) {
	if len(secret) != 64 {
		return nil, nil, ErrUnauthenticated
	}
	var t Token
	err := s.db.WithContext(ctx).Where("hash = ?", HashToken(secret)).Take(&t).Error
	if err != nil {
		if mapErr(err) == ErrNotFound {
			return nil, nil, ErrUnauthenticated
		}
		return nil, nil, fmt.Errorf("look up token: %w", err)
	}
	now := time.Now()
	if t.expired(now) {
		return nil, nil, ErrUnauthenticated
	}
	u, err := s.UserByID(ctx, t.UserID)
	if err != nil {
		if err == ErrNotFound {
			return nil, nil, ErrUnauthenticated
		}
		return nil, nil, err
	}
	if u.Disabled {
		return nil, nil, ErrUnauthenticated
	}
	// Record use at most once a minute per token: reads stay reads.
	if t.LastActivity == nil || now.Sub(*t.LastActivity) > time.Minute {
		ts := now.UTC().Truncate(time.Microsecond)
		if err := s.db.WithContext(ctx).Model(&Token{}).Where("id = ?", t.ID).Update("last_activity", ts).Error; err == nil {
			t.LastActivity = &ts
		}
	}
	return &t, u, nil
}

func (t *Token) expired(now time.Time) bool {
	return t.ExpiresAt != nil && !now.Before(*t.ExpiresAt)
}
