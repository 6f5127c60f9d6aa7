package main

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/glebarez/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/sparkhub/sparkhub/db"
)

// insertUsers adds users straight into JupyterHub's SQLite database, in
// one transaction, the way its ORM would (name, admin, created, a unique
// cookie_id); its REST API reads them from the database.
func (p *jupyterhubProc) insertUsers(ctx context.Context, names []string) error {
	gdb, err := gorm.Open(sqlite.Open(filepath.Join(p.run, "jupyterhub.sqlite")+"?_pragma=busy_timeout(10000)"), &gorm.Config{Logger: logger.Discard})
	if err != nil {
		return err
	}
	sqlDB, _ := gdb.DB()
	defer sqlDB.Close()
	now := time.Now().UTC().Format("2006-01-02 15:04:05.000000")
	return gdb.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		for _, n := range names {
			if err := tx.Exec("INSERT INTO users (name, admin, created, cookie_id) VALUES (?, 0, ?, ?)", n, now, randomHex(16)).Error; err != nil {
				return err
			}
		}
		return nil
	})
}

// measureStart times a sparkhub start on a database holding
// startUsers users and startServers running servers. The servers are
// honest stand-ins for the local backend: each row's handle names its own
// live process (a `sleep`, leading its own process group, as a local
// server does), with its real start time and boot id, so Recover's /proc
// checks pass; every row's address is one stand-in HTTP server that
// answers the readiness probe (/user/NAME/api) for any name; every token
// is sealed with the hub's key as the spawner does. The start is timed
// from exec until the hub serves (it recovers every server first) and
// until GET /hub/health answers.
func measureStart(ctx context.Context, e *env) error {
	dir := filepath.Join(e.tmp, "sparkhub-start")
	e.say("start: creating %d users", e.opts.startUsers)
	h, p, err := startSparkhub(ctx, e.bin, e.standin, dir, []string{"admin"})
	if err != nil {
		return err
	}
	var names []string
	for i := 1; i < e.opts.startUsers; i++ {
		names = append(names, fmt.Sprintf("s%05d", i))
	}
	for len(names) > 0 {
		n := min(len(names), 10000)
		body, _ := json.Marshal(map[string]any{"usernames": names[:n]})
		if code, b, err := do("POST", h.base+"/hub/api/users", h.admin, body); err != nil || code != 201 {
			p.kill()
			return fmt.Errorf("create users: %d %v %.200s", code, err, b)
		}
		names = names[n:]
	}
	p.kill()

	// The stand-in address every server row points at.
	port := freePort()
	echo := exec.Command(e.standin, "-listen", strconv.Itoa(port))
	echo.Dir = dir
	echo.Env = append(os.Environ(), "SPARKHUB_USER=echo-start", "SPARKHUB_PORT="+strconv.Itoa(port))
	if err := echo.Start(); err != nil {
		return err
	}
	defer func() { echo.Process.Kill(); echo.Wait() }()

	e.say("start: starting %d stand-in processes", e.opts.startServers)
	var procs []*exec.Cmd
	defer func() {
		for _, c := range procs {
			syscall.Kill(-c.Process.Pid, syscall.SIGKILL)
			c.Wait()
		}
	}()
	for range e.opts.startServers {
		c := exec.Command("sleep", "3600")
		c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if err := c.Start(); err != nil {
			return fmt.Errorf("stand-in process: %w", err)
		}
		procs = append(procs, c)
	}
	if err := insertServers(ctx, filepath.Join(dir, "sparkhub.db"), procs, "http://127.0.0.1:"+strconv.Itoa(port)); err != nil {
		return err
	}

	var toServe, toHealth, cpu []float64
	var recovered string
	for range 3 {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		t0 := time.Now()
		h, err := p.serve(ctx, e.standin)
		if err != nil {
			return err
		}
		toServe = append(toServe, float64(time.Since(t0).Microseconds())/1000)
		cpu = append(cpu, cpuSeconds(p.cmd.Process.Pid)*1000)
		waitFor(ctx, 30*time.Second, func() bool {
			c, _, err := do("GET", h.base+"/hub/health", "", nil)
			return err == nil && c == 200
		})
		toHealth = append(toHealth, float64(time.Since(t0).Microseconds())/1000)
		_, b, _ := do("GET", h.base+"/hub/api/users", h.admin, nil)
		recovered = fmt.Sprintf("%d users listed, %d servers ready", strings.Count(string(b), `"kind":"user"`)+strings.Count(string(b), `"kind": "user"`),
			strings.Count(string(b), `"ready":true`)+strings.Count(string(b), `"ready": true`))
		p.kill()
	}
	s, hs := summarise(toServe), summarise(toHealth)
	e.rep.detail(fmt.Sprintf("sparkhub start with %d users and %d running servers (stand-ins, see the notes), 3 starts: exec until the hub logs that it serves (after recovering every server) and until `GET /hub/health` answers; after the last start, the users API showed %s:", e.opts.startUsers, e.opts.startServers, recovered),
		[]string{"until", "time"}, [][]string{{"serving", msCell(s, f1)}, {"health answers", msCell(hs, f1)},
			{"(the hub's CPU time, user + system, until serving)", msCell(summarise(cpu), f1)}})
	jhCell := "–"
	if e.jh != nil && e.opts.only["users"] {
		// JupyterHub holds the users measure's 10,000 users now: time a
		// restart with them (no running servers) for comparison.
		e.jhProc.kill()
		t0 := time.Now()
		jh, err := e.jhProc.serve(ctx)
		if err != nil {
			jhCell = fmt.Sprintf("no start within 90 s (%v)", err)
		} else {
			e.jh = jh
			waitFor(ctx, 60*time.Second, func() bool {
				c, _, err := do("GET", jh.base+"/hub/api", "", nil)
				return err == nil && c == 200
			})
			jhCell = fmt.Sprintf("%.2f s with 10,000 users and no server running", time.Since(t0).Seconds())
		}
	}
	e.rep.row(fmt.Sprintf("hub start, %d users and %d running servers", e.opts.startUsers, e.opts.startServers),
		fmt.Sprintf("%.2f s", hs.med/1000), jhCell, "–", "< 1 s", met(hs.med < 1000))
	e.rep.note("Hub start: JupyterHub is timed only with the users measure's 10,000 users and no server running (one start, until `GET /hub/api` answers through CHP): faking 2,000 running servers for it would mean forging its spawner state and CHP routes. sparkhub's servers are %d `sleep` processes, each its own process group with its real start time in the handle (the local backend's Recover checks pid, start time and boot id through /proc), all addressed at one stand-in HTTP server answering the readiness probe with 200.", e.opts.startServers)
	return nil
}

// insertServers writes one running hub_servers row per process, for the
// first users by id (admin excluded), as the spawner would have.
func insertServers(ctx context.Context, path string, procs []*exec.Cmd, target string) error {
	gdb, err := db.Open(ctx, "sqlite://"+path, db.Options{})
	if err != nil {
		return err
	}
	sqlDB, _ := gdb.DB()
	defer sqlDB.Close()
	key, err := db.NewSettings(gdb).Secret(ctx, "spawner_token_key", 32)
	if err != nil {
		return err
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return err
	}
	var ids []int64
	if err := gdb.WithContext(ctx).Raw("SELECT id FROM hub_users WHERE name <> 'admin' ORDER BY id LIMIT ?", len(procs)).Scan(&ids).Error; err != nil {
		return err
	}
	if len(ids) < len(procs) {
		return fmt.Errorf("only %d users for %d servers", len(ids), len(procs))
	}
	bootRaw, _ := os.ReadFile("/proc/sys/kernel/random/boot_id")
	boot := strings.TrimSpace(string(bootRaw))
	now := time.Now().UTC()
	return gdb.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		for i, c := range procs {
			pid := c.Process.Pid
			ticks, err := startTicks(pid)
			if err != nil {
				return err
			}
			st, _ := json.Marshal(map[string]any{"pid": pid, "start_ticks": ticks, "boot_id": boot, "port": 0, "log": "/dev/null"})
			nonce := make([]byte, aead.NonceSize())
			rand.Read(nonce)
			sealed := aead.Seal(nonce, nonce, []byte(randomToken()), []byte("hub_servers token user "+strconv.FormatInt(ids[i], 10)))
			if err := tx.Exec(`INSERT INTO hub_servers (user_id, name, state, handle_backend, handle_id, handle_state, target, token, started, ready_at, last_activity, updated_at)
				VALUES (?, '', 'running', 'local', ?, ?, ?, ?, ?, ?, ?, ?)`,
				ids[i], fmt.Sprintf("local-%d-%d", pid, ticks), st, target, sealed, now, now, now, now).Error; err != nil {
				return err
			}
		}
		return nil
	})
}

// startTicks reads a process's start time (clock ticks after boot),
// field 22 of /proc/PID/stat.
func startTicks(pid int) (uint64, error) {
	raw, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, err
	}
	s := string(raw)
	i := strings.LastIndexByte(s, ')')
	f := strings.Fields(s[i+1:])
	if i < 0 || len(f) < 20 {
		return 0, fmt.Errorf("malformed /proc/%d/stat", pid)
	}
	return strconv.ParseUint(f[19], 10, 64)
}

// cpuSeconds is a process's user + system CPU time so far, from
// /proc/PID/stat (fields 14 and 15, in clock ticks of 1/100 s).
func cpuSeconds(pid int) float64 {
	raw, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	s := string(raw)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 13 {
		return 0
	}
	u, _ := strconv.ParseFloat(f[11], 64)
	k, _ := strconv.ParseFloat(f[12], 64)
	return (u + k) / 100
}
