package auth

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Sessions issues and checks session JWTs: HS256 only, with a key id,
// a short expiry, and the user's session generation, so that bumping the
// generation logs the user out everywhere.
type Sessions struct {
	key     []byte
	kid     string
	xsrfKey []byte
	TTL     time.Duration
	now     func() time.Time
}

// DefaultSessionTTL is how long a login lasts without use unless told
// otherwise (--session-ttl).
const DefaultSessionTTL = time.Hour

// NewSessions signs with key (32 random bytes kept in the database).
func NewSessions(key []byte, ttl time.Duration) *Sessions {
	sum := sha256.Sum256(key)
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte("sparkhub xsrf"))
	return &Sessions{key: key, kid: hex.EncodeToString(sum[:8]), xsrfKey: mac.Sum(nil), TTL: ttl, now: time.Now}
}

// Session is what a valid session JWT says.
type Session struct {
	UserID     int64
	Generation int64
	ID         string
	IssuedAt   time.Time
	ExpiresAt  time.Time
}

type sessionClaims struct {
	jwt.RegisteredClaims
	Gen int64 `json:"gen"`
}

// NewSessionID returns a random session id.
func NewSessionID() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// Issue signs a session for the user; sid stays the same across
// refreshes so that the XSRF token bound to it does too.
func (s *Sessions) Issue(u *User, sid string) (string, time.Time, error) {
	now := s.now().UTC()
	exp := now.Add(s.TTL)
	claims := sessionClaims{
		RegisteredClaims: jwt.RegisteredClaims{
			Subject:   strconv.FormatInt(u.ID, 10),
			ID:        sid,
			IssuedAt:  jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(exp),
		},
		Gen: u.SessionGeneration,
	}
	tok := jwt.NewWithClaims(jwt.SigningMethodHS256, claims)
	tok.Header["kid"] = s.kid
	signed, err := tok.SignedString(s.key)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("sign session: %w", err)
	}
	return signed, exp, nil
}

// Parse checks a session JWT: signature with our key (by kid), HS256
// and nothing else, not expired. It does not check the generation: the
// caller compares it with the user's.
func (s *Sessions) Parse(token string) (*Session, error) {
	var claims sessionClaims
	_, err := jwt.ParseWithClaims(token, &claims, func(t *jwt.Token) (any, error) {
		if kid, _ := t.Header["kid"].(string); !hmac.Equal([]byte(kid), []byte(s.kid)) {
			return nil, errors.New("unknown key id")
		}
		return s.key, nil
	},
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithTimeFunc(s.now),
	)
	if err != nil {
		return nil, ErrUnauthenticated
	}
	uid, err := strconv.ParseInt(claims.Subject, 10, 64)
	if err != nil || claims.ID == "" || claims.IssuedAt == nil {
		return nil, ErrUnauthenticated
	}
	return &Session{
		UserID:     uid,
		Generation: claims.Gen,
		ID:         claims.ID,
		IssuedAt:   claims.IssuedAt.Time,
		ExpiresAt:  claims.ExpiresAt.Time,
	}, nil
}

// XSRF is the hub's XSRF token for a session: an HMAC of its id, so a
// cookie some other page plants cannot match it.
func (s *Sessions) XSRF(sid string) string {
	mac := hmac.New(sha256.New, s.xsrfKey)
	mac.Write([]byte(sid))
	return base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

// ServerXSRF is a session's XSRF token for the server of user name: the
// _xsrf cookie the hub keeps under /user/{name}/, which Jupyter's front
// ends send back as X-XSRFToken. An HMAC of the name and the session id
// (a session id holds no NUL), so it differs from XSRF(sid) and from
// every other server's: script on that server's pages can read it, and
// it stops no server but that one.
func (s *Sessions) ServerXSRF(sid, name string) string {
	mac := hmac.New(sha256.New, s.xsrfKey)
	mac.Write([]byte("server\x00" + name + "\x00" + sid))
	return base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}
