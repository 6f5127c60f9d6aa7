package contents

import (
	"runtime/debug"
	"sync"
)

// largeValue is the size from which a save or load relaxes the garbage
// collector while it runs.
const largeValue = 1 << 20

// A large notebook's save or load makes several times its size in
// short-lived garbage (the body, the parsed notebook, its text, the
// base64), while the hub otherwise lives on a few MiB: at Go's default
// the collector would run several times during one request. While such
// requests are under way, the heap may grow to five times what is live
// before a collection; when the last one ends the setting goes back to
// what it was (GOGC, or 100). Idle memory is not touched.
var relaxed struct {
	sync.Mutex
	n    int
	prev int
}

// relaxGC relaxes the collector until the returned func is called.
func relaxGC() (restore func()) {
	relaxed.Lock()
	if relaxed.n == 0 {
		relaxed.prev = debug.SetGCPercent(-1)
		if relaxed.prev < 0 {
			debug.SetGCPercent(relaxed.prev) // collection is off: leave it so
		} else {
			debug.SetGCPercent(max(relaxed.prev, 400))
		}
	}
	relaxed.n++
	relaxed.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			relaxed.Lock()
			relaxed.n--
			if relaxed.n == 0 {
				debug.SetGCPercent(relaxed.prev)
			}
			relaxed.Unlock()
		})
	}
}
