package db_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/sparkhub/sparkhub/db"
	"github.com/sparkhub/sparkhub/db/dbtest"
)

func TestOpenRejectsBadURLs(t *testing.T) {
	for _, tc := range []struct{ url, want string }{
		{"", "bad database URL: it is empty; use sqlite://, mysql:// or postgres://"},
		{"/just/a/path.db", `bad database URL: "/just/a/path.db" has no scheme; use sqlite://, mysql:// or postgres://`},
		{"oracle://scott:secret@host/db", `bad database URL: unknown scheme "oracle" in oracle://scott:xxxxx@host/db; use sqlite://, mysql:// or postgres://`},
		{"sqlite://", "bad database URL: sqlite:// names no file; want sqlite:///abs/path.db or sqlite://rel/path.db"},
		{"sqlite://" + t.TempDir() + "/x.db?a=%zz", `are not a valid query (invalid URL escape "%zz")`},
		{"mysql://", "bad database URL: mysql:// names no host; want mysql://user:pass@host:3306/dbname"},
		{"mysql://user:secret@/nodb", "bad database URL: mysql://user:xxxxx@/nodb names no host; want mysql://user:pass@host:3306/dbname"},
		{"mysql://user:secret@host", "bad database URL: mysql://user:xxxxx@host names no database; want mysql://user:pass@host:3306/dbname"},
		{"mysql://user:se%cret@host/db", "bad database URL: mysql://***@host/db is not a valid URL (in a user or password, write @ : / ? # % and spaces as %40 %3A %2F %3F %23 %25 %20); want mysql://user:pass@host:3306/dbname"},
		{"mysql://user:se cret@host/db", "bad database URL: mysql://***@host/db is not a valid URL"},
		{"mysql://user:1234/secret@host/db", "bad database URL: mysql://***@host/db has an @ after its host (in a password, write / ? # as %2F %3F %23); want mysql://user:pass@host:3306/dbname"},
		{"postgres://user:secret@host", "bad database URL: postgres://user:xxxxx@host names no database; want postgres://user:pass@host:5432/dbname"},
		{"postgres://user:se#cret@host/db", "bad database URL: postgres://***@host/db is not a valid URL"},
		{"postgresql:///db", "bad database URL: postgresql:///db names no host; want postgres://user:pass@host:5432/dbname"},
	} {
		t.Run(tc.url, func(t *testing.T) {
			_, err := db.Open(context.Background(), tc.url, db.Options{})
			if !errors.Is(err, db.ErrBadURL) {
				t.Fatalf("Open(%q) = %v, want ErrBadURL", tc.url, err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error:\n%s\nwant it to say\n%s", err, tc.want)
			}
			if strings.Contains(err.Error(), "secret") || strings.Contains(err.Error(), "cret") {
				t.Errorf("error %q shows the password", err)
			}
			if strings.Contains(err.Error(), "%!") || strings.Contains(err.Error(), "%v") || strings.Contains(err.Error(), "\n") {
				t.Errorf("error %q is not one formatted sentence", err)
			}
		})
	}
}

// TestOpenSQLiteFolder: the hub makes no folder for a SQLite database
// (it makes only its data folder); one that is missing is named.
func TestOpenSQLiteFolder(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "no", "such")
	for _, tc := range []struct{ url, want string }{
		{"sqlite://" + filepath.Join(missing, "x.db"), "the folder " + missing + " for the SQLite database does not exist"},
		{"sqlite://" + filepath.Join(file, "x.db"), file + ", where the SQLite database should be, is not a folder"},
	} {
		_, err := db.Open(context.Background(), tc.url, db.Options{})
		if err == nil || err.Error() != tc.want {
			t.Errorf("Open(%q) = %v, want %q", tc.url, err, tc.want)
		}
	}
	if _, err := os.Stat(missing); err == nil {
		t.Errorf("Open made %s", missing)
	}
	gdb, err := db.Open(context.Background(), "sqlite://"+filepath.Join(dir, "x.db"), db.Options{})
	if err != nil {
		t.Fatalf("Open in a folder that exists: %v", err)
	}
	db.Close(gdb)
}

func TestOpenErrorHidesPassword(t *testing.T) {
	// Nothing listens on port 1: the error must still not echo the password.
	_, err := db.Open(context.Background(), "mysql://bob:hunter2@127.0.0.1:1/x", db.Options{})
	if err == nil {
		t.Fatal("Open succeeded against a closed port")
	}
	if strings.Contains(err.Error(), "hunter2") {
		t.Errorf("error %q shows the password", err)
	}
}

func TestRedact(t *testing.T) {
	tests := []struct{ in, want string }{
		{"mysql://root:pw@localhost:3306/hub", "mysql://root:xxxxx@localhost:3306/hub"},
		{"postgres://u@h/db", "postgres://u@h/db"},
		{"sqlite:///tmp/x.db", "sqlite:///tmp/x.db"},
		// Unparsable: all up to the last @ goes, an @ of the password too.
		{"mysql://root:p@ss%zz@localhost/hub", "mysql://***@localhost/hub"},
		{"mysql://root:1234/pw@localhost/hub", "mysql://***@localhost/hub"},
	}
	for _, tt := range tests {
		if got := db.Redact(tt.in); got != tt.want {
			t.Errorf("Redact(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestMigrateIsIdempotentAndRecorded(t *testing.T) {
	for _, engine := range dbtest.Engines {
		t.Run(engine, func(t *testing.T) {
			gdb := dbtest.OpenEmpty(t, engine)
			ctx := context.Background()
			first, err := db.Migrate(ctx, gdb)
			if err != nil {
				t.Fatal(err)
			}
			if len(first) != len(db.Steps()) {
				t.Fatalf("first migrate applied %v, want all %d steps", first, len(db.Steps()))
			}
			again, err := db.Migrate(ctx, gdb)
			if err != nil || len(again) != 0 {
				t.Fatalf("second migrate applied %v, %v; want nothing", again, err)
			}
			pending, err := db.Pending(ctx, gdb)
			if err != nil || len(pending) != 0 {
				t.Fatalf("Pending = %v, %v", pending, err)
			}
			var n int64
			gdb.Table("hub_schema_migrations").Count(&n)
			if int(n) != len(db.Steps()) {
				t.Errorf("hub_schema_migrations has %d rows, want %d", n, len(db.Steps()))
			}
			for _, table := range []string{"hub_users", "hub_tokens", "hub_settings", "hub_revoked_sessions"} {
				if !gdb.Migrator().HasTable(table) {
					t.Errorf("table %s missing", table)
				}
			}
		})
	}
}

func TestFailedStepLeavesNoRecord(t *testing.T) {
	gdb := dbtest.OpenEmpty(t, db.SQLite)
	ctx := context.Background()
	boom := errors.New("boom")
	steps := []db.Step{
		{Version: 1, Name: "ok", Up: func(tx *gorm.DB, d db.Dialect) error {
			return tx.Exec("CREATE TABLE a (x INTEGER)").Error
		}},
		{Version: 2, Name: "fails", Up: func(tx *gorm.DB, d db.Dialect) error {
			if err := tx.Exec("CREATE TABLE b (x INTEGER)").Error; err != nil {
				return err
			}
			return boom
		}},
	}
	applied, err := db.MigrateSteps(ctx, gdb, steps)
	if !errors.Is(err, boom) || len(applied) != 1 {
		t.Fatalf("MigrateSteps = %v, %v; want [1], boom", applied, err)
	}
	if gdb.Migrator().HasTable("b") {
		t.Error("the failed step's table b survived its rollback")
	}
	var n int64
	gdb.Table("hub_schema_migrations").Where("version = 2").Count(&n)
	if n != 0 {
		t.Error("the failed step was recorded as applied")
	}
	steps[1].Up = func(tx *gorm.DB, d db.Dialect) error { return tx.Exec("CREATE TABLE b (x INTEGER)").Error }
	if applied, err := db.MigrateSteps(ctx, gdb, steps); err != nil || len(applied) != 1 || applied[0] != 2 {
		t.Fatalf("rerun = %v, %v; want [2]", applied, err)
	}
}

func TestSettings(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, gdb *gorm.DB) {
		ctx := context.Background()
		s := db.NewSettings(gdb)
		if _, err := s.Get(ctx, "nope"); !errors.Is(err, db.ErrNoSetting) {
			t.Fatalf("Get(missing) = %v, want ErrNoSetting", err)
		}
		if err := s.Set(ctx, "k", []byte("v1")); err != nil {
			t.Fatal(err)
		}
		if err := s.Set(ctx, "k", []byte("v2")); err != nil {
			t.Fatal(err)
		}
		if v, err := s.Get(ctx, "k"); err != nil || string(v) != "v2" {
			t.Fatalf("Get = %q, %v; want v2", v, err)
		}
		a, err := s.Secret(ctx, "key", 32)
		if err != nil || len(a) != 32 {
			t.Fatalf("Secret = %x, %v", a, err)
		}
		b, _ := s.Secret(ctx, "key", 32)
		if string(a) != string(b) {
			t.Error("Secret changed between calls")
		}
	})
}

func TestTimesRoundTripInUTC(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, gdb *gorm.DB) {
		type row struct {
			Name      string `gorm:"primaryKey"`
			Value     []byte
			UpdatedAt time.Time
		}
		want := time.Date(2026, 3, 4, 5, 6, 7, 123456000, time.UTC)
		if err := gdb.Table("hub_settings").Create(&row{Name: "t", Value: []byte{0, 1, 2}, UpdatedAt: want}).Error; err != nil {
			t.Fatal(err)
		}
		var got row
		if err := gdb.Table("hub_settings").Where("name = ?", "t").Take(&got).Error; err != nil {
			t.Fatal(err)
		}
		if !got.UpdatedAt.Equal(want) {
			t.Errorf("time = %v, want %v", got.UpdatedAt, want)
		}
		if string(got.Value) != "\x00\x01\x02" {
			t.Errorf("blob = %x", got.Value)
		}
	})
}

// A new SQLite database gets large pages and the write-ahead log; an
// existing one keeps the page size it was made with.
func TestSQLitePages(t *testing.T) {
	ctx := context.Background()
	path := t.TempDir() + "/hub.db"
	pragma := func(name string) string {
		gdb, err := db.Open(ctx, "sqlite://"+path, db.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close(gdb)
		if _, err := db.Migrate(ctx, gdb); err != nil {
			t.Fatal(err)
		}
		var v string
		if err := gdb.Raw("PRAGMA " + name).Scan(&v).Error; err != nil {
			t.Fatal(err)
		}
		return v
	}
	if got := pragma("page_size"); got != "65536" {
		t.Errorf("page_size = %s, want 65536", got)
	}
	if got := pragma("journal_mode"); got != "wal" {
		t.Errorf("journal_mode = %s, want wal", got)
	}
	if got := pragma("page_size"); got != "65536" {
		t.Errorf("page_size after reopening = %s, want 65536", got)
	}
}
