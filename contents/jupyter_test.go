package contents

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sparkhub/sparkhub/db"
	"github.com/sparkhub/sparkhub/hub/hubtest"
	"github.com/sparkhub/sparkhub/images/pythontest"
	"github.com/sparkhub/sparkhub/internal/httperr"
	"github.com/sparkhub/sparkhub/internal/needtest"
)

// requireToken guards the test's fixture door: a fixed bearer token, as
// HubContentsManager sends it.
func requireToken(token string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth := r.Header.Get("Authorization")
		if auth != "token "+token && auth != "Bearer "+token {
			httperr.Jupyter.WriteJSON(w, http.StatusForbidden, errorBody{Status: http.StatusForbidden, Message: "A valid token is required."})
			return
		}
		next.ServeHTTP(w, r)
	})
}

// TestJupyterSuite runs notebook 6.4's own contents tests (from Debian's
// python3-notebook) against a notebook server whose contents manager is
// sparkhub_contents.HubContentsManager, talking to a live hub (the built
// binary, authenticating the user's contents token). The tests' fixtures
// (hidden files a user cannot make through the API) go in through a
// second door to the same database that allows them.
// The tests skipped, and why, are listed in
// images/python/sparkhub_contents/tests/test_jupyter_suite.py:
// test_checkpoints_separate_root (FileCheckpoints' own directory) and the
// classes that test FileContentsManager itself.
func TestJupyterSuite(t *testing.T) {
	if testing.Short() {
		t.Skip("the Jupyter suite takes a minute; skipped with -short")
	}
	pythontest.Need(t, "python3-notebook python3-pytest python3-requests", "notebook.notebookapp", "nbformat", "pytest", "requests")
	pythontest.Pytest(t, 10*time.Minute, suiteService(t), "tests")
}

// TestJupyterServerSuite runs jupyter_server's own contents tests
// (tests/services/contents/ of the sdist of the version the test
// virtualenv pins, which scripts/test-venv unpacks) against
// sparkhub_contents' HubContentsManager and HubCheckpoints on
// jupyter_server 2, over the same live hub as TestJupyterSuite: the
// manager tests on the manager itself, the REST API tests through a
// jupyter_server configured with it. The tests skipped, and why, are
// listed in images/python/sparkhub_contents/tests/test_server_*.py.
// It also runs test_server_flavour.py on this jupyter_server.
// Without the virtualenv it skips; with CI=true it fails.
func TestJupyterServerSuite(t *testing.T) {
	if testing.Short() {
		t.Skip("the jupyter_server suite takes a minute; skipped with -short")
	}
	python := needtest.VenvTool(t, "python")
	suite := filepath.Join(filepath.Dir(filepath.Dir(python)), "src", "jupyter_server")
	if _, err := os.Stat(filepath.Join(suite, "tests", "services", "contents")); err != nil {
		needtest.Missing(t, "jupyter_server's own tests are not in "+suite+" (scripts/test-venv unpacks them from its sdist)")
	}
	env := append(suiteService(t), "SPARKHUB_SERVER_SUITE="+suite)
	pythontest.PytestWith(t, python, 10*time.Minute, env, "-p", "jupyter_server.pytest_plugin",
		"tests/test_server_manager.py", "tests/test_server_api.py",
		"tests/test_server_checkpoints.py", "tests/test_server_largefile.py",
		"tests/test_server_flavour.py")
}

// suiteService starts a hub (the built binary) with a user jupyter and
// a contents token for it, and a fixture door to the same database that
// allows hidden files; it returns the environment Jupyter's tests read
// (images/python/sparkhub_contents/tests/hubfixture.py).
func suiteService(t *testing.T) []string {
	t.Helper()
	binDir := t.TempDir()
	bin, err := hubtest.Build(binDir)
	if err != nil {
		t.Fatal(err)
	}
	dataDir := t.TempDir()
	hubtest.MustRun(t, bin, "", nil, "user", "add", "jupyter", "--data-dir", dataDir, "--bcrypt-cost", "4")
	token := strings.TrimSpace(hubtest.MustRun(t, bin, "", nil, "token", "create", "jupyter", "--scopes", "contents", "--data-dir", dataDir))
	hub := hubtest.Start(t, bin, nil, "--data-dir", dataDir)

	gdb, err := db.Open(context.Background(), "sqlite://"+filepath.Join(dataDir, "sparkhub.db"), db.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close(gdb) })
	open, err := New(gdb, Options{AllowHidden: true})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/fixture/", http.StripPrefix("/fixture", open.Handler()))
	srv := httptest.NewServer(requireToken(token, mux))
	t.Cleanup(srv.Close)
	return []string{
		"SPARKHUB_CONTENTS_URL=" + hub.URL + "/user/jupyter/api/contents",
		"SPARKHUB_CONTENTS_TOKEN=" + token,
		"SPARKHUB_FIXTURE_URL=" + srv.URL + "/fixture/user/jupyter/api/contents",
	}
}
