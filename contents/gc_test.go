package contents

import (
	"net/http/httptest"
	"runtime/debug"
	"testing"

	"github.com/sparkhub/sparkhub/bench/notebook"
	"github.com/sparkhub/sparkhub/db/dbtest"
)

func gcPercent() int {
	p := debug.SetGCPercent(100)
	debug.SetGCPercent(p)
	return p
}

// Large saves and loads relax the collector while they run and leave it
// as it was, also when they overlap, fail, or end twice.
func TestRelaxGC(t *testing.T) {
	before := gcPercent()
	a := relaxGC()
	b := relaxGC()
	if got := gcPercent(); got != max(before, 400) {
		t.Fatalf("GC percent while relaxed = %d", got)
	}
	a()
	a()
	if got := gcPercent(); got != max(before, 400) {
		t.Fatalf("GC percent with one request left = %d", got)
	}
	b()
	if got := gcPercent(); got != before {
		t.Fatalf("GC percent after = %d, want %d", got, before)
	}

	svc, err := New(dbtest.Open(t, "sqlite"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(svc.Handler())
	defer srv.Close()
	c := &client{t: t, base: srv.URL, user: "alice"}
	c.must(201, "PUT", "api/contents/big.ipynb", string(notebook.PutBody(2<<20)))
	c.must(200, "GET", "api/contents/big.ipynb?content=1", nil)
	c.must(200, "GET", "api/contents/big.ipynb?content=1&hash=1", nil)
	c.putText("big.txt", string(make([]byte, 2<<20)))
	c.must(400, "GET", "api/contents/big.txt?content=1&type=notebook", nil) // fails after reading
	if got := gcPercent(); got != before {
		t.Fatalf("GC percent after large requests = %d, want %d", got, before)
	}
}
