// Package dbtest gives each test a fresh database on every engine the
// environment offers: SQLite always, MariaDB/MySQL when
// SPARKHUB_TEST_MYSQL_DSN is set, PostgreSQL when
// SPARKHUB_TEST_POSTGRES_DSN is set. With CI=true a missing DSN fails the
// test instead of skipping it.
package dbtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gorm.io/gorm"

	"github.com/sparkhub/sparkhub/db"
	"github.com/sparkhub/sparkhub/internal/needtest"
)

// Engines in the order tests run them.
var Engines = []string{db.SQLite, db.MySQL, db.Postgres}

// Each runs fn once per engine, as a subtest named after it, on a fresh
// database migrated to the newest version.
func Each(t *testing.T, fn func(t *testing.T, gdb *gorm.DB)) {
	t.Helper()
	for _, engine := range Engines {
		t.Run(engine, func(t *testing.T) {
			fn(t, Open(t, engine))
		})
	}
}

// Open returns a fresh, migrated database of the engine, dropped when the
// test ends.
func Open(t testing.TB, engine string) *gorm.DB {
	t.Helper()
	gdb := OpenEmpty(t, engine)
	if _, err := db.Migrate(context.Background(), gdb); err != nil {
		t.Fatalf("migrate %s: %v", engine, err)
	}
	return gdb
}

// OpenEmpty returns a fresh database with no tables.
func OpenEmpty(t testing.TB, engine string) *gorm.DB {
	t.Helper()
	u := NewURL(t, engine)
	gdb, err := db.Open(context.Background(), u, db.Options{})
	if err != nil {
		t.Fatalf("open %s: %v", engine, err)
	}
	t.Cleanup(func() { db.Close(gdb) })
	return gdb
}

// NewURL makes a fresh, empty database of the engine and returns its URL;
// the database is dropped when the test ends. It skips (or, with CI=true,
// fails) when the engine is not configured.
func NewURL(t testing.TB, engine string) string {
	t.Helper()
	switch engine {
	case db.SQLite:
		return "sqlite://" + filepath.Join(t.TempDir(), "test.db")
	case db.MySQL:
		return serverDB(t, "SPARKHUB_TEST_MYSQL_DSN", "CREATE DATABASE %s CHARACTER SET utf8mb4 COLLATE utf8mb4_bin", "DROP DATABASE IF EXISTS %s")
	case db.Postgres:
		return serverDB(t, "SPARKHUB_TEST_POSTGRES_DSN", "CREATE DATABASE %s", "DROP DATABASE IF EXISTS %s WITH (FORCE)")
	}
	t.Fatalf("unknown engine %q", engine)
	return ""
}

func serverDB(t testing.TB, env, create, drop string) string {
	t.Helper()
	admin := os.Getenv(env)
	if admin == "" {
		needtest.Missing(t, env+" is not set: this test needs that database")
	}
	ctx := context.Background()
	adb, err := db.Open(ctx, admin, db.Options{MaxOpenConns: 2})
	if err != nil {
		t.Fatalf("%s: %v", env, err)
	}
	defer db.Close(adb)
	name := "sparkhub_test_" + randomHex(6)
	if err := adb.Exec(strings.Replace(create, "%s", name, 1)).Error; err != nil {
		t.Fatalf("create test database: %v", err)
	}
	t.Cleanup(func() {
		adb, err := db.Open(ctx, admin, db.Options{MaxOpenConns: 1})
		if err != nil {
			t.Errorf("drop test database: %v", err)
			return
		}
		defer db.Close(adb)
		if err := adb.Exec(strings.Replace(drop, "%s", name, 1)).Error; err != nil {
			t.Errorf("drop test database %s: %v", name, err)
		}
	})
	u, err := url.Parse(admin)
	if err != nil {
		t.Fatalf("%s: %v", env, err)
	}
	u.Path = "/" + name
	return u.String()
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}
