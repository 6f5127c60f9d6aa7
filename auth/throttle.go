package auth

import (
	"sync"
	"time"
)

// Throttle counts login failures per key (a username, a client address)
// and locks a key out for a while once it has too many.
//
// The first Free failures within Window cost nothing; each one after
// that locks the key for Lockout, doubling with every further failure up
// to MaxLockout. A key with no failure for Window is forgotten.
type Throttle struct {
	Free       int
	Window     time.Duration
	Lockout    time.Duration
	MaxLockout time.Duration

	now func() time.Time

	mu   sync.Mutex
	keys map[string]*strikes
}

type strikes struct {
	failures int
	last     time.Time
	until    time.Time
}

// NewThrottle returns a throttle with the given free failures per window
// and a first lockout of lockout.
func NewThrottle(free int, window, lockout, maxLockout time.Duration) *Throttle {
	return &Throttle{Free: free, Window: window, Lockout: lockout, MaxLockout: maxLockout, now: time.Now, keys: map[string]*strikes{}}
}

// Wait returns how long the key is still locked out; 0 when it is not.
func (t *Throttle) Wait(key string) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := t.keys[key]
	if s == nil {
		return 0
	}
	if d := s.until.Sub(t.now()); d > 0 {
		return d
	}
	return 0
}

// Fail records a failure for the key and returns the lockout it caused
// (0 while it has free failures left).
func (t *Throttle) Fail(key string) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	t.sweep(now)
	s := t.keys[key]
	if s == nil || now.Sub(s.last) > t.Window && now.After(s.until) {
		s = &strikes{}
		t.keys[key] = s
	}
	s.failures++
	s.last = now
	over := s.failures - t.Free
	if over <= 0 {
		return 0
	}
	d := t.Lockout
	for i := 1; i < over && d < t.MaxLockout; i++ {
		d *= 2
	}
	d = min(d, t.MaxLockout)
	s.until = now.Add(d)
	return d
}

// Reset forgets the key's failures (after a successful login).
func (t *Throttle) Reset(key string) {
	t.mu.Lock()
	delete(t.keys, key)
	t.mu.Unlock()
}

// sweep drops forgotten keys so a flood of names cannot grow the map
// without bound. It runs at most once per call of Fail and costs O(n)
// only when the map is large.
func (t *Throttle) sweep(now time.Time) {
	if len(t.keys) < 10000 {
		return
	}
	for k, s := range t.keys {
		if now.Sub(s.last) > t.Window && now.After(s.until) {
			delete(t.keys, k)
		}
	}
}
