package images_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"log/slog"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/sparkhub/sparkhub/auth"
	"github.com/sparkhub/sparkhub/db"
	"github.com/sparkhub/sparkhub/db/dbtest"
	"github.com/sparkhub/sparkhub/hub"
	"github.com/sparkhub/sparkhub/images/pythontest"
	"github.com/sparkhub/sparkhub/spawner"
	"github.com/sparkhub/sparkhub/spawner/spawnertest"
)

// TestEntrypointBootstrap runs the image's entrypoint, with Debian's
// python3 and sparkhub_contents, as a server the hub started with a
// bootstrap credential, against the hub's real endpoint: the command
// runs with the token and contents token the hub handed out, and
// without the credential. The same credential again, and another user's,
// are refused: the entrypoint says why and runs nothing.
func TestEntrypointBootstrap(t *testing.T) {
	pythontest.Need(t, "python3", "json")
	hubURL, creds := bootstrapHub(t, "alice", "bob")
	printEnv := []string{"sh", "-c", `env | grep -E '^(JUPYTER_TOKEN|SPARKHUB_)' | sort`}
	run := func(user, credential string) (stdout, stderr string, err error) {
		cmd := exec.Command("sh", append([]string{"entrypoint.sh"}, printEnv...)...)
		cmd.Env = []string{
			"PATH=" + os.Getenv("PATH"), "SPARK_CONF_DIR=" + t.TempDir(),
			"SPARKHUB_PYTHON=" + pythontest.Python, "PYTHONPATH=" + pythontest.Package(t),
			spawner.BootstrapURLEnv + "=" + hub.BootstrapURL(hubURL)(user),
			spawner.BootstrapCredentialEnv + "=" + credential,
		}
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		err = cmd.Run()
		return out.String(), errb.String(), err
	}

	out, errOut, err := run("alice", creds["alice"])
	if err != nil {
		t.Fatalf("entrypoint: %v\n%s", err, errOut)
	}
	env := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		k, v, _ := strings.Cut(line, "=")
		env[k] = v
	}
	if len(env["JUPYTER_TOKEN"]) != 64 || env["SPARKHUB_CONTENTS_TOKEN"] == "" || env["SPARKHUB_CONTENTS_URL"] != hubURL+"/user/alice/api/contents" {
		t.Errorf("the command ran with %v; want the token, contents token and URL the hub handed out", env)
	}
	for _, k := range []string{spawner.BootstrapCredentialEnv, spawner.BootstrapURLEnv} {
		if _, ok := env[k]; ok {
			t.Errorf("the command still sees %s", k)
		}
	}

	for _, c := range []struct {
		name, user, credential, says string
	}{
		{"the same credential again", "alice", creds["alice"], "used already"},
		{"bob's credential at alice's", "alice", creds["bob"], "not that of a server of this user"},
	} {
		t.Run(c.name, func(t *testing.T) {
			out, errOut, err := run(c.user, c.credential)
			if err == nil || out != "" || !strings.Contains(errOut, "sparkhub-bootstrap: the hub refused (403): ") || !strings.Contains(errOut, c.says) {
				t.Errorf("err %v, stdout %q, stderr %q; want a refusal saying %q and nothing run", err, out, errOut, c.says)
			}
		})
	}
}

// bootstrapHub is the hub's bootstrap endpoint as main wires it, over a
// backend whose servers start, as on Mesos, with a credential they do not
// trade themselves; it returns the hub's URL and each user's credential.
func bootstrapHub(t *testing.T, users ...string) (string, map[string]string) {
	t.Helper()
	gdb := dbtest.Open(t, db.SQLite)
	key := make([]byte, 32)
	rand.Read(key)
	pw, err := auth.NewPasswords(bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	a := auth.NewAuthenticator(auth.NewStore(gdb), pw, auth.NewSessions(key, auth.DefaultSessionTTL), auth.Options{})
	log := slog.New(slog.DiscardHandler)
	srv := httptest.NewUnstartedServer(nil)
	hubURL := "http://" + srv.Listener.Addr().String()
	fake := spawnertest.NewBootstrapFake(nil)
	t.Cleanup(fake.Close)
	m, err := spawner.New(context.Background(), gdb, spawner.Options{
		Env: hub.ContentsEnv(a.Store, hubURL), RevokeEnv: hub.RevokeContentsEnv(a.Store), BootstrapURL: hub.BootstrapURL(hubURL),
		Users: a.Store, Logger: log,
	}, fake)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	h, err := hub.New(hub.DefaultOptions(), hub.Deps{DB: gdb, Auth: a, Logger: log, Version: "test", Spawner: m})
	if err != nil {
		t.Fatal(err)
	}
	srv.Config.Handler = h.Handler()
	srv.Start()
	t.Cleanup(srv.Close)
	creds := map[string]string{}
	for _, name := range users {
		u, err := a.Store.CreateUser(context.Background(), name, false, "")
		if err != nil {
			t.Fatal(err)
		}
		fake.Hang(name, true) // its server never trades its credential
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		_, err = m.Start(ctx, spawner.User{ID: u.ID, Name: u.Name}, "")
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		creds[name] = fake.LastStart(name).Env[spawner.BootstrapCredentialEnv]
	}
	return hubURL, creds
}
