package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sparkhub/sparkhub/auth"
)

// --auth and its flags: local needs nothing; oidc and ldap say what they
// lack, and who may log in must be said.
func TestAuthFlagErrors(t *testing.T) {
	oidc := []string{"--auth", "oidc", "--oidc-issuer", "https://id.example.com", "--oidc-client-id", "hub", "--oidc-redirect-url", "https://hub.example.com/hub/oauth_callback"}
	ldap := []string{"--auth", "ldap", "--ldap-url", "ldaps://dir.example.com"}
	for _, tc := range []struct {
		name string
		args []string
		says string // "" for no error
	}{
		{"local", nil, ""},
		{"unknown", []string{"--auth", "kerberos"}, "--auth must be local, oidc or ldap"},
		{"oidc without issuer", []string{"--auth", "oidc", "--auth-allow-all"}, "needs --oidc-issuer"},
		{"oidc with a bad redirect", append(append([]string{}, oidc...), "--oidc-redirect-url", "https://hub.example.com/callback", "--auth-allow-all"), "must be http(s)://HOST/hub/oauth_callback"},
		{"oidc without who", oidc, "needs who may log in"},
		{"oidc over http", append(append([]string{}, oidc...), "--oidc-issuer", "http://id.example.com", "--auth-allow-all"), "must be an https:// URL"},
		{"oidc over http on this machine", append(append([]string{}, oidc...), "--oidc-issuer", "http://127.0.0.1:8080/realms/x", "--auth-allow-all"), ""},
		{"oidc", append(append([]string{}, oidc...), "--auth-allowed-groups", "analysts"), ""},
		{"ldap without url", []string{"--auth", "ldap", "--auth-allow-all"}, "needs --ldap-url"},
		{"ldap without who", ldap, "needs who may log in"},
		{"ldap", append(append([]string{}, ldap...), "--auth-admin-groups", "hub-admins"), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := loadServe(t, tc.args, nil)
			if err != nil {
				t.Fatal(err)
			}
			err = cfg.Finish()
			switch {
			case tc.says == "" && err != nil:
				t.Errorf("Finish: %v, want none", err)
			case tc.says != "" && (err == nil || !strings.Contains(err.Error(), tc.says)):
				t.Errorf("Finish: %v, want an error saying %q", err, tc.says)
			}
		})
	}
}

// The directory's settings are checked at start, and a secret file that
// cannot be read stops the start without its contents in the error.
func TestAuthApplyErrors(t *testing.T) {
	dir := t.TempDir()
	pw := filepath.Join(dir, "pw")
	os.WriteFile(pw, []byte("s3cret-bind-pw\n"), 0o600)
	for _, tc := range []struct {
		name string
		args []string
		says string
	}{
		{"not an LDAP URL", []string{"--ldap-url", "https://dir.example.com", "--ldap-dn-template", "uid={username},dc=x"}, "--ldap-url must be"},
		{"neither search nor template", []string{"--ldap-url", "ldaps://dir.example.com"}, "--ldap-bind-dn"},
		{"search without base", []string{"--ldap-url", "ldaps://dir.example.com", "--ldap-bind-dn", "cn=r", "--ldap-bind-password-file", pw}, "--ldap-user-base"},
		{"search without password", []string{"--ldap-url", "ldaps://dir.example.com", "--ldap-bind-dn", "cn=r", "--ldap-user-base", "dc=x"}, "--ldap-bind-password-file"},
		{"missing password file", []string{"--ldap-url", "ldaps://dir.example.com", "--ldap-bind-dn", "cn=r", "--ldap-user-base", "dc=x", "--ldap-bind-password-file", filepath.Join(dir, "none")}, "--ldap-bind-password-file"},
		{"template without {username}", []string{"--ldap-url", "ldaps://dir.example.com", "--ldap-dn-template", "uid=x,dc=x"}, "{username}"},
		{"CA file of no certificate", []string{"--ldap-url", "ldaps://dir.example.com", "--ldap-dn-template", "uid={username},dc=x", "--ldap-ca-file", pw}, "holds no PEM certificate"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := loadServe(t, append([]string{"--auth", "ldap", "--auth-allow-all"}, tc.args...), nil)
			if err != nil {
				t.Fatal(err)
			}
			if err := cfg.Finish(); err != nil {
				t.Fatal(err)
			}
			var opts auth.Options
			err = cfg.Auth.apply(context.Background(), &opts, (*auth.Store)(nil))
			if err == nil || !strings.Contains(err.Error(), tc.says) {
				t.Fatalf("apply: %v, want an error saying %q", err, tc.says)
			}
			if strings.Contains(err.Error(), "s3cret-bind-pw") {
				t.Errorf("the error shows the secret: %v", err)
			}
		})
	}
}
