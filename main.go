// Command sparkhub is a multi-user Jupyter hub in one binary.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/sparkhub/sparkhub/db"
	"github.com/sparkhub/sparkhub/hub"
	"gorm.io/gorm"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "0.1.0-dev"

const usage = `sparkhub: a multi-user Jupyter hub

  sparkhub serve [flags]                      run the hub (sparkhub serve -h lists the flags)
  sparkhub user add NAME [--admin] [--password-stdin]
  sparkhub user list
  sparkhub user del NAME
  sparkhub user passwd NAME [--password-stdin]
  sparkhub token create NAME [--scopes a,b] [--expires 720h] [--note TEXT]
  sparkhub db migrate
  sparkhub contents reencrypt --old-keys K1,K2 --new-keys K3   (either may be empty: no encryption)
  sparkhub profiles check FILE                validate a profile catalog
  sparkhub version

Every command takes --db, --data-dir and --config, or SPARKHUB_DB,
SPARKHUB_DATA_DIR and SPARKHUB_CONFIG from the environment.
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.Getenv))
}

// cli is one run of the command: its streams and environment.
type cli struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) int {
	c := &cli{stdin: stdin, stdout: stdout, stderr: stderr, getenv: getenv}
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	var err error
	switch cmd, rest := args[0], args[1:]; {
	case cmd == "serve":
		err = c.serve(rest)
	case cmd == "version" || cmd == "--version":
		fmt.Fprintln(stdout, "sparkhub", version)
	case cmd == "help" || cmd == "-h" || cmd == "--help":
		fmt.Fprint(stdout, usage)
	case (cmd == "user" || cmd == "token" || cmd == "db" || cmd == "contents" || cmd == "profiles") && len(rest) == 0:
		err = fmt.Errorf("%w: %s needs a subcommand", errUsage, cmd)
	case cmd == "user":
		err = c.user(rest[0], rest[1:])
	case cmd == "token" && rest[0] == "create":
		err = c.tokenCreate(rest[1:])
	case cmd == "db" && rest[0] == "migrate":
		err = c.dbMigrate(rest[1:])
	case cmd == "contents" && rest[0] == "reencrypt":
		err = c.contentsReencrypt(rest[1:])
	case cmd == "profiles" && rest[0] == "check":
		err = c.profilesCheck(rest[1:])
	default:
		err = fmt.Errorf("%w: unknown command %q", errUsage, strings.Join(args[:min(2, len(args))], " "))
	}
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errUsage):
		fmt.Fprintf(stderr, "sparkhub: %v\n\n%s", err, usage)
		return 2
	}
	fmt.Fprintf(stderr, "sparkhub: %v\n", err)
	return 1
}

var errUsage = errors.New("usage")

// load parses a subcommand's flags with the environment and config file.
func (c *cli) load(name string, cfg *hub.Config, register func(*flag.FlagSet), args []string) ([]string, error) {
	fs := flag.NewFlagSet("sparkhub "+name, flag.ContinueOnError)
	fs.SetOutput(c.stderr)
	cfg.StorageFlags(fs)
	if register != nil {
		register(fs)
	}
	pos, err := hub.Load(fs, args, c.getenv)
	if err != nil {
		return nil, err
	}
	return pos, cfg.Finish()
}

func (c *cli) logger(cfg hub.Config) *slog.Logger {
	var level slog.Level
	if err := level.UnmarshalText([]byte(cfg.LogLevel)); err != nil {
		level = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: level}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(c.stderr, opts))
	}
	return slog.New(slog.NewTextHandler(c.stderr, opts))
}

// open connects to the configured database and migrates it.
func (c *cli) open(ctx context.Context, cfg hub.Config, log *slog.Logger, migrate bool) (*gorm.DB, error) {
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("create data folder: %w", err)
	}
	gdb, err := db.Open(ctx, cfg.DB, db.Options{Logger: log})
	if err != nil {
		return nil, err
	}
	if migrate {
		applied, err := db.Migrate(ctx, gdb)
		if err != nil {
			db.Close(gdb)
			return nil, err
		}
		if len(applied) > 0 {
			log.Info("database migrated", "versions", fmt.Sprint(applied))
		}
		return gdb, nil
	}
	pending, err := db.Pending(ctx, gdb)
	if err == nil && len(pending) > 0 {
		err = fmt.Errorf("the database needs migrations %v; run sparkhub db migrate, or serve with --migrate", pending)
	}
	if err != nil {
		db.Close(gdb)
		return nil, err
	}
	return gdb, nil
}

// withDB is the shape of every subcommand but serve: parse its flags,
// check it got nargs positional arguments, open and migrate the
// database, and run fn.
func (c *cli) withDB(name string, args []string, nargs int, register func(*flag.FlagSet),
	fn func(ctx context.Context, cfg hub.Config, gdb *gorm.DB, log *slog.Logger, pos []string) error) error {
	cfg := hub.Defaults()
	pos, err := c.load(name, &cfg, register, args)
	if err != nil {
		return err
	}
	if len(pos) != nargs {
		return fmt.Errorf("%w: %s takes %d argument(s)", errUsage, name, nargs)
	}
	ctx := context.Background()
	log := c.logger(cfg)
	gdb, err := c.open(ctx, cfg, log, true)
	if err != nil {
		return err
	}
	defer db.Close(gdb)
	return fn(ctx, cfg, gdb, log, pos)
}
