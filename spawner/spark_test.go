package spawner

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// TestReadSparkTrustsNothing: a server's answers about its Spark
// application are the server's, so a hostile one gets only counts that
// are not negative and a name cut short, and an answer past the limit
// is refused.
func TestReadSparkTrustsNothing(t *testing.T) {
	huge := false
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "token server-token" {
			http.Error(w, "no", http.StatusForbidden)
			return
		}
		switch {
		case strings.HasSuffix(r.URL.Path, "/applications"):
			io.WriteString(w, `[{"id":"app-1","name":"`+strings.Repeat("é", 500)+`<script>","attempts":[{"completed":false}]}]`)
		case strings.HasSuffix(r.URL.Path, "/executors") && huge:
			io.WriteString(w, "["+strings.Repeat(`{"id":"1","isActive":true,"totalCores":1},`, sparkAnswerLimit/40)+"{}]")
		case strings.HasSuffix(r.URL.Path, "/executors"):
			io.WriteString(w, `[{"id":"driver","isActive":true,"totalCores":8},{"id":"1","isActive":true,"totalCores":-50},{"id":"2","isActive":true,"totalCores":2},{"id":"3","isActive":false,"totalCores":4}]`)
		case strings.HasSuffix(r.URL.Path, "/jobs"):
			io.WriteString(w, `[{},{}]`)
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	target, _ := url.Parse(srv.URL)
	m := &Manager{opts: Options{HTTPClient: srv.Client()}}
	r := &route{target: target, token: "server-token"}

	app, err := m.readSpark(context.Background(), r, "/user/alice/")
	if err != nil || app == nil {
		t.Fatalf("readSpark = %v, %v", app, err)
	}
	if app.Executors != 2 || app.Cores != 2 || app.ActiveJobs != 2 {
		t.Errorf("executors %d, cores %d, jobs %d; want 2 (the driver and the dead one left out), 2 (a negative count as 0), 2",
			app.Executors, app.Cores, app.ActiveJobs)
	}
	if n := len([]rune(app.Name)); n != 101 || !strings.HasSuffix(app.Name, "…") {
		t.Errorf("the name is %d characters: %.40q", n, app.Name)
	}
	huge = true
	if app, err := m.readSpark(context.Background(), r, "/user/alice/"); err == nil {
		t.Errorf("an answer past %d bytes was read: %+v", sparkAnswerLimit, app)
	}
}
