package auth

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/sparkhub/sparkhub/internal/httperr"
)

// Cookie names.
const (
	SessionCookie = "sparkhub-session"
	XSRFCookie    = "_xsrf"
	XSRFHeader    = "X-XSRFToken"
)

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
}

// Authenticator tells who a request comes from.
type Authenticator struct {
	Store     *Store
	Passwords *Passwords
	Sessions  *Sessions
	opts      Options
	cache     *lookupCache
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
	return &Authenticator{Store: store, Passwords: pw, Sessions: sessions, opts: opts, cache: newLookupCache(store.epoch)}
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
// no one can lock an account's owner out.
func (a *Authenticator) Login(ctx context.Context, name, password string, addr netip.Addr) (*User, error) {
	from := throttleKey(addr)
	pair := strings.ToLower(name) + " from " + from
	if d := max(a.opts.AccountAddrThrottle.Wait(pair), a.opts.AddrThrottle.Wait(from)); d > 0 {
		return nil, &ThrottledError{RetryAfter: d}
	}
	u, err := a.Store.UserByName(ctx, name)
	switch {
	case errors.Is(err, ErrNotFound):
		a.Passwords.Waste(password)
	case err != nil:
		return nil, err
	case !u.Disabled && a.Passwords.Verify(u.PasswordHash, password):
		// The address's own count stays: logging in to an account of
		// one's own must not buy more guesses at others.
		a.opts.AccountAddrThrottle.Reset(pair)
		now := time.Now().UTC().Truncate(time.Microsecond)
		if err := a.Store.TouchUsers(ctx, map[int64]time.Time{u.ID: now}); err != nil {
			return nil, err
		}
		u.LastActivity = &now
		return u, nil
	case u.Disabled:
		a.Passwords.Waste(password)
	}
	if d := max(a.opts.AccountAddrThrottle.Fail(pair), a.opts.AddrThrottle.Fail(from)); d > 0 {
		return nil, &ThrottledError{RetryAfter: d}
	}
	return nil, ErrBadCredentials
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
}

// ViaCookie reports whether the request was authenticated by the
// session cookie (and so needs XSRF checks on writes).
func (p *Principal) ViaCookie() bool { return p.Token == nil }

// Can reports whether the principal holds scope on user's resources.
func (p *Principal) Can(scope, user string) bool { return p.Scopes.Has(scope, user) }

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
		return &Principal{User: u, Token: t, Scopes: Grant(t.Scopes, owner, u.Name)}, nil
	}
	c, err := r.Cookie(SessionCookie)
	if err != nil || c.Value == "" {
		return nil, ErrUnauthenticated
	}
	sess, err := a.Sessions.Parse(c.Value)
	if err != nil {
		return nil, err
	}
	u, err := a.userByID(r, sess.UserID)
	if errors.Is(err, ErrNotFound) {
		return nil, ErrUnauthenticated
	}
	if err != nil {
		return nil, err
	}
	if u.Disabled || u.SessionGeneration != sess.Generation {
		return nil, ErrUnauthenticated
	}
	// Refresh once a quarter of the lifetime has passed, so a session in
	// use never expires and one left alone does.
	if w != nil && a.Sessions.now().Sub(sess.IssuedAt) > a.Sessions.TTL/4 {
		if err := a.setSessionCookie(w, r, u, sess.ID); err != nil {
			return nil, err
		}
	}
	return &Principal{User: u, SessionID: sess.ID, Scopes: RoleScopes(u, a.opts.AdminAccess)}, nil
}

// StartSession logs the user in: a new session cookie and the XSRF
// cookie bound to it.
func (a *Authenticator) StartSession(w http.ResponseWriter, r *http.Request, u *User) error {
	sid := NewSessionID()
	if err := a.setSessionCookie(w, r, u, sid); err != nil {
		return err
	}
	http.SetCookie(w, a.xsrfCookie(r, a.Sessions.XSRF(sid)))
	return nil
}

// EndSession clears the session and XSRF cookies.
func (a *Authenticator) EndSession(w http.ResponseWriter, r *http.Request) {
	secure := a.opts.Proxies.IsHTTPS(r)
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, Secure: secure, SameSite: http.SameSiteLaxMode})
	http.SetCookie(w, &http.Cookie{Name: XSRFCookie, Value: "", Path: "/hub/", MaxAge: -1, Secure: secure, SameSite: http.SameSiteLaxMode})
}

func (a *Authenticator) setSessionCookie(w http.ResponseWriter, r *http.Request, u *User, sid string) error {
	tok, exp, err := a.Sessions.Issue(u, sid)
	if err != nil {
		return err
	}
	http.SetCookie(w, &http.Cookie{
		Name: SessionCookie, Value: tok, Path: "/", Expires: exp,
		HttpOnly: true, Secure: a.opts.Proxies.IsHTTPS(r), SameSite: http.SameSiteLaxMode,
	})
	return nil
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
