package auth

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/sparkhub/sparkhub/internal/httperr"
)

// The hand-off gives a browser a cookie of its own for one user's
// origin under --user-subdomains, as JupyterHub's OAuth flow for servers
// does, answered wholly by the hub (its proxy is the server's front):
//
//  1. A browser asks {label}.HOST/user/{owner}/... without the server
//     cookie. The hub sets a state cookie there (random, ten minutes)
//     and sends it to HOST/hub/api/oauth2/authorize with client_id
//     jupyterhub-user-{owner}, the one redirect_uri of that origin, and
//     the state.
//  2. On its own host the hub reads its session cookie (logging in
//     first when there is none), checks that the caller may use the
//     owner's server (access:servers, as the proxy does), and sends the
//     browser back to the redirect_uri with a code: random, valid for a
//     minute, good once, and bound to the caller's session, the owner's
//     origin and the state.
//  3. The callback on the owner's origin checks the state against its
//     cookie, redeems the code in the hub's memory (never over the
//     network), checks once more that the caller may use the server,
//     and sets the server cookie: host-only on that origin, HttpOnly,
//     signed with a key of its own, naming the origin it is for and
//     granting only access:servers and contents on the owner.
const (
	// ServerCookie is the cookie the hand-off sets on a user's origin
	// (with the __Host- prefix under TLS).
	ServerCookie = "sparkhub-server"
	// StateCookie holds the state of a hand-off under way.
	StateCookie = "sparkhub-oauth-state"

	clientPrefix = "jupyterhub-user-"
	codeTTL      = time.Minute
	stateTTL     = 10 * time.Minute
	// maxCodes bounds the codes waiting to be redeemed.
	maxCodes = 10000
)

// cookieName is a cookie's name on a user's origin: with the __Host-
// prefix under TLS, which a browser accepts only host-only, Secure and
// on Path=/, so no other origin under HOST can plant one.
func cookieName(base string, secure bool) string {
	if secure {
		return "__Host-" + base
	}
	return base
}

// HandoffCookie reports whether a cookie is the hub's on a user's
// origin (the server cookie or a hand-off's state): the proxy neither
// forwards it to the user's server nor lets the server set it.
func HandoffCookie(name string) bool {
	name = strings.TrimPrefix(name, "__Host-")
	return name == ServerCookie || name == StateCookie
}

// handoff holds the codes waiting to be redeemed and signs server
// cookies with a key derived from the session key, so that a server
// cookie never passes for a session or the other way round.
type handoff struct {
	key   []byte
	kid   string
	codes *oneTime[grant]
}

// grant is what a code was issued for.
type grant struct {
	userID     int64
	sessionID  string
	generation int64
	owner      string // whose server
	host       string // the origin's host name: {label}.HOST
	state      string
}

func newHandoff(sessionKey []byte) *handoff {
	mac := hmac.New(sha256.New, sessionKey)
	mac.Write([]byte("sparkhub server cookie"))
	key := mac.Sum(nil)
	sum := sha256.Sum256(key)
	return &handoff{key: key, kid: hex.EncodeToString(sum[:8]), codes: newOneTime[grant](maxCodes)}
}

func randomString(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// validState is what the hub accepts as a client's state.
func validState(s string) bool {
	return len(s) >= 16 && len(s) <= 128 && isURLSafe(s)
}

// serverClaims are a server cookie's: whose login it carries (sub, gen,
// the session's jti), the origin it is for (aud) and whose server (srv).
type serverClaims struct {
	jwt.RegisteredClaims
	Gen int64  `json:"gen"`
	Srv string `json:"srv"`
}

// setServerCookie gives the browser the server cookie for the owner's
// origin, the host of r.
func (a *Authenticator) setServerCookie(w http.ResponseWriter, r *http.Request, u *User, sid, owner string) error {
	now := a.Sessions.now().UTC()
	exp := now.Add(a.Sessions.TTL)
	tok := jwt.NewWithClaims(jwt.SigningMethodHS256, serverClaims{
		RegisteredClaims: jwt.RegisteredClaims{
			Subject:   strconv.FormatInt(u.ID, 10),
			ID:        sid,
			Audience:  jwt.ClaimStrings{requestHost(a, r)},
			IssuedAt:  jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(exp),
		},
		Gen: u.SessionGeneration,
		Srv: owner,
	})
	tok.Header["kid"] = a.handoff.kid
	signed, err := tok.SignedString(a.handoff.key)
	if err != nil {
		return fmt.Errorf("sign server cookie: %w", err)
	}
	secure := a.opts.Proxies.IsHTTPS(r)
	http.SetCookie(w, &http.Cookie{
		Name: cookieName(ServerCookie, secure), Value: signed, Path: "/", Expires: exp,
		HttpOnly: true, Secure: secure, SameSite: http.SameSiteLaxMode,
	})
	return nil
}

// requestHost is the host name r asked for, lowercase and without the
// port (which cookies do not tell apart): what a server cookie and a
// code are bound to.
func requestHost(a *Authenticator, r *http.Request) string {
	host := a.opts.Proxies.Host(r)
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	return strings.TrimSuffix(strings.ToLower(host), ".")
}

// parseServerCookie checks a server cookie: our key and kid, HS256
// only, unexpired, for this host and this owner's server.
func (a *Authenticator) parseServerCookie(value, host, owner string) (*serverClaims, error) {
	var c serverClaims
	_, err := jwt.ParseWithClaims(value, &c, func(t *jwt.Token) (any, error) {
		if kid, _ := t.Header["kid"].(string); !hmac.Equal([]byte(kid), []byte(a.handoff.kid)) {
			return nil, errors.New("unknown key id")
		}
		return a.handoff.key, nil
	},
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithAudience(host),
		jwt.WithTimeFunc(a.Sessions.now),
	)
	if err != nil || c.Srv != owner || c.ID == "" || c.IssuedAt == nil {
		return nil, ErrUnauthenticated
	}
	return &c, nil
}

// serverScopes are all a server cookie ever grants: the owner's server
// and the owner's contents, cut down to what its holder may do now.
func serverScopes(owner string) []string {
	return []string{ScopeAccessServers + "!user=" + owner, ScopeContents + "!user=" + owner}
}

// authenticateServer finds the principal of a request on the owner's
// origin: a token in Authorization, or else a server cookie for this
// origin and owner, refreshed in w while in use. The session cookie is
// not read. No credentials, or bad ones, give ErrUnauthenticated.
func (a *Authenticator) authenticateServer(w http.ResponseWriter, r *http.Request, owner string) (*Principal, error) {
	if r.Header.Get("Authorization") != "" {
		return a.Authenticate(w, r)
	}
	name := cookieName(ServerCookie, a.opts.Proxies.IsHTTPS(r))
	host := requestHost(a, r)
	var claims *serverClaims
	// Other origins under HOST may plant cookies of this name (without
	// the __Host- prefix, over plain http): any that is not ours for
	// this origin is passed over.
	for _, c := range r.Cookies() {
		if c.Name != name {
			continue
		}
		if cl, err := a.parseServerCookie(c.Value, host, owner); err == nil {
			claims = cl
			break
		}
	}
	if claims == nil {
		return nil, ErrUnauthenticated
	}
	uid, err := strconv.ParseInt(claims.Subject, 10, 64)
	if err != nil {
		return nil, ErrUnauthenticated
	}
	u, err := a.loginUser(r, uid, claims.Gen, claims.ID)
	if err != nil {
		return nil, err
	}
	if w != nil && a.Sessions.now().Sub(claims.IssuedAt.Time) > a.Sessions.TTL/4 {
		if err := a.setServerCookie(w, r, u, claims.ID, owner); err != nil {
			return nil, err
		}
	}
	return a.serverPrincipal(u, claims.ID, owner), nil
}

func (a *Authenticator) serverPrincipal(u *User, sid, owner string) *Principal {
	return &Principal{User: u, SessionID: sid, Scopes: Grant(serverScopes(owner), RoleScopes(u, a.opts.AdminAccess), u.Name)}
}

// startHandoff begins the hand-off for a browser on the owner's origin
// with no server cookie: a new state in a cookie (with the address to
// come back to), and the way to the hub's authorize endpoint.
func (a *Authenticator) startHandoff(w http.ResponseWriter, r *http.Request, owner string) *Refusal {
	redirect, err := a.callbackURL(r, owner)
	if err != nil {
		return &Refusal{Status: http.StatusNotFound, Message: httperr.Hidden}
	}
	state := randomString(24)
	secure := a.opts.Proxies.IsHTTPS(r)
	http.SetCookie(w, &http.Cookie{
		Name: cookieName(StateCookie, secure), Value: state + "." + base64.RawURLEncoding.EncodeToString([]byte(r.URL.RequestURI())),
		Path: "/", MaxAge: int(stateTTL / time.Second), HttpOnly: true, Secure: secure, SameSite: http.SameSiteLaxMode,
	})
	q := url.Values{
		"client_id":     {clientPrefix + owner},
		"redirect_uri":  {redirect},
		"response_type": {"code"},
		"state":         {state},
	}
	return &Refusal{Status: http.StatusFound, Location: a.HubOrigin(r) + "/hub/api/oauth2/authorize?" + q.Encode()}
}

// handoffState reads the state cookie: the state and the address the
// browser asked for before the hand-off.
func (a *Authenticator) handoffState(r *http.Request) (state, next string) {
	c, err := r.Cookie(cookieName(StateCookie, a.opts.Proxies.IsHTTPS(r)))
	if err != nil {
		return "", ""
	}
	state, enc, _ := strings.Cut(c.Value, ".")
	b, err := base64.RawURLEncoding.DecodeString(enc)
	if err != nil {
		return state, ""
	}
	return state, string(b)
}

func badHandoff(status int, msg string) *Refusal {
	return &Refusal{Status: status, Message: msg}
}

// Grant answers the hub's authorize endpoint
// (GET /hub/api/oauth2/authorize) on the hub's own host: the Location
// to send the browser to with a code, or how to refuse. The request
// must name a user's server as its client, that server's one callback
// address, response_type=code and a state; the caller must be logged
// in with the session cookie (a token cannot get a server cookie) and
// hold access:servers on the owner, with the same rule, answers and
// log line as Authorize. Nothing is redirected to an address the hub
// did not build itself.
func (u *UserPath) Grant(w http.ResponseWriter, r *http.Request) (string, *Refusal) {
	a := u.auth
	q := r.URL.Query()
	owner, ok := strings.CutPrefix(q.Get("client_id"), clientPrefix)
	if !ok || ValidateName(owner) != nil {
		return "", badHandoff(http.StatusBadRequest, "client_id names no user's server.")
	}
	want, err := a.callbackURL(r, owner)
	if err != nil {
		return "", badHandoff(http.StatusBadRequest, err.Error())
	}
	if q.Get("redirect_uri") != want {
		return "", badHandoff(http.StatusBadRequest, "redirect_uri is not the sign-in address of the server of "+owner+".")
	}
	if q.Get("response_type") != "code" {
		return "", badHandoff(http.StatusBadRequest, "response_type must be code.")
	}
	state := q.Get("state")
	if !validState(state) {
		return "", badHandoff(http.StatusBadRequest, "state must be 16 to 128 letters, digits, '-' and '_'.")
	}
	if r.Header.Get("Authorization") != "" {
		return "", badHandoff(http.StatusForbidden, "A server's address is opened by a browser that logged in to the hub, not with a token.")
	}
	p, err := a.Authenticate(w, r)
	if err != nil {
		return "", notAuthenticated(r, err)
	}
	if ref := p.Need(u.scope, owner); ref != nil {
		return "", ref
	}
	u.logAccess(r, p, owner)
	now := a.Sessions.now()
	code, ok := a.handoff.codes.put(grant{
		userID: p.User.ID, sessionID: p.SessionID, generation: p.User.SessionGeneration,
		owner: owner, host: owner + "." + a.opts.Subdomains.host, state: state,
	}, now.Add(codeTTL), now)
	if !ok {
		return "", &Refusal{Status: http.StatusServiceUnavailable, Message: "Too many people are opening servers at this moment; try again in a minute."}
	}
	return want + "?" + url.Values{"code": {code}, "state": {state}}.Encode(), nil
}

// Callback answers GET /user/{owner}/oauth_callback on the owner's
// origin: the state must match this browser's state cookie, the code
// must be unused, unexpired and issued for this origin, this owner and
// this state, and its holder must still be logged in and still hold
// access:servers on the owner. Then the browser gets the server cookie
// and the Location of the page it first asked for. Every attempt spends
// the state cookie and the code.
func (u *UserPath) Callback(w http.ResponseWriter, r *http.Request, owner string) (string, *Refusal) {
	a := u.auth
	q := r.URL.Query()
	if q.Get("error") != "" {
		return "", badHandoff(http.StatusBadRequest, "The hub did not sign you in to this server; open it again from the hub's home page.")
	}
	code, state := q.Get("code"), q.Get("state")
	if code == "" || state == "" {
		return "", badHandoff(http.StatusBadRequest, "This sign-in address lacks its code or its state; open the server again from the hub's home page.")
	}
	cookieState, next := a.handoffState(r)
	secure := a.opts.Proxies.IsHTTPS(r)
	http.SetCookie(w, &http.Cookie{Name: cookieName(StateCookie, secure), Value: "", Path: "/", MaxAge: -1, HttpOnly: true, Secure: secure, SameSite: http.SameSiteLaxMode})
	now := a.Sessions.now()
	g, ok := a.handoff.codes.take(code, now)
	if cookieState == "" || subtle.ConstantTimeCompare([]byte(cookieState), []byte(state)) != 1 {
		return "", badHandoff(http.StatusForbidden, "This sign-in did not start in this browser, or took too long; open the server again from the hub's home page.")
	}
	if !ok {
		return "", badHandoff(http.StatusBadRequest, "This sign-in code was used already or has expired; open the server again from the hub's home page.")
	}
	if g.owner != owner || g.host != requestHost(a, r) || g.state != state {
		return "", badHandoff(http.StatusForbidden, "This sign-in was made for another server; open the server again from the hub's home page.")
	}
	usr, err := a.loginUser(r, g.userID, g.generation, g.sessionID)
	if errors.Is(err, ErrUnauthenticated) {
		return "", badHandoff(http.StatusUnauthorized, httperr.Unauthenticated)
	}
	if err != nil {
		return "", notAuthenticated(r, err)
	}
	p := a.serverPrincipal(usr, g.sessionID, owner)
	if ref := p.Need(u.scope, owner); ref != nil {
		return "", ref
	}
	if err := a.setServerCookie(w, r, usr, g.sessionID, owner); err != nil {
		return "", &Refusal{Status: http.StatusInternalServerError, Message: httperr.Internal, Err: err}
	}
	home := "/user/" + owner + "/"
	if !strings.HasPrefix(next, home) || strings.ContainsAny(next, "\\\r\n\t\x00") {
		next = home
	}
	return next, nil
}

// EndServerCookie clears the server cookie of r's origin (the server's
// own Log Out).
func (a *Authenticator) EndServerCookie(w http.ResponseWriter, r *http.Request) {
	secure := a.opts.Proxies.IsHTTPS(r)
	http.SetCookie(w, &http.Cookie{Name: cookieName(ServerCookie, secure), Value: "", Path: "/", MaxAge: -1, HttpOnly: true, Secure: secure, SameSite: http.SameSiteLaxMode})
}
