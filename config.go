package main

import (
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/sparkhub/sparkhub/auth"
	"github.com/sparkhub/sparkhub/contents"
	"github.com/sparkhub/sparkhub/hub"
	"github.com/sparkhub/sparkhub/proxy"
	"github.com/sparkhub/sparkhub/spawner"
	"github.com/sparkhub/sparkhub/spawner/local"
)

// Config is everything `sparkhub serve` can be told, read by the
// command line and handed out in parts: hub.Options to the hub,
// spawner.Options to the manager, and so on. Each field is a flag
// (--listen), an environment variable (SPARKHUB_LISTEN) and a key of the
// YAML file given by --config (listen: or listen-addr style with '_'
// too); a flag beats the environment, which beats the file, which beats
// the default. Secrets also take NAME_FILE: a file holding the value.
type Config struct {
	ConfigFile string
	Listen     string
	DB         string
	DataDir    string
	Migrate    bool

	TLSCert string
	TLSKey  string

	// HeaderTimeout is how long a client has to send a request's
	// headers; KeepAliveTimeout how long an idle connection waits for
	// its next request. ClientTimeout and ClientMinRate bound bodies and
	// answers (hub.Options).
	HeaderTimeout    time.Duration
	KeepAliveTimeout time.Duration
	ClientTimeout    time.Duration
	ClientMinRate    int64

	LogLevel  string
	LogFormat string

	BcryptCost     int
	SessionTTL     time.Duration
	AdminAccess    bool
	TrustedProxies []string
	// UserSubdomains serves each user's server from {name}.HOST
	// (auth.Subdomains); "" keeps them under /user/{name}/ on the hub.
	UserSubdomains string

	AuthenticatePrometheus bool

	APIPageDefaultLimit int
	APIPageMaxLimit     int

	Spawner              string
	Profiles             string
	LocalCmd             string
	LocalSharedAccount   bool
	LocalAccountPrefix   string
	HubURL               string
	StartTimeout         time.Duration
	StopGrace            time.Duration
	ConcurrentSpawnLimit int
	ActiveServerLimit    int
	IdleTimeout          time.Duration
	CullInterval         time.Duration
	SparkInterval        time.Duration
	CullBusy             bool
	MaxAge               time.Duration

	ContentsEncryptionKeys []string
	ContentsMaxFileSize    int64
	ContentsAllowHidden    bool
	// ContentsUploadsPerUser large uploads (over ContentsLargeUpload
	// bytes) one user may send at once (hub.Options).
	ContentsUploadsPerUser int
	ContentsLargeUpload    int64

	// MemoryLimit is the soft limit on the hub's memory, in bytes, that
	// main hands to runtime/debug.SetMemoryLimit; 0 leaves the Go
	// runtime's own (GOMEMLIMIT, or none).
	MemoryLimit int64
	// WebsocketMaxMessage is the largest websocket message the proxy
	// relays, in bytes.
	WebsocketMaxMessage int64
	// WebsocketPingInterval is how often the relay pings both ends of a
	// websocket.
	WebsocketPingInterval time.Duration

	// Mesos holds the --mesos-* settings (config_mesos.go).
	Mesos MesosConfig
	// Auth holds --auth and the --auth-*, --oidc-* and --ldap-*
	// settings (config_auth.go).
	Auth AuthConfig
}

// defaults returns the configuration before flags, environment and file.
// Each package that reads a setting declares its default; this only
// gathers them.
func defaults() Config {
	h := hub.DefaultOptions()
	return Config{
		Listen:                 ":8000",
		DataDir:                "./data",
		LocalAccountPrefix:     local.DefaultAccountPrefix,
		Migrate:                true,
		HeaderTimeout:          defaultHeaderTimeout,
		KeepAliveTimeout:       defaultKeepAliveTimeout,
		ClientTimeout:          h.ClientTimeout,
		ClientMinRate:          h.ClientMinRate,
		LogLevel:               "info",
		LogFormat:              "text",
		BcryptCost:             auth.DefaultBcryptCost,
		SessionTTL:             auth.DefaultSessionTTL,
		AuthenticatePrometheus: h.AuthenticatePrometheus,
		APIPageDefaultLimit:    h.APIPageDefaultLimit,
		APIPageMaxLimit:        h.APIPageMaxLimit,
		Spawner:                "local",
		StartTimeout:           spawner.DefaultStartTimeout,
		StopGrace:              spawner.DefaultStopGrace,
		ConcurrentSpawnLimit:   spawner.DefaultConcurrentSpawnLimit,
		IdleTimeout:            spawner.DefaultIdleTimeout,
		CullInterval:           spawner.DefaultCullInterval,
		SparkInterval:          spawner.DefaultSparkInterval,
		ContentsMaxFileSize:    contents.DefaultMaxFileSize,
		ContentsUploadsPerUser: h.UploadsPerUser,
		ContentsLargeUpload:    h.LargeUpload,
		WebsocketMaxMessage:    proxy.DefaultMaxMessageSize,
		WebsocketPingInterval:  proxy.DefaultPingInterval,
		Mesos:                  mesosDefaults(),
		Auth:                   authDefaults(),
	}
}

// hubOptions is what the hub itself reads of the configuration.
func (c *Config) hubOptions() hub.Options {
	return hub.Options{
		APIPageDefaultLimit:    c.APIPageDefaultLimit,
		APIPageMaxLimit:        c.APIPageMaxLimit,
		AuthenticatePrometheus: c.AuthenticatePrometheus,
		ClientTimeout:          c.ClientTimeout,
		ClientMinRate:          c.ClientMinRate,
		UploadsPerUser:         c.ContentsUploadsPerUser,
		LargeUpload:            c.ContentsLargeUpload,
	}
}

// Secret flags: they also read NAME_FILE, and their values are never
// shown.
var secretFlags = map[string]bool{"db": true, "contents-encryption-keys": true}

// StorageFlags registers what every subcommand shares: where the config
// file, the database and the data folder are, and the bcrypt cost.
func (c *Config) StorageFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.ConfigFile, "config", c.ConfigFile, "YAML file with settings (keys are flag names)")
	fs.StringVar(&c.DB, "db", c.DB, "database URL: sqlite:///abs/path.db, sqlite://rel/path.db, mysql://user:pass@host:3306/db, postgres://user:pass@host:5432/db (default sqlite://DATA-DIR/sparkhub.db)")
	fs.StringVar(&c.DataDir, "data-dir", c.DataDir, "folder for the SQLite database, user folders and logs")
	fs.IntVar(&c.BcryptCost, "bcrypt-cost", c.BcryptCost, "bcrypt cost of stored passwords (4-31)")
	fs.StringVar(&c.LogLevel, "log-level", c.LogLevel, "debug, info, warn or error")
	fs.StringVar(&c.LogFormat, "log-format", c.LogFormat, "text or json")
}

// ServeFlags registers every flag of `sparkhub serve`.
func (c *Config) ServeFlags(fs *flag.FlagSet) {
	c.StorageFlags(fs)
	fs.StringVar(&c.Listen, "listen", c.Listen, "address to serve on")
	fs.BoolVar(&c.Migrate, "migrate", c.Migrate, "apply database migrations on start")
	fs.StringVar(&c.TLSCert, "tls-cert", c.TLSCert, "serve HTTPS with this certificate (PEM)")
	fs.StringVar(&c.TLSKey, "tls-key", c.TLSKey, "the certificate's private key (PEM)")
	fs.DurationVar(&c.HeaderTimeout, "header-timeout", c.HeaderTimeout, "how long a client has to send a request's headers")
	fs.DurationVar(&c.KeepAliveTimeout, "keep-alive-timeout", c.KeepAliveTimeout, "how long an idle connection is kept open for the client's next request")
	fs.DurationVar(&c.ClientTimeout, "client-timeout", c.ClientTimeout, "how long a client has to send a request's body, or to take each part of an answer, plus a second for every --client-min-rate bytes; a body slower than that is cut with 408")
	fs.Var((*byteSize)(&c.ClientMinRate), "client-min-rate", "the slowest rate, in bytes a second, at which a client may send a body or take an answer past --client-timeout (16KiB)")
	fs.DurationVar(&c.SessionTTL, "session-ttl", c.SessionTTL, "how long a login lasts without use; refreshed while in use")
	fs.BoolVar(&c.AdminAccess, "admin-access", c.AdminAccess, "let admins reach other users' servers and notebooks (logged)")
	fs.Var((*listFlag)(&c.TrustedProxies), "trusted-proxies", "comma-separated addresses or CIDRs whose X-Forwarded-* headers are believed")
	fs.StringVar(&c.UserSubdomains, "user-subdomains", c.UserSubdomains, "serve each user's server from an origin of its own, NAME.HOST (HOST[:PORT], e.g. hub.example.com); needs wildcard DNS and, with TLS, a wildcard certificate")
	fs.IntVar(&c.APIPageDefaultLimit, "api-page-default-limit", c.APIPageDefaultLimit, "users per page of a paginated GET /hub/api/users without limit")
	fs.IntVar(&c.APIPageMaxLimit, "api-page-max-limit", c.APIPageMaxLimit, "most users one GET /hub/api/users returns")
	fs.StringVar(&c.Spawner, "spawner", c.Spawner, "where users' servers run: local or mesos")
	fs.StringVar(&c.Profiles, "profiles", c.Profiles, "YAML catalog of server profiles users pick from (default: one profile); check one with sparkhub profiles check FILE")
	fs.StringVar(&c.LocalCmd, "local-cmd", c.LocalCmd, "the local spawner's command (default: jupyter-lab, jupyter-notebook or jupyter-server from PATH)")
	fs.BoolVar(&c.LocalSharedAccount, "local-shared-account", c.LocalSharedAccount, "run every user's server as the hub's own OS account: users can then read each other's files and the hub's database; only for users who trust each other")
	fs.StringVar(&c.LocalAccountPrefix, "local-account-prefix", c.LocalAccountPrefix, "when the hub runs as root, each user's server runs as the OS account PREFIX{name}, made on first start")
	fs.StringVar(&c.HubURL, "hub-url", c.HubURL, "how users' servers reach the hub (default: http://127.0.0.1:PORT of --listen)")
	fs.DurationVar(&c.StartTimeout, "start-timeout", c.StartTimeout, "how long a server has to start and answer")
	fs.DurationVar(&c.StopGrace, "stop-grace", c.StopGrace, "how long a stopping server has before it is killed")
	fs.IntVar(&c.ConcurrentSpawnLimit, "concurrent-spawn-limit", c.ConcurrentSpawnLimit, "most servers starting at once (0: no limit)")
	fs.IntVar(&c.ActiveServerLimit, "active-server-limit", c.ActiveServerLimit, "most servers running at once (0: no limit)")
	fs.DurationVar(&c.IdleTimeout, "idle-timeout", c.IdleTimeout, "stop servers idle this long: no traffic and no busy kernel (0: never)")
	fs.DurationVar(&c.CullInterval, "cull-interval", c.CullInterval, "how often to look for idle servers")
	fs.DurationVar(&c.SparkInterval, "spark-interval", c.SparkInterval, "how often to read the Spark application in each running server, for the pages and metrics")
	fs.BoolVar(&c.CullBusy, "cull-busy", c.CullBusy, "stop idle servers even while a kernel is busy")
	fs.DurationVar(&c.MaxAge, "max-age", c.MaxAge, "stop servers running longer than this (0: no limit)")
	fs.Var((*listFlag)(&c.ContentsEncryptionKeys), "contents-encryption-keys", "comma-separated passwords that encrypt notebooks (pgcontents' Fernet scheme): the first encrypts, all decrypt")
	fs.Int64Var(&c.ContentsMaxFileSize, "contents-max-file-size", c.ContentsMaxFileSize, "largest file or notebook stored, in bytes as stored")
	fs.BoolVar(&c.ContentsAllowHidden, "contents-allow-hidden", c.ContentsAllowHidden, "show and allow files whose names start with '.'")
	fs.IntVar(&c.ContentsUploadsPerUser, "contents-uploads-per-user", c.ContentsUploadsPerUser, "most uploads larger than --contents-large-upload one user may send at once; the next is a 429 (0: no limit)")
	fs.Var((*byteSize)(&c.ContentsLargeUpload), "contents-large-upload", "the size from which a contents upload counts toward --contents-uploads-per-user (1MiB); one of unknown length always counts")
	fs.Var((*byteSize)(&c.WebsocketMaxMessage), "websocket-max-message", "largest websocket message relayed either way, as GOMEMLIMIT takes sizes (64MiB); a larger one closes the websocket with 1009")
	fs.DurationVar(&c.WebsocketPingInterval, "websocket-ping-interval", c.WebsocketPingInterval, "how often the websocket relay pings the browser and the server; an end not heard from for two intervals is dropped")
	fs.Var((*byteSize)(&c.MemoryLimit), "memory-limit", "soft limit on the hub's memory, as GOMEMLIMIT takes it (512MiB, 2GiB): the garbage collector works harder near it (0: GOMEMLIMIT, or none)")
	c.Mesos.flags(fs)
	c.Auth.flags(fs)
	fs.BoolVar(&c.AuthenticatePrometheus, "authenticate-prometheus", c.AuthenticatePrometheus, "require a token with read:metrics for /hub/metrics")
}

// listFlag is a comma-separated list.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }
func (l *listFlag) Set(s string) error {
	*l = nil
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			*l = append(*l, p)
		}
	}
	return nil
}

// byteSize is a number of bytes written as GOMEMLIMIT takes it: a whole
// number with an optional unit B, KiB, MiB, GiB or TiB.
type byteSize int64

func (b *byteSize) String() string { return strconv.FormatInt(int64(*b), 10) }
func (b *byteSize) Get() any       { return *b }
func (b *byteSize) Set(s string) error {
	units := []struct {
		suffix string
		shift  uint
	}{{"TiB", 40}, {"GiB", 30}, {"MiB", 20}, {"KiB", 10}, {"B", 0}}
	num, shift := strings.TrimSpace(s), uint(0)
	for _, u := range units {
		if n, ok := strings.CutSuffix(num, u.suffix); ok {
			num, shift = strings.TrimSpace(n), u.shift
			break
		}
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n < 0 || n > math.MaxInt64>>shift {
		return errors.New("not a size")
	}
	*b = byteSize(n << shift)
	return nil
}

// ArgsError is a mistake on the command line itself, in one line that
// names the flag: one that does not exist, one without its value, or a
// value its type refuses. Load returns it for whatever fs.Parse refuses
// but -h and --help, which are flag.ErrHelp as fs.Parse returns them.
// fs should print nothing itself (io.Discard and an empty Usage): the
// command decides how to show the mistake.
type ArgsError struct{ Msg string }

func (e *ArgsError) Error() string { return e.Msg }

// argsError rewords the flag package's error in flag names as they are
// written (--name) and says what a bad value should look like.
func argsError(fs *flag.FlagSet, err error) error {
	msg := err.Error()
	if name, ok := strings.CutPrefix(msg, "flag provided but not defined: "); ok {
		name = strings.TrimLeft(name, "-")
		msg = "unknown flag --" + name
		if near := nearestFlag(fs, name); near != "" {
			msg += "; did you mean --" + near + "?"
		}
		return &ArgsError{Msg: msg}
	}
	if name, ok := strings.CutPrefix(msg, "flag needs an argument: "); ok {
		return &ArgsError{Msg: "--" + strings.TrimLeft(name, "-") + " needs a value"}
	}
	if s, ok := strings.CutPrefix(msg, "bad flag syntax: "); ok {
		return &ArgsError{Msg: fmt.Sprintf("%q is not a flag", s)}
	}
	// invalid value "V" for flag -NAME: ERR, or for a boolean flag
	// invalid boolean value "V" for -NAME: ERR.
	for _, prefix := range []string{"invalid value ", "invalid boolean value "} {
		rest, ok := strings.CutPrefix(msg, prefix)
		if !ok {
			continue
		}
		quoted, err := strconv.QuotedPrefix(rest)
		if err != nil {
			break
		}
		value, _ := strconv.Unquote(quoted)
		rest = strings.TrimPrefix(strings.TrimPrefix(rest[len(quoted):], " for flag "), " for ")
		name, why, ok := strings.Cut(strings.TrimLeft(rest, "-"), ": ")
		f := fs.Lookup(name)
		if !ok || f == nil {
			break
		}
		return &ArgsError{Msg: "--" + name + " " + badValue(f, value, errors.New(why))}
	}
	return &ArgsError{Msg: msg}
}

// badValue says why value does not fit the flag f, whose Set said err:
// what the flag's type wants, or err itself for a flag of sparkhub's
// own type (whose errors say so already). A secret's value is not shown.
func badValue(f *flag.Flag, value string, err error) string {
	shownValue := strconv.Quote(value)
	if secretFlags[f.Name] {
		shownValue = "(hidden)"
	}
	var want string
	if g, ok := f.Value.(flag.Getter); ok {
		switch g.Get().(type) {
		case time.Duration:
			want = "a duration like 90s, 15m or 2h"
		case int, int64, uint, uint64:
			want = "a whole number"
		case float64:
			want = "a number"
		case bool:
			want = "true or false"
		case byteSize:
			want = "a size like 512MiB or 2GiB (B, KiB, MiB, GiB, TiB)"
		}
	}
	if want == "" {
		return shownValue + ": " + shown(f.Name, value, err).Error()
	}
	return "wants " + want + ", not " + shownValue
}

// nearestFlag is the flag of fs whose name is an edit from name (two
// for names of five letters or more), for "did you mean", or "".
func nearestFlag(fs *flag.FlagSet, name string) string {
	best, bestD := "", 2
	if len(name) >= 5 {
		bestD = 3
	}
	fs.VisitAll(func(f *flag.Flag) {
		if d := editDistance(name, f.Name); d < bestD {
			best, bestD = f.Name, d
		}
	})
	return best
}

// editDistance is the Levenshtein distance of a and b, with a swap of
// two neighbouring letters counted as one edit.
func editDistance(a, b string) int {
	prev2, prev, cur := make([]int, len(b)+1), make([]int, len(b)+1), make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(b)]
}

// loadFlags parses args into fs, then fills every flag not given from the
// environment (SPARKHUB_NAME, or SPARKHUB_NAME_FILE for secrets) and then
// from the YAML file named by --config or SPARKHUB_CONFIG. getenv is
// os.Getenv outside tests. Flags may come before or after positional
// arguments, which it returns. What the command line gets wrong is an
// *ArgsError; -h and --help are flag.ErrHelp.
func loadFlags(fs *flag.FlagSet, args []string, getenv func(string) string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); errors.Is(err, flag.ErrHelp) {
			return nil, err
		} else if err != nil {
			return nil, argsError(fs, err)
		}
		if fs.NArg() == 0 {
			break
		}
		positional = append(positional, fs.Arg(0))
		args = fs.Args()[1:]
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })

	// The config file's own name comes from the flag or the environment.
	if !given["config"] {
		if v := getenv(envName("config")); v != "" {
			if err := fs.Set("config", v); err != nil {
				return nil, err
			}
			given["config"] = true
		}
	}
	file := map[string]string{}
	if f := fs.Lookup("config"); f != nil && f.Value.String() != "" {
		var err error
		if file, err = readConfigFile(f.Value.String()); err != nil {
			return nil, err
		}
	}

	var errs []error
	fs.VisitAll(func(f *flag.Flag) {
		if given[f.Name] || f.Name == "config" {
			return
		}
		v, from, ok, err := lookup(f.Name, getenv, file)
		if err != nil {
			errs = append(errs, err)
			return
		}
		if !ok {
			return
		}
		if err := fs.Set(f.Name, v); err != nil {
			errs = append(errs, fmt.Errorf("%s %s", from, badValue(f, v, err)))
		}
	})
	return positional, errors.Join(errs...)
}

// shown keeps a secret's value out of an error message.
func shown(name, value string, err error) error {
	if secretFlags[name] && value != "" {
		return errors.New(strings.ReplaceAll(err.Error(), value, "***"))
	}
	return err
}

func lookup(name string, getenv func(string) string, file map[string]string) (value, from string, ok bool, err error) {
	env := envName(name)
	if v := getenv(env); v != "" {
		return v, "environment variable " + env, true, nil
	}
	if secretFlags[name] {
		if p := getenv(env + "_FILE"); p != "" {
			v, err := readSecret(p)
			return v, "file " + p, err == nil, err
		}
	}
	if v, has := file[name]; has {
		return v, "config file key " + name, true, nil
	}
	if secretFlags[name] {
		if p, has := file[name+"-file"]; has {
			v, err := readSecret(p)
			return v, "file " + p, err == nil, err
		}
	}
	return "", "", false, nil
}

func readSecret(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("read secret file: %w", err)
	}
	return strings.TrimRight(string(b), "\r\n"), nil
}

// envName is the environment twin of a flag: --data-dir → SPARKHUB_DATA_DIR.
func envName(flagName string) string {
	return "SPARKHUB_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// readConfigFile reads the YAML file into flag-name → value, with '_'
// in keys read as '-', lists joined by commas. A key that is no flag of
// `sparkhub serve` is an error, so a typo never passes silently.
func readConfigFile(path string) (map[string]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config file: %w", err)
	}
	var raw map[string]any
	if err := yaml.Unmarshal(b, &raw); err != nil {
		return nil, fmt.Errorf("config file %s is not valid YAML: %w", filepath.Base(path), err)
	}
	known := knownKeys()
	out := make(map[string]string, len(raw))
	var unknown []string
	for k, v := range raw {
		name := strings.ReplaceAll(k, "_", "-")
		if !known[name] {
			unknown = append(unknown, k)
			continue
		}
		switch v := v.(type) {
		case nil:
			continue
		case []any:
			parts := make([]string, len(v))
			for i, p := range v {
				parts[i] = fmt.Sprint(p)
			}
			out[name] = strings.Join(parts, ",")
		case map[string]any:
			return nil, fmt.Errorf("config file %s: key %s wants a single value or a list", filepath.Base(path), k)
		default:
			out[name] = fmt.Sprint(v)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return nil, fmt.Errorf("config file %s: unknown key(s) %s; keys are the names of sparkhub serve's flags", filepath.Base(path), strings.Join(unknown, ", "))
	}
	return out, nil
}

// knownKeys is every name the config file may use: serve's flags and,
// for secrets, NAME-file.
func knownKeys() map[string]bool {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	c := defaults()
	c.ServeFlags(fs)
	known := map[string]bool{}
	fs.VisitAll(func(f *flag.Flag) { known[f.Name] = true })
	for n := range secretFlags {
		known[n+"-file"] = true
	}
	return known
}

// Finish fills what depends on other settings and checks the result.
func (c *Config) Finish() error {
	// Every path the hub derives from the data folder, and hands to a
	// server that runs in a folder of its own, is absolute: relative to
	// the hub's working folder at start.
	abs, err := filepath.Abs(c.DataDir)
	if err != nil {
		return fmt.Errorf("--data-dir %q: %w", c.DataDir, err)
	}
	c.DataDir = abs
	if c.DB == "" {
		c.DB = "sqlite://" + filepath.Join(c.DataDir, "sparkhub.db")
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		return errors.New("give both --tls-cert and --tls-key, or neither")
	}
	if _, err := auth.ParseSubdomains(c.UserSubdomains); err != nil {
		return err
	}
	if c.SessionTTL < time.Minute {
		return errors.New("--session-ttl must be at least 1m")
	}
	if c.APIPageDefaultLimit < 1 || c.APIPageMaxLimit < c.APIPageDefaultLimit {
		return errors.New("--api-page-default-limit must be at least 1 and at most --api-page-max-limit")
	}
	for _, d := range []struct {
		flag string
		v    time.Duration
	}{{"--header-timeout", c.HeaderTimeout}, {"--keep-alive-timeout", c.KeepAliveTimeout}, {"--client-timeout", c.ClientTimeout}, {"--websocket-ping-interval", c.WebsocketPingInterval}} {
		if d.v <= 0 {
			return fmt.Errorf("%s must be positive", d.flag)
		}
	}
	if c.ClientMinRate <= 0 {
		return errors.New("--client-min-rate must be positive")
	}
	if c.WebsocketMaxMessage <= 0 {
		return errors.New("--websocket-max-message must be positive")
	}
	if c.ContentsUploadsPerUser < 0 {
		return errors.New("--contents-uploads-per-user must be 0 (no limit) or more")
	}
	if c.ContentsMaxFileSize <= 0 {
		return errors.New("--contents-max-file-size must be positive")
	}
	if err := c.Auth.finish(); err != nil {
		return err
	}
	switch c.Spawner {
	case "local":
	case "mesos":
		if err := c.Mesos.finish(); err != nil {
			return err
		}
	default:
		return fmt.Errorf("--spawner must be local or mesos, not %q", c.Spawner)
	}
	if c.HubURL == "" {
		_, port, err := net.SplitHostPort(c.Listen)
		if err != nil {
			return fmt.Errorf("--listen %q is not host:port", c.Listen)
		}
		c.HubURL = "http://127.0.0.1:" + port
	}
	c.HubURL = strings.TrimRight(c.HubURL, "/")
	if u, err := url.Parse(c.HubURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("--hub-url must be an http:// or https:// URL, not %q", c.HubURL)
	}
	switch c.LogFormat {
	case "text", "json":
	default:
		return fmt.Errorf("--log-format must be text or json, not %q", c.LogFormat)
	}
	if _, err := c.Level(); err != nil {
		return fmt.Errorf("--log-level must be debug, info, warn or error, not %q", c.LogLevel)
	}
	return nil
}

// Level is --log-level as log/slog reads it: debug, info, warn or error,
// in any case (slog's "info+2" too).
func (c *Config) Level() (slog.Level, error) {
	var l slog.Level
	err := l.UnmarshalText([]byte(c.LogLevel))
	return l, err
}
