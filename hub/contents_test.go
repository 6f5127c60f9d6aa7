package hub

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/sparkhub/sparkhub/auth"
	"github.com/sparkhub/sparkhub/contents"
	"github.com/sparkhub/sparkhub/db"
	"github.com/sparkhub/sparkhub/db/dbtest"
	"github.com/sparkhub/sparkhub/hub/hubtest"
)

// newContentsHub is a hub serving the real contents service.
func newContentsHub(t *testing.T, adminAccess bool) *testHub {
	t.Helper()
	return newContentsHubWith(t, adminAccess, nil)
}

// newContentsHubWith is newContentsHub with the hub's options changed
// by mod.
func newContentsHubWith(t *testing.T, adminAccess bool, mod func(*Options)) *testHub {
	t.Helper()
	return newContentsHubDeps(t, adminAccess, mod, nil)
}

// newContentsHubDeps is newContentsHubWith with the hub's dependencies
// changed by deps, once the authenticator and logger are made.
func newContentsHubDeps(t *testing.T, adminAccess bool, mod func(*Options), deps func(*Deps)) *testHub {
	t.Helper()
	gdb := dbtest.Open(t, db.SQLite)
	opts := DefaultOptions()
	if mod != nil {
		mod(&opts)
	}
	key := make([]byte, 32)
	rand.Read(key)
	pw, _ := auth.NewPasswords(bcrypt.MinCost)
	a := auth.NewAuthenticator(auth.NewStore(gdb), pw, auth.NewSessions(key, auth.DefaultSessionTTL), auth.Options{AdminAccess: adminAccess})
	docs, err := contents.New(gdb, contents.Options{})
	if err != nil {
		t.Fatal(err)
	}
	logs := &bytes.Buffer{}
	d := Deps{DB: gdb, Auth: a, Logger: slog.New(slog.NewTextHandler(logs, nil)), Version: "test", Contents: docs.Handler()}
	if deps != nil {
		deps(&d)
	}
	h, err := New(opts, d)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h.Handler())
	t.Cleanup(srv.Close)
	th := &testHub{t: t, srv: srv, hub: h, auth: a, db: gdb, logs: logs}
	th.addUser("alice", false)
	th.addUser("bob", false)
	th.addUser("root", true)
	return th
}

// TestContentsWhoMay: the owner by cookie (with Jupyter's XSRF rule) or
// by a token with the contents scope; others 403/404; admins only with
// --admin-access, logged; anonymous browsers to the login page.
func TestContentsWhoMay(t *testing.T) {
	th := newContentsHub(t, false)
	aliceTok := "token " + th.token("alice")
	body := map[string]any{"type": "file", "format": "text", "content": "hello"}
	if r := th.do(nil, req{method: "PUT", path: "/user/alice/api/contents/a.txt", auth: aliceTok, body: body}); r.status != http.StatusCreated {
		t.Fatalf("owner's token PUT = %d %s", r.status, r.body)
	}
	tests := []struct {
		name   string
		method string
		path   string
		authz  string
		hdr    map[string]string
		want   int
	}{
		{"owner token", "GET", "/user/alice/api/contents/a.txt", aliceTok, nil, 200},
		{"owner raw file", "GET", "/user/alice/files/a.txt", aliceTok, nil, 200},
		{"contents-only token", "GET", "/user/alice/api/contents", "token " + th.token("alice", "contents"), nil, 200},
		{"token without contents", "GET", "/user/alice/api/contents", "token " + th.token("alice", "read:users"), nil, 403},
		{"other user", "GET", "/user/alice/api/contents/a.txt", "token " + th.token("bob"), nil, 404},
		{"other user writes", "PUT", "/user/alice/api/contents/b.txt", "token " + th.token("bob"), nil, 404},
		{"admin without --admin-access", "GET", "/user/alice/api/contents/a.txt", "token " + th.token("root"), nil, 404},
		{"anonymous API", "GET", "/user/alice/api/contents", "", map[string]string{"Accept": "application/json"}, 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b any = nil
			if tt.method == "PUT" {
				b = body
			}
			r := th.do(nil, req{method: tt.method, path: tt.path, auth: tt.authz, header: tt.hdr, body: b})
			if r.status != tt.want {
				t.Fatalf("= %d %s, want %d", r.status, r.body, tt.want)
			}
		})
	}

	// An anonymous browser is sent to log in.
	anon := th.browser()
	hr, _ := http.NewRequest("GET", th.srv.URL+"/user/alice/api/contents", nil)
	hr.Header.Set("Accept", "text/html")
	resp, err := anon.client.Do(hr)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "/hub/login?next=%2Fuser%2Falice%2Fapi%2Fcontents" {
		t.Errorf("anonymous browser = %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}

	// A browser: the first GET sets an _xsrf cookie for /user/alice/; a
	// write needs it echoed in X-XSRFToken.
	b := th.browser()
	b.mustLogin("alice")
	r := th.do(b, req{method: "GET", path: "/user/alice/api/contents", auth: "cookie-noxsrf"})
	if r.status != 200 {
		t.Fatalf("cookie GET = %d", r.status)
	}
	var xsrf string
	for _, c := range (&http.Response{Header: r.header}).Cookies() {
		if c.Name == "_xsrf" && c.Path == "/user/alice/" {
			xsrf = c.Value
		}
	}
	if xsrf == "" {
		t.Fatalf("no _xsrf cookie for /user/alice/ in %v", r.header["Set-Cookie"])
	}
	if r := th.do(b, req{method: "PUT", path: "/user/alice/api/contents/c.txt", auth: "cookie-noxsrf", body: body}); r.status != http.StatusForbidden {
		t.Errorf("cookie PUT without X-XSRFToken = %d, want 403", r.status)
	}
	if r := th.do(b, req{method: "PUT", path: "/user/alice/api/contents/c.txt", auth: "cookie-noxsrf", body: body, header: map[string]string{"X-XSRFToken": xsrf}}); r.status != http.StatusCreated {
		t.Errorf("cookie PUT with X-XSRFToken = %d %s", r.status, r.body)
	}
	if r := th.do(b, req{method: "PUT", path: "/user/alice/api/contents/d.txt", auth: "cookie-noxsrf", body: body, header: map[string]string{"X-XSRFToken": xsrf, "Origin": "https://evil.example"}}); r.status != http.StatusForbidden {
		t.Errorf("cross-site cookie PUT = %d, want 403", r.status)
	}
}

func TestContentsAdminAccess(t *testing.T) {
	th := newContentsHub(t, true)
	th.do(nil, req{method: "PUT", path: "/user/alice/api/contents/a.txt", auth: "token " + th.token("alice"), body: map[string]any{"type": "file", "format": "text", "content": "x"}})
	if r := th.do(nil, req{method: "GET", path: "/user/alice/api/contents/a.txt", auth: "token " + th.token("root")}); r.status != 200 {
		t.Fatalf("admin with --admin-access = %d", r.status)
	}
	if !strings.Contains(th.logs.String(), "admin access to a user's contents") {
		t.Error("admin access was not logged")
	}
	if r := th.do(nil, req{method: "GET", path: "/user/alice/api/contents/a.txt", auth: "token " + th.token("bob")}); r.status != 404 {
		t.Errorf("bob = %d, want 404 even with --admin-access", r.status)
	}
}

// busyUploads is how many large uploads the hub counts for user.
func (th *testHub) busyUploads(user string) int {
	th.hub.uploads.mu.Lock()
	defer th.hub.uploads.mu.Unlock()
	return th.hub.uploads.busy[user]
}

// TestUploadsPerUser runs one user's flood of large uploads: with two
// of alice's large uploads arriving, her third is a 429 with
// Retry-After and a sentence, before its body is read, while bob's
// large upload and alice's small one go through; once hers end she
// may upload again.
func TestUploadsPerUser(t *testing.T) {
	th := newContentsHub(t, false)
	alice, bob := th.token("alice"), th.token("bob")
	model := func(n int) []byte {
		return fmt.Appendf(nil, `{"type": "file", "format": "text", "content": %q}`, strings.Repeat("a", n))
	}
	put := func(tok, path string, body io.Reader, size int) (int, string) {
		hr, _ := http.NewRequest("PUT", th.srv.URL+"/user/"+path, body)
		hr.ContentLength = int64(size)
		hr.Header.Set("Authorization", "token "+tok)
		resp, err := http.DefaultClient.Do(hr)
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	large := model(5 << 20)
	type answer struct {
		code int
		body string
	}
	var writers []*io.PipeWriter
	answers := make(chan answer, 2)
	for i := range 2 {
		pr, pw := io.Pipe()
		writers = append(writers, pw)
		go func() {
			code, body := put(alice, fmt.Sprintf("alice/api/contents/held%d.txt", i), pr, len(large))
			answers <- answer{code, body}
		}()
		go pw.Write(large[:1<<20])
	}
	hubtest.WaitFor(t, "alice's two uploads to arrive", giveUp, func() bool { return th.busyUploads("alice") == 2 })

	resp, body, _ := hubtest.Trickle(t, th.srv.URL, hubtest.Request{Method: "PUT", Path: "/user/alice/api/contents/third.txt",
		Header: map[string]string{"Authorization": "token " + alice, "Content-Type": "application/json"}, Declared: int64(len(large))})
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" || !strings.Contains(body, "already sending 2 large files at once") {
		t.Fatalf("alice's third large upload = %d, Retry-After %q\n%s", resp.StatusCode, resp.Header.Get("Retry-After"), body)
	}
	if code, body := put(bob, "bob/api/contents/big.txt", bytes.NewReader(large), len(large)); code != http.StatusCreated {
		t.Fatalf("bob's large upload while alice's are held = %d %s", code, body)
	}
	small := model(10 << 10)
	if code, body := put(alice, "alice/api/contents/small.txt", bytes.NewReader(small), len(small)); code != http.StatusCreated {
		t.Fatalf("alice's small upload = %d %s", code, body)
	}

	for _, pw := range writers {
		go func() {
			pw.Write(large[1<<20:])
			pw.Close()
		}()
	}
	for range 2 {
		if a := <-answers; a.code != http.StatusCreated {
			t.Fatalf("a held upload, once sent = %d %s", a.code, a.body)
		}
	}
	hubtest.WaitFor(t, "alice's uploads to be let go", giveUp, func() bool { return th.busyUploads("alice") == 0 })
	if code, body := put(alice, "alice/api/contents/third.txt", bytes.NewReader(large), len(large)); code != http.StatusCreated {
		t.Fatalf("alice's next large upload = %d %s", code, body)
	}
}
