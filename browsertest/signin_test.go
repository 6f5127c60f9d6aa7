package browsertest

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/sparkhub/sparkhub/auth/oidctest"
	"github.com/sparkhub/sparkhub/hub/hubtest"
)

// TestCompanySignIn: with --auth oidc the login page offers only "Sign
// in with <provider>", which leads to the provider's own login page
// and back to the hub, logged in; someone outside the allowed groups
// comes back to the login page saying why.
func TestCompanySignIn(t *testing.T) {
	p, flags := oidctest.ForHub(t, []oidctest.User{
		{Username: "alice", Password: "alice-at-sso", Groups: []string{"analysts"}},
		{Username: "dave", Password: "dave-at-sso", Groups: []string{"sales"}},
	})
	h := hubtest.Start(t, binary, nil, append(flags, "--data-dir", t.TempDir(), "--auth-allowed-groups", "analysts")...)

	signIn := func(b *browser, name, password string) {
		t.Helper()
		b.open("/hub/login")
		if n := eval[int](b, `document.querySelectorAll("input[type=password]").length`); n != 0 {
			t.Fatalf("the login page has %d password fields, want none with --auth oidc", n)
		}
		if got := b.text("#oidc-login"); got != "Sign in with Example SSO" {
			t.Fatalf("the provider's button says %q", got)
		}
		b.click("sign in with the provider", "#oidc-login")
		if loc := b.location(); !strings.HasPrefix(loc, p.Issuer+"login/username") {
			t.Fatalf("the button led to %s, want the provider's login page", loc)
		}
		b.shot("oidc-provider-login")
		b.do("fill the provider's login form",
			chromedp.SendKeys(chromedp.ID("username"), name),
			chromedp.SendKeys(chromedp.ID("password"), password),
		)
		b.click("log in at the provider", `form button[type=submit]`)
	}

	alice := newBrowser(t, h.URL)
	signIn(alice, "alice", "alice-at-sso")
	if got := alice.path(); got != "/hub/home" {
		t.Fatalf("alice landed on %s, want /hub/home", alice.location())
	}
	alice.shot("oidc-home")

	dave := newBrowser(t, h.URL)
	signIn(dave, "dave", "dave-at-sso")
	if got := dave.text("#login-error"); !strings.Contains(got, "dave is not allowed on this hub") {
		t.Errorf("dave came back to %s saying %q, want that he is not allowed", dave.location(), got)
	}
	dave.shot("oidc-refused")
}
