package hub

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"gorm.io/gorm"

	"github.com/sparkhub/sparkhub/db"
	"github.com/sparkhub/sparkhub/db/dbtest"
	"github.com/sparkhub/sparkhub/images"
)

const twoProfiles = `profiles:
  - name: small
    display_name: Small
    description: For exploring
    image: sparkhub/pyspark-notebook:3.5
    cpus: 2
    mem: 8192
  - name: gpu
    display_name: With a GPU
    image: sparkhub/pyspark-notebook:3.5
    cpus: 8
    mem: 65536
    gpus: 1
`

func TestProfilesPickedAndChecked(t *testing.T) {
	gdb := dbtest.Open(t, db.SQLite)
	th, fake := newPageHub(t, gdb)
	cat, problems := images.ParseCatalog("profiles.yaml", []byte(twoProfiles))
	if len(problems) > 0 {
		t.Fatal(problems)
	}
	// In place: the hub and its manager share the catalog.
	th.hub.profiles.Profiles = cat.Profiles
	th.addUser("alice", false)
	th.addUser("root", true)
	tok := "token " + th.token("alice")

	r := th.do(nil, req{method: "POST", path: "/hub/api/users/alice/server", auth: tok, body: map[string]any{"profile": "huge"}})
	if r.status != http.StatusBadRequest || !strings.Contains(r.message(t), "small, gpu") {
		t.Fatalf("unknown profile = %d %s", r.status, r.body)
	}
	if fake.Running("alice") != 0 {
		t.Fatal("a refused start started something")
	}

	b := th.browser()
	b.mustLogin("alice")
	_, _, body := b.page("/hub/home")
	for _, want := range []string{`value="small"`, `value="gpu"`, "With a GPU", "8 CPUs · 64 GiB · 1 GPU", "For exploring · 2 CPUs · 8 GiB"} {
		if !strings.Contains(body, want) {
			t.Errorf("home page lacks %q", want)
		}
	}
	code, _, body := b.post("/hub/spawn", url.Values{"profile": {"nope"}}, "")
	if code != http.StatusBadRequest || !strings.Contains(body, "There is no profile") {
		t.Errorf("spawn with an unknown profile = %d", code)
	}
	code, loc, _ := b.post("/hub/spawn", url.Values{"profile": {"gpu"}}, "")
	if code != http.StatusSeeOther && code != http.StatusFound {
		t.Fatalf("spawn gpu = %d %s", code, loc)
	}
	waitUntil(t, "alice's server", func() bool { _, _, _, ok := th.hub.servers.Route("alice"); return ok })
	var m struct {
		Servers map[string]struct {
			UserOptions map[string]string `json:"user_options"`
		} `json:"servers"`
	}
	th.do(nil, req{method: "GET", path: "/hub/api/users/alice", auth: tok}).json(t, &m)
	if m.Servers[""].UserOptions["profile"] != "gpu" {
		t.Errorf("server's profile = %v", m.Servers[""].UserOptions)
	}

	rb := th.browser()
	rb.mustLogin("root")
	_, _, body = rb.page("/hub/admin")
	if !strings.Contains(body, `id="profiles"`) || !strings.Contains(body, "<code>gpu</code>") {
		t.Error("the admin page does not show the catalog")
	}
}

// With servers as local processes, the default profile is Python on this
// machine, and a catalog's resources are shown as not applied.
func TestProfilesOnTheLocalSpawner(t *testing.T) {
	gdb := dbtest.Open(t, db.SQLite)
	th, _ := newPageHub(t, gdb)
	th.hub.spawner = "local"
	th.hub.profiles = images.LocalCatalog()
	th.addUser("alice", false)
	b := th.browser()
	b.mustLogin("alice")
	_, _, body := b.page("/hub/home")
	if !strings.Contains(body, "Python (this machine)") || strings.Contains(body, "Spark") || strings.Contains(body, "GiB") {
		t.Errorf("the local default profile claims what a local process does not get:\n%s", body)
	}
	cat, problems := images.ParseCatalog("profiles.yaml", []byte(twoProfiles))
	if len(problems) > 0 {
		t.Fatal(problems)
	}
	th.hub.profiles = cat
	_, _, body = b.page("/hub/home")
	if !strings.Contains(body, "8 CPUs · 64 GiB · 1 GPU (not applied: servers run as processes on the hub&#39;s machine)") {
		t.Errorf("a catalog's resources are not labelled as not applied:\n%s", body)
	}
}

const groupProfiles = `profiles:
  - name: small
    display_name: Small
    cpus: 2
    mem: 8192
  - name: gpu
    display_name: With a GPU
    cpus: 8
    mem: 65536
    gpus: 1
    groups: [ml]
  - name: big
    display_name: Big memory
    cpus: 16
    mem: 262144
    groups: [physics, ml-leads]
`

// TestProfilesPerGroup: a profile with groups is seen and started by
// their members (and admins) only, on the pages and over the API; a
// start of another's is a 403 naming it, and starts nothing.
func TestProfilesPerGroup(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, gdb *gorm.DB) {
		th, fake := newPageHub(t, gdb)
		cat, problems := images.ParseCatalog("profiles.yaml", []byte(groupProfiles))
		if len(problems) > 0 {
			t.Fatal(problems)
		}
		th.hub.profiles.Profiles = cat.Profiles
		for _, n := range []string{"alice", "bob", "carol"} {
			th.addUser(n, false)
		}
		th.addUser("root", true)
		ctx := context.Background()
		if _, err := th.auth.Store.CreateGroups(ctx, []string{"ml"}, []string{"alice", "carol"}); err != nil {
			t.Fatal(err)
		}
		home := func(name string) string {
			b := th.browser()
			b.mustLogin(name)
			_, _, body := b.page("/hub/home")
			return body
		}
		start := func(name, profile string) result {
			return th.do(nil, req{method: "POST", path: "/hub/api/users/" + name + "/server", auth: "token " + th.token(name), body: map[string]any{"profile": profile}})
		}

		// bob is in no group: Small alone, no picker.
		body := home("bob")
		if strings.Contains(body, "With a GPU") || strings.Contains(body, "Big memory") || strings.Contains(body, `value="gpu"`) {
			t.Errorf("bob's home page shows a profile of a group he is not in:\n%s", body)
		}
		if !strings.Contains(body, "Your server: <strong>Small</strong>") {
			t.Errorf("bob's home page does not show Small as his one profile")
		}
		r := start("bob", "gpu")
		if r.status != http.StatusForbidden || !strings.Contains(r.message(t), `"gpu"`) {
			t.Errorf("bob starting gpu = %d %s, want a 403 naming gpu", r.status, r.body)
		}
		b := th.browser()
		b.mustLogin("bob")
		if code, _, body := b.post("/hub/spawn", url.Values{"profile": {"big"}}, ""); code != http.StatusForbidden || !strings.Contains(body, "big") {
			t.Errorf("bob's Start with big = %d", code)
		}
		if fake.Running("bob") != 0 {
			t.Fatal("a refused start started bob's server")
		}
		// An unknown profile names only the ones open to him.
		r = start("bob", "huge")
		if msg := r.message(t); r.status != http.StatusBadRequest || !strings.HasSuffix(msg, "choose one of: small.") {
			t.Errorf("bob starting huge = %d %q", r.status, msg)
		}

		// alice is in ml: Small and With a GPU, not Big memory.
		body = home("alice")
		if !strings.Contains(body, `value="small"`) || !strings.Contains(body, `value="gpu"`) || strings.Contains(body, "Big memory") {
			t.Errorf("alice's home page:\n%s", body)
		}
		if r := start("alice", "big"); r.status != http.StatusForbidden {
			t.Errorf("alice starting big = %d %s", r.status, r.body)
		}
		if r := start("alice", "gpu"); r.status != http.StatusCreated && r.status != http.StatusAccepted {
			t.Fatalf("alice starting gpu = %d %s", r.status, r.body)
		}
		waitUntil(t, "alice's server", func() bool { return fake.Running("alice") == 1 })

		// carol leaves ml: gpu is no longer hers.
		if _, err := th.auth.Store.RemoveGroupMembers(ctx, "ml", []string{"carol"}); err != nil {
			t.Fatal(err)
		}
		if r := start("carol", "gpu"); r.status != http.StatusForbidden {
			t.Errorf("carol, out of ml, starting gpu = %d %s", r.status, r.body)
		}

		// The admin sees and may start everything; the admin page says
		// which groups a profile is for, and each user's groups.
		rb := th.browser()
		rb.mustLogin("root")
		_, _, body = rb.page("/hub/home")
		if !strings.Contains(body, `value="big"`) {
			t.Error("the admin's home page lacks big")
		}
		_, _, body = rb.page("/hub/admin")
		if !strings.Contains(body, "physics, ml-leads") || !strings.Contains(body, `data-group="ml"`) {
			t.Errorf("the admin page does not show the profiles' or users' groups:\n%s", body)
		}

		// With the first profile limited, "" starts the first one open
		// to the user, and a user with none open is told so.
		th.hub.profiles.Profiles = []images.Profile{cat.Profiles[1], cat.Profiles[0]}
		if r := start("bob", ""); r.status != http.StatusCreated && r.status != http.StatusAccepted {
			t.Fatalf("bob starting his default = %d %s", r.status, r.body)
		}
		var m struct {
			Servers map[string]struct {
				UserOptions map[string]string `json:"user_options"`
			} `json:"servers"`
		}
		th.do(nil, req{method: "GET", path: "/hub/api/users/bob", auth: "token " + th.token("bob")}).json(t, &m)
		if got := m.Servers[""].UserOptions["profile"]; got != "small" {
			t.Errorf("bob's default start got the profile %q, want small", got)
		}
		th.hub.profiles.Profiles = []images.Profile{cat.Profiles[1]}
		if r := start("carol", ""); r.status != http.StatusForbidden || !strings.Contains(r.message(t), "No profile is open to carol") {
			t.Errorf("carol with no profile open = %d %s", r.status, r.body)
		}
		if fake.Running("carol") != 0 {
			t.Error("a refused start started carol's server")
		}
	})
}
