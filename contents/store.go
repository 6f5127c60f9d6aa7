package contents

import (
	"context"
	"database/sql"
	"errors"
	"math/rand/v2"
	"time"

	gomysql "github.com/go-sql-driver/mysql"
	"gorm.io/gorm"

	"github.com/sparkhub/sparkhub/db"
)

// store reads and writes the pgcontents tables. It knows rows, not HTTP
// or encryption: those are the Service's.
type store struct {
	db      *gorm.DB
	dialect db.Dialect
	t       tables
}

// tables are the qualified names of pgcontents' tables on one engine.
type tables struct {
	users, dirs, files, checkpoints string
}

func tablesFor(d db.Dialect) tables {
	if d == db.Postgres {
		return tables{
			users:       "pgcontents.users",
			dirs:        "pgcontents.directories",
			files:       "pgcontents.files",
			checkpoints: "pgcontents.remote_checkpoints",
		}
	}
	return tables{users: "users", dirs: "directories", files: "files", checkpoints: "remote_checkpoints"}
}

func newStore(gdb *gorm.DB) *store {
	d := db.DialectOf(gdb)
	return &store{db: gdb, dialect: d, t: tablesFor(d)}
}

// storeFor wraps a caller's transaction.
func storeFor(tx *gorm.DB) *store { return newStore(tx) }

// now is the time a write records: UTC, to the microsecond every engine
// keeps.
func now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

// forUpdate locks the selected rows until the transaction ends. SQLite
// has one writer and no such clause.
func (st *store) forUpdate() string {
	if st.dialect == db.SQLite {
		return ""
	}
	return " FOR UPDATE"
}

// tx runs fn in a transaction, again when it loses a race: for a unique
// key (two first saves of one new file, two untitled names), or to a
// deadlock or serialization failure between concurrent savers.
func (st *store) tx(ctx context.Context, fn func(tx *store) error) error {
	// On MySQL, REPEATABLE READ's gap locks make concurrent first saves
	// into one directory deadlock each other over and over; READ
	// COMMITTED (PostgreSQL's default) has none. SQLite has one writer.
	var opts []*sql.TxOptions
	if st.dialect == db.MySQL {
		opts = append(opts, &sql.TxOptions{Isolation: sql.LevelReadCommitted})
	}
	var err error
	for attempt := range 8 {
		err = st.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
			return fn(&store{db: tx, dialect: st.dialect, t: st.t})
		}, opts...)
		if !retryable(err) {
			return err
		}
		time.Sleep(time.Duration(attempt+1) * time.Duration(5+rand.IntN(10)) * time.Millisecond)
	}
	return err
}

// retryable reports errors that a second try of the same transaction
// may not meet.
func retryable(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, gorm.ErrDuplicatedKey) {
		return true
	}
	var my *gomysql.MySQLError
	if errors.As(err, &my) {
		return my.Number == 1213 || my.Number == 1205 // deadlock, lock wait timeout
	}
	var pg interface{ SQLState() string }
	if errors.As(err, &pg) {
		return pg.SQLState() == "40001" || pg.SQLState() == "40P01"
	}
	return false
}

// insertIgnore inserts a row unless its key exists.
func (st *store) insertIgnore(table, cols, marks string, args ...any) error {
	if st.dialect == db.MySQL {
		return st.db.Exec("INSERT IGNORE INTO "+table+" ("+cols+") VALUES ("+marks+")", args...).Error
	}
	return st.db.Exec("INSERT INTO "+table+" ("+cols+") VALUES ("+marks+") ON CONFLICT DO NOTHING", args...).Error
}

// utcTime reads a stored time. pgcontents writes naive times in UTC
// (the hub's sessions run in UTC); drivers hand them back as UTC.
func utcTime(t time.Time) time.Time { return t.UTC() }
