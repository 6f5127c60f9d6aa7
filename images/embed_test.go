package images

import (
	"os"
	"path/filepath"
	"testing"
)

func TestWritePythonPackage(t *testing.T) {
	dir := t.TempDir()
	if err := WritePythonPackage(dir); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"__init__.py", "_client.py", "_manager.py", "_hub.py", "notebook6_hub.py", "server_hub.py"} {
		if _, err := os.Stat(filepath.Join(dir, "sparkhub_contents", f)); err != nil {
			t.Errorf("%s not written: %v", f, err)
		}
	}
	// Writing again over an older copy works.
	if err := WritePythonPackage(dir); err != nil {
		t.Fatal(err)
	}
}
