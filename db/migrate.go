package db

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
)

// A Step is one versioned schema change. Up runs in its own transaction
// together with the row that records it in hub_schema_migrations, so a
// step is applied whole or not at all. (MySQL commits DDL implicitly:
// there a step that fails half-way may leave part of its tables behind,
// which is why every step creates with IF NOT EXISTS and may be rerun.)
type Step struct {
	Version int
	Name    string
	Up      func(tx *gorm.DB, d Dialect) error
}

type migrationRow struct {
	Version   int       `gorm:"primaryKey;autoIncrement:false"`
	Name      string    `gorm:"size:200;not null"`
	AppliedAt time.Time `gorm:"not null"`
}

func (migrationRow) TableName() string { return "hub_schema_migrations" }

// Migrate applies every step of Steps() not yet recorded, in order, and
// returns the versions it applied.
func Migrate(ctx context.Context, gdb *gorm.DB) ([]int, error) {
	return MigrateSteps(ctx, gdb, Steps())
}

// MigrateSteps is Migrate with an explicit list, for tests.
func MigrateSteps(ctx context.Context, gdb *gorm.DB, steps []Step) ([]int, error) {
	d := DialectOf(gdb)
	gdb = gdb.WithContext(ctx)
	if err := gdb.Exec(`CREATE TABLE IF NOT EXISTS hub_schema_migrations (
		version INTEGER NOT NULL PRIMARY KEY,
		name VARCHAR(200) NOT NULL,
		applied_at ` + d.Time() + ` NOT NULL
	)` + d.TableOptions()).Error; err != nil {
		return nil, fmt.Errorf("create hub_schema_migrations: %w", err)
	}
	done, err := appliedVersions(gdb)
	if err != nil {
		return nil, err
	}
	var applied []int
	last := 0
	for _, s := range steps {
		if s.Version <= last {
			return applied, fmt.Errorf("migration %d (%s) is out of order", s.Version, s.Name)
		}
		last = s.Version
		if done[s.Version] {
			continue
		}
		err := gdb.Transaction(func(tx *gorm.DB) error {
			// Claim the version first: a second hub migrating at the
			// same moment fails here instead of running the step twice.
			if err := tx.Create(&migrationRow{Version: s.Version, Name: s.Name, AppliedAt: time.Now().UTC()}).Error; err != nil {
				return err
			}
			return s.Up(tx, d)
		})
		if err != nil {
			if errors.Is(err, gorm.ErrDuplicatedKey) {
				continue
			}
			return applied, fmt.Errorf("migration %d (%s): %w", s.Version, s.Name, err)
		}
		applied = append(applied, s.Version)
	}
	return applied, nil
}

// Pending lists the versions of Steps() not yet applied.
func Pending(ctx context.Context, gdb *gorm.DB) ([]int, error) {
	done, err := appliedVersions(gdb.WithContext(ctx))
	if err != nil {
		return nil, err
	}
	var pending []int
	for _, s := range Steps() {
		if !done[s.Version] {
			pending = append(pending, s.Version)
		}
	}
	return pending, nil
}

func appliedVersions(gdb *gorm.DB) (map[int]bool, error) {
	var rows []migrationRow
	if !gdb.Migrator().HasTable(&migrationRow{}) {
		return map[int]bool{}, nil
	}
	if err := gdb.Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("read hub_schema_migrations: %w", err)
	}
	done := make(map[int]bool, len(rows))
	for _, r := range rows {
		done[r.Version] = true
	}
	return done, nil
}
