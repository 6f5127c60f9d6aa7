// Command contents benchmarks the contents service on each database, and
// the same requests against a stock `jupyter notebook` on local disk:
// saving and loading 1 MiB and 10 MiB notebooks, listing a directory of
// 10,000 files, and 200 concurrent savers.
//
//	go run ./bench/contents -db sqlite -db mysql://root@127.0.0.1:3306/test \
//	    -db 'postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable' -jupyter
//
// For MySQL and PostgreSQL the URL names a server where a scratch
// database may be created (and is dropped afterwards). -jupyter starts
// Debian's /usr/bin/python3 -m notebook on a temporary directory.
package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/sparkhub/sparkhub/bench/notebook"
	"github.com/sparkhub/sparkhub/contents"
	"github.com/sparkhub/sparkhub/db"
)

type multi []string

func (m *multi) String() string     { return strings.Join(*m, ",") }
func (m *multi) Set(s string) error { *m = append(*m, s); return nil }

func main() {
	var dbs multi
	flag.Var(&dbs, "db", "sqlite, or a mysql:// or postgres:// server URL (repeatable)")
	jupyter := flag.Bool("jupyter", false, "also run against a stock jupyter notebook on local disk")
	files := flag.Int("files", 10000, "files in the listed directory")
	savers := flag.Int("savers", 200, "concurrent savers")
	rounds := flag.Int("rounds", 5, "repetitions of each timed request")
	flag.Parse()
	ctx := context.Background()
	fmt.Println("| target | save 1 MiB | load 1 MiB | save 10 MiB | load 10 MiB | list 10,000 | 200 savers: total | 200 savers: p95 |")
	fmt.Println("|---|---|---|---|---|---|---|---|")
	for _, u := range dbs {
		name, base, done, err := serveDB(ctx, u)
		if err != nil {
			log.Fatalf("%s: %v", u, err)
		}
		t := target{name: name, base: base + "/user/bench/api/contents/"}
		t.run(*files, *savers, *rounds, nil)
		done()
	}
	if *jupyter {
		base, token, dir, stop, err := startJupyter()
		if err != nil {
			log.Fatalf("jupyter: %v", err)
		}
		t := target{name: "jupyter notebook 6.4 (local disk)", base: base + "api/contents/", token: token}
		t.run(*files, *savers, *rounds, func(n int) error { return makeFiles(dir, n) })
		stop()
	}
}

// serveDB runs the contents handler on a scratch database.
func serveDB(ctx context.Context, raw string) (string, string, func(), error) {
	var dbURL, name string
	var cleanup func()
	switch {
	case raw == "sqlite":
		dir, err := os.MkdirTemp("", "bench")
		if err != nil {
			return "", "", nil, err
		}
		dbURL, name = "sqlite://"+filepath.Join(dir, "bench.db"), "SQLite"
		cleanup = func() { os.RemoveAll(dir) }
	default:
		admin, err := db.Open(ctx, raw, db.Options{MaxOpenConns: 2})
		if err != nil {
			return "", "", nil, err
		}
		b := make([]byte, 4)
		rand.Read(b)
		scratch := "sparkhub_bench_" + hex.EncodeToString(b)
		create, drop := "CREATE DATABASE "+scratch, "DROP DATABASE IF EXISTS "+scratch
		name = "PostgreSQL"
		if db.DialectOf(admin) == db.MySQL {
			create += " CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"
			name = "MariaDB"
		} else {
			drop += " WITH (FORCE)"
		}
		if err := admin.Exec(create).Error; err != nil {
			return "", "", nil, err
		}
		u, _ := url.Parse(raw)
		u.Path = "/" + scratch
		dbURL = u.String()
		cleanup = func() { admin.Exec(drop); db.Close(admin) }
	}
	gdb, err := db.Open(ctx, dbURL, db.Options{})
	if err != nil {
		cleanup()
		return "", "", nil, err
	}
	if _, err := db.Migrate(ctx, gdb); err != nil {
		cleanup()
		return "", "", nil, err
	}
	svc, err := contents.New(gdb, contents.Options{})
	if err != nil {
		cleanup()
		return "", "", nil, err
	}
	srv := httptest.NewServer(svc.Handler())
	return name, srv.URL, func() { srv.Close(); db.Close(gdb); cleanup() }, nil
}

type target struct {
	name, base, token string
}

var client = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256}, Timeout: 5 * time.Minute}

func (t target) do(method, path string, body []byte) (time.Duration, error) {
	req, err := http.NewRequest(method, t.base+path, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	if t.token != "" {
		req.Header.Set("Authorization", "token "+t.token)
	}
	start := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	elapsed := time.Since(start)
	if resp.StatusCode >= 300 {
		return 0, fmt.Errorf("%s %s: %s", method, path, resp.Status)
	}
	return elapsed, err
}

func (t target) median(n int, method, path string, body []byte) string {
	var ds []time.Duration
	for range n {
		d, err := t.do(method, path, body)
		if err != nil {
			log.Fatalf("%s: %v", t.name, err)
		}
		ds = append(ds, d)
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	return ms(ds[len(ds)/2])
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000) }

func (t target) run(files, savers, rounds int, makeDir func(int) error) {
	row := []string{t.name}
	for _, size := range []int{1 << 20, 10 << 20} {
		body := notebook.PutBody(size)
		path := fmt.Sprintf("nb%d.ipynb", size>>20)
		if _, err := t.do("PUT", path, body); err != nil {
			log.Fatalf("%s: %v", t.name, err)
		}
		row = append(row, t.median(rounds, "PUT", path, body), t.median(rounds, "GET", path, nil))
	}
	// A directory of many files.
	if _, err := t.do("PUT", "many", []byte(`{"type": "directory"}`)); err != nil {
		log.Fatalf("%s: %v", t.name, err)
	}
	if makeDir != nil {
		if err := makeDir(files); err != nil {
			log.Fatal(err)
		}
	} else {
		parallel(16, files, func(i int) {
			if _, err := t.do("PUT", fmt.Sprintf("many/f%05d.txt", i), []byte(`{"type": "file", "format": "text", "content": "x"}`)); err != nil {
				log.Fatalf("%s: %v", t.name, err)
			}
		})
	}
	row = append(row, t.median(rounds, "GET", "many", nil))
	// Concurrent savers, each on its own small notebook.
	small := notebook.PutBody(16 << 10)
	var mu sync.Mutex
	var lat []time.Duration
	start := time.Now()
	parallel(savers, savers*rounds, func(i int) {
		d, err := t.do("PUT", fmt.Sprintf("saver%03d.ipynb", i%savers), small)
		if err != nil {
			log.Fatalf("%s: %v", t.name, err)
		}
		mu.Lock()
		lat = append(lat, d)
		mu.Unlock()
	})
	total := time.Since(start)
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	row = append(row, fmt.Sprintf("%d saves in %.2f s", len(lat), total.Seconds()), ms(lat[len(lat)*95/100]))
	fmt.Println("| " + strings.Join(row, " | ") + " |")
}

func parallel(workers, n int, fn func(int)) {
	next := make(chan int)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				fn(i)
			}
		}()
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
}

func makeFiles(dir string, n int) error {
	for i := range n {
		if err := os.WriteFile(filepath.Join(dir, "many", fmt.Sprintf("f%05d.txt", i)), []byte("x"), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// startJupyter runs a stock notebook server on a temporary directory.
func startJupyter() (base, token, dir string, stop func(), err error) {
	dir, err = os.MkdirTemp("", "bench-jupyter")
	if err != nil {
		return
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	b := make([]byte, 16)
	rand.Read(b)
	token = hex.EncodeToString(b)
	cmd := exec.Command("/usr/bin/python3", "-m", "notebook", "--no-browser", "--allow-root",
		fmt.Sprintf("--port=%d", port), "--ip=127.0.0.1", "--notebook-dir="+dir,
		"--NotebookApp.token="+token, "--log-level=WARN")
	cmd.Env = append(os.Environ(), "HOME="+dir, "JUPYTER_TOKEN="+token)
	if err = cmd.Start(); err != nil {
		return
	}
	base = fmt.Sprintf("http://127.0.0.1:%d/", port)
	stop = func() { cmd.Process.Kill(); cmd.Wait(); os.RemoveAll(dir) }
	for range 100 {
		time.Sleep(200 * time.Millisecond)
		req, _ := http.NewRequest("GET", base+"api/contents", nil)
		req.Header.Set("Authorization", "token "+token)
		if resp, e := client.Do(req); e == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
	}
	stop()
	return "", "", "", nil, fmt.Errorf("jupyter notebook did not start on port %d", port)
}
