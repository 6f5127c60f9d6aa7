package images

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sparkhub/sparkhub/contents"
	"github.com/sparkhub/sparkhub/db/dbtest"
	"github.com/sparkhub/sparkhub/spawner"
	"github.com/sparkhub/sparkhub/spawner/local"
)

// TestContentsManagerImports: sparkhub_contents, as the image installs it
// and as WritePythonPackage writes it for local servers, imports with
// Debian's Jupyter (python3-notebook) and names a contents manager.
// With CI=true a missing Jupyter fails.
func TestContentsManagerImports(t *testing.T) {
	const python = "/usr/bin/python3"
	if err := exec.Command(python, "-c", "import notebook").Run(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s cannot import notebook (apt-get install python3-notebook): %v", python, err)
		}
		t.Skipf("%s cannot import notebook (apt-get install python3-notebook)", python)
	}
	written := t.TempDir()
	if err := WritePythonPackage(written); err != nil {
		t.Fatal(err)
	}
	src, _ := filepath.Abs(filepath.Join("python", "sparkhub_contents"))
	for _, dir := range []string{src, written} {
		cmd := exec.Command(python, "-c", "import sparkhub_contents; from sparkhub_contents import HubContentsManager; print(HubContentsManager.__module__)")
		cmd.Env = append(os.Environ(), "PYTHONPATH="+dir)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Errorf("PYTHONPATH=%s: %v\n%s", dir, err, out)
			continue
		}
		if got := strings.TrimSpace(string(out)); !strings.HasPrefix(got, "sparkhub_contents.") {
			t.Errorf("PYTHONPATH=%s: HubContentsManager comes from %q", dir, got)
		}
	}
}

// TestHubLinks runs tests/test_hub_links.py: notebook 6 (and
// jupyter_server when installed) started with the arguments the local
// spawner gives a server of the hub, over a real contents service. Their
// Logout must lead to the hub's logout, and notebook 6's pages must link
// to the hub's home. With CI=true a missing Jupyter fails.
func TestHubLinks(t *testing.T) {
	const python = "/usr/bin/python3"
	if out, err := exec.Command(python, "-c", "import notebook.notebookapp, pytest, requests").CombinedOutput(); err != nil {
		msg := fmt.Sprintf("%s cannot import notebook 6, pytest and requests (apt-get install python3-notebook python3-pytest python3-requests): %s", python, strings.TrimSpace(string(out)))
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	svc, err := contents.New(dbtest.Open(t, "sqlite"), contents.Options{})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(svc.Handler())
	defer srv.Close()
	b, err := local.New(local.Options{
		DataDir: t.TempDir(),
		Jupyter: spawner.Jupyter{
			ContentsManagerClass: ContentsManagerClass,
			LogoutHandlerClass:   LogoutHandlerClass,
			NotebookExtensions:   []string{NotebookExtension},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	args, err := json.Marshal(b.Args(0, "/user/alice/"))
	if err != nil {
		t.Fatal(err)
	}
	pkg, err := filepath.Abs(filepath.Join("python", "sparkhub_contents"))
	if err != nil {
		t.Fatal(err)
	}
	home := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, python, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", filepath.Join("tests", "test_hub_links.py"))
	cmd.Dir = pkg
	cmd.Env = append(os.Environ(),
		"SPARKHUB_JUPYTER_ARGS="+string(args),
		"SPARKHUB_CONTENTS_URL="+srv.URL+"/user/alice/api/contents",
		"SPARKHUB_CONTENTS_TOKEN=unused",
		"HOME="+home,
		"JUPYTER_CONFIG_DIR="+filepath.Join(home, "config"),
		"JUPYTER_DATA_DIR="+filepath.Join(home, "data"),
		"JUPYTER_RUNTIME_DIR="+filepath.Join(home, "runtime"),
		"IPYTHONDIR="+filepath.Join(home, "ipython"),
		"PYTHONDONTWRITEBYTECODE=1",
	)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("tests/test_hub_links.py failed (%v):\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	t.Log(lines[len(lines)-1])
}
