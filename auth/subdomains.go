package auth

import (
	"errors"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/sparkhub/sparkhub/internal/httperr"
)

// Subdomains is --user-subdomains HOST: each user's server is served
// from an origin of its own, {label}.HOST, where the label is the
// username (Label), so script in one user's server is cross-origin to
// the hub and to every other user's server. The hub itself is served at
// HOST (and at any address outside it). The zero value is off: every
// server lives under /user/{name}/ on the hub's own origin.
type Subdomains struct {
	host string // lowercase host name, no trailing dot
	port string // "" for whatever port the client used
}

// ParseSubdomains reads --user-subdomains: a host name, with a port when
// browsers reach the hub on one they must be told ("hub.example.com",
// "localhost:8000"). "" is off.
func ParseSubdomains(s string) (Subdomains, error) {
	if s == "" {
		return Subdomains{}, nil
	}
	host, port := s, ""
	if strings.Contains(s, ":") {
		h, p, err := net.SplitHostPort(s)
		n, perr := strconv.Atoi(p)
		if err != nil || perr != nil || n < 1 || n > 65535 {
			return Subdomains{}, badSubdomains(s)
		}
		host, port = h, p
	}
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	if host == "" || len(host) > 253-64 || net.ParseIP(host) != nil {
		return Subdomains{}, badSubdomains(s)
	}
	for _, l := range strings.Split(host, ".") {
		if !isDNSLabel(l) {
			return Subdomains{}, badSubdomains(s)
		}
	}
	return Subdomains{host: host, port: port}, nil
}

func badSubdomains(s string) error {
	return inputErrorf("--user-subdomains wants a host name such as hub.example.com, with :port when browsers use one that is not the scheme's default, not %q", httperr.Shorten(s, 80))
}

// On reports whether per-user origins are on.
func (s Subdomains) On() bool { return s.host != "" }

// isDNSLabel reports whether l is a host name label (RFC 1123): 1 to 63
// lowercase letters, digits and hyphens, not starting or ending with a
// hyphen.
func isDNSLabel(l string) bool {
	if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
		return false
	}
	for _, c := range l {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// Label is the DNS label of the user's origin under --user-subdomains:
// the username itself. A valid username (ValidateName) is a label unless
// it holds '.' or '_', ends with '-', or has "--" (which DNS keeps for
// encoded names such as xn--); such names cannot map, and are refused.
func Label(name string) (string, error) {
	if ValidateName(name) != nil || !isDNSLabel(name) || strings.Contains(name, "--") {
		return "", inputErrorf("%q cannot be the address of a server (--user-subdomains): such usernames have only lowercase letters, digits and single hyphens, and do not end with a hyphen", httperr.Shorten(name, 40))
	}
	return name, nil
}

// OwnerOf tells whether a request's host is under HOST and whose server
// it belongs to: under is false for the hub's own host and any other;
// owner is "" for a host under HOST that is no user's. The port does not
// count: browsers send cookies to a host whatever the port.
func (s Subdomains) OwnerOf(hostport string) (owner string, under bool) {
	if !s.On() {
		return "", false
	}
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	label, ok := strings.CutSuffix(host, "."+s.host)
	if !ok {
		return "", false
	}
	if l, err := Label(label); err != nil || l != label {
		return "", true
	}
	return label, true
}

// Subdomains returns --user-subdomains.
func (a *Authenticator) Subdomains() Subdomains { return a.opts.Subdomains }

// origin is scheme://host[:port] for a host under or at HOST, as the
// client of r reaches it: https when it used TLS, and the port of
// --user-subdomains, or else the one it used.
func (a *Authenticator) origin(r *http.Request, host string) string {
	s := a.opts.Subdomains
	scheme := "http"
	if a.opts.Proxies.IsHTTPS(r) {
		scheme = "https"
	}
	port := s.port
	if port == "" {
		_, port, _ = net.SplitHostPort(a.opts.Proxies.Host(r))
	}
	if port != "" {
		host = net.JoinHostPort(host, port)
	}
	return scheme + "://" + host
}

// HubOrigin is where the hub itself is reached: scheme://HOST[:port].
func (a *Authenticator) HubOrigin(r *http.Request) string {
	return a.origin(r, a.opts.Subdomains.host)
}

// ServerOrigin is where the user's server is reached:
// scheme://{label}.HOST[:port], or an *InputError when the name cannot
// be a label.
func (a *Authenticator) ServerOrigin(r *http.Request, name string) (string, error) {
	label, err := Label(name)
	if err != nil {
		return "", err
	}
	return a.origin(r, label+"."+a.opts.Subdomains.host), nil
}

// ServerOriginPattern is every user's origin as a CSP source:
// scheme://*.HOST[:port].
func (a *Authenticator) ServerOriginPattern(r *http.Request) string {
	return a.origin(r, "*."+a.opts.Subdomains.host)
}

// ServerURL is the address of path on the server of user name: on its
// own origin under --user-subdomains, else path as it is. path is a
// path on the hub ("/user/alice/tree"); a path that is no user's server,
// or a user whose name cannot be a label, stays as it is.
func (a *Authenticator) ServerURL(r *http.Request, path string) string {
	if !a.opts.Subdomains.On() {
		return path
	}
	rest, ok := strings.CutPrefix(path, "/user/")
	if !ok {
		return path
	}
	name, _, ok := strings.Cut(rest, "/")
	if !ok {
		return path
	}
	origin, err := a.ServerOrigin(r, name)
	if err != nil {
		return path
	}
	return origin + path
}

// callbackURL is the one redirect_uri the hand-off accepts for the
// owner's server: its origin's /user/{name}/oauth_callback.
func (a *Authenticator) callbackURL(r *http.Request, owner string) (string, error) {
	origin, err := a.ServerOrigin(r, owner)
	if err != nil {
		return "", err
	}
	return origin + "/user/" + owner + "/oauth_callback", nil
}

// authenticateOrigin is how a request to /user/{owner}/... is
// authenticated under --user-subdomains, by where it arrived:
//   - on the owner's origin: a token, or the server cookie the hand-off
//     gave this browser for this origin; a browser without either starts
//     the hand-off (the hub's session cookie is never read there);
//   - on another user's origin: 404, whoever asks;
//   - on the hub's own host: a token only. A browser's GET goes to the
//     owner's origin; anything else is refused, so no page or write of a
//     user's server is ever served with the hub's cookie on its origin.
func (a *Authenticator) authenticateOrigin(w http.ResponseWriter, r *http.Request, owner string) (*Principal, *Refusal) {
	hostOwner, under := a.opts.Subdomains.OwnerOf(a.opts.Proxies.Host(r))
	switch {
	case under && hostOwner != owner:
		return nil, &Refusal{Status: http.StatusNotFound, Message: httperr.Hidden}
	case under:
		p, err := a.authenticateServer(w, r, owner)
		if errors.Is(err, ErrUnauthenticated) && IsBrowser(r) {
			return nil, a.startHandoff(w, r, owner)
		}
		if err != nil {
			return nil, notAuthenticated(r, err)
		}
		return p, nil
	case r.Header.Get("Authorization") != "":
		p, err := a.Authenticate(w, r)
		if err != nil {
			return nil, notAuthenticated(r, err)
		}
		return p, nil
	}
	origin, err := a.ServerOrigin(r, owner)
	if err != nil {
		return nil, &Refusal{Status: http.StatusNotFound, Message: "The server of " + httperr.Shorten(owner, 40) + " has no address: its username cannot be a web address (--user-subdomains). An admin can rename the user."}
	}
	if (r.Method == http.MethodGet || r.Method == http.MethodHead) && !IsWebsocket(r) {
		return nil, &Refusal{Status: http.StatusFound, Location: origin + r.URL.RequestURI()}
	}
	return nil, &Refusal{Status: http.StatusForbidden, Message: "This server is reached at its own address, " + origin + "/user/" + url.PathEscape(owner) + "/, or here with a token."}
}
