package e2e

import (
	"encoding/json"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sparkhub/sparkhub/internal/needtest"
)

// attackCode is what bob types into his notebook to get at alice and the
// hub: it prints, as JSON, each try and its error ("" when it worked).
const attackCode = `
import glob, json, os, socket
data, alice = %q, %q
def attempt(fn):
    try:
        fn()
        return ""
    except Exception as e:
        return type(e).__name__
def read(p):
    return lambda: open(p, "rb").read(16)
def aliceEnviron():
    found = False
    for d in glob.glob("/proc/[0-9]*"):
        try:
            if os.readlink(d + "/cwd") == alice:
                found = True
                open(d + "/environ", "rb").read()
        except FileNotFoundError:
            pass
    if not found:
        raise PermissionError("no process of alice's was visible by its folder")
def plant():
    os.makedirs(alice + "/.jupyter/custom", exist_ok=True)
    open(alice + "/.jupyter/custom/custom.js", "w").write("alert(1)")
def connect():
    s = socket.socket(socket.AF_UNIX)
    s.connect(alice + "/.sparkhub/jupyter.sock")
def squat():
    s = socket.socket(socket.AF_UNIX)
    s.bind(alice + "/.sparkhub/jupyter.sock")
tries = {
    "read the hub's database": read(data + "/sparkhub.db"),
    "read the hub's database's log": read(data + "/sparkhub.db-wal"),
    "read alice's server's environment": aliceEnviron,
    "read alice's Jupyter runtime files": lambda: os.listdir(alice + "/.local/share/jupyter/runtime"),
    "plant custom.js in alice's Jupyter": plant,
    "connect to alice's server": connect,
    "listen in alice's server's place": squat,
    "read alice's server's log": read(data + "/logs/alice.log"),
    "list the data folder": lambda: os.listdir(data),
    "write my own home": lambda: open(os.path.expanduser("~/mine.txt"), "w").write("mine"),
}
print(json.dumps({k: attempt(f) for k, f in tries.items()}))
`

// TestAnalystsCannotReachEachOther is bob's attack from his own kernel,
// on the hub as make run serves it (as root, as CI runs: each user's
// server as an account of its own): every way of reaching alice's server
// or the hub's secrets that worked when all servers shared the hub's
// account fails, and his own home still works.
func TestAnalystsCannotReachEachOther(t *testing.T) {
	needtest.Root(t, "running servers as accounts of their own")
	dataDir, common := jupyterUsers(t)
	h := startHub(t, nil, append(common, "--idle-timeout", "0")...)
	alice, bob := newClient(t, h.URL), newClient(t, h.URL)
	for _, c := range []struct {
		c          *client
		name, pass string
	}{{alice, "alice", "alice's password"}, {bob, "bob", "bob's password!"}} {
		if resp := c.c.login(c.name, c.pass); resp.StatusCode != http.StatusFound {
			t.Fatalf("%s's login = %d", c.name, resp.StatusCode)
		}
		if code := c.c.api("POST", "/hub/api/users/"+c.name+"/server", "cookie", map[string]any{}, nil); code != http.StatusCreated && code != http.StatusAccepted {
			t.Fatalf("start %s's server = %d", c.name, code)
		}
		if ev := c.c.progress(c.name); ev[len(ev)-1]["ready"] != true {
			t.Fatalf("%s's server: %v", c.name, ev)
		}
		// The _xsrf cookie that the kernel's start needs.
		if code := c.c.api("GET", "/user/"+c.name+"/api/contents", "cookie", nil, nil); code != http.StatusOK {
			t.Fatalf("%s's contents = %d", c.name, code)
		}
	}
	onePlusOne(t, alice, "alice") // alice's server has written its runtime files

	var kernel struct{ ID string }
	if code := bob.api("POST", "/user/bob/api/kernels", "cookie", map[string]any{"name": "python3"}, &kernel); code != http.StatusCreated {
		t.Fatalf("bob's kernel = %d", code)
	}
	conn := dialKernel(t, bob, "bob", kernel.ID)
	defer conn.Close()
	code := strings.Replace(attackCode, "%q, %q", `"`+dataDir+`", "`+filepath.Join(dataDir, "users", "alice")+`"`, 1)
	out := execute(t, conn, code)
	var got map[string]string
	if err := json.Unmarshal([]byte(strings.TrimSpace(out)), &got); err != nil {
		t.Fatalf("bob's kernel printed %q", out)
	}
	for what, err := range got {
		switch {
		case what == "write my own home":
			if err != "" {
				t.Errorf("bob could not %s: %s", what, err)
			}
		case err == "":
			t.Errorf("bob could %s", what)
		case err != "PermissionError":
			t.Errorf("bob could not %s, but for another reason than permission: %s", what, err)
		}
	}
}
