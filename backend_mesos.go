package main

import (
	"context"
	"encoding/json"
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
// down.
func newMesosBackend(ctx context.Context, cfg Config, gdb *gorm.DB, catalog *images.Catalog, log *slog.Logger) (spawner.Backend, error) {
	m := cfg.Mesos
	secret := ""
	if m.SecretFile != "" {
		b, err := os.ReadFile(m.SecretFile)
		if err != nil {
			return nil, fmt.Errorf("--mesos-secret-file: %w", err)
		}
		secret = strings.TrimRight(string(b), "\r\n")
	}
	constraints, err := mesos.ParseConstraints(m.Constraints)
	if err != nil {
		return nil, fmt.Errorf("--mesos-constraints: %w", err)
	}
	b, err := mesos.New(mesos.Options{
		Master: m.Master, Principal: m.Principal, Secret: secret, Role: m.Role, Roles: mesosRoles(cfg, catalog), User: m.User,
		FrameworkName: m.FrameworkName, FailoverTimeout: m.FailoverTimeout, RefuseSeconds: m.RefuseSeconds,
		Network: m.Network, Containerizer: m.Containerizer,
		Jupyter: hubJupyter,
		Defaults: mesos.TaskSpec{
			Image: m.Image, CPUs: m.CPUs, Mem: m.Mem, Disk: m.Disk, GPUs: m.GPUs, Constraints: constraints,
		},
		Spec:       mesosSpec(cfg, catalog),
		KillGrace:  cfg.StopGrace,
		IDs:        settingsIDs{db.NewSettings(gdb)},
		KnownTasks: func(ctx context.Context) ([]spawner.Handle, error) { return mesosHandles(ctx, gdb) },
		WebUIURL:   cfg.HubURL,
		Logger:     log.With("component", "mesos"),
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

// mesosSpec turns the admin's profile catalog into task specs: a
// profile's image, resources, role, constraints and the environment its
// image's entrypoint reads (Spark's settings). Without a catalog
// (--profiles) the --mesos-* flags give every server's spec.
func mesosSpec(cfg Config, catalog *images.Catalog) func(string) (mesos.TaskSpec, error) {
	if cfg.Profiles == "" || catalog == nil {
		return nil
	}
	cluster := images.Cluster{Master: cfg.Mesos.Master, Image: cfg.Mesos.Image, Role: cfg.Mesos.Role}
	return func(name string) (mesos.TaskSpec, error) {
		p, ok := catalog.Lookup(name)
		if !ok {
			return mesos.TaskSpec{}, fmt.Errorf("there is no profile %q", name)
		}
		var cs []mesos.Constraint
		if mc := p.MarathonConstraints(); len(mc) > 0 {
			j, err := json.Marshal(mc)
			if err != nil {
				return mesos.TaskSpec{}, err
			}
			if cs, err = mesos.ParseConstraints(string(j)); err != nil {
				return mesos.TaskSpec{}, fmt.Errorf("profile %s: %w", name, err)
			}
		}
		return mesos.TaskSpec{Image: p.Image, CPUs: p.CPUs, Mem: p.Mem, Disk: p.Disk, GPUs: p.GPUs, Role: p.Role,
			Constraints: cs, Env: images.ProfileEnv(p, cluster)}, nil
	}
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

// mesosHandles are the Mesos handles hub_servers holds: the tasks the
// hub knows.
func mesosHandles(ctx context.Context, gdb *gorm.DB) ([]spawner.Handle, error) {
	var rows []struct {
		HandleID    string
		HandleState []byte
	}
	err := gdb.WithContext(ctx).Table("hub_servers").Select("handle_id, handle_state").
		Where("handle_backend = ? AND handle_id <> ''", mesos.Name).Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("list Mesos servers: %w", err)
	}
	hs := make([]spawner.Handle, 0, len(rows))
	for _, r := range rows {
		hs = append(hs, spawner.Handle{Backend: mesos.Name, ID: r.HandleID, State: r.HandleState})
	}
	return hs, nil
}
