package db

import "gorm.io/gorm"

// spawnerSteps are the spawner's steps, versions 200-299: hub_servers.
func spawnerSteps() []Step {
	return []Step{
		{Version: 200, Name: "spawner servers", Up: spawnerServers},
		{Version: 201, Name: "spawner bootstrap credentials", Up: spawnerBootstrap},
	}
}

// spawnerServers creates hub_servers: one row per user and server name
// ("" is the default server), kept after the server stops so the user and
// the admin can read why it stopped.
//
// Rows point at hub_users by id, with ON DELETE CASCADE: deleting a user
// drops their server record (and its encrypted token) with them, and
// renaming a user keeps their server.
//
// handle_backend, handle_id and handle_state are the backend's handle,
// written right after the backend started the server so a restarted hub
// can recover it. token is the server's token sealed with AES-GCM under
// the hub key (the proxy needs it again after a restart). stop_reason is
// a sentence for the user; log_tail the server's last output, for admins.
func spawnerServers(tx *gorm.DB, d Dialect) error {
	if err := execAll(tx,
		`CREATE TABLE IF NOT EXISTS hub_servers (
			id `+d.ID()+`,
			user_id BIGINT NOT NULL,
			name VARCHAR(100) NOT NULL DEFAULT '',
			state VARCHAR(20) NOT NULL,
			profile VARCHAR(100) NOT NULL DEFAULT '',
			handle_backend VARCHAR(50) NOT NULL DEFAULT '',
			handle_id VARCHAR(255) NOT NULL DEFAULT '',
			handle_state `+d.Blob()+` NULL,
			target VARCHAR(255) NOT NULL DEFAULT '',
			token `+d.Blob()+` NULL,
			started `+d.Time()+` NULL,
			ready_at `+d.Time()+` NULL,
			last_activity `+d.Time()+` NULL,
			stopped `+d.Time()+` NULL,
			stop_reason VARCHAR(1000) NOT NULL DEFAULT '',
			log_tail `+d.Text()+` NULL,
			updated_at `+d.Time()+` NOT NULL,
			CONSTRAINT hub_servers_user_name_key UNIQUE (user_id, name),
			CONSTRAINT hub_servers_user_fkey FOREIGN KEY (user_id) REFERENCES hub_users (id) ON DELETE CASCADE
		)`+d.TableOptions(),
	); err != nil {
		return err
	}
	return CreateIndex(tx, "hub_servers", "hub_servers_state_idx", "state")
}

// spawnerBootstrap adds what a start on a backend whose tasks others can
// read (Mesos) keeps of the single-use credential its server trades for
// its tokens: bootstrap_hash is the credential's SHA-256 in hex ("" when
// the start had none), bootstrap_expires when it stops being accepted
// (the start's deadline), bootstrapped when it was traded (NULL until
// then, and a second trade is refused). In the database, not in memory,
// so a hub restarted while a server starts still takes its credential,
// and still refuses it twice.
//
// Each column is added only when missing: MySQL commits DDL at once, so
// a step it ran half-way must run again whole.
func spawnerBootstrap(tx *gorm.DB, d Dialect) error {
	for _, c := range []struct{ name, def string }{
		{"bootstrap_hash", "VARCHAR(64) NOT NULL DEFAULT ''"},
		{"bootstrap_expires", d.Time() + " NULL"},
		{"bootstrapped", d.Time() + " NULL"},
	} {
		if tx.Migrator().HasColumn("hub_servers", c.name) {
			continue
		}
		if err := tx.Exec("ALTER TABLE hub_servers ADD COLUMN " + c.name + " " + c.def).Error; err != nil {
			return err
		}
	}
	return nil
}
