package e2e

import (
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sparkhub/sparkhub/db/dbtest"
	"github.com/sparkhub/sparkhub/hub/hubtest"
)

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

			// A password change from the CLI logs alice out and revokes
			// her API tokens. (A running hub sees another process's
			// changes within a few seconds: it caches lookups briefly.)
			mustRun(t, "a brand new password\n", append([]string{"user", "passwd", "alice", "--password-stdin"}, common...)...)
			hubtest.WaitFor(t, "alice's session to end after passwd", 15*time.Second, func() bool {
				return c.api("GET", "/hub/api/user", "cookie", nil, nil) == 401
			})
			hubtest.WaitFor(t, "alice's token to be revoked after passwd", 15*time.Second, func() bool {
				return c.api("GET", "/hub/api/users/alice", tok.Token, nil, nil) == 401
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

// user del takes the user's notebooks with them, as the API does: a new
// user of the same name starts with none.
func TestUserDelTakesTheNotebooks(t *testing.T) {
	dataDir := t.TempDir()
	common := []string{"--data-dir", dataDir, "--bcrypt-cost", "4"}
	mustRun(t, "", append([]string{"user", "add", "bob"}, common...)...)
	tok := strings.TrimSpace(mustRun(t, "", append([]string{"token", "create", "bob"}, common...)...))
	h := startHub(t, nil, "--data-dir", dataDir)
	c := newClient(t, h.URL)
	nb := map[string]any{"type": "notebook", "content": map[string]any{"nbformat": 4, "nbformat_minor": 5, "metadata": map[string]any{}, "cells": []any{}}}
	if code := c.api("PUT", "/user/bob/api/contents/secret.ipynb", tok, nb, nil); code != 201 {
		t.Fatalf("save = %d", code)
	}
	h.Stop()
	mustRun(t, "", append([]string{"user", "del", "bob"}, common...)...)
	mustRun(t, "", append([]string{"user", "add", "bob"}, common...)...)
	tok = strings.TrimSpace(mustRun(t, "", append([]string{"token", "create", "bob"}, common...)...))
	h = startHub(t, nil, "--data-dir", dataDir)
	c = newClient(t, h.URL)
	if code := c.api("GET", "/user/bob/api/contents/secret.ipynb", tok, nil, nil); code != 404 {
		t.Errorf("the new bob reads the old bob's notebook: %d", code)
	}
}
