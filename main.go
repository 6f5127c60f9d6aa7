// Command sparkhub is a multi-user Jupyter hub in one binary.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"golang.org/x/sync/errgroup"
	"gorm.io/gorm"

	"github.com/sparkhub/sparkhub/auth"
	"github.com/sparkhub/sparkhub/contents"
	"github.com/sparkhub/sparkhub/db"
	"github.com/sparkhub/sparkhub/hub"
	"github.com/sparkhub/sparkhub/images"
	"github.com/sparkhub/sparkhub/proxy"
	"github.com/sparkhub/sparkhub/spawner"
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
	case (cmd == "user" || cmd == "token" || cmd == "db" || cmd == "contents") && len(rest) == 0:
		err = fmt.Errorf("%w: %s needs a subcommand", errUsage, cmd)
	case cmd == "user":
		err = c.user(rest[0], rest[1:])
	case cmd == "token" && rest[0] == "create":
		err = c.tokenCreate(rest[1:])
	case cmd == "db" && rest[0] == "migrate":
		err = c.dbMigrate(rest[1:])
	case cmd == "contents" && rest[0] == "reencrypt":
		err = c.contentsReencrypt(rest[1:])
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

func (c *cli) serve(args []string) error {
	cfg := hub.Defaults()
	fs := flag.NewFlagSet("sparkhub serve", flag.ContinueOnError)
	fs.SetOutput(c.stderr)
	cfg.ServeFlags(fs)
	if pos, err := hub.Load(fs, args, c.getenv); err != nil {
		return err
	} else if len(pos) > 0 {
		return fmt.Errorf("%w: serve takes no arguments, got %q", errUsage, pos[0])
	}
	if err := cfg.Finish(); err != nil {
		return err
	}
	log := c.logger(cfg)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	gdb, err := c.open(ctx, cfg, log, cfg.Migrate)
	if err != nil {
		return err
	}
	defer db.Close(gdb)
	key, err := db.NewSettings(gdb).Secret(ctx, "session-signing-key", 32)
	if err != nil {
		return err
	}
	pw, err := auth.NewPasswords(cfg.BcryptCost)
	if err != nil {
		return err
	}
	proxies, err := auth.ParseProxies(cfg.TrustedProxies)
	if err != nil {
		return err
	}
	store := auth.NewStore(gdb)
	created, generated, password, err := auth.EnsureFirstAdmin(ctx, store, pw, c.getenv("SPARKHUB_ADMIN_PASSWORD"))
	if err != nil {
		return fmt.Errorf("create the first admin: %w", err)
	}
	if created && generated {
		fmt.Fprintf(c.stdout, "Created the user admin with the password %s\nIt is shown only this once; change it with: sparkhub user passwd admin\n", password)
	} else if created {
		log.Info("created the user admin with the password from SPARKHUB_ADMIN_PASSWORD")
	}
	authn := auth.NewAuthenticator(store, pw, auth.NewSessions(key, cfg.SessionTTL), auth.Options{
		AdminAccess: cfg.AdminAccess,
		Proxies:     proxies,
	})

	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return err
	}
	if strings.HasSuffix(cfg.HubURL, ":0") {
		cfg.HubURL = "http://" + ln.Addr().String()
	}
	docs, err := contents.New(gdb, contents.Options{
		EncryptionKeys: cfg.ContentsEncryptionKeys,
		MaxFileSize:    cfg.ContentsMaxFileSize,
		AllowHidden:    cfg.ContentsAllowHidden,
		Logger:         log,
	})
	if err != nil {
		return err
	}
	pythonDir := filepath.Join(cfg.DataDir, "python")
	if err := images.WritePythonPackage(pythonDir); err != nil {
		return fmt.Errorf("write the sparkhub_contents package: %w", err)
	}
	backend, err := newBackend(ctx, cfg, gdb, pythonDir, log)
	if err != nil {
		return err
	}
	servers, err := spawner.New(ctx, gdb, spawner.Options{
		StartTimeout:         cfg.StartTimeout,
		StopGrace:            cfg.StopGrace,
		ConcurrentSpawnLimit: cfg.ConcurrentSpawnLimit,
		ActiveServerLimit:    cfg.ActiveServerLimit,
		IdleTimeout:          cfg.IdleTimeout,
		CullInterval:         cfg.CullInterval,
		CullBusy:             cfg.CullBusy,
		MaxAge:               cfg.MaxAge,
		Env:                  hub.ContentsEnv(store, cfg.HubURL),
		Logger:               log,
	}, backend)
	if err != nil {
		return err
	}
	if err := servers.RecoverAll(ctx); err != nil {
		return fmt.Errorf("recover servers: %w", err)
	}
	var h *hub.Hub
	px := proxy.New(authn, servers, proxy.Options{
		Logger:    log,
		ErrorPage: func(w http.ResponseWriter, r *http.Request, code int, msg string) { h.ErrorPage(w, r, code, msg) },
	})
	h, err = hub.New(cfg, hub.Deps{
		DB: gdb, Auth: authn, Logger: log, Version: version,
		SpawnerName: cfg.Spawner, Spawner: servers, Proxy: px,
		Contents: docs.Handler(), RenameUserData: contents.RenameUser, DeleteUserData: contents.DeleteUser,
	})
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           h.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	scheme := "http"
	if cfg.TLSCert != "" {
		scheme = "https"
	}
	log.Info("sparkhub serving", "version", version, "url", scheme+"://"+ln.Addr().String()+"/hub/", "database", db.Redact(cfg.DB))
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return servers.Run(gctx) })
	g.Go(func() error {
		var err error
		if cfg.TLSCert != "" {
			err = srv.ServeTLS(ln, cfg.TLSCert, cfg.TLSKey)
		} else {
			err = srv.Serve(ln)
		}
		if errors.Is(err, http.ErrServerClosed) {
			return nil
		}
		return err
	})
	g.Go(func() error {
		<-gctx.Done()
		log.Info("shutting down")
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		// Hijacked websockets are not closed by Shutdown: say 1001 first.
		px.Close()
		err := srv.Shutdown(sctx)
		// Servers keep running; their activity is saved for the next hub.
		if cerr := servers.Close(); err == nil {
			err = cerr
		}
		return err
	})
	return g.Wait()
}

func (c *cli) user(sub string, args []string) error {
	cfg := hub.Defaults()
	var admin, fromStdin bool
	pos, err := c.load("user "+sub, &cfg, func(fs *flag.FlagSet) {
		if sub == "add" {
			fs.BoolVar(&admin, "admin", false, "make the user an admin")
		}
		if sub == "add" || sub == "passwd" {
			fs.BoolVar(&fromStdin, "password-stdin", false, "read the password from the first line of standard input")
		}
	}, args)
	if err != nil {
		return err
	}
	want := 1
	if sub == "list" {
		want = 0
	}
	if sub != "add" && sub != "list" && sub != "del" && sub != "passwd" {
		return fmt.Errorf("%w: unknown command \"user %s\"", errUsage, sub)
	}
	if len(pos) != want {
		return fmt.Errorf("%w: user %s takes %d argument(s)", errUsage, sub, want)
	}
	ctx := context.Background()
	log := c.logger(cfg)
	gdb, err := c.open(ctx, cfg, log, true)
	if err != nil {
		return err
	}
	defer db.Close(gdb)
	store := auth.NewStore(gdb)
	switch sub {
	case "list":
		users, _, err := store.ListUsers(ctx, auth.UserQuery{Order: "name"})
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "NAME\tADMIN\tDISABLED\tCREATED\tLAST ACTIVITY")
		for _, u := range users {
			last := "-"
			if u.LastActivity != nil {
				last = u.LastActivity.UTC().Format(time.RFC3339)
			}
			fmt.Fprintf(tw, "%s\t%v\t%v\t%s\t%s\n", u.Name, u.Admin, u.Disabled, u.CreatedAt.UTC().Format(time.RFC3339), last)
		}
		return tw.Flush()
	case "del":
		if err := store.DeleteUser(ctx, pos[0]); err != nil {
			if errors.Is(err, auth.ErrNotFound) {
				return fmt.Errorf("there is no user %s", pos[0])
			}
			return err
		}
		fmt.Fprintf(c.stderr, "deleted %s\n", pos[0])
		return nil
	}
	name := pos[0]
	if err := auth.ValidateName(name); err != nil {
		return err
	}
	pw, err := auth.NewPasswords(cfg.BcryptCost)
	if err != nil {
		return err
	}
	password, generated := auth.RandomPassword(), true
	if fromStdin {
		if password, err = readPassword(c.stdin); err != nil {
			return err
		}
		generated = false
	}
	hash, err := pw.Hash(password)
	if err != nil {
		return err
	}
	if sub == "add" {
		if _, err := store.CreateUser(ctx, name, admin, hash); err != nil {
			if errors.Is(err, auth.ErrExists) {
				return fmt.Errorf("the user %s already exists", name)
			}
			return err
		}
		fmt.Fprintf(c.stderr, "added %s\n", name)
	} else {
		if err := store.SetPasswordHash(ctx, name, hash); err != nil {
			if errors.Is(err, auth.ErrNotFound) {
				return fmt.Errorf("there is no user %s", name)
			}
			return err
		}
		fmt.Fprintf(c.stderr, "changed the password of %s; their sessions are logged out\n", name)
	}
	if generated {
		fmt.Fprintf(c.stdout, "%s\n", password)
		fmt.Fprintf(c.stderr, "(that is the new password of %s, shown only this once)\n", name)
	}
	return nil
}

func readPassword(r io.Reader) (string, error) {
	line, err := bufio.NewReader(r).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read the password: %w", err)
	}
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		return "", errors.New("no password on standard input")
	}
	return line, nil
}

func (c *cli) tokenCreate(args []string) error {
	cfg := hub.Defaults()
	var scopes, note string
	var expires time.Duration
	pos, err := c.load("token create", &cfg, func(fs *flag.FlagSet) {
		fs.StringVar(&scopes, "scopes", "", "comma-separated scopes (default: all of the user's)")
		fs.DurationVar(&expires, "expires", 0, "lifetime, e.g. 720h (default: never expires)")
		fs.StringVar(&note, "note", "", "what the token is for")
	}, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return fmt.Errorf("%w: token create takes one user name", errUsage)
	}
	if expires < 0 {
		return errors.New("--expires must be positive")
	}
	list, err := auth.ParseScopes(strings.Split(scopes, ","))
	if err != nil {
		return err
	}
	if len(list) == 0 {
		list = []string{auth.ScopeInherit}
	}
	ctx := context.Background()
	gdb, err := c.open(ctx, cfg, c.logger(cfg), true)
	if err != nil {
		return err
	}
	defer db.Close(gdb)
	store := auth.NewStore(gdb)
	u, err := store.UserByName(ctx, pos[0])
	if err != nil {
		if errors.Is(err, auth.ErrNotFound) {
			return fmt.Errorf("there is no user %s", pos[0])
		}
		return err
	}
	// The CLI is run by whoever runs the hub: it may grant what the
	// user holds with admin access on.
	if m := auth.Missing(list, auth.RoleScopes(u, true), u.Name); m != "" {
		return fmt.Errorf("%s does not hold the scope %s", u.Name, m)
	}
	if note == "" {
		note = "Created with sparkhub token create"
	}
	_, secret, err := store.CreateToken(ctx, u.ID, auth.NewToken{Note: note, Scopes: list, ExpiresIn: expires})
	if err != nil {
		return err
	}
	fmt.Fprintln(c.stdout, secret)
	return nil
}

func (c *cli) dbMigrate(args []string) error {
	cfg := hub.Defaults()
	pos, err := c.load("db migrate", &cfg, nil, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return fmt.Errorf("%w: db migrate takes no arguments", errUsage)
	}
	ctx := context.Background()
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return err
	}
	gdb, err := db.Open(ctx, cfg.DB, db.Options{Logger: c.logger(cfg)})
	if err != nil {
		return err
	}
	defer db.Close(gdb)
	applied, err := db.Migrate(ctx, gdb)
	if err != nil {
		return err
	}
	if len(applied) == 0 {
		fmt.Fprintln(c.stdout, "the database is up to date")
		return nil
	}
	fmt.Fprintf(c.stdout, "applied migrations %v\n", applied)
	return nil
}

// contentsReencrypt rewrites every stored notebook from the old keys to
// the new ones, one transaction per user; stopping and rerunning it is
// safe.
func (c *cli) contentsReencrypt(args []string) error {
	cfg := hub.Defaults()
	var oldKeys, newKeys string
	pos, err := c.load("contents reencrypt", &cfg, func(fs *flag.FlagSet) {
		fs.StringVar(&oldKeys, "old-keys", "", "comma-separated keys the contents are encrypted with now (empty: none)")
		fs.StringVar(&newKeys, "new-keys", "", "comma-separated keys to encrypt with; the first encrypts (empty: none)")
	}, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return fmt.Errorf("%w: contents reencrypt takes no arguments", errUsage)
	}
	ctx := context.Background()
	log := c.logger(cfg)
	gdb, err := c.open(ctx, cfg, log, true)
	if err != nil {
		return err
	}
	defer db.Close(gdb)
	if err := contents.Reencrypt(ctx, gdb, splitKeys(oldKeys), splitKeys(newKeys), log); err != nil {
		return err
	}
	fmt.Fprintln(c.stderr, "every file and checkpoint is now stored with the new keys")
	return nil
}

func splitKeys(s string) []string {
	var out []string
	for _, k := range strings.Split(s, ",") {
		if k = strings.TrimSpace(k); k != "" {
			out = append(out, k)
		}
	}
	return out
}
