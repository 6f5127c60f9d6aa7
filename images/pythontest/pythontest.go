// Package pythontest runs the Python side of the hub, the package
// images/python/sparkhub_contents, from Go tests: with Debian's Jupyter,
// in a Jupyter home of the test's own.
package pythontest

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/sparkhub/sparkhub/internal/needtest"
)

// Python is the interpreter Debian's python3-notebook installs into (the
// PATH may lead to another Python without Jupyter).
const Python = "/usr/bin/python3"

// Need skips the test, or with CI=true fails it, unless Python imports
// every module named; packages says what to install.
func Need(t *testing.T, packages string, modules ...string) {
	t.Helper()
	out, err := exec.Command(Python, "-c", "import "+strings.Join(modules, ", ")).CombinedOutput()
	if err == nil {
		return
	}
	needtest.Missing(t, Python+" cannot import "+strings.Join(modules, ", ")+" (apt-get install "+packages+"): "+strings.TrimSpace(string(out)))
}

// Package is the folder of sparkhub_contents' sources and tests.
func Package(t *testing.T) string {
	t.Helper()
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("cannot find the pythontest package's folder")
	}
	return filepath.Join(filepath.Dir(file), "..", "python", "sparkhub_contents")
}

// Pytest runs pytest on args in Package, with Debian's Python, env added
// and a HOME and Jupyter folders of the test's own, and fails the test
// with pytest's output when it fails; it logs pytest's summary line.
func Pytest(t *testing.T, timeout time.Duration, env []string, args ...string) {
	t.Helper()
	PytestWith(t, Python, timeout, env, args...)
}

// PytestWith is Pytest with another Python (the test virtualenv's).
func PytestWith(t *testing.T, python string, timeout time.Duration, env []string, args ...string) {
	t.Helper()
	home := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, python, append([]string{"-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider"}, args...)...)
	cmd.Dir = Package(t)
	cmd.Env = append(append(os.Environ(),
		"HOME="+home,
		"JUPYTER_CONFIG_DIR="+filepath.Join(home, "config"),
		"JUPYTER_DATA_DIR="+filepath.Join(home, "data"),
		"JUPYTER_RUNTIME_DIR="+filepath.Join(home, "runtime"),
		"IPYTHONDIR="+filepath.Join(home, "ipython"),
		"PYTHONDONTWRITEBYTECODE=1",
	), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("pytest %s failed (%v):\n%s", strings.Join(args, " "), err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	t.Log(lines[len(lines)-1])
}
