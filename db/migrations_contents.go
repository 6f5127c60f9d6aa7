package db

import (
	"fmt"

	"gorm.io/gorm"
)

// contentsSteps are the contents service's steps, versions 100-199: the
// pgcontents tables.
func contentsSteps() []Step {
	return []Step{
		{Version: 100, Name: "pgcontents tables", Up: pgcontentsTables},
	}
}

// PgcontentsHead is the alembic revision of the newest pgcontents schema,
// the one these tables match.
const PgcontentsHead = "2d46c89138b0"

// pgcontentsTables creates the tables pgcontents 0.6 uses, exactly as its
// alembic head leaves them: on PostgreSQL in schema pgcontents, elsewhere
// as plain tables. A database where pgcontents (or an earlier run) already
// made them is left exactly as it is, whichever foreign-key variant it
// has: the contents service works with both.
func pgcontentsTables(tx *gorm.DB, d Dialect) error {
	switch d {
	case Postgres:
		return pgcontentsPostgres(tx)
	case MySQL:
		return pgcontentsMySQL(tx)
	default:
		return pgcontentsSQLite(tx)
	}
}

func pgcontentsPostgres(tx *gorm.DB) error {
	var existing int
	if err := tx.Raw(`SELECT count(*) FROM information_schema.tables
		WHERE table_schema = 'pgcontents' AND table_name IN ('users', 'directories', 'files', 'remote_checkpoints')`).
		Scan(&existing).Error; err != nil {
		return fmt.Errorf("look for pgcontents tables: %w", err)
	}
	if existing == 4 {
		return nil // an existing pgcontents database: serve it as it is
	}
	if existing != 0 {
		return fmt.Errorf("schema pgcontents holds %d of its 4 tables; finish or undo its setup (pgcontents init) before starting sparkhub", existing)
	}
	if err := execAll(tx,
		`CREATE SCHEMA IF NOT EXISTS pgcontents`,
		`CREATE TABLE pgcontents.users (
			id VARCHAR(30) NOT NULL,
			CONSTRAINT users_pkey PRIMARY KEY (id)
		)`,
		`CREATE TABLE pgcontents.directories (
			user_id VARCHAR(30) NOT NULL,
			name VARCHAR(300) NOT NULL,
			parent_user_id VARCHAR(30),
			parent_name VARCHAR(300),
			CONSTRAINT directories_pkey PRIMARY KEY (user_id, name),
			CONSTRAINT directories_user_id_fkey FOREIGN KEY (user_id) REFERENCES pgcontents.users (id),
			CONSTRAINT directories_parent_user_id_fkey FOREIGN KEY (parent_user_id, parent_name)
				REFERENCES pgcontents.directories (user_id, name) DEFERRABLE INITIALLY IMMEDIATE,
			CONSTRAINT directories_match_user_id CHECK (user_id = parent_user_id),
			CONSTRAINT directories_parent_name_prefix CHECK (position(parent_name in name) != 0),
			CONSTRAINT directories_startwith_slash CHECK (left(name, 1) = '/'),
			CONSTRAINT directories_endwith_slash CHECK (right(name, 1) = '/'),
			CONSTRAINT directories_slash_count CHECK (
				length(regexp_replace(name, '[^/]+', '', 'g')) - 1 = length(regexp_replace(parent_name, '[^/]+', '', 'g'))),
			CONSTRAINT directories_null_user_id_match CHECK (
				(parent_name IS NULL AND parent_user_id IS NULL) OR (parent_name IS NOT NULL AND parent_user_id IS NOT NULL))
		)`,
		`CREATE TABLE pgcontents.files (
			id SERIAL NOT NULL,
			name VARCHAR(300) NOT NULL,
			user_id VARCHAR(30) NOT NULL,
			parent_name VARCHAR(300) NOT NULL,
			content BYTEA NOT NULL,
			created_at TIMESTAMP WITHOUT TIME ZONE NOT NULL,
			CONSTRAINT files_pkey PRIMARY KEY (id),
			CONSTRAINT uix_filepath_username UNIQUE (user_id, parent_name, name),
			CONSTRAINT files_user_id_fkey FOREIGN KEY (user_id, parent_name)
				REFERENCES pgcontents.directories (user_id, name) ON UPDATE CASCADE,
			CONSTRAINT files_user_id_fkey1 FOREIGN KEY (user_id) REFERENCES pgcontents.users (id)
		)`,
		`CREATE TABLE pgcontents.remote_checkpoints (
			id SERIAL NOT NULL,
			user_id VARCHAR(30) NOT NULL,
			path VARCHAR(300) NOT NULL,
			content BYTEA NOT NULL,
			last_modified TIMESTAMP WITHOUT TIME ZONE NOT NULL,
			CONSTRAINT remote_checkpoints_pkey PRIMARY KEY (id),
			CONSTRAINT remote_checkpoints_user_id_fkey FOREIGN KEY (user_id) REFERENCES pgcontents.users (id)
		)`,
		// Not in pgcontents' schema, which finds checkpoints by a full
		// scan; an index changes nothing pgcontents relies on.
		`CREATE INDEX remote_checkpoints_user_id_path_idx ON pgcontents.remote_checkpoints (user_id, path)`,
		// So that pgcontents' own tools (pgcontents init, alembic) see an
		// up-to-date database rather than an empty one.
		`CREATE TABLE IF NOT EXISTS public.alembic_version (
			version_num VARCHAR(32) NOT NULL,
			CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num)
		)`,
	); err != nil {
		return err
	}
	return tx.Exec(`INSERT INTO public.alembic_version (version_num)
		SELECT ? WHERE NOT EXISTS (SELECT 1 FROM public.alembic_version)`, PgcontentsHead).Error
}

// pgcontentsMySQL follows the MySQL port of pgcontents, with the changes
// that make it safe: a binary collation (so "A.txt" and "a.txt" are two
// files), LONGBLOB (MEDIUMBLOB stops at 16 MiB) and microsecond times.
//
// Every statement is IF NOT EXISTS: the MySQL port's existing tables are
// kept as they are, and a run that MySQL's implicit DDL commits cut short
// finishes on the next start.
func pgcontentsMySQL(tx *gorm.DB) error {
	const opts = " ENGINE=InnoDB ROW_FORMAT=DYNAMIC DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin"
	return execAll(tx,
		`CREATE TABLE IF NOT EXISTS users (
			id VARCHAR(30) NOT NULL,
			PRIMARY KEY (id)
		)`+opts,
		`CREATE TABLE IF NOT EXISTS directories (
			user_id VARCHAR(30) NOT NULL,
			name VARCHAR(300) NOT NULL,
			parent_user_id VARCHAR(30) NULL,
			parent_name VARCHAR(300) NULL,
			PRIMARY KEY (user_id, name),
			CONSTRAINT directories_user_id_fkey FOREIGN KEY (user_id) REFERENCES users (id),
			CONSTRAINT directories_parent_user_id_fkey FOREIGN KEY (parent_user_id, parent_name) REFERENCES directories (user_id, name)
		)`+opts,
		`CREATE TABLE IF NOT EXISTS files (
			id INTEGER NOT NULL AUTO_INCREMENT,
			name VARCHAR(300) NOT NULL,
			user_id VARCHAR(30) NOT NULL,
			parent_name VARCHAR(300) NOT NULL,
			content LONGBLOB NOT NULL,
			created_at DATETIME(6) NOT NULL,
			PRIMARY KEY (id),
			UNIQUE KEY uix_filepath_username (user_id, parent_name, name),
			CONSTRAINT files_user_id_fkey FOREIGN KEY (user_id, parent_name) REFERENCES directories (user_id, name) ON UPDATE CASCADE,
			CONSTRAINT files_user_id_fkey1 FOREIGN KEY (user_id) REFERENCES users (id)
		)`+opts,
		`CREATE TABLE IF NOT EXISTS remote_checkpoints (
			id INTEGER NOT NULL AUTO_INCREMENT,
			user_id VARCHAR(30) NOT NULL,
			path VARCHAR(300) NOT NULL,
			content LONGBLOB NOT NULL,
			last_modified DATETIME(6) NOT NULL,
			PRIMARY KEY (id),
			KEY remote_checkpoints_user_id_path_idx (user_id, path),
			CONSTRAINT remote_checkpoints_user_id_fkey FOREIGN KEY (user_id) REFERENCES users (id)
		)`+opts,
	)
}

func pgcontentsSQLite(tx *gorm.DB) error {
	return execAll(tx,
		`CREATE TABLE IF NOT EXISTS users (
			id VARCHAR(30) NOT NULL PRIMARY KEY
		)`,
		`CREATE TABLE IF NOT EXISTS directories (
			user_id VARCHAR(30) NOT NULL REFERENCES users (id),
			name VARCHAR(300) NOT NULL,
			parent_user_id VARCHAR(30),
			parent_name VARCHAR(300),
			PRIMARY KEY (user_id, name),
			FOREIGN KEY (parent_user_id, parent_name) REFERENCES directories (user_id, name) DEFERRABLE INITIALLY IMMEDIATE,
			CHECK (substr(name, 1, 1) = '/' AND substr(name, -1, 1) = '/'),
			CHECK ((parent_name IS NULL AND parent_user_id IS NULL) OR (parent_name IS NOT NULL AND parent_user_id = user_id))
		)`,
		`CREATE TABLE IF NOT EXISTS files (
			id INTEGER PRIMARY KEY AUTOINCREMENT,
			name VARCHAR(300) NOT NULL,
			user_id VARCHAR(30) NOT NULL REFERENCES users (id),
			parent_name VARCHAR(300) NOT NULL,
			content BLOB NOT NULL,
			created_at DATETIME NOT NULL,
			CONSTRAINT uix_filepath_username UNIQUE (user_id, parent_name, name),
			FOREIGN KEY (user_id, parent_name) REFERENCES directories (user_id, name) ON UPDATE CASCADE
		)`,
		`CREATE TABLE IF NOT EXISTS remote_checkpoints (
			id INTEGER PRIMARY KEY AUTOINCREMENT,
			user_id VARCHAR(30) NOT NULL REFERENCES users (id),
			path VARCHAR(300) NOT NULL,
			content BLOB NOT NULL,
			last_modified DATETIME NOT NULL
		)`,
		`CREATE INDEX IF NOT EXISTS remote_checkpoints_user_id_path_idx ON remote_checkpoints (user_id, path)`,
	)
}
