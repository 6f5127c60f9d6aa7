package browsertest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/sparkhub/sparkhub/internal/needtest"
)

const groupsCatalog = `profiles:
  - name: small
    display_name: Small
    cpus: 1
    mem: 1024
  - name: gpu
    display_name: With a GPU
    cpus: 4
    mem: 8192
    gpus: 1
    groups: [ml]
`

// post sends a form from the page as a forged request would (the
// session's cookie and XSRF token, no page's button), and returns the
// status and the page's text.
func (b *browser) post(path string, form map[string]string) (int, string) {
	b.t.Helper()
	fields := ""
	for k, v := range form {
		fields += "f.append(" + jsString(k) + ", " + jsString(v) + ");"
	}
	type answer struct {
		Status int    `json:"status"`
		Text   string `json:"text"`
	}
	a := eval[answer](b, `(async () => {
		const f = new URLSearchParams();
		f.append("_xsrf", document.querySelector('input[name="_xsrf"]').value);
		`+fields+`
		const r = await fetch(`+jsString(path)+`, {method: "POST", body: f, redirect: "manual"});
		return {status: r.status, text: await r.text()};
	})()`, chromedp.EvalAwaitPromise)
	return a.Status, a.Text
}

// TestAdminManagesGroups: an admin makes a group in the admin page and
// adds alice; alice then sees the profile limited to it and bob does
// not, and bob's forged start of it is the 403 that names it; bob's
// forged group forms change nothing; the admin takes alice out, and the
// profile is gone from her page; the admin deletes the group.
func TestAdminManagesGroups(t *testing.T) {
	needtest.Tool(t, "chromium", "apt-get install chromium")
	catalog := filepath.Join(t.TempDir(), "profiles.yaml")
	if err := os.WriteFile(catalog, []byte(groupsCatalog), 0o644); err != nil {
		t.Fatal(err)
	}
	// No server starts here: the profiles' pages and refusals are what
	// is tested.
	h := startHubWith(t, []string{"--profiles", catalog}, "/bin/false")
	admin := newBrowser(t, h.base)
	admin.open("/hub/login")
	admin.login("admin", adminPassword)
	admin.open("/hub/admin")

	// bob, with a password the admin gives him.
	admin.do("type bob", chromedp.SendKeys(chromedp.ID("usernames"), "bob\n"))
	admin.click("add bob", "#add-users")
	admin.do("open bob's actions", chromedp.Click("#user-bob details.menu summary"))
	admin.click("reset bob's password", `#user-bob form[action$="/password"] button`)
	bobPassword := eval[string](admin, `document.getElementById("new-password").value`)

	admin.do("name the group", chromedp.SendKeys(chromedp.ID("group-name"), "ml"))
	admin.click("create the group", "#create-group")
	if s := admin.text("#notice"); s != "Group ml has been created with 0 users." {
		t.Fatalf("after creating: %q", s)
	}
	admin.do("open ml's actions", chromedp.Click("#group-ml details.menu summary"))
	admin.do("type alice", chromedp.SendKeys(chromedp.ID("add-ml"), "alice"))
	admin.click("add alice to ml", `#group-ml form[action$="/add"] button`)
	if s := admin.text("#notice"); !strings.HasPrefix(s, "1 user added to group ml") {
		t.Fatalf("after adding alice: %q", s)
	}
	if s := admin.text("#group-ml"); !strings.Contains(s, "alice") {
		t.Fatalf("ml's row: %q", s)
	}
	admin.shot("admin-groups-alice-in-ml")

	user := newBrowser(t, h.base)
	loginAs := func(name, password string) {
		t.Helper()
		user.open("/hub/login")
		user.login(name, password)
		if p := user.path(); p != "/hub/home" {
			t.Fatalf("%s logged in to %s", name, user.location())
		}
	}
	logout := func() {
		t.Helper()
		user.click("log out", "form.logout button")
	}
	seesGPU := func() bool {
		return eval[bool](user, `!!document.querySelector('input[name="profile"][value="gpu"]')`)
	}

	loginAs("alice", "alice's password")
	if !seesGPU() || !strings.Contains(user.text("main"), "With a GPU") {
		t.Fatalf("alice, in ml, does not see With a GPU on her home page: %q", user.text("main"))
	}
	user.shot("groups-alice-home-with-gpu")
	logout()

	loginAs("bob", bobPassword)
	if seesGPU() || strings.Contains(user.text("main"), "With a GPU") {
		t.Fatalf("bob, in no group, sees With a GPU: %q", user.text("main"))
	}
	user.shot("groups-bob-home")
	if code, text := user.post("/hub/spawn", map[string]string{"profile": "gpu"}); code != 403 || !strings.Contains(text, "gpu") || !strings.Contains(text, "ml") {
		t.Fatalf("bob's forged start of gpu = %d %q, want the 403 naming it", code, text)
	}
	// The attack: bob posts the admin page's group forms himself.
	for _, f := range []struct {
		path string
		form map[string]string
	}{
		{"/hub/admin/groups", map[string]string{"group": "bobs", "usernames": "bob"}},
		{"/hub/admin/groups/ml/add", map[string]string{"usernames": "bob"}},
		{"/hub/admin/groups/ml/remove", map[string]string{"usernames": "alice"}},
		{"/hub/admin/groups/ml/delete", nil},
	} {
		if code, text := user.post(f.path, f.form); code != 403 || !strings.Contains(text, "Only admins") {
			t.Errorf("bob posting %s = %d %q, want 403", f.path, code, text)
		}
	}
	logout()
	admin.open("/hub/admin")
	if s := admin.text("#groups tbody"); !strings.Contains(s, "ml") || strings.Contains(s, "bobs") || !strings.Contains(admin.text("#group-ml"), "alice") || strings.Contains(admin.text("#group-ml"), "bob") {
		t.Fatalf("bob's forged posts changed the groups: %q", s)
	}

	admin.click("remove alice from ml", `#group-ml li[data-member="alice"] button`)
	if s := admin.text("#notice"); !strings.HasPrefix(s, "1 user removed from group ml") {
		t.Fatalf("after removing alice: %q", s)
	}
	admin.shot("admin-groups-alice-out")
	loginAs("alice", "alice's password")
	if seesGPU() || strings.Contains(user.text("main"), "With a GPU") {
		t.Fatalf("alice, out of ml, still sees With a GPU: %q", user.text("main"))
	}
	if code, text := user.post("/hub/spawn", map[string]string{"profile": "gpu"}); code != 403 || !strings.Contains(text, "gpu") {
		t.Fatalf("alice's start of gpu out of ml = %d %q", code, text)
	}

	admin.do("open ml's actions", chromedp.Click("#group-ml details.menu summary"))
	admin.click("delete ml", `#group-ml form[action$="/delete"] button`)
	if s := admin.text("#notice"); s != "Group ml has been deleted, with its memberships." {
		t.Fatalf("after deleting: %q", s)
	}
	if eval[bool](admin, `!!document.getElementById("group-ml")`) {
		t.Fatal("ml is still listed")
	}
	admin.shot("admin-groups-deleted")
}
