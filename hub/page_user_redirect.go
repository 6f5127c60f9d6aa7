package hub

import (
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/sparkhub/sparkhub/auth"
	"github.com/sparkhub/sparkhub/spawner"
)

// userRedirect is GET /hub/user-redirect/{path...}, JupyterHub's: a link
// anyone can share ("Copy Shareable Link", nbgitpuller) that sends
// whoever opens it into their own server at path, starting it first
// when it is stopped. It goes through the spawn page, which sends a
// running server's owner straight on, a starting one to its progress
// page, and starts a stopped one, then follows next. The link only ever
// leads under the caller's own /user/{name}/: its path is re-encoded
// segment by segment, and one that could climb out (".", "..", an empty
// segment, an encoded slash or backslash) is refused.
func (h *Hub) userRedirect(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	rest, ok := userRedirectPath(r.URL.EscapedPath())
	if !ok {
		h.ErrorPage(w, r, http.StatusBadRequest, `This link's path cannot be followed: it may not hold empty, "." or ".." parts, encoded slashes or control characters.`)
		return
	}
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		h.ErrorPage(w, r, http.StatusBadRequest, "The link's query is not well formed.")
		return
	}
	// As JupyterHub (parse_qsl): blank values are dropped.
	for k, vs := range q {
		if vs = slices.DeleteFunc(vs, func(v string) bool { return v == "" }); len(vs) == 0 {
			delete(q, k)
		} else {
			q[k] = vs
		}
	}
	next := spawner.UserURL(p.User.Name) + rest
	if len(q) > 0 {
		next += "?" + q.Encode()
	}
	if safeNext(next) != next {
		h.ErrorPage(w, r, http.StatusBadRequest, "The link is too long to follow.")
		return
	}
	http.Redirect(w, r, withNext("/hub/spawn", next), http.StatusFound)
}

// userRedirectPath is the path after /hub/user-redirect/ in escaped
// form, each segment checked and escaped again, so that it stays where
// it is put. ok is false for a path that could climb out.
func userRedirectPath(escaped string) (path string, ok bool) {
	rest, found := strings.CutPrefix(escaped, "/hub/user-redirect/")
	if !found || rest == "" {
		return "", true
	}
	segs := strings.Split(rest, "/")
	for i, s := range segs {
		seg, err := url.PathUnescape(s)
		if err != nil {
			return "", false
		}
		last := i == len(segs)-1
		switch {
		case seg == "" && !last, seg == ".", seg == "..":
			return "", false
		case strings.ContainsAny(seg, "/\\") || strings.ContainsFunc(seg, isControl):
			return "", false
		}
		segs[i] = url.PathEscape(seg)
	}
	return strings.Join(segs, "/"), true
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f }
