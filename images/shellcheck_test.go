package images

import (
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/sparkhub/sparkhub/internal/needtest"
)

// TestShellcheck runs shellcheck on the image's shell scripts (Debian's
// shellcheck package). With CI=true a missing shellcheck fails.
func TestShellcheck(t *testing.T) {
	bin := needtest.Tool(t, "shellcheck", "apt-get install shellcheck")
	scripts, _ := filepath.Glob("entrypoint*.sh")
	deploy, _ := filepath.Glob(filepath.Join("..", "deploy", "*.sh"))
	scripts = append(scripts, deploy...)
	if len(scripts) == 0 {
		t.Fatal("no scripts found")
	}
	for _, s := range scripts {
		out, err := exec.Command(bin, "--shell=sh", "--severity=style", s).CombinedOutput()
		if err != nil {
			t.Errorf("shellcheck %s: %v\n%s", s, err, out)
		}
	}
}
