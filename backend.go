package main

import (
	"log/slog"
	"strings"

	"gorm.io/gorm"

	"github.com/sparkhub/sparkhub/images"
	"github.com/sparkhub/sparkhub/spawner"
	"github.com/sparkhub/sparkhub/spawner/local"
)

// hubJupyter is what every server starts with, on any backend, to be
// part of the hub: its files in the hub, its logout the hub's, (on
// notebook 6) a link to the hub's home, and the proof the hub asks a
// server started with a bootstrap credential for.
var hubJupyter = spawner.Jupyter{
	ContentsManagerClass: images.ContentsManagerClass,
	LogoutHandlerClass:   images.LogoutHandlerClass,
	NotebookExtensions:   []string{images.NotebookExtension},
	ServerExtensions:     []string{images.ServerExtension},
}

// newBackend builds the spawner backend --spawner names.
func newBackend(cfg Config, gdb *gorm.DB, catalog *images.Catalog, pythonDir string, log *slog.Logger) (spawner.Backend, error) {
	if cfg.Spawner == "mesos" {
		return newMesosBackend(cfg, gdb, catalog, log)
	}
	b, err := local.New(local.Options{
		DataDir:       cfg.DataDir,
		Cmd:           strings.Fields(cfg.LocalCmd),
		PythonPath:    pythonDir,
		Jupyter:       hubJupyter,
		SharedAccount: cfg.LocalSharedAccount,
		AccountPrefix: cfg.LocalAccountPrefix,
		Logger:        log,
	})
	if err != nil {
		return nil, err
	}
	if b.Isolated() {
		log.Info("local servers: " + b.Describe())
	} else {
		log.Warn("local servers: " + b.Describe())
	}
	return b, nil
}

// profileSpecs is how the manager resolves the profile of a start into
// the spec its backend gets. On Mesos (with or without --profiles: the
// default profile promises the cluster) the spec's environment also
// carries the Spark settings the image's entrypoint renders for the
// cluster; otherwise it is the profile's env alone.
func profileSpecs(cfg Config, catalog *images.Catalog) images.Specs {
	s := images.Specs{Catalog: catalog}
	if cfg.Spawner == "mesos" {
		s.Cluster = cfg.Mesos.cluster()
	}
	return s
}
