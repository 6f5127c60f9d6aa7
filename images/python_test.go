package images

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
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
