package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sparkhub/sparkhub/db/dbtest"
	"github.com/sparkhub/sparkhub/hub/hubtest"
	"github.com/sparkhub/sparkhub/images"
	"github.com/sparkhub/sparkhub/spawner"
)

var binary string

func TestMain(m *testing.M) {
	hubtest.Main(m, &binary)
}

// sparkhub runs the binary and returns its stdout and stderr.
func sparkhub(t *testing.T, stdin string, env []string, args ...string) (string, string, error) {
	t.Helper()
	return hubtest.Run(binary, stdin, env, args...)
}

func mustRun(t *testing.T, stdin string, args ...string) string {
	t.Helper()
	return hubtest.MustRun(t, binary, stdin, nil, args...)
}

// startHub starts `sparkhub serve` on a free port; it is stopped with
// SIGTERM when the test ends.
func startHub(t *testing.T, env []string, args ...string) *hubtest.Hub {
	t.Helper()
	return hubtest.Start(t, binary, env, args...)
}

// serve is startHub for tests that need only the address and stdout.
func serve(t *testing.T, env []string, args ...string) (string, *hubtest.Buffer) {
	t.Helper()
	h := startHub(t, env, args...)
	return h.URL, h.Stdout
}

type client struct {
	t    *testing.T
	base string
	http *http.Client
}

func newClient(t *testing.T, base string) *client {
	jar, _ := cookiejar.New(nil)
	return &client{t: t, base: base, http: &http.Client{Jar: jar, Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

var xsrfField = regexp.MustCompile(`name="_xsrf" value="([^"]+)"`)

func (c *client) login(name, password string) *http.Response {
	c.t.Helper()
	resp, err := c.http.Get(c.base + "/hub/login")
	if err != nil {
		c.t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := xsrfField.FindSubmatch(page)
	if m == nil {
		c.t.Fatalf("no _xsrf in the login page")
	}
	resp, err = c.http.PostForm(c.base+"/hub/login", url.Values{"username": {name}, "password": {password}, "_xsrf": {string(m[1])}})
	if err != nil {
		c.t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

// xsrf is the _xsrf cookie the browser holds for a path: the hub's for
// /hub/, the one Jupyter or the contents service set for /user/{name}/.
func (c *client) xsrf(path string) string {
	u, _ := url.Parse(c.base + path)
	for _, ck := range c.http.Jar.Cookies(u) {
		if ck.Name == "_xsrf" {
			return ck.Value
		}
	}
	return ""
}

// api sends a request; authz is a token, "cookie" (with the XSRF header
// a page under that path would send), or "".
func (c *client) api(method, path, authz string, body any, out any) int {
	c.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, c.base+path, rd)
	hc := http.DefaultClient
	switch authz {
	case "":
	case "cookie":
		hc = c.http
		scope := "/hub/"
		if parts := strings.SplitN(path, "/", 4); len(parts) > 2 && parts[1] == "user" {
			scope = "/user/" + parts[2] + "/"
		}
		req.Header.Set("X-XSRFToken", c.xsrf(scope))
	default:
		req.Header.Set("Authorization", "token "+authz)
	}
	resp, err := hc.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	if out != nil {
		json.NewDecoder(resp.Body).Decode(out)
	}
	return resp.StatusCode
}

// TestEndToEnd builds the binary, prepares users and a token with the
// CLI, serves, logs in through the form and uses the API with the cookie
// and with tokens, on every database.
func TestEndToEnd(t *testing.T) {
	for _, engine := range dbtest.Engines {
		t.Run(engine, func(t *testing.T) {
			dbURL := dbtest.NewURL(t, engine)
			dataDir := t.TempDir()
			common := []string{"--db", dbURL, "--data-dir", dataDir, "--bcrypt-cost", "4"}

			if out := mustRun(t, "", append([]string{"db", "migrate"}, common...)...); !strings.Contains(out, "applied migrations") {
				t.Errorf("db migrate said %q", out)
			}
			if out := mustRun(t, "", append([]string{"db", "migrate"}, common...)...); !strings.Contains(out, "up to date") {
				t.Errorf("second db migrate said %q", out)
			}
			mustRun(t, "alice's password\n", append([]string{"user", "add", "alice", "--password-stdin"}, common...)...)
			bossPassword := strings.TrimSpace(mustRun(t, "", append([]string{"user", "add", "boss", "--admin"}, common...)...))
			if len(bossPassword) < 16 {
				t.Fatalf("user add printed %q, want the generated password", bossPassword)
			}
			if _, errOut, err := sparkhub(t, "", nil, append([]string{"user", "add", "alice"}, common...)...); err == nil || !strings.Contains(errOut, "already exists") {
				t.Errorf("adding alice twice: %v %s", err, errOut)
			}
			if _, errOut, err := sparkhub(t, "", nil, append([]string{"user", "add", "Bad!"}, common...)...); err == nil || !strings.Contains(errOut, "valid username") {
				t.Errorf("adding an invalid name: %v %s", err, errOut)
			}
			list := mustRun(t, "", append([]string{"user", "list"}, common...)...)
			if !strings.Contains(list, "alice") || !strings.Contains(list, "boss") {
				t.Errorf("user list:\n%s", list)
			}
			bossToken := strings.TrimSpace(mustRun(t, "", append([]string{"token", "create", "boss", "--scopes", "list:users,read:users", "--note", "e2e", "--expires", "1h"}, common...)...))
			if len(bossToken) != 64 {
				t.Fatalf("token create printed %q, want only the token", bossToken)
			}
			if _, errOut, err := sparkhub(t, "", nil, append([]string{"token", "create", "alice", "--scopes", "list:users"}, common...)...); err == nil || !strings.Contains(errOut, "list:users") {
				t.Errorf("token with a scope alice lacks: %v %s", err, errOut)
			}

			// The environment twin of --db works the same.
			base, stdout := serve(t, []string{"SPARKHUB_DB=" + dbURL, "SPARKHUB_DATA_DIR=" + dataDir})
			if strings.Contains(stdout.String(), "password") {
				t.Errorf("serve printed a password although users exist: %q", stdout.String())
			}
			c := newClient(t, base)
			if code := c.api("GET", "/hub/health", "", nil, nil); code != 200 {
				t.Fatalf("health = %d", code)
			}
			if resp := c.login("alice", "wrong"); resp.StatusCode != http.StatusUnauthorized {
				t.Errorf("wrong password = %d", resp.StatusCode)
			}
			if resp := c.login("alice", "alice's password"); resp.StatusCode != http.StatusFound {
				t.Fatalf("login = %d", resp.StatusCode)
			}
			var me struct {
				Name   string   `json:"name"`
				Scopes []string `json:"scopes"`
			}
			if code := c.api("GET", "/hub/api/user", "cookie", nil, &me); code != 200 || me.Name != "alice" {
				t.Fatalf("whoami with cookie = %d %+v", code, me)
			}
			var tok struct {
				Token string `json:"token"`
			}
			if code := c.api("POST", "/hub/api/users/alice/tokens", "cookie", map[string]any{"note": "from the browser"}, &tok); code != 201 {
				t.Fatalf("token from the browser = %d", code)
			}
			if code := c.api("GET", "/hub/api/users/alice", tok.Token, nil, nil); code != 200 {
				t.Errorf("alice's token = %d", code)
			}
			var users []map[string]any
			if code := c.api("GET", "/hub/api/users", bossToken, nil, &users); code != 200 || len(users) != 2 {
				t.Errorf("boss listing users = %d, %d users", code, len(users))
			}
			if code := c.api("POST", "/hub/api/users", bossToken, map[string]any{"usernames": []string{"eve"}}, nil); code != 403 {
				t.Errorf("boss's read-only token creating users = %d, want 403", code)
			}
			bc := newClient(t, base)
			if resp := bc.login("boss", bossPassword); resp.StatusCode != http.StatusFound {
				t.Fatalf("boss login = %d", resp.StatusCode)
			}
			if code := bc.api("POST", "/hub/api/users", "cookie", map[string]any{"usernames": []string{"eve"}}, nil); code != 201 {
				t.Errorf("boss creating eve with the cookie = %d", code)
			}

			// A password change from the CLI logs alice out.
			// (A running hub sees another process's changes within a few
			// seconds: it caches lookups briefly.)
			mustRun(t, "a brand new password\n", append([]string{"user", "passwd", "alice", "--password-stdin"}, common...)...)
			hubtest.WaitFor(t, "alice's session to end after passwd", 15*time.Second, func() bool {
				return c.api("GET", "/hub/api/user", "cookie", nil, nil) == 401
			})
			mustRun(t, "", append([]string{"user", "del", "eve"}, common...)...)
			if code := bc.api("GET", "/hub/api/users/eve", "cookie", nil, nil); code != 404 {
				t.Errorf("eve after user del = %d", code)
			}
		})
	}
}

// TestFirstStart: an empty database gets an admin whose random password
// is printed once.
func TestFirstStart(t *testing.T) {
	dataDir := t.TempDir()
	base, stdout := serve(t, nil, "--data-dir", dataDir)
	m := regexp.MustCompile(`Created the user admin with the password (\S+)`).FindStringSubmatch(stdout.String())
	if m == nil {
		t.Fatalf("first start printed %q", stdout.String())
	}
	c := newClient(t, base)
	if resp := c.login("admin", m[1]); resp.StatusCode != http.StatusFound {
		t.Fatalf("admin login = %d", resp.StatusCode)
	}
	if _, err := os.Stat(filepath.Join(dataDir, "sparkhub.db")); err != nil {
		t.Errorf("no SQLite database in the data folder: %v", err)
	}
}

func TestFirstStartWithPasswordFromEnv(t *testing.T) {
	base, stdout := serve(t, []string{"SPARKHUB_ADMIN_PASSWORD=correct horse battery"}, "--data-dir", t.TempDir())
	if strings.Contains(stdout.String(), "correct horse") {
		t.Error("serve printed the admin password it was given")
	}
	if resp := newClient(t, base).login("admin", "correct horse battery"); resp.StatusCode != http.StatusFound {
		t.Fatalf("admin login = %d", resp.StatusCode)
	}
}

// TestContentsReencryptCommand: notebooks saved in the clear, encrypted
// by the command, read back by a hub given the key; and rotated again.
func TestContentsReencryptCommand(t *testing.T) {
	dataDir := t.TempDir()
	common := []string{"--data-dir", dataDir, "--bcrypt-cost", "4"}
	mustRun(t, "alice's password\n", append([]string{"user", "add", "alice", "--password-stdin"}, common...)...)
	tok := strings.TrimSpace(mustRun(t, "", append([]string{"token", "create", "alice"}, common...)...))
	h := startHub(t, nil, "--data-dir", dataDir)
	c := newClient(t, h.URL)
	body := map[string]any{"type": "file", "format": "text", "content": "secret plans"}
	if code := c.api("PUT", "/user/alice/api/contents/plans.txt", tok, body, nil); code != http.StatusCreated {
		t.Fatalf("save = %d", code)
	}
	h.Stop()

	read := func(keys string) string {
		t.Helper()
		args := []string{"--data-dir", dataDir}
		if keys != "" {
			args = append(args, "--contents-encryption-keys", keys)
		}
		h := startHub(t, nil, args...)
		defer h.Stop()
		var m struct{ Content string }
		if code := newClient(t, h.URL).api("GET", "/user/alice/api/contents/plans.txt", tok, nil, &m); code != 200 {
			t.Fatalf("read with keys %q = %d", keys, code)
		}
		return m.Content
	}
	mustRun(t, "", append([]string{"contents", "reencrypt", "--new-keys", "first-key"}, common...)...)
	if got := read("first-key"); got != "secret plans" {
		t.Fatalf("after encrypting: %q", got)
	}
	// Rerunning is safe, and rotation keeps the file readable.
	mustRun(t, "", append([]string{"contents", "reencrypt", "--new-keys", "first-key"}, common...)...)
	mustRun(t, "", append([]string{"contents", "reencrypt", "--old-keys", "first-key", "--new-keys", "second-key"}, common...)...)
	if got := read("second-key,first-key"); got != "secret plans" {
		t.Fatalf("after rotating: %q", got)
	}
	mustRun(t, "", append([]string{"contents", "reencrypt", "--old-keys", "second-key"}, common...)...)
	if got := read(""); got != "secret plans" {
		t.Fatalf("after decrypting: %q", got)
	}
}

func TestProfilesCheckCommandAndServe(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.yaml")
	os.WriteFile(good, []byte("profiles:\n  - name: small\n    display_name: Small\n    image: sparkhub/pyspark-notebook:3.5\n    cpus: 2\n    mem: 8192\n    env: {TZ: Europe/Paris}\n  - name: big\n    image: sparkhub/pyspark-notebook:3.5\n    cpus: 8\n    mem: 65536\n"), 0o600)
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("profiles:\n  - name: small\n    image: x\n    cpus: -1\n    mem: 10\n    colour: red\n"), 0o600)
	mustRun(t, "", "profiles", "check", good)
	_, errOut, err := sparkhub(t, "", nil, "profiles", "check", bad)
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 || !strings.Contains(errOut, ":4:") || !strings.Contains(errOut, "colour") {
		t.Errorf("profiles check bad.yaml: %v\n%s", err, errOut)
	}
	// serve refuses a bad catalog, naming the problem, and serves a good one.
	_, errOut, err = sparkhub(t, "", nil, "serve", "--data-dir", dir, "--listen", "127.0.0.1:0", "--profiles", bad)
	if err == nil || !strings.Contains(errOut, "cpus") {
		t.Errorf("serve with a bad catalog: %v\n%s", err, errOut)
	}
	h := startHub(t, nil, "--data-dir", dir, "--profiles", good)
	mustRun(t, "alice's password\n", "user", "add", "alice", "--password-stdin", "--data-dir", dir)
	tok := strings.TrimSpace(mustRun(t, "", "token", "create", "alice", "--data-dir", dir))
	c := newClient(t, h.URL)
	var e struct{ Message string }
	if code := c.api("POST", "/hub/api/users/alice/server", tok, map[string]any{"profile": "medium"}, &e); code != 400 || !strings.Contains(e.Message, "small, big") {
		t.Errorf("unknown profile = %d %q", code, e.Message)
	}
}

// TestLocalSpec: on one machine a profile's spec is what the admin
// wrote, with its own environment (the local backend says what of it a
// process does not get); the default catalog promises nothing; an
// unknown profile is refused.
func TestLocalSpec(t *testing.T) {
	cat, problems := images.ParseCatalog("p.yaml", []byte("profiles:\n  - name: small\n    image: sparkhub/pyspark-notebook:3.5\n    cpus: 2\n    mem: 8192\n    env: {TZ: Europe/Paris}\n"))
	if len(problems) > 0 {
		t.Fatal(problems)
	}
	cfg := defaults()
	cfg.Profiles = "p.yaml"
	spec, err := profileSpecs(cfg, cat).Resolve("small")
	want := spawner.Spec{Image: "sparkhub/pyspark-notebook:3.5", CPUs: 2, Mem: 8192, Env: map[string]string{"TZ": "Europe/Paris"}}
	if err != nil || !reflect.DeepEqual(spec, want) {
		t.Errorf("small = %+v, %v; want %+v", spec, err, want)
	}
	cfg.Profiles = ""
	if spec, err := profileSpecs(cfg, defaultCatalog(cfg)).Resolve(""); err != nil || !reflect.DeepEqual(spec, spawner.Spec{}) {
		t.Errorf("without a catalog of the admin's, spec = %+v, %v; want nothing to apply", spec, err)
	}
	if _, err := profileSpecs(cfg, cat).Resolve("nope"); !errors.Is(err, spawner.ErrNoProfile) {
		t.Errorf("an unknown profile: %v, want ErrNoProfile", err)
	}
}

// TestMesosSpecFromCatalog: on Mesos a profile of the admin's catalog
// resolves into the same task spec the backend was given before specs
// were resolved by the manager: its image, resources, role, constraints
// and the environment the image's entrypoint reads; without --profiles
// the --mesos-* flags give the default server's spec, with no
// environment.
func TestMesosSpecFromCatalog(t *testing.T) {
	cat, problems := images.ParseCatalog("p.yaml", []byte("profiles:\n  - name: big\n    image: sparkhub/pyspark-notebook:3.5\n    cpus: 8\n    mem: 65536\n    gpus: 1\n    constraints: [[\"hostname\", \"UNIQUE\"], [\"rack\", \"LIKE\", \"r[12]\"]]\n    env: {TZ: UTC}\n"))
	if len(problems) > 0 {
		t.Fatal(problems)
	}
	cfg := defaults()
	cfg.Spawner = "mesos"
	cfg.Mesos.Master = "http://m1:5050"
	def, err := profileSpecs(cfg, defaultCatalog(cfg)).Resolve("")
	if want := (spawner.Spec{Image: cfg.Mesos.Image, CPUs: cfg.Mesos.CPUs, Mem: cfg.Mesos.Mem, Disk: cfg.Mesos.Disk, GPUs: cfg.Mesos.GPUs}); err != nil || !reflect.DeepEqual(def, want) {
		t.Errorf("without --profiles the flags must give the spec: %+v, %v; want %+v", def, err, want)
	}
	cfg.Profiles = "p.yaml"
	spec, err := profileSpecs(cfg, cat).Resolve("big")
	if err != nil {
		t.Fatal(err)
	}
	p, _ := cat.Lookup("big")
	want := spawner.Spec{
		Image: "sparkhub/pyspark-notebook:3.5", CPUs: 8, Mem: 65536, GPUs: 1,
		Constraints: []spawner.Constraint{{Field: "hostname", Operator: "UNIQUE"}, {Field: "rack", Operator: "LIKE", Value: "r[12]"}},
		Env:         images.ProfileEnv(p, images.Cluster{Master: cfg.Mesos.Master, Image: cfg.Mesos.Image, Role: cfg.Mesos.Role}),
	}
	if !reflect.DeepEqual(spec, want) {
		t.Errorf("spec =\n%+v\nwant\n%+v", spec, want)
	}
	if spec.Env["TZ"] != "UTC" || spec.Env[images.EnvSparkMaster] != "mesos://m1:5050" {
		t.Errorf("env = %v, want the profile's and Spark's", spec.Env)
	}
	if _, err := profileSpecs(cfg, cat).Resolve("small"); !errors.Is(err, spawner.ErrNoProfile) {
		t.Errorf("an unknown profile gave a spec: %v", err)
	}
}
