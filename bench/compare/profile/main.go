// Command profile takes CPU profiles of sparkhub's contents service
// saving and loading one large notebook in-process on SQLite, the shape
// of the side-by-side benchmark's contents measure, so the profile shows
// where a 10 MB PUT and GET spend their time.
//
//	go run ./bench/compare/profile -size 10 -n 5 -cpuprofile /tmp/contents.pprof
//	go tool pprof -top /tmp/contents.pprof
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime/pprof"
	"time"

	"github.com/sparkhub/sparkhub/bench/notebook"
	"github.com/sparkhub/sparkhub/contents"
	"github.com/sparkhub/sparkhub/db"
)

func main() {
	size := flag.Int("size", 10, "notebook size, MB")
	n := flag.Int("n", 5, "PUT and GET pairs")
	out := flag.String("cpuprofile", "contents.pprof", "where the CPU profile goes")
	params := flag.String("sqlite-params", "", "extra SQLite driver parameters, as in --db sqlite:///p.db?PARAMS (e.g. _pragma=mmap_size(268435456))")
	flag.Parse()
	if err := run(*size<<20, *n, *out, *params); err != nil {
		fmt.Fprintln(os.Stderr, "profile:", err)
		os.Exit(1)
	}
}

func run(size, n int, out, params string) error {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "sparkhub-profile")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	dbURL := "sqlite://" + filepath.Join(dir, "p.db")
	if params != "" {
		dbURL += "?" + params
	}
	gdb, err := db.Open(ctx, dbURL, db.Options{})
	if err != nil {
		return err
	}
	defer db.Close(gdb)
	if _, err := db.Migrate(ctx, gdb); err != nil {
		return err
	}
	svc, err := contents.New(gdb, contents.Options{})
	if err != nil {
		return err
	}
	srv := httptest.NewServer(svc.Handler())
	defer srv.Close()
	body := notebook.PutBody(size)
	u := srv.URL + "/user/alice/api/contents/big.ipynb"
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := pprof.StartCPUProfile(f); err != nil {
		return err
	}
	defer pprof.StopCPUProfile()
	for range n {
		t0 := time.Now()
		if err := send("PUT", u, body); err != nil {
			return err
		}
		t1 := time.Now()
		if err := send("GET", u+"?content=1", nil); err != nil {
			return err
		}
		fmt.Printf("PUT %.1f ms, GET %.1f ms\n", ms(t1.Sub(t0)), ms(time.Since(t1)))
	}
	return nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func send(method, u string, body []byte) error {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, _ := http.NewRequest(method, u, rd)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s: %d %.200s", method, resp.StatusCode, b)
	}
	return nil
}
