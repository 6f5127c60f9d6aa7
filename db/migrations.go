package db

import (
	"fmt"

	"gorm.io/gorm"
)

// Steps is every schema change sparkhub knows, oldest first. Versions
// 1-99 are the hub's own tables (prefix hub_), 100-199 the contents
// service's pgcontents tables, 200-299 the spawner's. A released step is
// never edited: a change is a new step.
func Steps() []Step {
	steps := []Step{
		{Version: 1, Name: "hub settings, users and tokens", Up: hubCore},
		{Version: 2, Name: "revoked sessions", Up: hubRevokedSessions},
		{Version: 3, Name: "groups and their members", Up: hubGroups},
	}
	steps = append(steps, contentsSteps()...)
	return append(steps, spawnerSteps()...)
}

func execAll(tx *gorm.DB, stmts ...string) error {
	for _, s := range stmts {
		if err := tx.Exec(s).Error; err != nil {
			return fmt.Errorf("%.60s…: %w", s, err)
		}
	}
	return nil
}

func hubCore(tx *gorm.DB, d Dialect) error {
	if err := execAll(tx,
		`CREATE TABLE IF NOT EXISTS hub_settings (
			name VARCHAR(100) NOT NULL PRIMARY KEY,
			value `+d.Blob()+` NOT NULL,
			updated_at `+d.Time()+` NOT NULL
		)`+d.TableOptions(),
		`CREATE TABLE IF NOT EXISTS hub_users (
			id `+d.ID()+`,
			name VARCHAR(30) NOT NULL,
			admin BOOLEAN NOT NULL DEFAULT FALSE,
			password_hash VARCHAR(100) NOT NULL DEFAULT '',
			disabled BOOLEAN NOT NULL DEFAULT FALSE,
			session_generation BIGINT NOT NULL DEFAULT 0,
			created_at `+d.Time()+` NOT NULL,
			last_activity `+d.Time()+` NULL,
			CONSTRAINT hub_users_name_key UNIQUE (name)
		)`+d.TableOptions(),
		`CREATE TABLE IF NOT EXISTS hub_tokens (
			id `+d.ID()+`,
			user_id BIGINT NOT NULL,
			hash CHAR(64) NOT NULL,
			kind VARCHAR(20) NOT NULL DEFAULT 'api_token',
			note VARCHAR(1000) NOT NULL DEFAULT '',
			scopes `+d.Text()+` NOT NULL,
			created_at `+d.Time()+` NOT NULL,
			expires_at `+d.Time()+` NULL,
			last_activity `+d.Time()+` NULL,
			CONSTRAINT hub_tokens_hash_key UNIQUE (hash),
			CONSTRAINT hub_tokens_user_fkey FOREIGN KEY (user_id) REFERENCES hub_users (id) ON DELETE CASCADE
		)`+d.TableOptions(),
	); err != nil {
		return err
	}
	return CreateIndex(tx, "hub_tokens", "hub_tokens_user_idx", "user_id")
}

// hubRevokedSessions creates hub_revoked_sessions: the id of each
// session that was logged out, refused from then on. A row is kept
// until expires_at, when every cookie that carries its id has expired,
// and swept after; it goes with its user.
func hubRevokedSessions(tx *gorm.DB, d Dialect) error {
	if err := execAll(tx,
		`CREATE TABLE IF NOT EXISTS hub_revoked_sessions (
			id VARCHAR(64) NOT NULL PRIMARY KEY,
			user_id BIGINT NOT NULL,
			expires_at `+d.Time()+` NOT NULL,
			CONSTRAINT hub_revoked_sessions_user_fkey FOREIGN KEY (user_id) REFERENCES hub_users (id) ON DELETE CASCADE
		)`+d.TableOptions(),
	); err != nil {
		return err
	}
	return CreateIndex(tx, "hub_revoked_sessions", "hub_revoked_sessions_expires_idx", "expires_at")
}

// hubGroups creates hub_groups and hub_group_members. from_provider
// marks a group the login provider made, and a membership the provider
// gave: a login syncs those and leaves the hub's own alone. A membership
// goes with its group and with its user.
func hubGroups(tx *gorm.DB, d Dialect) error {
	if err := execAll(tx,
		`CREATE TABLE IF NOT EXISTS hub_groups (
			id `+d.ID()+`,
			name VARCHAR(64) NOT NULL,
			properties `+d.Text()+` NOT NULL,
			from_provider BOOLEAN NOT NULL DEFAULT FALSE,
			created_at `+d.Time()+` NOT NULL,
			CONSTRAINT hub_groups_name_key UNIQUE (name)
		)`+d.TableOptions(),
		`CREATE TABLE IF NOT EXISTS hub_group_members (
			group_id BIGINT NOT NULL,
			user_id BIGINT NOT NULL,
			from_provider BOOLEAN NOT NULL DEFAULT FALSE,
			PRIMARY KEY (group_id, user_id),
			CONSTRAINT hub_group_members_group_fkey FOREIGN KEY (group_id) REFERENCES hub_groups (id) ON DELETE CASCADE,
			CONSTRAINT hub_group_members_user_fkey FOREIGN KEY (user_id) REFERENCES hub_users (id) ON DELETE CASCADE
		)`+d.TableOptions(),
	); err != nil {
		return err
	}
	return CreateIndex(tx, "hub_group_members", "hub_group_members_user_idx", "user_id")
}

// CreateIndex creates a plain index unless one of that name exists
// (MySQL has no CREATE INDEX IF NOT EXISTS).
func CreateIndex(tx *gorm.DB, table, name, columns string) error {
	if tx.Migrator().HasIndex(table, name) {
		return nil
	}
	return tx.Exec("CREATE INDEX " + name + " ON " + table + " (" + columns + ")").Error
}
