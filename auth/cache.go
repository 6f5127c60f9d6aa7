package auth

import (
	"sync"
	"sync/atomic"
	"time"
)

// cacheTTL is how long a looked-up token or user is trusted without
// asking the database again. Every change made through this process's
// Store empties the cache at once, told by the Store itself: changing,
// disabling or deleting a user, a new password, revoked sessions (all
// of a user's, or one logged out), a deleted token (expired ones purged
// included), and anything done in Store.Transaction, once it ends.
// Creating a user or a token needs no telling (the cache holds only what
// was found), nor do activity times. Changes made by another process
// (another hub sharing the database, the CLI) are seen within cacheTTL.
const cacheTTL = 5 * time.Second

// cacheMax bounds the cache; past it, it starts empty again.
const cacheMax = 20000

// epoch counts changes to users, tokens and sessions, shared by a Store
// and the stores it makes for transactions. An entry is kept only while
// the epoch is the one read before the entry was looked up.
type epoch struct{ n atomic.Uint64 }

// lookupCache remembers tokens (by hash) with their owners, users by
// id, and whether session ids were logged out, each with the epoch it
// was read in.
type lookupCache struct {
	epoch *epoch
	now   func() time.Time

	mu       sync.Mutex
	tokens   map[string]tokenEntry
	users    map[int64]userEntry
	sessions map[string]sessionEntry
}

type tokenEntry struct {
	token *Token
	user  *User
	epoch uint64
	until time.Time
}

type userEntry struct {
	user  *User
	epoch uint64
	until time.Time
}

type sessionEntry struct {
	revoked bool
	epoch   uint64
	until   time.Time
}

func newLookupCache(e *epoch) *lookupCache {
	return &lookupCache{epoch: e, now: time.Now, tokens: map[string]tokenEntry{}, users: map[int64]userEntry{}, sessions: map[string]sessionEntry{}}
}

func (c *lookupCache) token(hash string) (*Token, *User, bool) {
	c.mu.Lock()
	e, ok := c.tokens[hash]
	c.mu.Unlock()
	if !ok || e.epoch != c.epoch.n.Load() || c.now().After(e.until) {
		return nil, nil, false
	}
	return e.token, e.user, true
}

func (c *lookupCache) putToken(hash string, t *Token, u *User, seen uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.tokens) >= cacheMax {
		c.tokens = map[string]tokenEntry{}
	}
	c.tokens[hash] = tokenEntry{token: t, user: u, epoch: seen, until: c.now().Add(cacheTTL)}
}

func (c *lookupCache) user(id int64) (*User, bool) {
	c.mu.Lock()
	e, ok := c.users[id]
	c.mu.Unlock()
	if !ok || e.epoch != c.epoch.n.Load() || c.now().After(e.until) {
		return nil, false
	}
	return e.user, true
}

func (c *lookupCache) putUser(u *User, seen uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.users) >= cacheMax {
		c.users = map[int64]userEntry{}
	}
	c.users[u.ID] = userEntry{user: u, epoch: seen, until: c.now().Add(cacheTTL)}
}

func (c *lookupCache) session(sid string) (revoked, ok bool) {
	c.mu.Lock()
	e, ok := c.sessions[sid]
	c.mu.Unlock()
	if !ok || e.epoch != c.epoch.n.Load() || c.now().After(e.until) {
		return false, false
	}
	return e.revoked, true
}

func (c *lookupCache) putSession(sid string, revoked bool, seen uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.sessions) >= cacheMax {
		c.sessions = map[string]sessionEntry{}
	}
	c.sessions[sid] = sessionEntry{revoked: revoked, epoch: seen, until: c.now().Add(cacheTTL)}
}
