package images

import (
	"encoding/json"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sparkhub/sparkhub/contents"
	"github.com/sparkhub/sparkhub/db/dbtest"
	"github.com/sparkhub/sparkhub/images/pythontest"
	"github.com/sparkhub/sparkhub/spawner"
	"github.com/sparkhub/sparkhub/spawner/local"
)

// TestContentsManagerImports: sparkhub_contents, as the image installs it
// and as WritePythonPackage writes it for local servers, imports with
// Debian's Jupyter (python3-notebook) and names a contents manager.
// With CI=true a missing Jupyter fails.
func TestContentsManagerImports(t *testing.T) {
	const python = pythontest.Python
	pythontest.Need(t, "python3-notebook", "notebook")
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
	pythontest.Need(t, "python3-notebook python3-pytest python3-requests", "notebook.notebookapp", "pytest", "requests")
	svc, err := contents.New(dbtest.Open(t, "sqlite"), contents.Options{})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(svc.Handler())
	defer srv.Close()
	b, err := local.New(local.Options{
		DataDir: t.TempDir(), SharedAccount: true,
		Jupyter: spawner.Jupyter{
			ContentsManagerClass: ContentsManagerClass,
			LogoutHandlerClass:   LogoutHandlerClass,
			NotebookExtensions:   []string{NotebookExtension},
			ServerExtensions:     []string{ServerExtension},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	args, err := json.Marshal(b.Args("/user/alice/"))
	if err != nil {
		t.Fatal(err)
	}
	pythontest.Pytest(t, 5*time.Minute, []string{
		"SPARKHUB_JUPYTER_ARGS=" + string(args),
		"SPARKHUB_CONTENTS_URL=" + srv.URL + "/user/alice/api/contents",
		"SPARKHUB_CONTENTS_TOKEN=unused",
	}, filepath.Join("tests", "test_hub_links.py"))
}

// TestSparkSide runs tests/test_spark_side.py: what the Spark UI relay
// trusts (only its own account's listening sockets, redirects kept under
// it) and where sparkconf writes a server's configuration.
func TestSparkSide(t *testing.T) {
	pythontest.Need(t, "python3-notebook python3-pytest", "tornado", "pytest")
	pythontest.Pytest(t, 2*time.Minute, nil, filepath.Join("tests", "test_spark_side.py"))
}
