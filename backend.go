package main

import (
	"context"
	"log/slog"
	"strings"

	"gorm.io/gorm"

	"github.com/sparkhub/sparkhub/hub"
	"github.com/sparkhub/sparkhub/spawner"
	"github.com/sparkhub/sparkhub/spawner/local"
)

// newBackend builds the spawner backend --spawner names.
func newBackend(ctx context.Context, cfg hub.Config, gdb *gorm.DB, pythonDir string, log *slog.Logger) (spawner.Backend, error) {
	if cfg.Spawner == "mesos" {
		return newMesosBackend(ctx, cfg, gdb, log)
	}
	return local.New(local.Options{
		DataDir:              cfg.DataDir,
		Cmd:                  strings.Fields(cfg.LocalCmd),
		PythonPath:           pythonDir,
		ContentsManagerClass: "sparkhub_contents.HubContentsManager",
		Logger:               log,
	})
}
