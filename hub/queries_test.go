package hub

import (
	"context"
	"fmt"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"gorm.io/gorm/logger"

	"github.com/sparkhub/sparkhub/db"
	"github.com/sparkhub/sparkhub/db/dbtest"
)

// counted counts the SQL statements a database runs while on.
type counted struct {
	logger.Interface
	on atomic.Bool
	n  atomic.Int64
}

func (c *counted) LogMode(logger.LogLevel) logger.Interface { return c }

func (c *counted) Trace(ctx context.Context, begin time.Time, fc func() (string, int64), err error) {
	if c.on.Load() {
		c.n.Add(1)
	}
}

// queries is how many statements fn runs.
func (c *counted) queries(fn func()) int64 {
	c.n.Store(0)
	c.on.Store(true)
	fn()
	c.on.Store(false)
	return c.n.Load()
}

// TestListingQueries: the users list and the admin page (a page of 50)
// read users and their servers in a fixed number of queries, however
// many users there are (on both sides of the size where the spawner
// reads every server row instead of naming users): never one per user.
func TestListingQueries(t *testing.T) {
	counts := map[int][2]int64{}
	for _, n := range []int{20, 400} {
		gdb := dbtest.Open(t, db.SQLite)
		c := &counted{Interface: gdb.Logger}
		gdb.Logger = c
		th, fake := newPageHub(t, gdb)
		th.addUser("root", true)
		names := make([]string, n)
		for i := range names {
			names[i] = fmt.Sprintf("user%04d", i)
		}
		if _, err := th.auth.Store.CreateUsers(context.Background(), names, false); err != nil {
			t.Fatal(err)
		}
		tok := "token " + th.token("root")
		fake.ExitOnStart("user0001", true)
		for _, u := range []string{"user0000", "user0001", "user0002"} {
			// user0001's fails (500), and keeps its last log lines.
			if r := th.do(nil, req{method: "POST", path: "/hub/api/users/" + u + "/server", auth: tok}); r.status >= 400 && u != "user0001" {
				t.Fatalf("start %s: %d %s", u, r.status, r.body)
			}
		}
		waitUntil(t, "the servers to settle", func() bool {
			_, _, _, ok0 := th.hub.servers.Route("user0000")
			_, _, st1, _ := th.hub.servers.Route("user0001")
			_, _, _, ok2 := th.hub.servers.Route("user0002")
			return ok0 && ok2 && !st1.Live()
		})
		list := func() {
			if r := th.do(nil, req{method: "GET", path: fmt.Sprintf("/hub/api/users?limit=%d", n+1), auth: tok}); r.status != http.StatusOK {
				t.Fatalf("list users: %d", r.status)
			}
		}
		b := th.browser()
		b.mustLogin("root")
		admin := func() {
			if code, _, _ := b.page("/hub/admin"); code != http.StatusOK {
				t.Fatalf("admin page: %d", code)
			}
		}
		list() // warm the token cache
		admin()
		counts[n] = [2]int64{c.queries(list), c.queries(admin)}
		t.Logf("%d users: GET /hub/api/users %d queries, /hub/admin %d", n+1, counts[n][0], counts[n][1])
	}
	if counts[20] != counts[400] {
		t.Errorf("queries for 21 users %v, for 401 users %v; want the same", counts[20], counts[400])
	}
}
