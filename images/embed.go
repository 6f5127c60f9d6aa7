// Package images holds what users' servers run: the sparkhub_contents
// Python package that the hub writes out for local servers, and (in the
// Dockerfiles beside it) the battery-included images.
package images

import (
	"embed"
	"io/fs"
	"os"
	"path/filepath"
)

//go:embed python/sparkhub_contents/sparkhub_contents/*.py
var python embed.FS

// What Jupyter's options name in sparkhub_contents. Each class resolves to
// the one for the Jupyter that imports it, so one name serves the
// NotebookApp, ServerApp and IdentityProvider spellings alike.
const (
	// ContentsManagerClass keeps the server's files in the hub.
	ContentsManagerClass = "sparkhub_contents.HubContentsManager"
	// LogoutHandlerClass answers {base_url}logout by sending the browser
	// on to the hub's logout.
	LogoutHandlerClass = "sparkhub_contents.HubLogoutHandler"
	// NotebookExtension, a notebook 6 server extension, links every page
	// of notebook 6 to the hub's home and answers the hub's proof
	// (spawner.ProofPath).
	NotebookExtension = "sparkhub_contents.notebook6_hub"
	// ServerExtension, a jupyter_server extension, answers the hub's
	// proof under JupyterLab and Notebook 7.
	ServerExtension = "sparkhub_contents.server_hub"
)

// WritePythonPackage writes the sparkhub_contents package into dir (as
// dir/sparkhub_contents/*.py), replacing what an older hub wrote there,
// so a server with dir on its PYTHONPATH can import it.
func WritePythonPackage(dir string) error {
	sub, err := fs.Sub(python, "python/sparkhub_contents")
	if err != nil {
		return err
	}
	return fs.WalkDir(sub, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		dst := filepath.Join(dir, filepath.FromSlash(p))
		if d.IsDir() {
			return os.MkdirAll(dst, 0o755)
		}
		b, err := fs.ReadFile(sub, p)
		if err != nil {
			return err
		}
		tmp := dst + ".tmp"
		if err := os.WriteFile(tmp, b, 0o644); err != nil {
			return err
		}
		return os.Rename(tmp, dst)
	})
}
