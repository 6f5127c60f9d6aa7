package auth

import (
	"crypto/sha256"
	"encoding/hex"
	"sync"
	"time"
)

// oneTime holds values under random secrets, each good once and until
// it expires, at most max at a time: the hand-off's codes and the
// OpenID sign-ins under way. Only a secret's SHA-256 is kept.
type oneTime[V any] struct {
	max int

	mu    sync.Mutex
	items map[string]oneTimeItem[V]
}

type oneTimeItem[V any] struct {
	v       V
	expires time.Time
}

func newOneTime[V any](max int) *oneTime[V] {
	return &oneTime[V]{max: max, items: map[string]oneTimeItem[V]{}}
}

func secretKey(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// put stores v until expires under a new secret, which it returns; ok
// is false when max values are waiting and none has expired by now.
func (o *oneTime[V]) put(v V, expires, now time.Time) (secret string, ok bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if len(o.items) >= o.max {
		for k, it := range o.items {
			if !now.Before(it.expires) {
				delete(o.items, k)
			}
		}
		if len(o.items) >= o.max {
			return "", false
		}
	}
	secret = randomString(32)
	o.items[secretKey(secret)] = oneTimeItem[V]{v: v, expires: expires}
	return secret, true
}

// take removes the value under secret, so that it is good once, and
// returns it when it had not expired by now.
func (o *oneTime[V]) take(secret string, now time.Time) (V, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	k := secretKey(secret)
	it, ok := o.items[k]
	delete(o.items, k)
	return it.v, ok && now.Before(it.expires)
}
