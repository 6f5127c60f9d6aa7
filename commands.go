package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"gorm.io/gorm"

	"github.com/sparkhub/sparkhub/auth"
	"github.com/sparkhub/sparkhub/contents"
	"github.com/sparkhub/sparkhub/db"
)

func (c *cli) userList(args []string) error {
	return c.withDB("user list", args, 0, nil, func(ctx context.Context, _ Config, gdb *gorm.DB, _ *slog.Logger, _ []string) error {
		users, _, err := auth.NewStore(gdb).ListUsers(ctx, auth.UserQuery{Order: "name"})
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
	})
}

func (c *cli) userDel(args []string) error {
	return c.withDB("user del", args, 1, nil, func(ctx context.Context, _ Config, gdb *gorm.DB, _ *slog.Logger, pos []string) error {
		err := gdb.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
			st := auth.NewStore(tx)
			u, err := st.UserByName(ctx, pos[0])
			if err != nil {
				return err
			}
			if err := st.KeepAnAdmin(ctx, u); err != nil {
				return err
			}
			// Their notebooks go too, as over the API: a later user of
			// the same name must not find them.
			if err := contents.DeleteUser(ctx, tx, pos[0]); err != nil {
				return err
			}
			return st.DeleteUser(ctx, pos[0])
		})
		if errors.Is(err, auth.ErrNotFound) {
			return fmt.Errorf("there is no user %s", pos[0])
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(c.stderr, "deleted %s\n", pos[0])
		return nil
	})
}

func (c *cli) userAdd(args []string) error    { return c.userPassword("add", args) }
func (c *cli) userPasswd(args []string) error { return c.userPassword("passwd", args) }

// userPassword is `user add` and `user passwd`.
func (c *cli) userPassword(sub string, args []string) error {
	var admin, fromStdin bool
	revokeTokens := true
	return c.withDB("user "+sub, args, 1, func(fs *flag.FlagSet) {
		if sub == "add" {
			fs.BoolVar(&admin, "admin", false, "make the user an admin")
		} else {
			fs.BoolVar(&revokeTokens, "revoke-tokens", true, "revoke the user's API tokens too (--revoke-tokens=false keeps them)")
		}
		fs.BoolVar(&fromStdin, "password-stdin", false, "read the password from the first line of standard input")
	}, func(ctx context.Context, cfg Config, gdb *gorm.DB, _ *slog.Logger, pos []string) error {
		return c.setPassword(ctx, cfg, auth.NewStore(gdb), sub, pos[0], admin, fromStdin, revokeTokens)
	})
}

// setPassword is `user add` and `user passwd`: the password from stdin,
// or a random one printed once. passwd logs the user out everywhere and,
// with revokeTokens, revokes their API tokens.
func (c *cli) setPassword(ctx context.Context, cfg Config, store *auth.Store, sub, name string, admin, fromStdin, revokeTokens bool) error {
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
		revoked, err := store.SetPasswordHash(ctx, name, hash, revokeTokens)
		if errors.Is(err, auth.ErrNotFound) {
			return fmt.Errorf("there is no user %s", name)
		}
		if err != nil {
			return err
		}
		if revokeTokens {
			fmt.Fprintf(c.stderr, "changed the password of %s; their sessions are logged out and their API tokens revoked (%d)\n", name, revoked)
		} else {
			fmt.Fprintf(c.stderr, "changed the password of %s; their sessions are logged out, their API tokens kept\n", name)
		}
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

// tokenCreate prints a new token for the user, and nothing else, on stdout.
func (c *cli) tokenCreate(args []string) error {
	var scopes, note string
	var expires lifetime
	return c.withDB("token create", args, 1, func(fs *flag.FlagSet) {
		fs.StringVar(&scopes, "scopes", "", "comma-separated scopes (default: all of the user's)")
		fs.Var(&expires, "expires", "how long the token lasts: a `duration` like 720h, days like 30d, or never (also 0)")
		fs.StringVar(&note, "note", "", "what the token is for")
	}, func(ctx context.Context, _ Config, gdb *gorm.DB, _ *slog.Logger, pos []string) error {
		list, err := auth.ParseScopes(strings.Split(scopes, ","))
		if err != nil {
			return err
		}
		if len(list) == 0 {
			list = []string{auth.ScopeInherit}
		}
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
		_, secret, err := store.CreateToken(ctx, u.ID, auth.NewToken{Note: note, Scopes: list, ExpiresIn: time.Duration(expires)})
		if err != nil {
			return err
		}
		fmt.Fprintln(c.stdout, secret)
		return nil
	})
}

// lifetime is token create's --expires: never or 0 (the default: the
// token never expires), a Go duration (720h), or whole days (30d); at
// most auth.MaxTokenLifetime, as over the API.
type lifetime time.Duration

func (l *lifetime) String() string {
	if *l == 0 {
		return "never"
	}
	return time.Duration(*l).String()
}

func (l *lifetime) Set(s string) error {
	if s == "never" {
		*l = 0
		return nil
	}
	d, err := time.ParseDuration(s)
	if days, ok := strings.CutSuffix(s, "d"); ok {
		const day = 24 * time.Hour
		var n int64
		n, err = strconv.ParseInt(days, 10, 64)
		// Clamped, so that no count of days overflows.
		d = time.Duration(min(max(n, -1), int64(auth.MaxTokenLifetime/day)+1)) * day
	}
	switch {
	case err != nil:
		return errors.New("not a lifetime; use a duration like 720h, days like 30d, or never")
	case d < 0:
		return errors.New("a token cannot expire in the past; use never (or 0) for a token that never expires")
	case d > auth.MaxTokenLifetime:
		return errors.New("more than 100 years; use never for a token that never expires")
	}
	*l = lifetime(d)
	return nil
}

func (c *cli) dbMigrate(args []string) error {
	cfg := defaults()
	if _, err := c.load("db migrate", &cfg, nil, args, 0); err != nil {
		return err
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
	var oldKeys, newKeys string
	return c.withDB("contents reencrypt", args, 0, func(fs *flag.FlagSet) {
		fs.StringVar(&oldKeys, "old-keys", "", "comma-separated keys the contents are encrypted with now (empty: none)")
		fs.StringVar(&newKeys, "new-keys", "", "comma-separated keys to encrypt with; the first encrypts (empty: none)")
	}, func(ctx context.Context, _ Config, gdb *gorm.DB, log *slog.Logger, _ []string) error {
		if err := contents.Reencrypt(ctx, gdb, splitKeys(oldKeys), splitKeys(newKeys), log); err != nil {
			return err
		}
		fmt.Fprintln(c.stderr, "every file and checkpoint is now stored with the new keys")
		return nil
	})
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
