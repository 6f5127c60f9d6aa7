package spawner

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
)

// Bootstrapper is an optional ability of a backend whose servers must
// carry no secret in what it launches: a Mesos task's definition,
// environment included, is the master's and the agents' to show to
// whoever may read their state. The manager then gives Start no Token
// and nothing of Options.Env; the request's Env names instead where and
// with what the server fetches them (BootstrapURLEnv and
// BootstrapCredentialEnv): a random credential, good once, until the
// start's deadline (Manager.Bootstrap). And the manager takes the server
// as ready only once the listener at its address proves it holds the
// server's token (Proof); it never sends the token to find out.
type Bootstrapper interface {
	Backend
	// BootstrapsSecrets marks the ability; it does nothing.
	BootstrapsSecrets()
}

// What a Bootstrapper's server finds in its environment instead of its
// secrets. The server POSTs {"credential": "..."} to the URL and gets
// {"env": {...}}: JUPYTER_TOKEN and what Options.Env gives (the contents
// service's URL and token), which it sets before Jupyter starts.
const (
	BootstrapURLEnv        = "SPARKHUB_BOOTSTRAP_URL"
	BootstrapCredentialEnv = "SPARKHUB_BOOTSTRAP_CREDENTIAL"
)

// ProofPath is where, under its base URL, a Bootstrapper's server answers
// the hub's readiness probe: GET {base}sparkhub/proof?challenge=HEX,
// with no credential, answered {"proof": Proof(token, base, challenge)}.
const ProofPath = "sparkhub/proof"

// Proof is what a server answers a challenge with: HMAC-SHA256, keyed
// with its token, of "sparkhub-proof", its base URL and the challenge,
// a line each, in hex. Only a listener holding the token computes it.
func Proof(token, baseURL, challenge string) string {
	mac := hmac.New(sha256.New, []byte(token))
	io.WriteString(mac, "sparkhub-proof\n"+baseURL+"\n"+challenge)
	return hex.EncodeToString(mac.Sum(nil))
}

// Why Bootstrap refuses a credential; the hub answers 403 with a
// sentence for each and changes nothing, except after ErrBootstrapUsed.
var (
	// ErrBootstrapUnknown: the credential is not that of a start of
	// this user's under way (another user's, an earlier start's, or
	// made up).
	ErrBootstrapUnknown = errors.New("the credential is not that of a server of this user that is starting")
	// ErrBootstrapUsed: the credential was traded already. Two parties
	// hold it, and the hub cannot tell which is the server it started:
	// that server is stopped and what it was handed revoked.
	ErrBootstrapUsed = errors.New("the credential was already used")
	// ErrBootstrapExpired: the start's deadline has passed.
	ErrBootstrapExpired = errors.New("the credential has expired")
)

// Bootstrap trades the credential a Bootstrapper's server was started
// with for its environment: its token as JUPYTER_TOKEN and what
// Options.Env gives (called now, so secrets it makes are handed out once
// and never stored whole). Anyone may call it, through the hub: the
// credential is the only proof asked. It works once per start, for the
// user u whose server is starting, until the start's deadline; a second
// call with the same credential before then stops that server, whether
// it is starting or already running, since the hub can no longer tell
// whether it is talking to the server it started.
func (m *Manager) Bootstrap(ctx context.Context, u User, credential string) (map[string]string, error) {
	s := m.lookup(u.Name)
	if s == nil || s.userID != u.ID || credential == "" {
		return nil, ErrBootstrapUnknown
	}
	rows, err := m.store.byUsers(ctx, []int64{u.ID})
	if err != nil {
		return nil, err
	}
	hash := bootstrapHash(credential)
	if len(rows) != 1 || rows[0].BootstrapHash == "" || rows[0].BootstrapExpires == nil ||
		subtle.ConstantTimeCompare([]byte(rows[0].BootstrapHash), []byte(hash)) != 1 {
		return nil, ErrBootstrapUnknown
	}
	r := rows[0]
	t := now()
	if t.After(*r.BootstrapExpires) {
		return nil, ErrBootstrapExpired
	}
	log := m.log.With("user", u.Name)
	if r.Bootstrapped != nil {
		m.bootstrapReplayed(s, log)
		return nil, ErrBootstrapUsed
	}
	if s.getState() != Spawning {
		return nil, ErrBootstrapUnknown
	}
	won, err := m.store.claimBootstrap(ctx, u.ID, hash, t)
	if err != nil {
		return nil, err
	}
	if !won {
		m.bootstrapReplayed(s, log)
		return nil, ErrBootstrapUsed
	}
	env := map[string]string{}
	if m.opts.Env != nil {
		if env, err = m.opts.Env(ctx, u); err != nil {
			return nil, fmt.Errorf("environment hook: %w", err)
		}
	}
	s.mu.Lock()
	env["JUPYTER_TOKEN"] = s.token
	s.mu.Unlock()
	log.Info("server fetched its tokens")
	return env, nil
}

// bootstrapReplayed stops a server whose credential came a second time.
func (m *Manager) bootstrapReplayed(s *server, log *slog.Logger) {
	log.Warn("a used bootstrap credential came again; stopping the server it was made for")
	s.requestStop("Your server was stopped: the credential it starts with was used twice, so the hub could not be sure it was talking to your server. Start it again.")
}

func bootstrapHash(credential string) string {
	h := sha256.Sum256([]byte(credential))
	return hex.EncodeToString(h[:])
}

// proves asks the listener at the server's address for the proof that it
// holds the token, without sending the token. It reports whether the
// proof is right, and whether something answered at all (with a
// status, right or wrong).
func (m *Manager) proves(ctx context.Context, probe *url.URL, baseURL, token string) (ok, answered bool) {
	challenge := newToken()
	u := *probe
	u.RawQuery = url.Values{"challenge": {challenge}}.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return false, false
	}
	resp, err := m.opts.HTTPClient.Do(req)
	if err != nil {
		return false, false
	}
	defer resp.Body.Close()
	var body struct {
		Proof string `json:"proof"`
	}
	if resp.StatusCode != http.StatusOK || json.NewDecoder(io.LimitReader(resp.Body, 4<<10)).Decode(&body) != nil {
		io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		return false, true
	}
	want := Proof(token, baseURL, challenge)
	return hmac.Equal([]byte(body.Proof), []byte(want)), true
}
