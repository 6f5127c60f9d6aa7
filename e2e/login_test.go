package e2e

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sparkhub/sparkhub/auth/ldaptest"
	"github.com/sparkhub/sparkhub/auth/oidctest"
)

// secretFile writes a secret to a file of its own.
func secretFile(t *testing.T, secret string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(p, []byte(secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// whoAmI is the name and groups GET /hub/api/user gives with c's cookie.
func whoAmI(t *testing.T, c *http.Client, base string) (string, []string) {
	t.Helper()
	resp, err := c.Get(base + "/hub/api/user")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var u struct {
		Name   string   `json:"name"`
		Groups []string `json:"groups"`
	}
	json.NewDecoder(resp.Body).Decode(&u)
	return u.Name, u.Groups
}

// sparkhub serve --auth ldap, set up by its flags as the README shows:
// an analyst logs in with the directory's password over StartTLS with
// the company's CA; the service account's password, read from its
// file, shows in no log line.
func TestServeLDAPLogin(t *testing.T) {
	d := ldaptest.Start(t, []ldaptest.Person{
		{Name: "alice", Password: "alice-pw", Groups: []string{"analysts"}},
		{Name: "dave", Password: "dave-pw", Groups: []string{"sales"}},
	})
	h := startHub(t, nil, "--data-dir", t.TempDir(), "--auth", "ldap", "--ldap-url", d.URL, "--ldap-ca-file", d.CAFile,
		"--ldap-bind-dn", ldaptest.ReaderDN, "--ldap-bind-password-file", secretFile(t, ldaptest.ReaderPassword),
		"--ldap-user-base", ldaptest.People, "--auth-allowed-groups", "analysts")
	c := newClient(t, h.URL)
	if resp := c.login("alice", "alice-pw"); resp.StatusCode != http.StatusFound {
		t.Fatalf("alice's login: %d, want 302", resp.StatusCode)
	}
	if got, groups := whoAmI(t, c.http, h.URL); got != "alice" || !slices.Equal(groups, []string{"analysts"}) {
		t.Errorf("logged in as %q in groups %v, want alice in the directory's [analysts]", got, groups)
	}
	if resp := newClient(t, h.URL).login("dave", "dave-pw"); resp.StatusCode != http.StatusForbidden {
		t.Errorf("dave of sales: %d, want 403", resp.StatusCode)
	}
	if strings.Contains(h.Logs.String(), ldaptest.ReaderPassword) || strings.Contains(h.Stdout.String(), ldaptest.ReaderPassword) {
		t.Error("the service account's password is in the hub's output")
	}
}

// sparkhub serve --auth oidc, set up by its flags: the login page has
// only the provider's button, which leads through the provider's login
// page back to the hub, logged in. The client secret, read from its
// file, shows in no log line.
func TestServeOIDCLogin(t *testing.T) {
	_, flags := oidctest.ForHub(t, []oidctest.User{{Username: "alice", Password: "alice-pw", Groups: []string{"analysts"}}})
	h := startHub(t, nil, append(flags, "--data-dir", t.TempDir(), "--auth-allowed-groups", "analysts")...)

	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 10 * time.Second}
	resp, err := c.Get(h.URL + "/hub/login")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(page), "Sign in with Example SSO") || strings.Contains(string(page), `name="password"`) {
		t.Fatalf("login page:\n%s", page)
	}
	resp, err = c.Get(h.URL + "/hub/oauth_login")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	resp, err = oidctest.Login(c, resp.Request.URL, "alice", "alice-pw")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.Request.URL.Path != "/hub/home" {
		t.Fatalf("the sign-in ended at %s (%d), want /hub/home", resp.Request.URL, resp.StatusCode)
	}
	// The provider's groups are the hub's groups of alice.
	if got, groups := whoAmI(t, c, h.URL); got != "alice" || !slices.Equal(groups, []string{"analysts"}) {
		t.Errorf("logged in as %q in groups %v, want alice in the provider's [analysts]", got, groups)
	}
	if strings.Contains(h.Logs.String(), oidctest.ClientSecret) || strings.Contains(h.Stdout.String(), oidctest.ClientSecret) {
		t.Error("the client secret is in the hub's output")
	}
}
