// Package oidctest runs a real OpenID provider for tests: zitadel/oidc's
// example OP (an OpenID-certified library), in-process on loopback, with
// users and groups of the test's choosing and knobs that make it
// misbehave the ways a hub must notice.
package oidctest

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/example/server/exampleop"
	"github.com/zitadel/oidc/v3/example/server/storage"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// User is a person at the provider.
type User struct {
	Username, Password string
	Groups             []string
}

// Client IDs and secrets the provider knows; both redirect to the
// redirect URI Start is given.
const (
	ClientID     = "sparkhub"
	ClientSecret = "sparkhub-client-secret"
)

// Provider is a running OpenID provider.
type Provider struct {
	Issuer string
	store  *groupStorage
}

// Start runs a provider at a loopback address whose client ClientID may
// redirect to redirectURI, for users.
func Start(t testing.TB, redirectURI string, users []User) *Provider {
	t.Helper()
	srv := httptest.NewUnstartedServer(nil)
	issuer := "http://" + srv.Listener.Addr().String() + "/"
	all := map[string]*storage.User{}
	groups := map[string][]string{}
	for i, u := range users {
		id := fmt.Sprintf("id%d", i+1)
		all[id] = &storage.User{ID: id, Username: u.Username, Password: u.Password, FirstName: u.Username, LastName: "Test", Email: u.Username + "@example.test", EmailVerified: true}
		groups[id] = u.Groups
	}
	b, err := json.Marshal(all)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "users.json")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	us, err := storage.StoreFromFile(path)
	if err != nil {
		t.Fatal(err)
	}
	client := storage.WebClient(ClientID, ClientSecret, redirectURI)
	gs := &groupStorage{Storage: storage.NewStorageWithClients(us, map[string]*storage.Client{ClientID: client}), users: all, groups: groups}
	srv.Config.Handler = exampleop.SetupServer(issuer, gs, nil, false)
	srv.Start()
	t.Cleanup(srv.Close)
	return &Provider{Issuer: issuer, store: gs}
}

// ForHub runs a provider for a `sparkhub serve` yet to start: it picks
// the hub's loopback address, and returns the provider and the flags
// that make the hub listen there and sign people in with it (the
// client secret in a file), named "Example SSO"; the test adds who may
// log in.
func ForHub(t testing.TB, users []User) (*Provider, []string) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	redirect := "http://" + addr + "/hub/oauth_callback"
	p := Start(t, redirect, users)
	secret := filepath.Join(t.TempDir(), "oidc-client-secret")
	if err := os.WriteFile(secret, []byte(ClientSecret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p, []string{"--listen", addr, "--auth", "oidc", "--oidc-issuer", p.Issuer, "--oidc-client-id", ClientID,
		"--oidc-client-secret-file", secret, "--oidc-redirect-url", redirect, "--oidc-name", "Example SSO"}
}

// Misbehave sets how the provider's next ID tokens go wrong: with nonce
// instead of the sign-in's ("": right), or already expired.
func (p *Provider) Misbehave(nonce string, expired bool) {
	p.store.mu.Lock()
	defer p.store.mu.Unlock()
	p.store.nonce, p.store.expired = nonce, expired
}

// SetGroups changes username's groups at the provider.
func (p *Provider) SetGroups(username string, groups []string) {
	p.store.mu.Lock()
	defer p.store.mu.Unlock()
	for id, u := range p.store.users {
		if u.Username == username {
			p.store.groups[id] = groups
		}
	}
}

// Sign signs claims as a JWT with the provider's own key: a token it
// could have issued to anyone.
func (p *Provider) Sign(t testing.TB, claims map[string]any) string {
	t.Helper()
	k, err := p.store.SigningKey(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	signer, err := op.SignerFromKey(k)
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	jws, err := signer.Sign(b)
	if err != nil {
		t.Fatal(err)
	}
	s, err := jws.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// RotateKey makes the provider sign with a new key, published in its
// JWKS beside the old one.
func (p *Provider) RotateKey(t testing.TB) {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	p.store.mu.Lock()
	defer p.store.mu.Unlock()
	p.store.rotated = &rsaKey{id: fmt.Sprintf("rotated-%d", time.Now().UnixNano()), key: k}
}

// Login signs username in at the provider's login page, which a client
// following redirects (with a cookie jar) has reached at loginPage, and
// returns the provider's answer with redirects followed as c does.
func Login(c *http.Client, loginPage *url.URL, username, password string) (*http.Response, error) {
	id := loginPage.Query().Get("authRequestID")
	u := *loginPage
	u.RawQuery = ""
	return c.PostForm(u.String(), url.Values{"id": {id}, "username": {username}, "password": {password}})
}

// groupStorage is the example's storage with groups in the ID token
// and the knobs.
type groupStorage struct {
	*storage.Storage
	users  map[string]*storage.User
	groups map[string][]string

	mu      sync.Mutex
	nonce   string
	expired bool
	rotated *rsaKey
}

func (s *groupStorage) SetUserinfoFromRequest(ctx context.Context, ui *oidc.UserInfo, token op.IDTokenRequest, scopes []string) error {
	if err := s.Storage.SetUserinfoFromRequest(ctx, ui, token, scopes); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if u := s.users[token.GetSubject()]; u != nil {
		ui.PreferredUsername = u.Username
		ui.AppendClaims("groups", s.groups[u.ID])
	}
	return nil
}

func (s *groupStorage) AuthRequestByCode(ctx context.Context, code string) (op.AuthRequest, error) {
	r, err := s.Storage.AuthRequestByCode(ctx, code)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return &wrongRequest{AuthRequest: r, nonce: s.nonce}, nil
}

func (s *groupStorage) GetClientByClientID(ctx context.Context, id string) (op.Client, error) {
	c, err := s.Storage.GetClientByClientID(ctx, id)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.expired {
		return expiredClient{c}, nil
	}
	return c, nil
}

func (s *groupStorage) SigningKey(ctx context.Context) (op.SigningKey, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.rotated != nil {
		return s.rotated, nil
	}
	return s.Storage.SigningKey(ctx)
}

func (s *groupStorage) KeySet(ctx context.Context) ([]op.Key, error) {
	keys, err := s.Storage.KeySet(ctx)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.rotated != nil {
		keys = append(keys, publicKey{s.rotated})
	}
	return keys, err
}

type wrongRequest struct {
	op.AuthRequest
	nonce string
}

func (r *wrongRequest) GetNonce() string {
	if r.nonce != "" {
		return r.nonce
	}
	return r.AuthRequest.GetNonce()
}

// expiredClient's ID tokens expired an hour before they were made.
type expiredClient struct{ op.Client }

func (expiredClient) IDTokenLifetime() time.Duration { return -time.Hour }

// rsaKey is a signing key and its public half in the JWKS.
type rsaKey struct {
	id  string
	key *rsa.PrivateKey
}

func (k *rsaKey) SignatureAlgorithm() jose.SignatureAlgorithm { return jose.RS256 }
func (k *rsaKey) ID() string                                  { return k.id }
func (k *rsaKey) Key() any                                    { return k.key }

// publicKey is a signing key as the JWKS shows it.
type publicKey struct{ k *rsaKey }

func (p publicKey) Algorithm() jose.SignatureAlgorithm { return jose.RS256 }
func (p publicKey) ID() string                         { return p.k.id }
func (p publicKey) Use() string                        { return "sig" }
func (p publicKey) Key() any                           { return &p.k.key.PublicKey }
