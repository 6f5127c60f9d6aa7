package main

import (
	"context"
	"log/slog"
	"strconv"
	"strings"

	"gorm.io/gorm"

	"github.com/sparkhub/sparkhub/images"
	"github.com/sparkhub/sparkhub/spawner"
	"github.com/sparkhub/sparkhub/spawner/local"
)

// hubJupyter is what every server starts with, on any backend, to be
// part of the hub: its files in the hub, its logout the hub's, and (on
// notebook 6) a link to the hub's home.
var hubJupyter = spawner.Jupyter{
	ContentsManagerClass: images.ContentsManagerClass,
	LogoutHandlerClass:   images.LogoutHandlerClass,
	NotebookExtensions:   []string{images.NotebookExtension},
}

// newBackend builds the spawner backend --spawner names.
func newBackend(ctx context.Context, cfg Config, gdb *gorm.DB, catalog *images.Catalog, pythonDir string, log *slog.Logger) (spawner.Backend, error) {
	if cfg.Spawner == "mesos" {
		return newMesosBackend(ctx, cfg, gdb, catalog, log)
	}
	return local.New(local.Options{
		DataDir:    cfg.DataDir,
		Cmd:        strings.Fields(cfg.LocalCmd),
		PythonPath: pythonDir,
		Jupyter:    hubJupyter,
		Profile:    localProfile(catalog, cfg.Profiles != ""),
		Logger:     log,
	})
}

// localProfile gives the local backend a profile's environment and, when
// the admin wrote a catalog (explain), says which of the profile's
// resources a local process does not get.
func localProfile(catalog *images.Catalog, explain bool) func(string) (map[string]string, string, bool) {
	return func(name string) (map[string]string, string, bool) {
		p, ok := catalog.Lookup(name)
		if !ok {
			return nil, "", false
		}
		var unmet []string
		num := func(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }
		if p.CPUs > 0 {
			unmet = append(unmet, num(p.CPUs)+" CPUs")
		}
		if p.Mem > 0 {
			unmet = append(unmet, num(p.Mem)+" MiB of memory")
		}
		if p.GPUs > 0 {
			unmet = append(unmet, num(p.GPUs)+" GPUs")
		}
		if p.Image != "" {
			unmet = append(unmet, "the image "+p.Image)
		}
		if len(p.Spark) > 0 {
			unmet = append(unmet, "its Spark settings")
		}
		note := ""
		if len(unmet) > 0 && explain {
			note = "This hub runs servers as processes on its own machine, so the profile's " + strings.Join(unmet, ", ") + " are not applied; its environment is."
		}
		return p.Env, note, true
	}
}
