package hub

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

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
