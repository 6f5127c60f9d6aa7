package hub

import (
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"gorm.io/gorm"

	"github.com/sparkhub/sparkhub/db/dbtest"
)

// TestPagesAndAPIShareOperations: a page's action and the same call over
// the API go through one operation, so a refusal has the same status and
// sentence on both, and changes nothing on either.
func TestPagesAndAPIShareOperations(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, gdb *gorm.DB) {
		th := newTestHub(t, gdb, nil)
		th.addUser("root", true)
		th.addUser("alice", false)
		root, alice := th.browser(), th.browser()
		root.mustLogin("root")
		alice.mustLogin("alice")

		tests := []struct {
			name   string
			as     *browser
			page   string
			form   url.Values
			api    req
			status int
			// pageSays is the page's sentence around the API's message
			// (%s); "" is the message alone.
			pageSays string
		}{
			{
				name: "invalid username", as: root,
				page: "/hub/admin/users", form: url.Values{"usernames": {"bad/name"}},
				api:    req{method: "POST", path: "/hub/api/users", body: map[string]any{"usernames": []string{"bad/name"}}},
				status: http.StatusBadRequest, pageSays: "“bad/name” cannot be a username: %s.",
			},
			{
				name: "last admin demoted", as: root,
				page:   "/hub/admin/users/root/unadmin",
				api:    req{method: "PATCH", path: "/hub/api/users/root", body: map[string]any{"admin": false}},
				status: http.StatusBadRequest,
			},
			{
				name: "unknown user deleted", as: root,
				page: "/hub/admin/users/nobody/delete", form: url.Values{"confirm": {"nobody"}},
				api:    req{method: "DELETE", path: "/hub/api/users/nobody"},
				status: http.StatusNotFound,
			},
			{
				name: "unknown user logged out", as: root,
				page:   "/hub/admin/users/nobody/revoke",
				api:    req{method: "DELETE", path: "/hub/api/users/nobody/sessions"},
				status: http.StatusNotFound,
			},
			{
				name: "token with a scope the owner lacks", as: alice,
				page: "/hub/token", form: url.Values{"scopes": {"admin:users"}},
				api:    req{method: "POST", path: "/hub/api/users/alice/tokens", body: map[string]any{"scopes": []string{"admin:users"}}},
				status: http.StatusBadRequest,
			},
			{
				name: "token expiring in the past", as: alice,
				page: "/hub/token", form: url.Values{"expires_in": {"-5"}},
				api:    req{method: "POST", path: "/hub/api/users/alice/tokens", body: map[string]any{"expires_in": -5}},
				status: http.StatusBadRequest,
			},
			{
				name: "unknown token revoked", as: alice,
				page:   "/hub/token/a999999/revoke",
				api:    req{method: "DELETE", path: "/hub/api/users/alice/tokens/a999999"},
				status: http.StatusNotFound,
			},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				before := th.snapshot()
				tt.api.auth = "cookie"
				r := th.do(tt.as, tt.api)
				if r.status != tt.status {
					t.Fatalf("API %s %s = %d %s, want %d", tt.api.method, tt.api.path, r.status, r.body, tt.status)
				}
				msg := r.message(t)
				code, _, body := tt.as.post(tt.page, tt.form, "")
				want := msg
				if tt.pageSays != "" {
					want = strings.Replace(tt.pageSays, "%s", msg, 1)
				}
				wantPage(t, "page "+tt.page, code, body, tt.status, html.EscapeString(want))
				if after := th.snapshot(); after != before {
					t.Errorf("a refused change changed the database:\nbefore %s\nafter  %s", before, after)
				}
			})
		}

		// What succeeds is logged alike, whichever way it came.
		th.logs.Reset()
		if r := th.do(root, req{method: "DELETE", path: "/hub/api/users/alice/sessions", auth: "cookie"}); r.status != http.StatusNoContent {
			t.Fatalf("API revoke = %d %s", r.status, r.body)
		}
		code, _, _ := root.post("/hub/admin/users/alice/revoke", nil, "")
		if code != http.StatusSeeOther {
			t.Fatalf("page revoke = %d", code)
		}
		if n := strings.Count(th.logs.String(), `msg="sessions revoked" user=root name=alice`); n != 2 {
			t.Errorf("%d log lines for two revokes, want 2:\n%s", n, th.logs)
		}
	})
}
