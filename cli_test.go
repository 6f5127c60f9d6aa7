package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sparkhub/sparkhub/auth"
	"github.com/sparkhub/sparkhub/db"
)

// cliRun runs sparkhub in this process as main does, with env as its
// whole environment, and returns its exit status, stdout and stderr.
func cliRun(t *testing.T, env map[string]string, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(args, strings.NewReader(stdin), &out, &errOut, func(k string) string { return env[k] })
	return code, out.String(), errOut.String()
}

// TestCLIHelp: every command's --help and -h print its synopsis and its
// flags on stdout and exit 0, and touch nothing: not even the data
// folder is made.
func TestCLIHelp(t *testing.T) {
	dataDir := filepath.Join(t.TempDir(), "data")
	env := map[string]string{"SPARKHUB_DATA_DIR": dataDir}
	for _, tc := range []struct {
		args []string
		want []string // in this order
	}{
		{[]string{"--help"}, []string{"sparkhub: a multi-user Jupyter hub\n", "  sparkhub serve [flags]\n", "  sparkhub token create NAME", "Every command takes --help"}},
		{[]string{"help"}, []string{"sparkhub: a multi-user Jupyter hub\n"}},
		{[]string{"user", "--help"}, []string{"usage: sparkhub user COMMAND ...\n",
			"  sparkhub user add NAME [--admin] [--password-stdin]\n      Add a user.",
			"  sparkhub user list\n", "  sparkhub user del NAME\n", "  sparkhub user passwd NAME [--password-stdin] [--revoke-tokens=false]\n",
			"sparkhub user COMMAND --help lists a command's flags.\n"}},
		{[]string{"user", "-h"}, []string{"usage: sparkhub user COMMAND ...\n"}},
		{[]string{"token", "--help"}, []string{"usage: sparkhub token COMMAND ...\n", "  sparkhub token create NAME [--scopes a,b] [--expires 720h|30d|never] [--note TEXT]\n"}},
		{[]string{"db", "-h"}, []string{"  sparkhub db migrate\n"}},
		{[]string{"contents", "--help"}, []string{"  sparkhub contents reencrypt --old-keys K1,K2 --new-keys K3\n"}},
		{[]string{"profiles", "--help"}, []string{"  sparkhub profiles check FILE\n"}},
		{[]string{"user", "add", "-h"}, []string{"usage: sparkhub user add NAME [--admin] [--password-stdin]\n\nAdd a user.",
			"\nflags:\n  --admin\n      make the user an admin\n  --password-stdin\n",
			"\nflags every command takes:\n  --bcrypt-cost int\n", "  --data-dir string\n", "  --db string\n",
			"SPARKHUB_<FLAG>"}},
		{[]string{"user", "add", "bob", "--help"}, []string{"usage: sparkhub user add NAME"}},
		{[]string{"user", "list", "--help"}, []string{"usage: sparkhub user list\n\nList the users.\n\nflags every command takes:\n"}},
		{[]string{"user", "del", "--help"}, []string{"usage: sparkhub user del NAME\n", "flags every command takes:\n"}},
		{[]string{"user", "del", "-h"}, []string{"usage: sparkhub user del NAME\n"}},
		{[]string{"user", "passwd", "-h"}, []string{"usage: sparkhub user passwd NAME [--password-stdin] [--revoke-tokens=false]\n", "\nflags:\n  --password-stdin\n", "  --revoke-tokens\n      revoke the user's API tokens too (--revoke-tokens=false keeps them) (default true)\n"}},
		{[]string{"token", "create", "--help"}, []string{"usage: sparkhub token create NAME",
			"  --expires duration\n      how long the token lasts: a duration like 720h, days like 30d, or never (also 0) (default never)\n",
			"  --note string\n", "  --scopes string\n", "flags every command takes:\n"}},
		{[]string{"db", "migrate", "-h"}, []string{"usage: sparkhub db migrate\n"}},
		{[]string{"contents", "reencrypt", "--help"}, []string{"usage: sparkhub contents reencrypt --old-keys K1,K2 --new-keys K3\n", "  --new-keys string\n", "  --old-keys string\n"}},
		{[]string{"profiles", "check", "-h"}, []string{"usage: sparkhub profiles check FILE\n"}},
		{[]string{"serve", "--help"}, []string{"usage: sparkhub serve [flags]\n\nRun the hub.\n\nflags:\n", "  --listen string\n      address to serve on (default :8000)\n", "  --spawner string\n"}},
		{[]string{"serve", "-h"}, []string{"usage: sparkhub serve [flags]\n"}},
		{[]string{"help", "user", "add"}, []string{"usage: sparkhub user add NAME"}},
		{[]string{"help", "token"}, []string{"usage: sparkhub token COMMAND ...\n"}},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			code, out, errOut := cliRun(t, env, "", tc.args...)
			if code != 0 || errOut != "" {
				t.Errorf("exit %d, stderr %q; want 0 and nothing", code, errOut)
			}
			rest := out
			for _, w := range tc.want {
				i := strings.Index(rest, w)
				if i < 0 {
					t.Fatalf("stdout lacks %q (after what came before):\n%s", w, out)
				}
				rest = rest[i+len(w):]
			}
			if _, err := os.Stat(dataDir); err == nil {
				t.Fatalf("--help made the data folder")
			}
		})
	}
}

// TestCLIUsageErrors: a mistake on the command line is one line on
// stderr naming the command and pointing at its --help, and exit 2.
func TestCLIUsageErrors(t *testing.T) {
	dataDir := filepath.Join(t.TempDir(), "data")
	env := map[string]string{"SPARKHUB_DATA_DIR": dataDir}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"frobnicate"}, `sparkhub: unknown command "frobnicate" (see sparkhub --help)`},
		{[]string{"user"}, `sparkhub user: needs a command: add, list, del, passwd (see sparkhub user --help)`},
		{[]string{"token"}, `sparkhub token: needs a command: create (see sparkhub token --help)`},
		{[]string{"user", "rename", "x"}, `sparkhub user: unknown command "rename"; the commands are add, list, del, passwd (see sparkhub user --help)`},
		{[]string{"user", "add"}, `sparkhub user add: needs NAME (see sparkhub user add --help)`},
		{[]string{"user", "del", "a", "b"}, `sparkhub user del: takes NAME and no more, got "b" too (see sparkhub user del --help)`},
		{[]string{"token", "create"}, `sparkhub token create: needs NAME (see sparkhub token create --help)`},
		{[]string{"serve", "extra"}, `sparkhub serve: takes no arguments, got "extra" (see sparkhub serve --help)`},
		{[]string{"db", "migrate", "now"}, `sparkhub db migrate: takes no arguments, got "now" (see sparkhub db migrate --help)`},
		{[]string{"user", "add", "bob", "--adimn"}, `sparkhub user add: unknown flag --adimn; did you mean --admin? (see sparkhub user add --help)`},
		{[]string{"serve", "--lisen", "x"}, `sparkhub serve: unknown flag --lisen; did you mean --listen? (see sparkhub serve --help)`},
		{[]string{"user", "list", "--frobnicate"}, `sparkhub user list: unknown flag --frobnicate (see sparkhub user list --help)`},
		{[]string{"user", "del", "-x", "bob"}, `sparkhub user del: unknown flag --x (see sparkhub user del --help)`},
		{[]string{"serve", "---listen", ":1"}, `sparkhub serve: "---listen" is not a flag (see sparkhub serve --help)`},
		{[]string{"db", "migrate", "--db"}, `sparkhub db migrate: --db needs a value (see sparkhub db migrate --help)`},
		{[]string{"serve", "--session-ttl", "soon"}, `sparkhub serve: --session-ttl wants a duration like 90s, 15m or 2h, not "soon" (see sparkhub serve --help)`},
		{[]string{"serve", "--admin-access=maybe"}, `sparkhub serve: --admin-access wants true or false, not "maybe" (see sparkhub serve --help)`},
		{[]string{"user", "add", "bob", "--bcrypt-cost", "high"}, `sparkhub user add: --bcrypt-cost wants a whole number, not "high" (see sparkhub user add --help)`},
		{[]string{"serve", "--mesos-cpus", "two"}, `sparkhub serve: --mesos-cpus wants a number, not "two" (see sparkhub serve --help)`},
		{[]string{"token", "create", "bob", "--expires", "soon"}, `sparkhub token create: --expires "soon": not a lifetime; use a duration like 720h, days like 30d, or never (see sparkhub token create --help)`},
		{[]string{"token", "create", "bob", "--expires", "1.5d"}, `sparkhub token create: --expires "1.5d": not a lifetime; use a duration like 720h, days like 30d, or never (see sparkhub token create --help)`},
		{[]string{"token", "create", "bob", "--expires", "-1h"}, `sparkhub token create: --expires "-1h": a token cannot expire in the past; use never (or 0) for a token that never expires (see sparkhub token create --help)`},
		{[]string{"token", "create", "bob", "--expires", "-3d"}, `sparkhub token create: --expires "-3d": a token cannot expire in the past; use never (or 0) for a token that never expires (see sparkhub token create --help)`},
		{[]string{"token", "create", "bob", "--expires", "99999999999999999d"}, `sparkhub token create: --expires "99999999999999999d": more than 100 years; use never for a token that never expires (see sparkhub token create --help)`},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			code, out, errOut := cliRun(t, env, "", tc.args...)
			if code != 2 {
				t.Errorf("exit %d, want 2", code)
			}
			if errOut != tc.want+"\n" {
				t.Errorf("stderr:\n%s\nwant the one line\n%s", errOut, tc.want)
			}
			if out != "" {
				t.Errorf("stdout = %q, want nothing", out)
			}
		})
	}
	if _, err := os.Stat(dataDir); err == nil {
		t.Errorf("a usage error made the data folder")
	}
	// Without a command, sparkhub's own usage is the answer.
	if code, _, errOut := cliRun(t, env, ""); code != 2 || !strings.Contains(errOut, "sparkhub serve [flags]") {
		t.Errorf("no command: exit %d, stderr:\n%s", code, errOut)
	}
	if code, out, _ := cliRun(t, env, "", "version"); code != 0 || !strings.HasPrefix(out, "sparkhub ") {
		t.Errorf("version: exit %d, %q", code, out)
	}
}

// TestCLIConfigErrors: settings that parse but make no sense are refused
// in one line whether they come from a flag, the environment or the
// file, and exit 1.
func TestCLIConfigErrors(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"log level flag", nil, []string{"serve", "--log-level", "loud"}, `sparkhub: --log-level must be debug, info, warn or error, not "loud"`},
		{"log level of user list", nil, []string{"user", "list", "--log-level", "loud"}, `sparkhub: --log-level must be debug, info, warn or error, not "loud"`},
		{"log level env", map[string]string{"SPARKHUB_LOG_LEVEL": "loud"}, []string{"db", "migrate"}, `sparkhub: --log-level must be debug, info, warn or error, not "loud"`},
		{"log format", nil, []string{"serve", "--log-format", "yaml"}, `sparkhub: --log-format must be text or json, not "yaml"`},
		{"duration env", map[string]string{"SPARKHUB_SESSION_TTL": "soon"}, []string{"serve"}, `sparkhub: environment variable SPARKHUB_SESSION_TTL wants a duration like 90s, 15m or 2h, not "soon"`},
		{"user subdomains", nil, []string{"serve", "--user-subdomains", "https://hub.example.com"}, `sparkhub: --user-subdomains wants a host name such as hub.example.com, with :port when browsers use one that is not the scheme's default, not "https://hub.example.com"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := map[string]string{"SPARKHUB_DATA_DIR": filepath.Join(dir, "data")}
			for k, v := range tc.env {
				env[k] = v
			}
			code, _, errOut := cliRun(t, env, "", tc.args...)
			if code != 1 || errOut != tc.want+"\n" {
				t.Errorf("exit %d, stderr:\n%s\nwant exit 1 and\n%s", code, errOut, tc.want)
			}
		})
	}
	// The levels log/slog knows are taken, in any case.
	for _, level := range []string{"debug", "INFO", "warn", "error"} {
		if code, _, errOut := cliRun(t, nil, "", "user", "list", "--data-dir", filepath.Join(dir, "data"), "--log-level", level); code != 0 {
			t.Errorf("--log-level %s: exit %d, %s", level, code, errOut)
		}
	}
}

// TestCLITokenExpires: --expires takes never and 0 (no expiry), a
// duration and days.
func TestCLITokenExpires(t *testing.T) {
	dataDir := t.TempDir()
	common := []string{"--data-dir", dataDir, "--bcrypt-cost", "4"}
	if code, _, errOut := cliRun(t, nil, "a long enough password\n", append([]string{"user", "add", "alice", "--password-stdin"}, common...)...); code != 0 {
		t.Fatalf("user add: exit %d, %s", code, errOut)
	}
	for _, tc := range []struct {
		expires string
		want    time.Duration // 0: never
	}{
		{"never", 0},
		{"0", 0},
		{"0s", 0},
		{"720h", 720 * time.Hour},
		{"90m", 90 * time.Minute},
		{"30d", 30 * 24 * time.Hour},
	} {
		t.Run(tc.expires, func(t *testing.T) {
			code, out, errOut := cliRun(t, nil, "", append([]string{"token", "create", "alice", "--note", tc.expires, "--expires", tc.expires}, common...)...)
			if code != 0 || len(strings.TrimSpace(out)) != 64 {
				t.Fatalf("exit %d, stdout %q, stderr %q; want 0 and a token", code, out, errOut)
			}
			tok := tokenNoted(t, "sqlite://"+filepath.Join(dataDir, "sparkhub.db"), "alice", tc.expires)
			switch {
			case tc.want == 0 && tok.ExpiresAt != nil:
				t.Errorf("expires at %v, want never", tok.ExpiresAt)
			case tc.want != 0 && tok.ExpiresAt == nil:
				t.Errorf("never expires, want in %v", tc.want)
			case tc.want != 0:
				if got := tok.ExpiresAt.Sub(tok.CreatedAt); got != tc.want {
					t.Errorf("lasts %v, want %v", got, tc.want)
				}
			}
		})
	}
}

// tokenNoted is the user's token with that note.
func tokenNoted(t *testing.T, dbURL, user, note string) *auth.Token {
	t.Helper()
	ctx := context.Background()
	gdb, err := db.Open(ctx, dbURL, db.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close(gdb)
	st := auth.NewStore(gdb)
	u, err := st.UserByName(ctx, user)
	if err != nil {
		t.Fatal(err)
	}
	toks, err := st.Tokens(ctx, u.ID, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, tok := range toks {
		if tok.Note == note {
			return tok
		}
	}
	t.Fatalf("no token of %s noted %q", user, note)
	return nil
}

// TestCLIKeepsTheLastAdmin: user del keeps the last enabled admin, as
// the REST API does.
func TestCLIKeepsTheLastAdmin(t *testing.T) {
	dataDir := t.TempDir()
	common := []string{"--data-dir", dataDir, "--bcrypt-cost", "4"}
	for _, step := range []struct {
		args    []string
		code    int
		wantErr string
	}{
		{[]string{"user", "add", "root", "--admin"}, 0, "added root\n"},
		{[]string{"user", "add", "alice"}, 0, "added alice\n"},
		{[]string{"user", "del", "root"}, 1, "sparkhub: root is the last admin; make someone else an admin first\n"},
		{[]string{"user", "del", "alice"}, 0, "deleted alice\n"},
		{[]string{"user", "del", "alice"}, 1, "sparkhub: there is no user alice\n"},
		{[]string{"user", "add", "boss", "--admin"}, 0, "added boss\n"},
		{[]string{"user", "del", "root"}, 0, "deleted root\n"},
		{[]string{"user", "del", "boss"}, 1, "sparkhub: boss is the last admin; make someone else an admin first\n"},
	} {
		code, _, errOut := cliRun(t, nil, "", append(step.args, common...)...)
		// Around it: the first migration, and the password shown once.
		if code != step.code || !strings.Contains(errOut, step.wantErr) {
			t.Errorf("sparkhub %s: exit %d, stderr:\n%s\nwant exit %d and\n%s", strings.Join(step.args, " "), code, errOut, step.code, step.wantErr)
		}
	}
	_, out, _ := cliRun(t, nil, "", append([]string{"user", "list"}, common...)...)
	if !strings.Contains(out, "\nboss ") || strings.Contains(out, "root") || strings.Contains(out, "alice") {
		t.Errorf("user list:\n%s\nwant boss alone", out)
	}
}

// TestCLIPasswdRevokesTokens: user passwd revokes the user's API
// tokens unless told --revoke-tokens=false.
func TestCLIPasswdRevokesTokens(t *testing.T) {
	dataDir := t.TempDir()
	common := []string{"--data-dir", dataDir, "--bcrypt-cost", "4"}
	if code, _, errOut := cliRun(t, nil, "", append([]string{"user", "add", "alice"}, common...)...); code != 0 {
		t.Fatalf("user add: %s", errOut)
	}
	tokens := func() int {
		t.Helper()
		gdb, err := db.Open(context.Background(), "sqlite://"+filepath.Join(dataDir, "sparkhub.db"), db.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close(gdb)
		var n int64
		gdb.Table("hub_tokens").Count(&n)
		return int(n)
	}
	for _, step := range []struct {
		args       []string
		wantErr    string
		tokensLeft int
	}{
		{[]string{"--revoke-tokens=false"}, "their API tokens kept", 1},
		{nil, "their API tokens revoked (2)", 0},
	} {
		if code, _, errOut := cliRun(t, nil, "", append([]string{"token", "create", "alice"}, common...)...); code != 0 {
			t.Fatalf("token create: %s", errOut)
		}
		args := append(append([]string{"user", "passwd", "alice", "--password-stdin"}, step.args...), common...)
		code, _, errOut := cliRun(t, nil, "a new password\n", args...)
		if code != 0 || !strings.Contains(errOut, step.wantErr) {
			t.Errorf("sparkhub %s: exit %d, stderr %q, want %q", strings.Join(args, " "), code, errOut, step.wantErr)
		}
		if got := tokens(); got != step.tokensLeft {
			t.Errorf("after sparkhub %s: %d tokens, want %d", strings.Join(args, " "), got, step.tokensLeft)
		}
	}
}

// TestCLIDatabaseErrors: a database URL sparkhub cannot use, or a SQLite
// file whose folder is missing, is one sentence that shows no password;
// only the data folder is made.
func TestCLIDatabaseErrors(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "no", "such")
	for _, tc := range []struct {
		db   string
		want string
	}{
		{"sqlite://" + filepath.Join(missing, "x.db"), "sparkhub: the folder " + missing + " for the SQLite database does not exist"},
		{"sqlite://", "sparkhub: bad database URL: sqlite:// names no file; want sqlite:///abs/path.db or sqlite://rel/path.db"},
		{"/var/lib/hub.db", `sparkhub: bad database URL: "/var/lib/hub.db" has no scheme; use sqlite://, mysql:// or postgres://`},
		{"oracle://scott:tiger@db/hub", `sparkhub: bad database URL: unknown scheme "oracle" in oracle://scott:xxxxx@db/hub; use sqlite://, mysql:// or postgres://`},
		{"mysql://", "sparkhub: bad database URL: mysql:// names no host; want mysql://user:pass@host:3306/dbname"},
		{"mysql://hub:tiger@/hub", "sparkhub: bad database URL: mysql://hub:xxxxx@/hub names no host; want mysql://user:pass@host:3306/dbname"},
		{"mysql://hub:tiger@db", "sparkhub: bad database URL: mysql://hub:xxxxx@db names no database; want mysql://user:pass@host:3306/dbname"},
		{"mysql://hub:ti%ger@db/hub", "sparkhub: bad database URL: mysql://***@db/hub is not a valid URL (in a user or password, write @ : / ? # % and spaces as %40 %3A %2F %3F %23 %25 %20); want mysql://user:pass@host:3306/dbname"},
		{"postgres://hub:ti#ger@db/hub", "sparkhub: bad database URL: postgres://***@db/hub is not a valid URL (in a user or password, write @ : / ? # % and spaces as %40 %3A %2F %3F %23 %25 %20); want postgres://user:pass@host:5432/dbname"},
		{"postgres://hub:9999/tiger@db/hub", "sparkhub: bad database URL: postgres://***@db/hub has an @ after its host (in a password, write / ? # as %2F %3F %23); want postgres://user:pass@host:5432/dbname"},
	} {
		t.Run(tc.db, func(t *testing.T) {
			code, out, errOut := cliRun(t, nil, "", "db", "migrate", "--db", tc.db, "--data-dir", filepath.Join(dir, "data"))
			if code != 1 || errOut != tc.want+"\n" || out != "" {
				t.Errorf("exit %d, stdout %q, stderr:\n%s\nwant exit 1 and\n%s", code, out, errOut, tc.want)
			}
			if strings.Contains(errOut, "tiger") || strings.Contains(errOut, "%!") || strings.Contains(errOut, "%v") {
				t.Errorf("stderr shows a password or an unformatted verb: %s", errOut)
			}
		})
	}
	if _, err := os.Stat(missing); err == nil {
		t.Errorf("the missing folder of the SQLite database was made")
	}
	if fi, err := os.Stat(filepath.Join(dir, "data")); err != nil || !fi.IsDir() {
		t.Errorf("the data folder was not made: %v", err)
	}
	// A server that does not answer: no password, and nothing unformatted
	// in the log either.
	code, _, errOut := cliRun(t, nil, "", "serve", "--data-dir", filepath.Join(dir, "data"), "--db", "mysql://u:topsecret@127.0.0.1:1/x")
	if code != 1 || strings.Contains(errOut, "topsecret") || strings.Contains(errOut, "%!") || strings.Contains(errOut, "%v") || strings.Count(errOut, "\n") != 1 {
		t.Errorf("serve with an unreachable database: exit %d, stderr:\n%s", code, errOut)
	}
}
