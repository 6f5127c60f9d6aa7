package auth

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// OIDCStateCookie binds a sign-in under way to the browser that began
// it: it holds the state sent to the provider.
const OIDCStateCookie = "sparkhub-oidc-state"

// oidcLoginTTL is how long a person has at the provider's pages.
const oidcLoginTTL = 10 * time.Minute

// maxOIDCLogins bounds the sign-ins under way.
const maxOIDCLogins = 10000

// OIDCConfig is how the hub signs people in with an OpenID provider
// (--oidc-*).
type OIDCConfig struct {
	// Issuer is the provider's issuer URL, where discovery starts.
	Issuer       string
	ClientID     string
	ClientSecret string
	// RedirectURL is the hub's /hub/oauth_callback as the provider
	// knows it.
	RedirectURL string
	// Scopes asked for besides openid.
	Scopes []string
	// UsernameClaim is the ID token's claim that names the person
	// (preferred_username, email, ...); GroupsClaim the one that lists
	// their groups ("" for none).
	UsernameClaim, GroupsClaim string
	// Name is the provider's name on the login page.
	Name string
	// EndSession ends the provider's session too at logout, when it
	// has an end_session_endpoint; PostLogoutURL is where it sends the
	// browser then.
	EndSession    bool
	PostLogoutURL string
	// ClockSkew is how far the provider's clock may be ahead of the
	// hub's for an ID token's expiry.
	ClockSkew time.Duration
	// HTTPClient talks to the provider; nil is http.DefaultClient.
	HTTPClient *http.Client
}

// OIDC signs people in with an OpenID provider: the authorization code
// flow with PKCE, state and nonce, and the ID token verified by go-oidc
// (signature from the provider's JWKS, refetched when a key is new;
// issuer; audience; expiry).
type OIDC struct {
	cfg        OIDCConfig
	oauth      oauth2.Config
	provider   *oidc.Provider
	endSession string
	now        func() time.Time

	// pending are the sign-ins sent to the provider and not yet back,
	// by their state.
	pending *oneTime[pendingLogin]
}

// pendingLogin is a sign-in sent to the provider and not yet back.
type pendingLogin struct{ nonce, verifier, next string }

// NewOIDC discovers the provider at cfg.Issuer.
func NewOIDC(ctx context.Context, cfg OIDCConfig) (*OIDC, error) {
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = http.DefaultClient
	}
	if cfg.UsernameClaim == "" {
		cfg.UsernameClaim = "preferred_username"
	}
	if cfg.Name == "" {
		cfg.Name = "your company account"
	}
	p, err := oidc.NewProvider(oidc.ClientContext(ctx, cfg.HTTPClient), cfg.Issuer)
	if err != nil {
		return nil, fmt.Errorf("discover the OpenID provider at %s: %w", cfg.Issuer, err)
	}
	var extra struct {
		EndSession string `json:"end_session_endpoint"`
	}
	if err := p.Claims(&extra); err != nil {
		return nil, fmt.Errorf("read the OpenID provider's discovery document: %w", err)
	}
	scopes := []string{oidc.ScopeOpenID}
	for _, s := range cfg.Scopes {
		if s != oidc.ScopeOpenID {
			scopes = append(scopes, s)
		}
	}
	return &OIDC{
		cfg:        cfg,
		provider:   p,
		endSession: extra.EndSession,
		now:        time.Now,
		pending:    newOneTime[pendingLogin](maxOIDCLogins),
		oauth: oauth2.Config{
			ClientID: cfg.ClientID, ClientSecret: cfg.ClientSecret,
			Endpoint: p.Endpoint(), RedirectURL: cfg.RedirectURL, Scopes: scopes,
		},
	}, nil
}

// Name is the provider's name for the login page.
func (o *OIDC) Name() string { return o.cfg.Name }

// errTooManyLogins is a sign-in refused because too many are under way.
var errTooManyLogins = errors.New("too many sign-ins under way")

// Begin starts a sign-in that comes back to next: it returns the
// provider's URL to send the browser to, and the state, which the
// browser must bring back in OIDCStateCookie.
func (o *OIDC) Begin(next string) (authURL, state string, err error) {
	nonce, verifier := randomString(32), oauth2.GenerateVerifier()
	now := o.now()
	state, ok := o.pending.put(pendingLogin{nonce: nonce, verifier: verifier, next: next}, now.Add(oidcLoginTTL), now)
	if !ok {
		return "", "", errTooManyLogins
	}
	return o.oauth.AuthCodeURL(state, oidc.Nonce(nonce), oauth2.S256ChallengeOption(verifier)), state, nil
}

// Finish completes a sign-in at the callback, whose query is q, in a
// browser whose OIDCStateCookie holds cookieState. It returns who the
// provider says the person is and the next the sign-in began with. A
// state that is not the browser's, unknown, used before or expired, an
// error from the provider, a code it will not exchange, an ID token
// that fails verification or whose nonce is not the sign-in's, and a
// missing username claim are each a *RefusedError saying so.
func (o *OIDC) Finish(ctx context.Context, q url.Values, cookieState string) (Identity, string, error) {
	state := q.Get("state")
	if state == "" || subtle.ConstantTimeCompare([]byte(state), []byte(cookieState)) != 1 {
		return Identity{}, "", refusedf("This sign-in did not begin in this browser. Please sign in again.")
	}
	p, ok := o.pending.take(state, o.now())
	if !ok {
		return Identity{}, "", refusedf("This sign-in was already used or has expired. Please sign in again.")
	}
	if e := q.Get("error"); e != "" {
		return Identity{}, "", refusedf("%s did not sign you in (%s). Please sign in again.", o.cfg.Name, shorten(e, 80))
	}
	code := q.Get("code")
	if code == "" {
		return Identity{}, "", refusedf("%s sent no sign-in code. Please sign in again.", o.cfg.Name)
	}
	ctx = oidc.ClientContext(ctx, o.cfg.HTTPClient)
	tok, err := o.oauth.Exchange(ctx, code, oauth2.VerifierOption(p.verifier))
	if err != nil {
		var re *oauth2.RetrieveError
		if errors.As(err, &re) {
			return Identity{}, "", refusedf("%s did not accept the sign-in code (%s). Please sign in again.", o.cfg.Name, shorten(re.ErrorCode, 80))
		}
		return Identity{}, "", fmt.Errorf("exchange the sign-in code: %w", err)
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return Identity{}, "", refusedf("%s sent no ID token. Please sign in again.", o.cfg.Name)
	}
	v := o.provider.Verifier(&oidc.Config{ClientID: o.cfg.ClientID, Now: func() time.Time { return o.now().Add(-o.cfg.ClockSkew) }})
	idt, err := v.Verify(ctx, raw)
	if err != nil {
		return Identity{}, "", o.verifyRefusal(err)
	}
	if subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(p.nonce)) != 1 {
		return Identity{}, "", refusedf("The ID token from %s was not made for this sign-in (its nonce differs). Please sign in again.", o.cfg.Name)
	}
	var claims map[string]any
	if err := idt.Claims(&claims); err != nil {
		return Identity{}, "", refusedf("The ID token from %s could not be read.", o.cfg.Name)
	}
	name, _ := claims[o.cfg.UsernameClaim].(string)
	if name == "" {
		return Identity{}, "", refusedf("%s did not say your %s, which this hub takes as your username; ask an admin.", o.cfg.Name, o.cfg.UsernameClaim)
	}
	id := Identity{Name: strings.ToLower(name)}
	if o.cfg.GroupsClaim != "" {
		switch g := claims[o.cfg.GroupsClaim].(type) {
		case string:
			id.Groups = []string{g}
		case []any:
			for _, v := range g {
				if s, ok := v.(string); ok && s != "" {
					id.Groups = append(id.Groups, s)
				}
			}
		}
	}
	return id, p.next, nil
}

// verifyRefusal says why an ID token failed verification.
func (o *OIDC) verifyRefusal(err error) error {
	var expired *oidc.TokenExpiredError
	msg := err.Error()
	switch {
	case errors.As(err, &expired):
		return refusedf("The ID token from %s has expired. Please sign in again.", o.cfg.Name)
	case strings.Contains(msg, "audience"):
		return refusedf("The ID token from %s was made for another application, not this hub.", o.cfg.Name)
	case strings.Contains(msg, "issuer"):
		return refusedf("The ID token did not come from %s.", o.cfg.Name)
	case strings.Contains(msg, "signature"):
		return refusedf("The ID token's signature is not %s's. Please sign in again.", o.cfg.Name)
	}
	return refusedf("The ID token from %s could not be verified. Please sign in again.", o.cfg.Name)
}

// LogoutURL is where to send a browser after logout to end the
// provider's session too, or "" when the hub does not (EndSession off,
// or no end_session_endpoint).
func (o *OIDC) LogoutURL() string {
	if !o.cfg.EndSession || o.endSession == "" {
		return ""
	}
	q := url.Values{"client_id": {o.cfg.ClientID}}
	if o.cfg.PostLogoutURL != "" {
		q.Set("post_logout_redirect_uri", o.cfg.PostLogoutURL)
	}
	sep := "?"
	if strings.Contains(o.endSession, "?") {
		sep = "&"
	}
	return o.endSession + sep + q.Encode()
}

// shorten cuts s to at most n bytes of printable ASCII.
func shorten(s string, n int) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r >= 0x7f {
			return -1
		}
		return r
	}, s)
	if len(s) > n {
		s = s[:n]
	}
	return s
}
