// Package db opens sparkhub's database from a URL and migrates it.
//
// Three engines are supported, chosen by the URL's scheme:
//
//	sqlite:///abs/path.db, sqlite://rel/path.db   (pure Go, no cgo)
//	mysql://user:pass@host:3306/dbname             (MariaDB or MySQL)
//	postgres://user:pass@host:5432/dbname?sslmode=disable
package db

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/glebarez/sqlite"
	gomysql "github.com/go-sql-driver/mysql"
	"gorm.io/driver/mysql"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// Dialect names, as gorm's Dialector.Name reports them.
const (
	SQLite   = "sqlite"
	MySQL    = "mysql"
	Postgres = "postgres"
)

// ErrBadURL is returned for a database URL sparkhub cannot use.
var ErrBadURL = errors.New("bad database URL")

// Options tune Open.
type Options struct {
	// Logger receives slow queries and errors; nil discards them.
	Logger *slog.Logger
	// MaxOpenConns caps the pool for MySQL and PostgreSQL (default 20).
	// SQLite always uses one connection: it has a single writer anyway,
	// and one connection never meets "database is locked".
	MaxOpenConns int
}

// Open connects to the database the URL names and checks that it answers.
// The returned error never contains the URL's password.
func Open(ctx context.Context, rawURL string, opts Options) (*gorm.DB, error) {
	dialector, err := dialectorFor(rawURL)
	if err != nil {
		return nil, err
	}
	// gorm logs a failure to open as well as returning it: it logs to
	// nothing until the database is open, and the error is returned once.
	gdb, err := gorm.Open(dialector, &gorm.Config{
		Logger:                                   logger.Discard,
		NowFunc:                                  func() time.Time { return time.Now().UTC() },
		DisableForeignKeyConstraintWhenMigrating: true,
		TranslateError:                           true,
	})
	if err != nil {
		return nil, fmt.Errorf("open %s database: %w", Redact(rawURL), scrub(err, rawURL))
	}
	gdb.Logger = gormLogger(opts.Logger)
	sqlDB, err := gdb.DB()
	if err != nil {
		return nil, err
	}
	if gdb.Dialector.Name() == SQLite {
		sqlDB.SetMaxOpenConns(1)
	} else {
		n := opts.MaxOpenConns
		if n <= 0 {
			n = 20
		}
		sqlDB.SetMaxOpenConns(n)
		sqlDB.SetMaxIdleConns(n)
		sqlDB.SetConnMaxIdleTime(5 * time.Minute)
	}
	if err := sqlDB.PingContext(ctx); err != nil {
		sqlDB.Close()
		return nil, fmt.Errorf("reach %s database: %w", Redact(rawURL), scrub(err, rawURL))
	}
	return gdb, nil
}

// Close closes the pool under gdb.
func Close(gdb *gorm.DB) error {
	sqlDB, err := gdb.DB()
	if err != nil {
		return err
	}
	return sqlDB.Close()
}

func dialectorFor(rawURL string) (gorm.Dialector, error) {
	if rawURL == "" {
		return nil, fmt.Errorf("%w: it is empty; use sqlite://, mysql:// or postgres://", ErrBadURL)
	}
	scheme, rest, ok := strings.Cut(rawURL, "://")
	if !ok {
		return nil, fmt.Errorf("%w: %q has no scheme; use sqlite://, mysql:// or postgres://", ErrBadURL, Redact(rawURL))
	}
	switch scheme {
	case "sqlite", "sqlite3":
		return sqliteDialector(rawURL, rest)
	case "mysql", "mariadb":
		dsn, err := mysqlDSN(rawURL)
		if err != nil {
			return nil, err
		}
		return mysql.New(mysql.Config{DSN: dsn, DefaultStringSize: 191}), nil
	case "postgres", "postgresql":
		u, err := serverURL(rawURL, "postgres://user:pass@host:5432/dbname")
		if err != nil {
			return nil, err
		}
		q := u.Query()
		if q.Get("TimeZone") == "" && q.Get("timezone") == "" {
			q.Set("timezone", "UTC")
		}
		u.RawQuery = q.Encode()
		return postgres.New(postgres.Config{DSN: u.String()}), nil
	default:
		return nil, fmt.Errorf("%w: unknown scheme %q in %s; use sqlite://, mysql:// or postgres://", ErrBadURL, scheme, Redact(rawURL))
	}
}

// serverURL parses the URL of a database server, which must name a host
// and a database; want is the URL's shape, for the error. Nothing of the
// URL's password is in the error.
func serverURL(rawURL, want string) (*url.URL, error) {
	bad := func(what string) error {
		return fmt.Errorf("%w: %s %s; want %s", ErrBadURL, Redact(rawURL), what, want)
	}
	u, err := url.Parse(rawURL)
	switch {
	case err != nil:
		// url's error quotes the URL, password and all.
		return nil, bad("is not a valid URL (in a user or password, write @ : / ? # % and spaces as %40 %3A %2F %3F %23 %25 %20)")
	case u.User == nil && strings.Contains(rawURL, "@"):
		return nil, bad("has an @ after its host (in a password, write / ? # as %2F %3F %23)")
	case u.Host == "":
		return nil, bad("names no host")
	case strings.Trim(u.Path, "/") == "":
		return nil, bad("names no database")
	}
	return u, nil
}

// SQLitePath is the file a sqlite:// URL names, and whether it names
// one (not another database, not :memory:).
func SQLitePath(rawURL string) (string, bool) {
	scheme, rest, ok := strings.Cut(rawURL, "://")
	if !ok || scheme != "sqlite" && scheme != "sqlite3" {
		return "", false
	}
	path, _, _ := strings.Cut(rest, "?")
	if path == "" || path == ":memory:" {
		return "", false
	}
	return path, true
}

// sqliteDialector takes what follows "sqlite://" in rawURL:
// "/abs/path.db" or "rel/path.db", with an optional query of extra
// driver parameters. The database's folder must exist: the hub creates
// only its data folder.
func sqliteDialector(rawURL, rest string) (gorm.Dialector, error) {
	path, query, _ := strings.Cut(rest, "?")
	if path == "" {
		return nil, fmt.Errorf("%w: %s names no file; want sqlite:///abs/path.db or sqlite://rel/path.db", ErrBadURL, Redact(rawURL))
	}
	if path != ":memory:" {
		dir := filepath.Dir(path)
		switch fi, err := os.Stat(dir); {
		case errors.Is(err, fs.ErrNotExist):
			return nil, fmt.Errorf("the folder %s for the SQLite database does not exist", dir)
		case err != nil:
			return nil, fmt.Errorf("cannot look at the folder for the SQLite database: %w", err)
		case !fi.IsDir():
			return nil, fmt.Errorf("%s, where the SQLite database should be, is not a folder", dir)
		}
	}
	params := url.Values{}
	// 64 KiB pages for a new database (an existing one keeps its own):
	// notebooks are megabytes, and SQLite reads and writes a large value
	// one overflow page at a time, a system call each; with 4 KiB pages
	// a 10 MB notebook's save and load took 15-20% longer. The hub's
	// own small rows do not notice (BenchmarkListUsers is unchanged).
	// It must come before journal_mode, which writes the first page.
	params.Add("_pragma", "page_size(65536)")
	params.Add("_pragma", "busy_timeout(10000)")
	params.Add("_pragma", "foreign_keys(1)")
	if path != ":memory:" {
		params.Add("_pragma", "journal_mode(WAL)")
		params.Add("_pragma", "synchronous(NORMAL)")
	}
	params.Add("_time_format", "sqlite")
	if query != "" {
		extra, err := url.ParseQuery(query)
		if err != nil {
			return nil, fmt.Errorf("%w: the parameters after ? in %s are not a valid query (%s)", ErrBadURL, Redact(rawURL), err.Error())
		}
		for k, vs := range extra {
			for _, v := range vs {
				params.Add(k, v)
			}
		}
	}
	return sqlite.Open("file:" + path + "?" + params.Encode()), nil
}

// mysqlDSN turns mysql://user:pass@host:port/db?params into the driver's
// DSN, with the settings sparkhub relies on: UTC times parsed into
// time.Time, utf8mb4 with binary collation.
func mysqlDSN(rawURL string) (string, error) {
	u, err := serverURL(rawURL, "mysql://user:pass@host:3306/dbname")
	if err != nil {
		return "", err
	}
	cfg := gomysql.NewConfig()
	cfg.Net = "tcp"
	cfg.Addr = u.Host
	if u.Port() == "" {
		cfg.Addr = u.Host + ":3306"
	}
	if strings.HasPrefix(u.Host, "unix(") || u.Query().Get("socket") != "" {
		cfg.Net = "unix"
		cfg.Addr = u.Query().Get("socket")
	}
	if u.User != nil {
		cfg.User = u.User.Username()
		cfg.Passwd, _ = u.User.Password()
	}
	cfg.DBName = strings.Trim(u.Path, "/")
	cfg.ParseTime = true
	cfg.Loc = time.UTC
	cfg.Collation = "utf8mb4_bin"
	cfg.Params = map[string]string{"charset": "utf8mb4", "time_zone": "'+00:00'"}
	cfg.MultiStatements = false
	for k, vs := range u.Query() {
		if k == "socket" || len(vs) == 0 {
			continue
		}
		cfg.Params[k] = vs[0]
	}
	return cfg.FormatDSN(), nil
}

// Redact returns the URL with its password replaced, for messages and logs.
func Redact(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil || u.User == nil {
		// Everything up to the last @: a password may hold an @ too.
		if i := strings.LastIndex(rawURL, "@"); i >= 0 {
			if s := strings.Index(rawURL, "://"); s >= 0 && s < i {
				return rawURL[:s+3] + "***@" + rawURL[i+1:]
			}
		}
		return rawURL
	}
	if _, has := u.User.Password(); has {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	return u.String()
}

// scrub removes the URL's password from a driver's error text, should a
// driver ever echo it.
func scrub(err error, rawURL string) error {
	u, perr := url.Parse(rawURL)
	if perr != nil || u.User == nil {
		return err
	}
	pw, has := u.User.Password()
	if !has || pw == "" || !strings.Contains(err.Error(), pw) {
		return err
	}
	return errors.New(strings.ReplaceAll(err.Error(), pw, "xxxxx"))
}

// gormLogger sends gorm's slow-query warnings and errors to slog, never
// the SQL's arguments (they may be secrets).
func gormLogger(l *slog.Logger) logger.Interface {
	if l == nil {
		return logger.Discard
	}
	return &slogGorm{l: l, slow: 500 * time.Millisecond}
}

type slogGorm struct {
	l    *slog.Logger
	slow time.Duration
}

func (g *slogGorm) LogMode(logger.LogLevel) logger.Interface { return g }
func (g *slogGorm) Info(context.Context, string, ...any)     {}

// Warn and Error get a format and its arguments: gorm's few messages
// (callbacks, the migrator), never a query's values.
func (g *slogGorm) Warn(ctx context.Context, msg string, args ...any) {
	g.l.WarnContext(ctx, "database warning", "detail", strings.TrimSpace(fmt.Sprintf(msg, args...)))
}
func (g *slogGorm) Error(ctx context.Context, msg string, args ...any) {
	g.l.ErrorContext(ctx, "database error", "detail", strings.TrimSpace(fmt.Sprintf(msg, args...)))
}
func (g *slogGorm) Trace(ctx context.Context, begin time.Time, fc func() (string, int64), err error) {
	elapsed := time.Since(begin)
	if elapsed < g.slow {
		return
	}
	// Only the statement's shape: gorm inlines values into sql, so cut
	// it at the first quote to keep values (passwords, tokens) out.
	sql, _ := fc()
	if i := strings.IndexAny(sql, "'\"$?"); i >= 0 {
		sql = sql[:i] + "…"
	}
	if len(sql) > 120 {
		sql = sql[:120] + "…"
	}
	g.l.WarnContext(ctx, "slow query", "elapsed_ms", elapsed.Milliseconds(), "sql", sql)
}
