package hub

import (
	"crypto/rand"
	"encoding/hex"
	"sync"
	"time"
)

// onceValues hold what a form's answer shows only once (a new password)
// across the redirect that keeps a reload from posting the form again:
// the POST stores the value under a random id for the admin who asked,
// the GET it redirects to takes it out. The value never goes into a URL.
type onceValues struct {
	mu     sync.Mutex
	values map[string]onceValue
}

type onceValue struct {
	owner   int64
	value   string
	expires time.Time
}

// onceTTL is how long a value waits for its page; onceMax caps how many
// wait at once.
const (
	onceTTL = 5 * time.Minute
	onceMax = 1000
)

// put keeps value for owner and returns the id to take it with.
func (o *onceValues) put(owner int64, value string) string {
	b := make([]byte, 16)
	rand.Read(b)
	id := hex.EncodeToString(b)
	now := time.Now()
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.values == nil {
		o.values = map[string]onceValue{}
	}
	for k, v := range o.values {
		if now.After(v.expires) || len(o.values) >= onceMax {
			delete(o.values, k)
		}
	}
	o.values[id] = onceValue{owner: owner, value: value, expires: now.Add(onceTTL)}
	return id
}

// take returns the value kept under id for owner, once.
func (o *onceValues) take(owner int64, id string) (string, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	v, ok := o.values[id]
	if !ok || v.owner != owner {
		return "", false
	}
	delete(o.values, id)
	if time.Now().After(v.expires) {
		return "", false
	}
	return v.value, true
}
