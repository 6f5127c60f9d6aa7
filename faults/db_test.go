package faults

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sparkhub/sparkhub/db"
	"github.com/sparkhub/sparkhub/db/dbtest"
)

// dbLink stands between the hub and its database server on 127.0.0.1,
// so a test can take the database away (every connection cut, new ones
// refused) and bring it back, as a restart does, without touching the
// real server others share.
type dbLink struct {
	ln     net.Listener
	target string
	down   atomic.Bool
	mu     sync.Mutex
	conns  map[net.Conn]struct{}
}

func newDBLink(t *testing.T, target string) *dbLink {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := &dbLink{ln: ln, target: target, conns: map[net.Conn]struct{}{}}
	t.Cleanup(func() { ln.Close(); l.cut() })
	go l.serve()
	return l
}

func (l *dbLink) serve() {
	for {
		c, err := l.ln.Accept()
		if err != nil {
			return
		}
		if l.down.Load() {
			c.Close()
			continue
		}
		up, err := net.DialTimeout("tcp", l.target, 5*time.Second)
		if err != nil {
			c.Close()
			continue
		}
		l.mu.Lock()
		l.conns[c], l.conns[up] = struct{}{}, struct{}{}
		l.mu.Unlock()
		go l.pipe(c, up)
		go l.pipe(up, c)
	}
}

func (l *dbLink) pipe(dst, src net.Conn) {
	io.Copy(dst, src)
	dst.Close()
	src.Close()
	l.mu.Lock()
	delete(l.conns, dst)
	delete(l.conns, src)
	l.mu.Unlock()
}

// cut closes every connection and refuses new ones until restore.
func (l *dbLink) cut() {
	l.down.Store(true)
	l.mu.Lock()
	defer l.mu.Unlock()
	for c := range l.conns {
		c.Close()
	}
}

func (l *dbLink) restore() { l.down.Store(false) }

// TestDatabaseRestartDuringSaves: 16 users save notebooks while the
// database goes away for two seconds and comes back. Clients that get
// an error retry the same save; afterwards every acknowledged save reads
// back whole, the hub serves again without being restarted, and during
// the outage the answers said "try again" (503), not "failed" (500).
func TestDatabaseRestartDuringSaves(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the hub")
	}
	for _, engine := range []string{db.MySQL, db.Postgres} {
		t.Run(engine, func(t *testing.T) { databaseRestartDuringSaves(t, engine) })
	}
}

func databaseRestartDuringSaves(t *testing.T, engine string) {
	raw := dbtest.NewURL(t, engine)
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	link := newDBLink(t, u.Host)
	u.Host = link.ln.Addr().String()
	dbURL := u.String()
	dataDir, tmp := t.TempDir(), t.TempDir()
	env := []string{"TMPDIR=" + tmp}
	common := []string{"--data-dir", dataDir, "--db", dbURL}
	run(t, "", env, append([]string{"user", "add", "admin", "--admin"}, common...)...)
	adminTok := strings.TrimSpace(run(t, "", env, append([]string{"token", "create", "admin"}, common...)...))
	hub := startHub(t, env, common...)
	c := &http.Client{Timeout: 30 * time.Second}

	const writers = 16
	users, tokens := usersWithTokens(t, c, hub.URL, adminTok, "w", writers, env, common)

	var (
		mu       sync.Mutex
		acked    = map[string][]int{}
		statuses = map[int]int{} // status → how many, during the outage and after
		total    atomic.Int64
		stop     = make(chan struct{})
		wg       sync.WaitGroup
	)
	for _, name := range users {
		wg.Go(func() {
			for k := 0; ; k++ {
				// The same save again until the hub takes it.
				for {
					select {
					case <-stop:
						return
					default:
					}
					code := api(c, hub.URL, "PUT", fmt.Sprintf("/user/%s/api/contents/nb-%d.ipynb", name, k), tokens[name], notebook(name, k), nil)
					mu.Lock()
					statuses[code]++
					mu.Unlock()
					if code == http.StatusOK || code == http.StatusCreated {
						mu.Lock()
						acked[name] = append(acked[name], k)
						mu.Unlock()
						total.Add(1)
						break
					}
					time.Sleep(50 * time.Millisecond)
				}
			}
		})
	}
	waitCount := func(n int64) {
		deadline := time.Now().Add(60 * time.Second)
		for total.Load() < n && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
	}
	waitCount(64)
	before := total.Load()
	mu.Lock()
	for k := range statuses {
		delete(statuses, k)
	}
	mu.Unlock()
	link.cut()
	time.Sleep(2 * time.Second) // the database is away: a duration of the fault, not an assertion
	link.restore()
	waitCount(before + 64)
	close(stop)
	wg.Wait()
	after := total.Load() - before
	t.Logf("%d saves acknowledged before the outage, %d during and after it; answers: %v", before, after, statuses)
	t.Logf("hub log lines at level ERROR: %s", errorLines(hub.Logs.String()))
	if after == 0 {
		t.Fatalf("the hub took no save after the database came back:\n%s", hub.Logs.String())
	}
	var codes []int
	for code := range statuses {
		codes = append(codes, code)
	}
	sort.Ints(codes)
	for _, code := range codes {
		switch code {
		case http.StatusOK, http.StatusCreated, http.StatusServiceUnavailable:
		default:
			t.Errorf("%d answers were %d while the database was away or just back; want 503 (try again)", statuses[code], code)
		}
	}
	if code := api(c, hub.URL, "GET", "/hub/health", "", nil, nil); code != http.StatusOK {
		t.Errorf("GET /hub/health after the database came back: %d", code)
	}
	for _, name := range users {
		for _, k := range acked[name] {
			checkNotebook(t, c, hub.URL, tokens[name], name, k, true)
		}
	}
}

var logMsg = regexp.MustCompile(`msg=("[^"]*"|\S+)`)

// errorLines counts a log's ERROR lines by message.
func errorLines(logs string) string {
	n := map[string]int{}
	for _, l := range strings.Split(logs, "\n") {
		if m := logMsg.FindStringSubmatch(l); m != nil && strings.Contains(l, "level=ERROR") {
			n[m[1]]++
		}
	}
	var out []string
	for m, c := range n {
		out = append(out, fmt.Sprintf("%dx %s", c, m))
	}
	sort.Strings(out)
	return strings.Join(out, "; ")
}
