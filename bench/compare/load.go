package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

var client = &http.Client{Timeout: 120 * time.Second}

// do sends one request and reads the whole answer.
func do(method, url, auth string, body []byte) (int, []byte, error) {
	return request(method, url, auth, body, false)
}

// doDiscard is do for a large answer that only has to arrive: it is
// read to the end as it comes, as wrk reads, and only its first 512
// bytes kept (for an error), so the timing is the server's and not the
// client growing a buffer for megabytes.
func doDiscard(method, url, auth string, body []byte) (int, []byte, error) {
	return request(method, url, auth, body, true)
}

func request(method, url, auth string, body []byte, discard bool) (int, []byte, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		return 0, nil, err
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	if discard {
		head := make([]byte, 512)
		n, _ := io.ReadFull(resp.Body, head)
		_, err = io.Copy(io.Discard, resp.Body)
		return resp.StatusCode, head[:n], err
	}
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

// waitFor polls fn every 10 ms until it is true or d passes.
func waitFor(ctx context.Context, d time.Duration, fn func() bool) bool {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		if fn() {
			return true
		}
		time.Sleep(10 * time.Millisecond)
	}
	return false
}

// loadResult is one bounded HTTP load run.
type loadResult struct {
	rps      float64
	lat      []time.Duration // sorted; the Go client only
	p50, p99 float64         // ms
	errs     int
}

// load runs n clients, each with its own keep-alive connection, GETting
// url for d.
func load(url, auth string, n int, d time.Duration) loadResult {
	var mu sync.Mutex
	var all []time.Duration
	errs := 0
	var wg sync.WaitGroup
	start := time.Now()
	stop := start.Add(d)
	for range n {
		wg.Go(func() {
			c := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1, DisableCompression: true}, Timeout: 30 * time.Second}
			defer c.CloseIdleConnections()
			req, _ := http.NewRequest("GET", url, nil)
			if auth != "" {
				req.Header.Set("Authorization", auth)
			}
			var mine []time.Duration
			bad := 0
			for time.Now().Before(stop) {
				t0 := time.Now()
				resp, err := c.Do(req)
				if err != nil {
					bad++
					time.Sleep(time.Millisecond)
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					bad++
					continue
				}
				mine = append(mine, time.Since(t0))
			}
			mu.Lock()
			all = append(all, mine...)
			errs += bad
			mu.Unlock()
		})
	}
	wg.Wait()
	slices.Sort(all)
	l := msOf(all)
	return loadResult{rps: float64(len(all)) / time.Since(start).Seconds(), lat: all, p50: pctF(l, 50), p99: pctF(l, 99), errs: errs}
}

// wsURL turns an http URL into a ws one.
func wsURL(u string) string { return "ws" + strings.TrimPrefix(u, "http") }

// wsEcho times n round trips of a size-byte binary message.
func wsEcho(url, auth string, size, n int) ([]time.Duration, error) {
	h := http.Header{}
	if auth != "" {
		h.Set("Authorization", auth)
	}
	c, _, err := websocket.DefaultDialer.Dial(wsURL(url), h)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	msg := bytes.Repeat([]byte{'x'}, size)
	out := make([]time.Duration, 0, n)
	for i := range n + 50 {
		t0 := time.Now()
		if err := c.WriteMessage(websocket.BinaryMessage, msg); err != nil {
			return nil, err
		}
		if _, _, err := c.ReadMessage(); err != nil {
			return nil, err
		}
		if i >= 50 {
			out = append(out, time.Since(t0))
		}
	}
	slices.Sort(out)
	return out, nil
}

// stat summarises values (any unit).
type stat struct {
	n                  int
	med, p99, min, max float64
}

func summarise(v []float64) stat {
	if len(v) == 0 {
		return stat{}
	}
	s := slices.Clone(v)
	slices.Sort(s)
	return stat{n: len(s), med: pctF(s, 50), p99: pctF(s, 99), min: s[0], max: s[len(s)-1]}
}

func pctF(sorted []float64, p float64) float64 {
	if len(sorted) == 0 {
		return math.NaN()
	}
	if p == 50 && len(sorted)%2 == 0 {
		return (sorted[len(sorted)/2-1] + sorted[len(sorted)/2]) / 2
	}
	i := int(math.Ceil(p/100*float64(len(sorted)))) - 1
	return sorted[max(0, min(len(sorted)-1, i))]
}

func msOf(d []time.Duration) []float64 {
	out := make([]float64, len(d))
	for i, x := range d {
		out[i] = float64(x.Nanoseconds()) / 1e6
	}
	return out
}

// rssKiB reads a process's resident set from /proc.
func rssKiB(pid int) int {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "VmRSS:") {
			f := strings.Fields(l)
			if len(f) >= 2 {
				n, _ := strconv.Atoi(f[1])
				return n
			}
		}
	}
	return 0
}

func f1(x float64) string { return strconv.FormatFloat(x, 'f', 1, 64) }
func f2(x float64) string { return strconv.FormatFloat(x, 'f', 2, 64) }
func f3(x float64) string { return strconv.FormatFloat(x, 'f', 3, 64) }

// msCell formats a latency stat: "median (p99 x; min–max)".
func msCell(s stat, prec func(float64) string) string {
	if s.n == 0 {
		return "–"
	}
	return fmt.Sprintf("%s ms (p99 %s; %s–%s)", prec(s.med), prec(s.p99), prec(s.min), prec(s.max))
}

// ratio formats a/b.
func ratio(a, b float64) string {
	if b == 0 || math.IsNaN(a) || math.IsNaN(b) {
		return "–"
	}
	return f2(a / b)
}
