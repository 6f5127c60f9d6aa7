package auth

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/sparkhub/sparkhub/internal/httperr"
)

// Cookie names.
const (
	// SessionCookie is the session cookie over plain HTTP.
	SessionCookie = "sparkhub-session"
	// SecureSessionCookie is the session cookie under TLS. Browsers take
	// a cookie named __Host-... only when it is Secure, for Path=/ and
	// for the hub's host alone, so neither a page under another path
	// nor a sibling host can set one that stands beside it.
	SecureSessionCookie = "__Host-" + SessionCookie
	XSRFCookie          = "_xsrf"
	XSRFHeader          = "X-XSRFToken"
)

// IsSessionCookie reports whether a cookie of that name is the hub's
// session cookie, under either name: what users' servers may neither
// see nor set.
func IsSessionCookie(name string) bool { return name == SessionCookie || name == SecureSessionCookie }

// sessionCookie is the session cookie's name for r: SecureSessionCookie
// when the client used https, directly or through a trusted proxy.
func (a *Authenticator) sessionCookie(r *http.Request) string {
	if a.opts.Proxies.IsHTTPS(r) {
		return SecureSessionCookie
	}
	return SessionCookie
}

// ErrSessionClash is a request that carried more than one session
// cookie: one of them was planted (by a page under a narrower path, or
// another host of the domain), and the hub cannot tell which is its
// own, so it trusts neither.
var ErrSessionClash = fmt.Errorf("more than one session cookie: %w", ErrUnauthenticated)

// LoginURL is the login page that sends the browser on to next ("" for
// the home page) after login. When err says the request carried two
// session cookies, the page says so.
func LoginURL(next string, err error) string {
	q := url.Values{}
	if next != "" {
		q.Set("next", next)
	}
	if errors.Is(err, ErrSessionClash) {
		q.Set("why", "cookies")
	}
	if len(q) == 0 {
		return "/hub/login"
	}
	return "/hub/login?" + q.Encode()
}

// Options configure an Authenticator.
type Options struct {
	// AdminAccess lets admins reach other users' servers and contents.
	AdminAccess bool
	// Proxies whose X-Forwarded-* headers are believed.
	Proxies Proxies
	// AccountAddrThrottle counts login failures per account and client
	// address together, AddrThrottle per client address over every
	// account. No throttle counts an account's failures from everywhere:
	// anyone who knows a name could then lock its owner out.
	AccountAddrThrottle, AddrThrottle *Throttle
	// Subdomains serves each user's server from an origin of its own
	// (--user-subdomains); the zero value keeps them on the hub's.
	Subdomains Subdomains
	// LDAP checks passwords with a directory (--auth ldap); nil keeps
	// the hub's own. OIDC signs people in with an OpenID provider
	// (--auth oidc). Admission says whom either lets in.
	LDAP      *LDAP
	OIDC      *OIDC
	Admission Admission
}

// Authenticator tells who a request comes from.
type Authenticator struct {
	Store     *Store
	Passwords *Passwords
	Sessions  *Sessions
	opts      Options
	cache     *lookupCache
	handoff   *handoff
}

// NewAuthenticator wires the pieces; nil throttles get the defaults: 5
// free failures per account from one address and 20 per address in 15
// minutes, then a 30 s lockout doubling up to 15 minutes.
func NewAuthenticator(store *Store, pw *Passwords, sessions *Sessions, opts Options) *Authenticator {
	if opts.AccountAddrThrottle == nil {
		opts.AccountAddrThrottle = NewThrottle(5, 15*time.Minute, 30*time.Second, 15*time.Minute)
	}
	if opts.AddrThrottle == nil {
		opts.AddrThrottle = NewThrottle(20, 15*time.Minute, 30*time.Second, 15*time.Minute)
	}
	return &Authenticator{Store: store, Passwords: pw, Sessions: sessions, opts: opts, cache: newLookupCache(store.epoch), handoff: newHandoff(sessions.key)}
}

// Proxies returns the trusted proxies.
func (a *Authenticator) Proxies() Proxies { return a.opts.Proxies }

// ThrottledError says to wait before trying again.
type ThrottledError struct{ RetryAfter time.Duration }

func (e *ThrottledError) Error() string {
	return fmt.Sprintf("too many attempts, try again in %d s", e.Seconds())
}

// Seconds is RetryAfter rounded up, as Retry-After wants it.
func (e *ThrottledError) Seconds() int { return httperr.Seconds(e.RetryAfter) }

// Login checks a username and password from the client at addr. An
// unknown user costs the same bcrypt time as a wrong password, and both
// say ErrBadCredentials. Too many failures from addr, at this account or
// at any, give a *ThrottledError; failures from elsewhere never do, so
// no one can lock an account's owner out. With a directory (--auth
// ldap) the directory checks the password of every name but a local
// account's (one with a hub password), and its refusals (*RefusedError)
// count as failures too.
func (a *Authenticator) Login(ctx context.Context, name, password string, addr netip.Addr) (*User, error) {
	from := throttleKey(addr)
	pair := strings.ToLower(name) + " from " + from
	if d := max(a.opts.AccountAddrThrottle.Wait(pair), a.opts.AddrThrottle.Wait(from)); d > 0 {
		return nil, &ThrottledError{RetryAfter: d}
	}
	u, err := a.checkPassword(ctx, name, password)
	var refused *RefusedError
	switch {
	case err == nil:
		// The address's own count stays: logging in to an account of
		// one's own must not buy more guesses at others.
		a.opts.AccountAddrThrottle.Reset(pair)
		return u, nil
	case !errors.Is(err, ErrBadCredentials) && !errors.As(err, &refused):
		return nil, err
	}
	if d := max(a.opts.AccountAddrThrottle.Fail(pair), a.opts.AddrThrottle.Fail(from)); d > 0 {
		return nil, &ThrottledError{RetryAfter: d}
	}
	return nil, err
}

// checkPassword is Login without the throttles.
func (a *Authenticator) checkPassword(ctx context.Context, name, password string) (*User, error) {
	u, err := a.Store.UserByName(ctx, name)
	switch {
	case errors.Is(err, ErrNotFound) && a.opts.LDAP != nil:
		return a.ldapLogin(ctx, name, password)
	case errors.Is(err, ErrNotFound):
		a.Passwords.Waste(password)
	case err != nil:
		return nil, err
	case u.PasswordHash == "" && a.opts.LDAP != nil:
		return a.ldapLogin(ctx, name, password)
	case !u.Disabled && a.Passwords.Verify(u.PasswordHash, password):
		now := time.Now().UTC().Truncate(time.Microsecond)
		if err := a.Store.TouchUsers(ctx, map[int64]time.Time{u.ID: now}); err != nil {
			return nil, err
		}
		u.LastActivity = &now
		return u, nil
	case u.Disabled:
		a.Passwords.Waste(password)
	}
	return nil, ErrBadCredentials
}

// ldapLogin checks name and password with the directory and admits the
// person it finds.
func (a *Authenticator) ldapLogin(ctx context.Context, name, password string) (*User, error) {
	id, err := a.opts.LDAP.Authenticate(ctx, name, password)
	if err != nil {
		return nil, err
	}
	return a.Admit(ctx, "The directory", id)
}

// throttleKey is the client address as the login throttles count it: an
// IPv4 address, or the /64 network of an IPv6 one, since one host is
// commonly given a whole /64 and could otherwise take a fresh address
// for every guess.
func throttleKey(addr netip.Addr) string {
	addr = addr.Unmap().WithZone("")
	if addr.Is6() {
		p, _ := addr.Prefix(64)
		return p.String()
	}
	return addr.String()
}

// OIDC is the OpenID provider people sign in with (--auth oidc), or nil.
func (a *Authenticator) OIDC() *OIDC { return a.opts.OIDC }

// AdminAccess reports whether admins may reach other users' servers and
// contents (--admin-access).
func (a *Authenticator) AdminAccess() bool { return a.opts.AdminAccess }

// Principal is who a request comes from and what they may do.
type Principal struct {
	User   *User
	Scopes Scopes
	// Token is the API token used; nil for a browser session.
	Token *Token
	// SessionID is the browser session's id; "" for a token.
	SessionID string
	// sessionExpires is when the session's cookie expires.
	sessionExpires time.Time
	// members are the members of the groups the scopes' !group=
	// filters name, read for this request.
	members map[string]map[string]bool
}

// ViaCookie reports whether the request was authenticated by the
// session cookie (and so needs XSRF checks on writes).
func (p *Principal) ViaCookie() bool { return p.Token == nil }

// Can reports whether the principal holds scope on user's resources:
// unfiltered, with the user's filter, or with the filter of a group the
// user is a member of now.
func (p *Principal) Can(scope, user string) bool {
	if p.Scopes.Has(scope, user) {
		return true
	}
	if user == "" {
		return false
	}
	for g, names := range p.members {
		if names[user] && p.Scopes[scope+"!group="+g] {
			return true
		}
	}
	return false
}

// FilteredUsers lists the users the principal holds scope on through
// filters: !user= ones, and the members of !group= ones.
func (p *Principal) FilteredUsers(scope string) []string {
	seen := map[string]bool{}
	names := []string{}
	add := func(n string) {
		if !seen[n] {
			seen[n] = true
			names = append(names, n)
		}
	}
	for k := range p.Scopes {
		if u, ok := strings.CutPrefix(k, scope+"!user="); ok {
			add(u)
		}
	}
	for g, members := range p.members {
		if p.Scopes[scope+"!group="+g] {
			for u := range members {
				add(u)
			}
		}
	}
	sort.Strings(names)
	return names
}

// resolveGroups reads the members of the groups p's filters name, once
// per request and never from a cache: someone taken out of a group
// leaves the reach of its filters with the next request.
func (a *Authenticator) resolveGroups(ctx context.Context, p *Principal) error {
	groups := p.Scopes.filterGroups()
	if len(groups) == 0 {
		return nil
	}
	m, err := a.Store.membersOf(ctx, groups)
	if err != nil {
		return err
	}
	p.members = m
	return nil
}

// Authenticate finds the principal of a request: an API token in
// Authorization ("token T" or "Bearer T"), or else the session cookie,
// refreshed in w while in use. No credentials, or bad ones, give
// ErrUnauthenticated; a present but bad token does not fall back to
// the cookie.
func (a *Authenticator) Authenticate(w http.ResponseWriter, r *http.Request) (*Principal, error) {
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, secret, _ := strings.Cut(h, " ")
		if !strings.EqualFold(scheme, "token") && !strings.EqualFold(scheme, "bearer") {
			return nil, ErrUnauthenticated
		}
		t, u, err := a.lookupToken(r, strings.TrimSpace(secret))
		if err != nil {
			return nil, err
		}
		owner := RoleScopes(u, a.opts.AdminAccess)
		p := &Principal{User: u, Token: t, Scopes: Grant(t.Scopes, owner, u.Name)}
		if err := a.resolveGroups(r.Context(), p); err != nil {
			return nil, err
		}
		return p, nil
	}
	cs := r.CookiesNamed(a.sessionCookie(r))
	switch {
	case len(cs) > 1:
		if w != nil {
			a.clearSessionCookies(w, r)
		}
		return nil, ErrSessionClash
	case len(cs) == 0 || cs[0].Value == "":
		return nil, ErrUnauthenticated
	}
	sess, err := a.Sessions.Parse(cs[0].Value)
	if err != nil {
		return nil, err
	}
	u, err := a.loginUser(r, sess.UserID, sess.Generation, sess.ID)
	if err != nil {
		return nil, err
	}
	// Refresh once a quarter of the lifetime has passed, so a session in
	// use never expires and one left alone does.
	exp := sess.ExpiresAt
	if w != nil && a.Sessions.now().Sub(sess.IssuedAt) > a.Sessions.TTL/4 {
		if exp, err = a.setSessionCookie(w, r, u, sess.ID); err != nil {
			return nil, err
		}
	}
	return &Principal{User: u, SessionID: sess.ID, sessionExpires: exp, Scopes: RoleScopes(u, a.opts.AdminAccess)}, nil
}

// StartSession logs the user in: a new session cookie and the XSRF
// cookie bound to it.
func (a *Authenticator) StartSession(w http.ResponseWriter, r *http.Request, u *User) error {
	sid := NewSessionID()
	if _, err := a.setSessionCookie(w, r, u, sid); err != nil {
		return err
	}
	http.SetCookie(w, a.xsrfCookie(r, a.Sessions.XSRF(sid)))
	return nil
}

// EndSession logs the browser session p out: its id is revoked in the
// database until every cookie that carries it has expired, so a copy of
// the cookie is refused too, by this process at once and by every other
// hub on the database within cacheTTL. The session and XSRF cookies are
// cleared in w.
func (a *Authenticator) EndSession(ctx context.Context, w http.ResponseWriter, r *http.Request, p *Principal) error {
	if !p.ViaCookie() || p.SessionID == "" {
		return errors.New("end session: not a browser session")
	}
	// Every cookie with this id was issued by now, so it expires within
	// a TTL, or when the one in hand does if that is later.
	until := a.Sessions.now().Add(a.Sessions.TTL)
	if p.sessionExpires.After(until) {
		until = p.sessionExpires
	}
	if err := a.Store.RevokeSession(ctx, p.User.ID, p.SessionID, until); err != nil {
		return err
	}
	a.clearSessionCookies(w, r)
	return nil
}

// clearSessionCookies tells the browser to drop the session cookie and
// the hub's XSRF cookie. A cookie planted beside the session cookie may
// have any path the request's path starts with, or (over plain HTTP) a
// domain of the hub's host: each gets its own expired Set-Cookie, as a
// browser drops a cookie only for the path and domain it was set with.
// A __Host- cookie has only Path=/ and no domain.
func (a *Authenticator) clearSessionCookies(w http.ResponseWriter, r *http.Request) {
	name, secure := a.sessionCookie(r), a.opts.Proxies.IsHTTPS(r)
	gone := func(path, domain string, partitioned bool) {
		http.SetCookie(w, &http.Cookie{Name: name, Value: "", Path: path, Domain: domain, MaxAge: -1,
			HttpOnly: true, Secure: secure, SameSite: http.SameSiteLaxMode, Partitioned: partitioned})
	}
	if name == SecureSessionCookie {
		gone("/", "", false)
		gone("/", "", true)
	} else {
		for _, p := range cookiePaths(r.URL.EscapedPath()) {
			gone(p, "", false)
		}
		for _, d := range cookieDomains(a.opts.Proxies.Host(r)) {
			gone("/", d, false)
		}
	}
	http.SetCookie(w, &http.Cookie{Name: XSRFCookie, Value: "", Path: "/hub/", MaxAge: -1, Secure: secure, SameSite: http.SameSiteLaxMode})
}

// maxCookiePaths bounds the paths clearSessionCookies names.
const maxCookiePaths = 16

// cookiePaths are the paths a cookie sent with a request for path may
// have been set with: "/", and each prefix of path that ends before a
// '/' or at one, up to maxCookiePaths of them. Prefixes with bytes a
// cookie's path cannot hold are left out.
func cookiePaths(path string) []string {
	out := []string{"/"}
	add := func(p string) {
		if len(out) < maxCookiePaths && p != "/" && !strings.ContainsFunc(p, func(c rune) bool { return c < 0x20 || c >= 0x7f || c == ';' }) {
			out = append(out, p)
		}
	}
	for i := 1; i < len(path); i++ {
		if path[i] == '/' {
			add(path[:i])
			add(path[:i+1])
		}
	}
	if !strings.HasSuffix(path, "/") {
		add(path)
	}
	return out
}

// cookieDomains are the Domain attributes a cookie sent to host may
// have been set with: host itself and each parent with a dot in it.
// An IP address has none.
func cookieDomains(host string) []string {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	if host == "" || net.ParseIP(strings.Trim(host, "[]")) != nil || !strings.Contains(host, ".") {
		return nil
	}
	var out []string
	for d := host; strings.Contains(d, "."); d = d[strings.IndexByte(d, '.')+1:] {
		out = append(out, d)
	}
	return out
}

// setSessionCookie issues a session for u with id sid and sets its
// cookie; it returns when the cookie expires.
func (a *Authenticator) setSessionCookie(w http.ResponseWriter, r *http.Request, u *User, sid string) (time.Time, error) {
	tok, exp, err := a.Sessions.Issue(u, sid)
	if err != nil {
		return time.Time{}, err
	}
	http.SetCookie(w, &http.Cookie{
		Name: a.sessionCookie(r), Value: tok, Path: "/", Expires: exp,
		HttpOnly: true, Secure: a.opts.Proxies.IsHTTPS(r), SameSite: http.SameSiteLaxMode,
	})
	return exp, nil
}

func (a *Authenticator) xsrfCookie(r *http.Request, v string) *http.Cookie {
	return &http.Cookie{Name: XSRFCookie, Value: v, Path: "/hub/", Secure: a.opts.Proxies.IsHTTPS(r), SameSite: http.SameSiteLaxMode}
}

// XSRFToken returns the XSRF token to put in a page's forms. For a
// logged-in principal it is the one bound to their session; before login
// it is the value of the request's _xsrf cookie, or a new random one set
// in w (double submit).
func (a *Authenticator) XSRFToken(w http.ResponseWriter, r *http.Request, p *Principal) string {
	if p != nil && p.ViaCookie() {
		v := a.Sessions.XSRF(p.SessionID)
		if c, err := r.Cookie(XSRFCookie); err != nil || c.Value != v {
			http.SetCookie(w, a.xsrfCookie(r, v))
		}
		return v
	}
	for _, c := range r.Cookies() {
		if c.Name == XSRFCookie && len(c.Value) >= 32 && len(c.Value) <= 64 && isURLSafe(c.Value) {
			return c.Value
		}
	}
	b := make([]byte, 32)
	rand.Read(b)
	v := base64.RawURLEncoding.EncodeToString(b)
	http.SetCookie(w, a.xsrfCookie(r, v))
	return v
}

func isURLSafe(s string) bool {
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// ErrXSRF is a write that failed the XSRF or same-site checks.
var ErrXSRF = errors.New("xsrf check failed")

// Safe reports whether the method never changes anything.
func Safe(method string) bool {
	return method == http.MethodGet || method == http.MethodHead || method == http.MethodOptions
}

// submitted is the XSRF token a request carries: the X-XSRFToken header,
// or the _xsrf form field of a form post.
func submitted(r *http.Request) string {
	if v := r.Header.Get(XSRFHeader); v != "" {
		return v
	}
	ct := r.Header.Get("Content-Type")
	if strings.HasPrefix(ct, "application/x-www-form-urlencoded") || strings.HasPrefix(ct, "multipart/form-data") {
		return r.PostFormValue("_xsrf")
	}
	return ""
}

// CheckHubXSRF guards a cookie-authenticated write under /hub/: it must
// name this site (Origin or Referer) and carry the XSRF token bound to
// its session.
func (a *Authenticator) CheckHubXSRF(r *http.Request, p *Principal) error {
	if Safe(r.Method) || !p.ViaCookie() {
		return nil
	}
	if err := a.CheckSameSite(r); err != nil {
		return err
	}
	want := a.Sessions.XSRF(p.SessionID)
	if subtle.ConstantTimeCompare([]byte(submitted(r)), []byte(want)) != 1 {
		return ErrXSRF
	}
	return nil
}

// CheckServerXSRF guards a cookie-authenticated write on the server of
// user name (stopping it): CheckHubXSRF, or, for the Jupyter front ends
// on that server's pages, X-XSRFToken equal to the session's
// ServerXSRF for name. Both are HMACs the hub alone can make; an _xsrf
// cookie planted under /hub/ counts for nothing.
func (a *Authenticator) CheckServerXSRF(r *http.Request, p *Principal, name string) error {
	if Safe(r.Method) || !p.ViaCookie() {
		return nil
	}
	if err := a.CheckSameSite(r); err != nil {
		return err
	}
	got := []byte(submitted(r))
	if subtle.ConstantTimeCompare(got, []byte(a.Sessions.XSRF(p.SessionID))) == 1 ||
		subtle.ConstantTimeCompare(got, []byte(a.Sessions.ServerXSRF(p.SessionID, name))) == 1 {
		return nil
	}
	return ErrXSRF
}

// ServerXSRFCookie is the _xsrf cookie the hub keeps under /user/{name}/
// for a browser session (ServerXSRF), or nil when p is not one or the
// request already carries it.
func (a *Authenticator) ServerXSRFCookie(r *http.Request, p *Principal, name string) *http.Cookie {
	if p == nil || !p.ViaCookie() || p.SessionID == "" {
		return nil
	}
	v := a.Sessions.ServerXSRF(p.SessionID, name)
	for _, c := range r.CookiesNamed(XSRFCookie) {
		if c.Value == v {
			return nil
		}
	}
	return &http.Cookie{Name: XSRFCookie, Value: v, Path: "/user/" + name + "/", SameSite: http.SameSiteLaxMode, Secure: a.opts.Proxies.IsHTTPS(r)}
}

// CheckLoginXSRF guards the login form: double submit, the form's _xsrf
// equal to an _xsrf cookie, and a same-site Origin or Referer.
func (a *Authenticator) CheckLoginXSRF(r *http.Request) error {
	if err := a.CheckSameSite(r); err != nil {
		return err
	}
	return checkAnyCookie(r, r.PostFormValue("_xsrf"))
}

// CheckUserXSRF guards a cookie-authenticated write under /user/{name}/,
// where Jupyter's front ends send the _xsrf cookie their own server set:
// X-XSRFToken (or the _xsrf field) must equal one of the request's _xsrf
// cookies, and Origin or Referer must name this site.
func (a *Authenticator) CheckUserXSRF(r *http.Request, p *Principal) error {
	if Safe(r.Method) || !p.ViaCookie() {
		return nil
	}
	if err := a.CheckSameSite(r); err != nil {
		return err
	}
	return checkAnyCookie(r, submitted(r))
}

func checkAnyCookie(r *http.Request, got string) error {
	if got == "" {
		return ErrXSRF
	}
	for _, c := range r.Cookies() {
		if c.Name == XSRFCookie && c.Value != "" && subtle.ConstantTimeCompare([]byte(c.Value), []byte(got)) == 1 {
			return nil
		}
	}
	return ErrXSRF
}

// CheckSameSite refuses a request whose Origin (or, without one, Referer)
// names another site than the one the client asked for.
func (a *Authenticator) CheckSameSite(r *http.Request) error {
	src := r.Header.Get("Origin")
	if src == "" {
		src = r.Header.Get("Referer")
	}
	if src == "" {
		return nil
	}
	if src == "null" {
		return ErrXSRF
	}
	u, err := url.Parse(src)
	if err != nil || !strings.EqualFold(u.Host, a.opts.Proxies.Host(r)) {
		return ErrXSRF
	}
	return nil
}

// lookupToken is Store.LookupToken through the cache: a proxied request
// costs no query while its token was looked up in the last few seconds
// and nothing changed since.
func (a *Authenticator) lookupToken(r *http.Request, secret string) (*Token, *User, error) {
	hash := HashToken(secret)
	if t, u, ok := a.cache.token(hash); ok && !t.expired(time.Now()) {
		return t, u, nil
	}
	seen := a.Store.epoch.n.Load()
	t, u, err := a.Store.LookupToken(r.Context(), secret)
	if err != nil {
		return nil, nil, err
	}
	a.cache.putToken(hash, t, u, seen)
	return t, u, nil
}

// sessionRevoked is Store.SessionRevoked through the cache: a session
// in use costs one query per cacheTTL. A session this process logs out
// is refused at once (the Store's change empties the cache); one logged
// out by another hub on the same database, within cacheTTL.
func (a *Authenticator) sessionRevoked(r *http.Request, sid string) (bool, error) {
	if revoked, ok := a.cache.session(sid); ok {
		return revoked, nil
	}
	seen := a.Store.epoch.n.Load()
	revoked, err := a.Store.SessionRevoked(r.Context(), sid)
	if err != nil {
		return false, err
	}
	a.cache.putSession(sid, revoked, seen)
	return revoked, nil
}

// userByID is Store.UserByID through the cache.
func (a *Authenticator) userByID(r *http.Request, id int64) (*User, error) {
	if u, ok := a.cache.user(id); ok {
		return u, nil
	}
	seen := a.Store.epoch.n.Load()
	u, err := a.Store.UserByID(r.Context(), id)
	if err != nil {
		return nil, err
	}
	a.cache.putUser(u, seen)
	return u, nil
}

// loginUser is the user a login (a session, a server cookie, a code)
// was issued to, while it still holds: ErrUnauthenticated when the user
// is gone or disabled, logged out everywhere since (another session
// generation), or the session sid was logged out.
func (a *Authenticator) loginUser(r *http.Request, id, generation int64, sid string) (*User, error) {
	u, err := a.userByID(r, id)
	if errors.Is(err, ErrNotFound) {
		return nil, ErrUnauthenticated
	}
	if err != nil {
		return nil, err
	}
	if u.Disabled || u.SessionGeneration != generation {
		return nil, ErrUnauthenticated
	}
	// A session logged out stays out, copies of its cookie and the
	// server cookies it gave included, and is not refreshed.
	revoked, err := a.sessionRevoked(r, sid)
	if err != nil {
		return nil, err
	}
	if revoked {
		return nil, ErrUnauthenticated
	}
	return u, nil
}
