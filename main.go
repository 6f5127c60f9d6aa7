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
	"slices"
	"strings"

	"github.com/sparkhub/sparkhub/db"
	"gorm.io/gorm"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "0.1.0-dev"

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.Getenv))
}

// cli is one run of the command: its streams and environment.
type cli struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string
}

// command is one subcommand: the words that name it, what follows them
// in its synopsis (positional arguments first, in capitals), and what
// it does.
type command struct {
	name, args, what string
	run              func(c *cli, args []string) error
}

// commands lists every subcommand but version, in the order the usage
// shows them.
func commands() []command {
	return []command{
		{"serve", "[flags]", "Run the hub.", (*cli).serve},
		{"user add", "NAME [--admin] [--password-stdin]",
			"Add a user. Without --password-stdin it makes a random password and prints it once.", (*cli).userAdd},
		{"user list", "", "List the users.", (*cli).userList},
		{"user del", "NAME", "Delete a user with their notebooks and tokens. The last enabled admin stays.", (*cli).userDel},
		{"user passwd", "NAME [--password-stdin] [--revoke-tokens=false]",
			"Set a user's password, log them out everywhere and revoke their API tokens (--revoke-tokens=false keeps the tokens). Without --password-stdin it makes a random password and prints it once.", (*cli).userPasswd},
		{"token create", "NAME [--scopes a,b] [--expires 720h|30d|never] [--note TEXT]",
			"Create an API token for a user and print it, and only it: it is stored as a hash and never shown again.", (*cli).tokenCreate},
		{"db migrate", "", "Apply the database's pending migrations.", (*cli).dbMigrate},
		{"contents reencrypt", "--old-keys K1,K2 --new-keys K3",
			"Rewrite every stored notebook and checkpoint from the old keys to the new ones (either list may be empty: no encryption), one transaction per user; stopping and running it again is safe.", (*cli).contentsReencrypt},
		{"profiles check", "FILE", "Check a profile catalog: every problem on its own line, and a non-zero exit when there is any.", (*cli).profilesCheck},
	}
}

func findCommand(name string) command {
	for _, cmd := range commands() {
		if cmd.name == name {
			return cmd
		}
	}
	return command{name: name}
}

// usage is sparkhub's own help: every command's synopsis.
func usage() string {
	var b strings.Builder
	b.WriteString("sparkhub: a multi-user Jupyter hub\n\n")
	for _, cmd := range commands() {
		fmt.Fprintf(&b, "  %s\n", strings.TrimSpace("sparkhub "+cmd.name+" "+cmd.args))
	}
	b.WriteString("  sparkhub version\n\n")
	b.WriteString("Every command takes --help, and --db, --data-dir, --config and --bcrypt-cost\n")
	b.WriteString("like serve; every flag can also be set as SPARKHUB_<FLAG> in the environment.\n")
	return b.String()
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) int {
	c := &cli{stdin: stdin, stdout: stdout, stderr: stderr, getenv: getenv}
	if len(args) == 0 {
		fmt.Fprint(stderr, usage())
		return 2
	}
	err := c.dispatch(args)
	var ue *usageError
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &ue):
		fmt.Fprintln(stderr, ue)
		return 2
	}
	fmt.Fprintf(stderr, "sparkhub: %v\n", err)
	return 1
}

// dispatch runs the command args name; "help X" is "X --help".
func (c *cli) dispatch(args []string) error {
	switch args[0] {
	case "version", "--version":
		fmt.Fprintln(c.stdout, "sparkhub", version)
		return nil
	case "help", "-h", "--help":
		if args[0] == "help" && len(args) > 1 {
			return c.dispatch(append(slices.Clone(args[1:]), "--help"))
		}
		fmt.Fprint(c.stdout, usage())
		return nil
	}
	var group []command
	for _, cmd := range commands() {
		words := strings.Fields(cmd.name)
		if len(args) >= len(words) && slices.Equal(args[:len(words)], words) {
			return cmd.run(c, args[len(words):])
		}
		if words[0] == args[0] {
			group = append(group, cmd)
		}
	}
	if len(group) == 0 {
		return usagef("", "unknown command %q", args[0])
	}
	var subs []string
	for _, cmd := range group {
		subs = append(subs, strings.Fields(cmd.name)[1])
	}
	switch {
	case len(args) == 1:
		return usagef(args[0], "needs a command: %s", strings.Join(subs, ", "))
	case args[1] == "-h" || args[1] == "--help":
		fmt.Fprintf(c.stdout, "usage: sparkhub %s COMMAND ...\n\n", args[0])
		for _, cmd := range group {
			fmt.Fprintf(c.stdout, "  %s\n      %s\n", strings.TrimSpace("sparkhub "+cmd.name+" "+cmd.args), cmd.what)
		}
		fmt.Fprintf(c.stdout, "\nsparkhub %s COMMAND --help lists a command's flags.\n", args[0])
		return nil
	}
	return usagef(args[0], "unknown command %q; the commands are %s", args[1], strings.Join(subs, ", "))
}

// usageError is a mistake in how a command was called: run prints it as
// one line that names the command and points at its --help, and exits 2.
type usageError struct {
	cmd string // "user add"; "" for sparkhub itself
	msg string
}

func (e *usageError) Error() string {
	name := strings.TrimSpace("sparkhub " + e.cmd)
	return fmt.Sprintf("%s: %s (see %s --help)", name, e.msg, name)
}

func usagef(cmd, format string, args ...any) error {
	return &usageError{cmd: cmd, msg: fmt.Sprintf(format, args...)}
}

// newFlagSet is a command's flag set. It prints nothing itself: parse
// reports a mistake in one line, and --help prints the command's help.
func newFlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet("sparkhub "+name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return fs
}

// parse reads the command's flags with loadFlags (the command line, the
// environment, the config file) and returns the positional arguments.
// --help prints the command's help on stdout and ends it (exit 0); a
// mistake on the command line is a usageError.
func (c *cli) parse(name string, fs *flag.FlagSet, args []string) ([]string, error) {
	pos, err := loadFlags(fs, args, c.getenv)
	var ae *ArgsError
	switch {
	case errors.Is(err, flag.ErrHelp):
		c.help(name, fs)
		return nil, err
	case errors.As(err, &ae):
		return nil, usagef(name, "%s", ae.Msg)
	}
	return pos, err
}

// help prints the command's synopsis, what it does and its flags: its
// own first, then those every command takes.
func (c *cli) help(name string, fs *flag.FlagSet) {
	cmd := findCommand(name)
	fmt.Fprintf(c.stdout, "usage: %s\n\n%s\n", strings.TrimSpace("sparkhub "+name+" "+cmd.args), cmd.what)
	common := map[string]bool{}
	if name != "serve" {
		storage := flag.NewFlagSet("", flag.ContinueOnError)
		(&Config{}).StorageFlags(storage)
		storage.VisitAll(func(f *flag.Flag) { common[f.Name] = true })
	}
	printFlags(c.stdout, "flags", fs, func(f *flag.Flag) bool { return !common[f.Name] })
	printFlags(c.stdout, "flags every command takes", fs, func(f *flag.Flag) bool { return common[f.Name] })
	if fs.Lookup("config") != nil {
		fmt.Fprintln(c.stdout, "\nEvery flag can also be set as SPARKHUB_<FLAG> in the environment (--data-dir:\nSPARKHUB_DATA_DIR) or as a key of the --config file.")
	}
}

// printFlags lists the flags of fs that keep says, under title.
func printFlags(w io.Writer, title string, fs *flag.FlagSet, keep func(*flag.Flag) bool) {
	var b strings.Builder
	fs.VisitAll(func(f *flag.Flag) {
		if !keep(f) {
			return
		}
		typ, text := flag.UnquoteUsage(f)
		b.WriteString("  --" + f.Name)
		if typ != "" {
			b.WriteString(" " + typ)
		}
		b.WriteString("\n      " + text)
		switch f.DefValue {
		case "", "0", "0s", "false":
		default:
			b.WriteString(" (default " + f.DefValue + ")")
		}
		b.WriteString("\n")
	})
	if b.Len() > 0 {
		fmt.Fprintf(w, "\n%s:\n%s", title, b.String())
	}
}

// load parses a subcommand's flags with the environment and config
// file, and checks that it got nargs positional arguments.
func (c *cli) load(name string, cfg *Config, register func(*flag.FlagSet), args []string, nargs int) ([]string, error) {
	fs := newFlagSet(name)
	cfg.StorageFlags(fs)
	if register != nil {
		register(fs)
	}
	pos, err := c.parse(name, fs, args)
	if err != nil {
		return nil, err
	}
	if err := wantArgs(name, pos, nargs); err != nil {
		return nil, err
	}
	return pos, cfg.Finish()
}

// wantArgs checks that the command got n positional arguments, the
// words in capitals that begin its synopsis.
func wantArgs(name string, pos []string, n int) error {
	var want []string
	for _, w := range strings.Fields(findCommand(name).args) {
		if w != strings.ToUpper(w) || strings.HasPrefix(w, "-") || strings.HasPrefix(w, "[") {
			break
		}
		want = append(want, w)
	}
	switch {
	case len(pos) == n:
		return nil
	case n == 0:
		return usagef(name, "takes no arguments, got %q", pos[0])
	case len(pos) < n:
		return usagef(name, "needs %s", strings.Join(want[len(pos):], " "))
	}
	return usagef(name, "takes %s and no more, got %q too", strings.Join(want, " "), pos[n])
}

// logger is the log of a configuration that Finish has checked.
func (c *cli) logger(cfg Config) *slog.Logger {
	level, _ := cfg.Level()
	opts := &slog.HandlerOptions{Level: level}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(c.stderr, opts))
	}
	return slog.New(slog.NewTextHandler(c.stderr, opts))
}

// open connects to the configured database and migrates it.
func (c *cli) open(ctx context.Context, cfg Config, log *slog.Logger, migrate bool) (*gorm.DB, error) {
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("create data folder: %w", err)
	}
	if err := secureDataDir(cfg); err != nil {
		return nil, err
	}
	gdb, err := db.Open(ctx, cfg.DB, db.Options{Logger: log})
	if err != nil {
		return nil, err
	}
	// Again: SQLite has just made whatever file was missing.
	if err := secureDataDir(cfg); err != nil {
		db.Close(gdb)
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
	fn func(ctx context.Context, cfg Config, gdb *gorm.DB, log *slog.Logger, pos []string) error) error {
	cfg := defaults()
	pos, err := c.load(name, &cfg, register, args, nargs)
	if err != nil {
		return err
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
