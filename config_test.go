package main

import (
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sparkhub/sparkhub/hub"
	"github.com/sparkhub/sparkhub/proxy"
)

func loadServe(t *testing.T, args []string, env map[string]string) (Config, error) {
	t.Helper()
	cfg := defaults()
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	cfg.ServeFlags(fs)
	_, err := loadFlags(fs, args, func(k string) string { return env[k] })
	return cfg, err
}

func TestConfigPrecedence(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "hub.yaml")
	os.WriteFile(file, []byte("listen: ':7000'\ndata_dir: /from/file\nsession-ttl: 2h\nadmin-access: true\ntrusted_proxies: [10.0.0.0/8, 127.0.0.1]\n"), 0o600)

	cfg, err := loadServe(t, []string{"--config", file, "--listen", ":9000"}, map[string]string{
		"SPARKHUB_LISTEN":   ":8000",
		"SPARKHUB_DATA_DIR": "/from/env",
	})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Listen != ":9000" {
		t.Errorf("listen = %q: the flag must win", cfg.Listen)
	}
	if cfg.DataDir != "/from/env" {
		t.Errorf("data-dir = %q: the environment beats the file", cfg.DataDir)
	}
	if cfg.SessionTTL != 2*time.Hour || !cfg.AdminAccess {
		t.Errorf("file values not read: %+v", cfg)
	}
	if !slices.Equal(cfg.TrustedProxies, []string{"10.0.0.0/8", "127.0.0.1"}) {
		t.Errorf("trusted-proxies = %v", cfg.TrustedProxies)
	}
	if cfg.BcryptCost != 12 {
		t.Errorf("bcrypt-cost = %d, want the default 12", cfg.BcryptCost)
	}

	// The config file may be named by the environment too.
	cfg, err = loadServe(t, nil, map[string]string{"SPARKHUB_CONFIG": file})
	if err != nil || cfg.Listen != ":7000" {
		t.Errorf("SPARKHUB_CONFIG: listen = %q, %v", cfg.Listen, err)
	}
}

func TestConfigSecretsFromFiles(t *testing.T) {
	dir := t.TempDir()
	secret := filepath.Join(dir, "db-url")
	os.WriteFile(secret, []byte("mysql://hub:s3cret@db:3306/hub\n"), 0o600)
	cfg, err := loadServe(t, nil, map[string]string{"SPARKHUB_DB_FILE": secret})
	if err != nil || cfg.DB != "mysql://hub:s3cret@db:3306/hub" {
		t.Fatalf("SPARKHUB_DB_FILE: db = %q, %v", cfg.DB, err)
	}
	file := filepath.Join(dir, "hub.yaml")
	os.WriteFile(file, []byte("db_file: "+secret+"\n"), 0o600)
	cfg, err = loadServe(t, []string{"--config", file}, nil)
	if err != nil || cfg.DB != "mysql://hub:s3cret@db:3306/hub" {
		t.Fatalf("db_file key: db = %q, %v", cfg.DB, err)
	}
	if _, err := loadServe(t, nil, map[string]string{"SPARKHUB_DB_FILE": filepath.Join(dir, "missing")}); err == nil {
		t.Error("a missing secret file was accepted")
	}
}

func TestConfigErrors(t *testing.T) {
	dir := t.TempDir()
	n := 0
	write := func(body string) string {
		n++
		p := filepath.Join(dir, strings.Repeat("c", n)+".yaml")
		os.WriteFile(p, []byte(body), 0o600)
		return p
	}
	tests := []struct {
		name string
		args []string
		env  map[string]string
		says string
	}{
		{"unknown key", []string{"--config", write("listen: ':1'\nlisen: ':2'\n")}, nil, "lisen"},
		{"bad YAML", []string{"--config", write("listen: [\n")}, nil, "not valid YAML"},
		{"map value", []string{"--config", write("listen: {a: 1}\n")}, nil, "single value"},
		{"bad env duration", nil, map[string]string{"SPARKHUB_SESSION_TTL": "soon"}, "SPARKHUB_SESSION_TTL"},
		{"bad file bool", []string{"--config", write("admin-access: maybe\n")}, nil, "admin-access"},
		{"missing file", []string{"--config", filepath.Join(dir, "none.yaml")}, nil, "read config file"},
		{"unknown flag", []string{"--nope"}, nil, "nope"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := loadServe(t, tt.args, tt.env)
			if err == nil || !strings.Contains(err.Error(), tt.says) {
				t.Fatalf("Load = %v, want an error naming %q", err, tt.says)
			}
		})
	}
	// A bad secret value is not echoed.
	_, err := loadServe(t, nil, map[string]string{"SPARKHUB_DB": "x"})
	if err != nil {
		t.Fatal(err)
	}
	cfg := defaults()
	cfg.TLSCert = "a"
	if err := cfg.Finish(); err == nil {
		t.Error("Finish accepted --tls-cert without --tls-key")
	}
	cfg = defaults()
	cfg.DataDir = "/srv/hub"
	if err := cfg.Finish(); err != nil || cfg.DB != "sqlite:///srv/hub/sparkhub.db" {
		t.Errorf("default DB = %q, %v", cfg.DB, err)
	}
}

func TestEnvName(t *testing.T) {
	if got := envName("data-dir"); got != "SPARKHUB_DATA_DIR" {
		t.Errorf("EnvName = %q", got)
	}
}

// TestLoadArgsErrors: what the command line gets wrong is an *ArgsError
// of one line naming the flag as it is written; --help is flag.ErrHelp.
func TestLoadArgsErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--lisen", ":1"}, "unknown flag --lisen; did you mean --listen?"},
		{[]string{"--spanwer=local"}, "unknown flag --spanwer; did you mean --spawner?"},
		{[]string{"-q"}, "unknown flag --q"},
		{[]string{"--listen"}, "--listen needs a value"},
		{[]string{"--idle-timeout", "an hour"}, `--idle-timeout wants a duration like 90s, 15m or 2h, not "an hour"`},
		{[]string{"--bcrypt-cost=ten"}, `--bcrypt-cost wants a whole number, not "ten"`},
		{[]string{"--contents-max-file-size", "1e99"}, `--contents-max-file-size wants a whole number, not "1e99"`},
		{[]string{"--memory-limit", "2GB"}, `--memory-limit wants a size like 512MiB or 2GiB (B, KiB, MiB, GiB, TiB), not "2GB"`},
		{[]string{"--memory-limit", "-1"}, `--memory-limit wants a size like 512MiB or 2GiB (B, KiB, MiB, GiB, TiB), not "-1"`},
		{[]string{"--memory-limit", "9999999TiB"}, `--memory-limit wants a size like 512MiB or 2GiB (B, KiB, MiB, GiB, TiB), not "9999999TiB"`},
		{[]string{"--cull-busy=sometimes"}, `--cull-busy wants true or false, not "sometimes"`},
		{[]string{"---listen"}, `"---listen" is not a flag`},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			_, err := loadServe(t, tc.args, nil)
			var ae *ArgsError
			if !errors.As(err, &ae) || ae.Msg != tc.want {
				t.Errorf("Load = %v, want the ArgsError %q", err, tc.want)
			}
		})
	}
	for _, help := range []string{"-h", "--help", "-help"} {
		if _, err := loadServe(t, []string{help}, nil); !errors.Is(err, flag.ErrHelp) {
			t.Errorf("Load(%s) = %v, want flag.ErrHelp", help, err)
		}
	}
}

// TestMemoryLimit: --memory-limit reads sizes as GOMEMLIMIT does, and
// is 0 (the runtime's own setting) unless given.
func TestMemoryLimit(t *testing.T) {
	for _, tc := range []struct {
		args []string
		env  map[string]string
		want int64
	}{
		{nil, nil, 0},
		{[]string{"--memory-limit", "1073741824"}, nil, 1 << 30},
		{[]string{"--memory-limit=512MiB"}, nil, 512 << 20},
		{nil, map[string]string{"SPARKHUB_MEMORY_LIMIT": "2GiB"}, 2 << 30},
		{[]string{"--memory-limit", "64 KiB"}, nil, 64 << 10},
		{[]string{"--memory-limit", "1TiB"}, nil, 1 << 40},
		{[]string{"--memory-limit", "100B"}, nil, 100},
	} {
		cfg, err := loadServe(t, tc.args, tc.env)
		if err != nil || cfg.MemoryLimit != tc.want {
			t.Errorf("%v %v: memory limit = %d, %v; want %d", tc.args, tc.env, cfg.MemoryLimit, err, tc.want)
		}
	}
}

// TestWebsocketMaxMessage: the relay's message limit defaults to the
// proxy's, reads sizes like --memory-limit, and must be positive.
func TestWebsocketMaxMessage(t *testing.T) {
	cfg, err := loadServe(t, nil, nil)
	if err != nil || cfg.WebsocketMaxMessage != 64<<20 || cfg.WebsocketPingInterval != proxy.DefaultPingInterval {
		t.Errorf("default = %d, %v, %v; want 64 MiB and the proxy's ping interval", cfg.WebsocketMaxMessage, cfg.WebsocketPingInterval, err)
	}
	cfg, err = loadServe(t, []string{"--websocket-max-message", "1MiB"}, nil)
	if err != nil || cfg.WebsocketMaxMessage != 1<<20 {
		t.Errorf("1MiB = %d, %v", cfg.WebsocketMaxMessage, err)
	}
	cfg, err = loadServe(t, []string{"--websocket-max-message", "0"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.Finish(); err == nil || !strings.Contains(err.Error(), "--websocket-max-message must be positive") {
		t.Errorf("0: Finish = %v", err)
	}
}

// TestClientDeadlineFlags: the connection bounds default to the hub's
// and serve's own, read sizes like --memory-limit, and must be positive.
func TestClientDeadlineFlags(t *testing.T) {
	cfg, err := loadServe(t, nil, nil)
	if err != nil || cfg.ClientTimeout != hub.DefaultClientTimeout || cfg.ClientMinRate != hub.DefaultClientMinRate ||
		cfg.HeaderTimeout != defaultHeaderTimeout || cfg.KeepAliveTimeout != defaultKeepAliveTimeout {
		t.Errorf("defaults = %+v, %v", cfg, err)
	}
	cfg, err = loadServe(t, []string{"--client-min-rate", "64KiB", "--client-timeout", "1m"}, map[string]string{"SPARKHUB_HEADER_TIMEOUT": "5s"})
	if err != nil || cfg.ClientMinRate != 64<<10 || cfg.ClientTimeout != time.Minute || cfg.HeaderTimeout != 5*time.Second {
		t.Errorf("given = %d %v %v, %v", cfg.ClientMinRate, cfg.ClientTimeout, cfg.HeaderTimeout, err)
	}
	if o := cfg.hubOptions(); o.ClientMinRate != 64<<10 || o.ClientTimeout != time.Minute {
		t.Errorf("the hub is handed %+v", o)
	}
	for _, flag := range []string{"--client-min-rate", "--client-timeout", "--header-timeout", "--keep-alive-timeout", "--websocket-ping-interval"} {
		cfg, err := loadServe(t, []string{flag, "0"}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := cfg.Finish(); err == nil || !strings.Contains(err.Error(), flag+" must be positive") {
			t.Errorf("%s 0: Finish = %v", flag, err)
		}
	}
}

// TestContentsUploadFlags: the per-user upload limit defaults to the
// hub's, reaches it, and may be 0 (no limit) but not negative.
func TestContentsUploadFlags(t *testing.T) {
	cfg, err := loadServe(t, nil, nil)
	if err != nil || cfg.ContentsUploadsPerUser != hub.DefaultUploadsPerUser || cfg.ContentsLargeUpload != hub.DefaultLargeUpload {
		t.Errorf("defaults = %d, %d, %v", cfg.ContentsUploadsPerUser, cfg.ContentsLargeUpload, err)
	}
	cfg, err = loadServe(t, []string{"--contents-uploads-per-user", "0", "--contents-large-upload", "8MiB"}, nil)
	if err != nil || cfg.Finish() != nil {
		t.Fatalf("0 and 8MiB: %v", err)
	}
	if o := cfg.hubOptions(); o.UploadsPerUser != 0 || o.LargeUpload != 8<<20 {
		t.Errorf("the hub is handed %d, %d", o.UploadsPerUser, o.LargeUpload)
	}
	cfg, _ = loadServe(t, []string{"--contents-uploads-per-user", "-1"}, nil)
	if err := cfg.Finish(); err == nil || !strings.Contains(err.Error(), "--contents-uploads-per-user") {
		t.Errorf("-1: Finish = %v", err)
	}
}

func TestLogLevel(t *testing.T) {
	for _, tc := range []struct {
		level string
		ok    bool
	}{{"debug", true}, {"info", true}, {"WARN", true}, {"error", true}, {"loud", false}, {"", false}} {
		cfg := defaults()
		cfg.LogLevel = tc.level
		err := cfg.Finish()
		if tc.ok != (err == nil) {
			t.Errorf("--log-level %q: Finish = %v", tc.level, err)
		}
		if !tc.ok && (err == nil || err.Error() != `--log-level must be debug, info, warn or error, not "`+tc.level+`"`) {
			t.Errorf("--log-level %q: error %v", tc.level, err)
		}
	}
}

// TestSparkMasterAndCredentialsChecked: the hub refuses to start with
// a master Spark's driver cannot follow (several HTTP masters, TLS), or
// with Spark's credentials the hub's own, which analysts could then read.
func TestSparkMasterAndCredentialsChecked(t *testing.T) {
	base := func() MesosConfig {
		m := mesosDefaults()
		m.Master = "http://m1:5050"
		return m
	}
	for _, tc := range []struct {
		name string
		edit func(*MesosConfig)
		want string // "" when accepted
	}{
		{"one master", func(*MesosConfig) {}, ""},
		{"zookeeper", func(m *MesosConfig) { m.Master = "zk://z1:2181,z2:2181/mesos" }, ""},
		{"several masters", func(m *MesosConfig) { m.Master = "http://m1:5050,http://m2:5050" }, "--spark-mesos-master zk://"},
		{"several masters, Spark given ZooKeeper", func(m *MesosConfig) {
			m.Master, m.SparkMaster = "http://m1:5050,http://m2:5050", "zk://z1:2181/mesos"
		}, ""},
		{"https", func(m *MesosConfig) { m.Master = "https://m1:5050" }, "no TLS"},
		{"Spark's principal is the hub's", func(m *MesosConfig) { m.Principal, m.SparkPrincipal = "hub", "hub" }, "must not be the hub's"},
		{"Spark's secret is the hub's", func(m *MesosConfig) {
			m.Principal, m.SecretFile, m.SparkPrincipal, m.SparkSecretFile = "hub", "/etc/hub-secret", "spark", "/etc/hub-secret"
		}, "must not be the hub's"},
		{"a secret without a principal", func(m *MesosConfig) { m.SparkSecretFile = "/etc/spark-secret" }, "needs --spark-mesos-principal"},
		{"Spark's own credentials", func(m *MesosConfig) {
			m.Principal, m.SparkPrincipal, m.SparkSecretFile = "hub", "spark", "/etc/spark-secret"
		}, ""},
		{"constraints Spark would refuse", func(m *MesosConfig) { m.Constraints = "zone:CLUSTER:a;zone:CLUSTER:b" }, "no value in common"},
		{"constraints Spark follows in part", func(m *MesosConfig) { m.Constraints = "hostname:UNIQUE;gpu:LIKE:.*" }, ""},
		{"a shuffle port that is none", func(m *MesosConfig) { m.ShufflePort = 70000 }, "must be a port"},
	} {
		m := base()
		tc.edit(&m)
		err := m.finish()
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: refused: %v", tc.name, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: %v, want an error saying %q", tc.name, err, tc.want)
		}
	}
}
