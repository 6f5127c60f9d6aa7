package hub

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// FuzzSafeNext: whatever a login or spawn link carries in next=, the
// redirect the hub sends after login stays on the hub. The check is
// made where it matters: on the Location header http.Redirect writes,
// read as a browser reads it (tab and newline dropped, backslash taken
// for slash, leading spaces and control characters trimmed).
func FuzzSafeNext(f *testing.F) {
	for _, s := range []string{
		"", "/", "/hub/home", "/user/alice/lab?x=1#y", "//evil.example", "/\\evil.example",
		"/\t/evil.example", "/%2F/evil.example", "https://evil.example/", "javascript:alert(1)",
		"/a/..//evil.example", "/.//evil.example", "/./\\evil.example", "/\x00", "/ /evil",
		"///evil", "/\r\n/evil", "\\\\evil", "/x?next=//evil", "/@evil.example", "/:8000",
		"/hub/../..//evil", "/%09/evil", "/\u3000/evil", "/\x0c/evil", "/..\\evil",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, next string) {
		got := safeNext(next)
		if got == "" {
			return
		}
		if got != next {
			t.Fatalf("safeNext(%q) = %q: a kept value must be the value given", next, got)
		}
		w := httptest.NewRecorder()
		http.Redirect(w, httptest.NewRequest(http.MethodPost, "/hub/login", nil), orHome(got), http.StatusFound)
		loc := w.Header().Get("Location")
		if !stays(loc) {
			t.Fatalf("safeNext kept %q; the redirect to %q leaves the hub", next, loc)
		}
	})
}

// stays reports whether a browser following Location: loc from
// https://hub.example/hub/login stays on https://hub.example, reading
// the URL as the WHATWG URL standard does.
func stays(loc string) bool {
	loc = strings.TrimLeft(loc, "\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19\x1a\x1b\x1c\x1d\x1e\x1f ")
	loc = strings.NewReplacer("\t", "", "\n", "", "\r", "").Replace(loc)
	loc = strings.ReplaceAll(loc, "\\", "/")
	if !strings.HasPrefix(loc, "/") || strings.HasPrefix(loc, "//") {
		return false
	}
	base, _ := url.Parse("https://hub.example/hub/login")
	ref, err := url.Parse(loc)
	if err != nil {
		return false
	}
	u := base.ResolveReference(ref)
	return u.Scheme == "https" && u.Host == "hub.example" && u.User == nil
}
