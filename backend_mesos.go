package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strings"

	"gorm.io/gorm"

	"github.com/sparkhub/sparkhub/db"
	"github.com/sparkhub/sparkhub/images"
	"github.com/sparkhub/sparkhub/spawner"
	"github.com/sparkhub/sparkhub/spawner/mesos"
)

// mesosFrameworkIDSetting is where the framework id is kept in
// hub_settings.
const mesosFrameworkIDSetting = "mesos_framework_id"

// newMesosBackend builds the Mesos framework backend. Its Run (in
// serve's errgroup) subscribes, and stops without tearing the framework
// down. Its servers' specs come with each start (profileSpecs); the
// manager, given the backend, tells it which tasks the hub holds.
func newMesosBackend(cfg Config, gdb *gorm.DB, catalog *images.Catalog, log *slog.Logger) (spawner.Backend, error) {
	m := cfg.Mesos
	secret := ""
	if m.SecretFile != "" {
		b, err := os.ReadFile(m.SecretFile)
		if err != nil {
			return nil, fmt.Errorf("--mesos-secret-file: %w", err)
		}
		secret = strings.TrimRight(string(b), "\r\n")
	}
	constraints, err := images.ParseConstraints(m.Constraints)
	if err != nil {
		return nil, fmt.Errorf("--mesos-constraints: %w", err)
	}
	b, err := mesos.New(mesos.Options{
		Master: m.Master, Principal: m.Principal, Secret: secret, Role: m.Role, Roles: mesosRoles(cfg, catalog), User: m.User,
		FrameworkName: m.FrameworkName, FailoverTimeout: m.FailoverTimeout, RefuseSeconds: m.RefuseSeconds,
		Network: m.Network, Containerizer: m.Containerizer,
		Jupyter: hubJupyter,
		Defaults: spawner.Spec{
			Image: m.Image, CPUs: m.CPUs, Mem: m.Mem, Disk: m.Disk, GPUs: m.GPUs, Constraints: constraints,
		},
		KillGrace: cfg.StopGrace,
		SparkApps: m.SparkApps, KeepPorts: keepPorts(m.ShufflePort), ReadOnlyFiles: readOnlyFiles(m.SparkSecretFile),
		IDs:      settingsIDs{db.NewSettings(gdb)},
		WebUIURL: cfg.HubURL,
		Logger:   log.With("component", "mesos"),
	})
	if err != nil {
		return nil, err
	}
	return b, nil
}

// mesosRoles are the roles the catalog's profiles run under, besides
// --mesos-role: the framework subscribes with all of them.
func mesosRoles(cfg Config, catalog *images.Catalog) []string {
	if cfg.Profiles == "" || catalog == nil {
		return nil
	}
	var roles []string
	for _, p := range catalog.Profiles {
		if p.Role != "" && !slices.Contains(roles, p.Role) {
			roles = append(roles, p.Role)
		}
	}
	return roles
}

// settingsIDs keeps the framework id in hub_settings.
type settingsIDs struct{ s *db.Settings }

func (s settingsIDs) Get(ctx context.Context) (string, error) {
	v, err := s.s.Get(ctx, mesosFrameworkIDSetting)
	if errors.Is(err, db.ErrNoSetting) {
		return "", nil
	}
	return string(v), err
}

func (s settingsIDs) Set(ctx context.Context, id string) error {
	return s.s.Set(ctx, mesosFrameworkIDSetting, []byte(id))
}

// keepPorts are the agents' ports no server is given: the Spark shuffle
// service's, which dynamic allocation needs on every agent.
func keepPorts(shuffle int) []uint64 {
	if shuffle == 0 {
		return nil
	}
	return []uint64{uint64(shuffle)}
}

// readOnlyFiles are the agents' files each server gets read-only: Spark's
// own secret (never the hub's).
func readOnlyFiles(sparkSecret string) []string {
	if sparkSecret == "" {
		return nil
	}
	return []string{sparkSecret}
}
