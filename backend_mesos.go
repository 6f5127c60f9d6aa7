package main

import (
	"context"
	"errors"
	"log/slog"

	"gorm.io/gorm"

	"github.com/sparkhub/sparkhub/hub"
	"github.com/sparkhub/sparkhub/spawner"
)

// newMesosBackend builds the Mesos framework backend.
func newMesosBackend(ctx context.Context, cfg hub.Config, gdb *gorm.DB, log *slog.Logger) (spawner.Backend, error) {
	return nil, errors.New("the Mesos spawner is not available in this build")
}
