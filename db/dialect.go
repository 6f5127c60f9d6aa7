package db

import "gorm.io/gorm"

// Dialect is the engine behind a *gorm.DB, with the column types that
// sparkhub's DDL uses on it.
type Dialect string

// DialectOf reports the engine of gdb.
func DialectOf(gdb *gorm.DB) Dialect { return Dialect(gdb.Dialector.Name()) }

// ID is an auto-incrementing 64-bit primary key column.
func (d Dialect) ID() string {
	switch d {
	case MySQL:
		return "BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY"
	case Postgres:
		return "BIGSERIAL PRIMARY KEY"
	default:
		return "INTEGER PRIMARY KEY AUTOINCREMENT"
	}
}

// Time is a timestamp with microseconds, always written in UTC.
func (d Dialect) Time() string {
	switch d {
	case MySQL:
		return "DATETIME(6)"
	case Postgres:
		return "TIMESTAMP WITH TIME ZONE"
	default:
		return "DATETIME"
	}
}

// Blob is an unbounded byte string.
func (d Dialect) Blob() string {
	switch d {
	case MySQL:
		return "LONGBLOB"
	case Postgres:
		return "BYTEA"
	default:
		return "BLOB"
	}
}

// Text is an unbounded character string.
func (d Dialect) Text() string {
	if d == MySQL {
		return "LONGTEXT"
	}
	return "TEXT"
}

// TableOptions ends a CREATE TABLE: on MySQL, InnoDB with utf8mb4 and a
// binary (case- and accent-sensitive) collation, so "Alice" and "alice"
// stay two names as on the other engines.
func (d Dialect) TableOptions() string {
	if d == MySQL {
		return " ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin"
	}
	return ""
}
