package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/sparkhub/sparkhub/auth"
	"github.com/sparkhub/sparkhub/contents"
	"github.com/sparkhub/sparkhub/db"
	"github.com/sparkhub/sparkhub/hub"
	"github.com/sparkhub/sparkhub/images"
	"github.com/sparkhub/sparkhub/proxy"
	"github.com/sparkhub/sparkhub/spawner"
	"golang.org/x/sync/errgroup"
)

func (c *cli) serve(args []string) error {
	cfg := defaults()
	fs := newFlagSet("serve")
	cfg.ServeFlags(fs)
	if pos, err := c.parse("serve", fs, args); err != nil {
		return err
	} else if err := wantArgs("serve", pos, 0); err != nil {
		return err
	}
	if err := cfg.Finish(); err != nil {
		return err
	}
	if cfg.MemoryLimit > 0 {
		// The one place the process's memory settings are changed.
		debug.SetMemoryLimit(cfg.MemoryLimit)
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
	subdomains, err := auth.ParseSubdomains(cfg.UserSubdomains)
	if err != nil {
		return err
	}
	authOpts := auth.Options{
		AdminAccess: cfg.AdminAccess,
		Proxies:     proxies,
		Subdomains:  subdomains,
	}
	// Each login's groups from the provider go to the hub's group
	// store (JupyterHub's manage_groups; groups made in the hub stay).
	if err := cfg.Auth.apply(ctx, &authOpts, store); err != nil {
		return err
	}
	authn := auth.NewAuthenticator(store, pw, auth.NewSessions(key, cfg.SessionTTL), authOpts)
	if err := warnUnreachable(ctx, store, subdomains, log); err != nil {
		return err
	}

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
	catalog, err := images.LoadCatalog(cfg.Profiles)
	if err != nil {
		return err
	}
	if cfg.Profiles == "" {
		catalog = defaultCatalog(cfg)
	}
	backend, err := newBackend(cfg, gdb, catalog, pythonDir, log)
	if err != nil {
		return err
	}
	// A backend's own work (the Mesos framework's subscription) runs from
	// here, as recovery needs it, and has ended when serve returns.
	runCtx, cancelRun := context.WithCancel(ctx)
	g, gctx := errgroup.WithContext(runCtx)
	defer func() {
		cancelRun()
		g.Wait()
	}()
	if r, ok := backend.(spawner.Runner); ok {
		g.Go(func() error { return r.Run(gctx) })
	}
	servers, err := spawner.New(ctx, gdb, spawner.Options{
		StartTimeout:         cfg.StartTimeout,
		StopGrace:            cfg.StopGrace,
		ConcurrentSpawnLimit: cfg.ConcurrentSpawnLimit,
		ActiveServerLimit:    cfg.ActiveServerLimit,
		IdleTimeout:          cfg.IdleTimeout,
		CullInterval:         cfg.CullInterval,
		SparkInterval:        cfg.SparkInterval,
		CullBusy:             cfg.CullBusy,
		MaxAge:               cfg.MaxAge,
		Env:                  hub.ContentsEnv(store, cfg.HubURL),
		RevokeEnv:            hub.RevokeContentsEnv(store),
		BootstrapURL:         hub.BootstrapURL(cfg.HubURL),
		Profiles:             profileSpecs(cfg, catalog),
		Users:                store,
		Logger:               log,
	}, backend)
	if err != nil {
		return err
	}
	if err := servers.RecoverAll(ctx); err != nil {
		return fmt.Errorf("recover servers: %w", err)
	}
	pages, err := hub.NewPages(authn, log)
	if err != nil {
		return err
	}
	px := proxy.New(authn, servers, proxy.Options{Logger: log, ErrorPage: pages.ErrorPage, MaxMessageSize: cfg.WebsocketMaxMessage, PingInterval: cfg.WebsocketPingInterval})
	h, err := hub.New(cfg.hubOptions(), hub.Deps{
		DB: gdb, Auth: authn, Logger: log, Version: version,
		SpawnerName: cfg.Spawner, Spawner: servers, Pages: pages, Proxy: px, Profiles: catalog,
		Contents: docs.Handler(), RenameUserData: docs.RenameUser, DeleteUserData: contents.DeleteUser,
	})
	if err != nil {
		return err
	}
	// No ReadTimeout or WriteTimeout: one bound for every request would
	// cut a large upload on a slow line and every long stream. The hub
	// sets each body's and each answer's deadline from its size
	// (--client-timeout, --client-min-rate); a websocket, once
	// hijacked, has the relay's pings (--websocket-ping-interval).
	srv := &http.Server{
		Handler:           h.Handler(),
		ReadHeaderTimeout: cfg.HeaderTimeout,
		IdleTimeout:       cfg.KeepAliveTimeout,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	scheme := "http"
	if cfg.TLSCert != "" {
		scheme = "https"
	}
	log.Info("sparkhub serving", "version", version, "url", scheme+"://"+displayAddr(ln.Addr())+"/hub/", "database", db.Redact(cfg.DB))
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

// How long a client has to send a request's headers, and how long an
// idle connection waits for its next request.
const (
	defaultHeaderTimeout    = 10 * time.Second
	defaultKeepAliveTimeout = 2 * time.Minute
)

// displayAddr is where a person on this machine opens the hub: an
// address listening on every interface is shown as localhost.
func displayAddr(a net.Addr) string {
	tcp, ok := a.(*net.TCPAddr)
	if !ok || !tcp.IP.IsUnspecified() {
		return a.String()
	}
	return net.JoinHostPort("localhost", strconv.Itoa(tcp.Port))
}

// defaultCatalog is the one profile there is without --profiles, saying
// what a server really gets: a local process is Python on this machine,
// with no resources or Spark of its own; a task on Mesos gets what the
// --mesos-* flags give.
func defaultCatalog(cfg Config) *images.Catalog {
	if cfg.Spawner != "mesos" {
		return images.LocalCatalog()
	}
	c := images.DefaultCatalog()
	p := &c.Profiles[0]
	p.Image, p.CPUs, p.Mem, p.GPUs, p.Disk = cfg.Mesos.Image, cfg.Mesos.CPUs, cfg.Mesos.Mem, cfg.Mesos.GPUs, cfg.Mesos.Disk
	// Its Spark executors follow --mesos-constraints as far as Spark
	// can (finish refused the flag if Spark could not take it).
	p.Constraints, _ = images.ParseConstraints(cfg.Mesos.Constraints)
	return c
}

// warnUnreachable logs the users whose names cannot be the label of an
// origin under --user-subdomains: they cannot reach a server until an
// admin renames them (new such names are refused).
func warnUnreachable(ctx context.Context, store *auth.Store, sd auth.Subdomains, log *slog.Logger) error {
	if !sd.On() {
		return nil
	}
	names, err := store.AllNames(ctx)
	if err != nil {
		return err
	}
	var bad []string
	for _, n := range names {
		if _, err := auth.Label(n); err != nil {
			bad = append(bad, n)
		}
	}
	if len(bad) > 0 {
		log.Warn("these users cannot reach a server under --user-subdomains until an admin renames them: a username with '.', '_' or '--', or ending with '-', cannot be a host name", "users", strings.Join(bad, ","))
	}
	return nil
}
