package spawner_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/sparkhub/sparkhub/db/dbtest"
	"github.com/sparkhub/sparkhub/spawner"
	"github.com/sparkhub/sparkhub/spawner/spawnertest"
)

// bootstrapEnv is a manager over a BootstrapFake whose servers trade
// their credentials through the manager's Bootstrap, as the hub's
// endpoint does for them; Env hands each a contents token of its own and
// RevokeEnv records whose were taken back.
type bootstrapEnv struct {
	*env
	fake spawnertest.BootstrapFake
	opts spawner.Options

	mu      sync.Mutex
	m       manager
	handed  map[string]string // user → the contents token Env last made
	revoked map[string]int    // user → RevokeEnv calls
}

func newBootstrapEnv(t *testing.T, gdb *gorm.DB, users ...string) *bootstrapEnv {
	b := &bootstrapEnv{env: newEnv(t, gdb, users...), handed: map[string]string{}, revoked: map[string]int{}}
	b.fake = spawnertest.NewBootstrapFake(func(ctx context.Context, user, credential string) (map[string]string, error) {
		return b.manager().Bootstrap(ctx, b.user(user), credential)
	})
	t.Cleanup(b.fake.Close)
	n := 0
	b.opts = spawner.Options{
		StartTimeout: time.Minute,
		BootstrapURL: func(user string) string { return "http://hub.test/hub/api/users/" + user + "/server/bootstrap" },
		Env: func(_ context.Context, u spawner.User) (map[string]string, error) {
			b.mu.Lock()
			defer b.mu.Unlock()
			n++
			tok := "contents-" + u.Name + "-" + strings.Repeat("x", n)
			b.handed[u.Name] = tok
			return map[string]string{"SPARKHUB_CONTENTS_TOKEN": tok}, nil
		},
		RevokeEnv: func(_ context.Context, u spawner.User) error {
			b.mu.Lock()
			defer b.mu.Unlock()
			b.revoked[u.Name]++
			return nil
		},
	}
	b.start()
	return b
}

// start builds a manager over the database and the fake, as a hub
// (re)starting does.
func (b *bootstrapEnv) start() manager {
	m := b.managerOf(b.opts, b.fake)
	b.mu.Lock()
	b.m = m
	b.mu.Unlock()
	return m
}

func (b *bootstrapEnv) manager() manager {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.m
}

func (b *bootstrapEnv) credential(user string) string {
	return b.fake.LastStart(user).Env[spawner.BootstrapCredentialEnv]
}

// TestBootstrap: a Bootstrapper's start carries no secret, only a
// credential; the server trades it once for its token and contents
// token, and is routed once it proves it holds the token. Another
// user's credential, a made-up one and an expired one are refused and
// change nothing; one traded already is refused and stops the server it
// was made for, starting or running, and what that server was handed is
// revoked. A hub restarted mid-start still takes a credential, and
// re-checks a running server's proof before routing it again.
func TestBootstrap(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, gdb *gorm.DB) {
		b := newBootstrapEnv(t, gdb, "alice", "bob", "carol", "dave")
		m := b.manager()
		ctx := context.Background()
		bob, carol := b.user("bob"), b.user("carol")

		startReady(t, m, "alice")
		req := b.fake.LastStart("alice")
		if req.Token != "" || len(req.Env) != 2 || req.Env[spawner.BootstrapURLEnv] == "" || b.credential("alice") == "" {
			t.Fatalf("the backend was handed token %q and env %v; want no token, only where and with what to fetch it", req.Token, req.Env)
		}
		target, token, _, ok := m.Route("alice")
		if !ok || token == "" {
			t.Fatal("alice's server is not routed")
		}
		// The server got its token and contents token from the trade.
		if code := get(t, target.String()+"/user/alice/env", token); code != http.StatusOK {
			t.Fatalf("alice's server does not take the token it was routed with: %d", code)
		}

		for _, u := range []string{"bob", "carol", "dave"} {
			b.fake.Hang(u, true) // they never trade their credentials themselves
			startPending(t, m, u)
		}
		bobCred, carolCred := b.credential("bob"), b.credential("carol")
		for _, c := range []struct {
			name       string
			user       spawner.User
			credential string
		}{
			{"another user's", b.user("alice"), bobCred},
			{"another user's, at a starting server", carol, bobCred},
			{"made up", bob, strings.Repeat("0", len(bobCred))},
			{"empty", bob, ""},
		} {
			if env, err := m.Bootstrap(ctx, c.user, c.credential); !errors.Is(err, spawner.ErrBootstrapUnknown) || env != nil {
				t.Errorf("%s credential: %v, %v; want ErrBootstrapUnknown and nothing", c.name, env, err)
			}
		}
		if state(m, "bob") != spawner.Spawning || state(m, "carol") != spawner.Spawning || state(m, "alice") != spawner.Running {
			t.Fatalf("refusals changed servers: alice %s, bob %s, carol %s", state(m, "alice"), state(m, "bob"), state(m, "carol"))
		}

		// Expired: the start's deadline has passed.
		if err := gdb.Exec("UPDATE hub_servers SET bootstrap_expires = ? WHERE user_id = ?", time.Now().Add(-time.Second).UTC(), carol.ID).Error; err != nil {
			t.Fatal(err)
		}
		if _, err := m.Bootstrap(ctx, carol, carolCred); !errors.Is(err, spawner.ErrBootstrapExpired) {
			t.Errorf("expired credential: %v, want ErrBootstrapExpired", err)
		}
		if state(m, "carol") != spawner.Spawning {
			t.Errorf("an expired credential changed carol's server: %s", state(m, "carol"))
		}

		// bob's own credential works, once.
		env, err := m.Bootstrap(ctx, bob, bobCred)
		if err != nil || env["JUPYTER_TOKEN"] == "" || env["SPARKHUB_CONTENTS_TOKEN"] != b.handed["bob"] {
			t.Fatalf("bob's credential: %v, %v; want his token and contents token", env, err)
		}
		if _, err := m.Bootstrap(ctx, bob, bobCred); !errors.Is(err, spawner.ErrBootstrapUsed) {
			t.Errorf("bob's credential again: %v, want ErrBootstrapUsed", err)
		}
		eventually(t, "bob's server to stop", func() bool { return !state(m, "bob").Live() })
		if md := model(t, m, "bob"); !strings.Contains(md.StopReason, "used twice") {
			t.Errorf("bob's server ended with %q, want a reason saying its credential was used twice", md.StopReason)
		}
		// And a running server whose credential comes again.
		if _, err := m.Bootstrap(ctx, b.user("alice"), b.credential("alice")); !errors.Is(err, spawner.ErrBootstrapUsed) {
			t.Errorf("alice's credential again: %v, want ErrBootstrapUsed", err)
		}
		eventually(t, "alice's server to stop", func() bool { return !state(m, "alice").Live() })
		if _, _, _, ok := m.Route("alice"); ok {
			t.Error("alice's server is still routed")
		}
		b.mu.Lock()
		if b.revoked["alice"] == 0 || b.revoked["bob"] == 0 || b.revoked["carol"] != 0 {
			t.Errorf("revoked %v; want alice's and bob's, not carol's", b.revoked)
		}
		b.mu.Unlock()

		// A hub restarted mid-start: dave's credential still works once.
		// alice's running server is proved again before it is routed.
		b.fake.Hang("alice", false)
		startReady(t, m, "alice")
		if err := m.Close(); err != nil {
			t.Fatal(err)
		}
		m = b.start()
		if err := m.RecoverAll(ctx); err != nil {
			t.Fatal(err)
		}
		if _, _, _, ok := m.Route("alice"); !ok {
			t.Error("alice's running server is not routed again after the restart")
		}
		if env, err := m.Bootstrap(ctx, b.user("dave"), b.credential("dave")); err != nil || env["JUPYTER_TOKEN"] == "" {
			t.Errorf("dave's credential after a restart: %v, %v; want his token", env, err)
		}
		if _, err := m.Bootstrap(ctx, b.user("dave"), b.credential("dave")); !errors.Is(err, spawner.ErrBootstrapUsed) {
			t.Errorf("dave's credential again after a restart: %v, want ErrBootstrapUsed", err)
		}
	})
}

// TestProofVector pins Proof to the bytes sparkhub_contents computes
// (tests/test_hub_links.py has the same vector): the hub and the
// servers must agree on it.
func TestProofVector(t *testing.T) {
	got := spawner.Proof("tok-alice", "/user/alice/", "00112233445566778899aabbccddeeff")
	const want = "5fd8fb12aa99b7ccc62a77483dd6d30ae5264367032c4388806ffcc8783c574b"
	if got != want {
		t.Errorf("Proof = %s, want %s", got, want)
	}
}
