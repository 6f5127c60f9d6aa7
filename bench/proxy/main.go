// Command proxy measures what the hub's proxy adds: HTTP requests per
// second and latency, and kernel round trips over the relayed websocket,
// through sparkhub and directly to the same Jupyter server.
//
//	go build -o /tmp/sparkhub . && go run ./bench/proxy -hub /tmp/sparkhub
package main

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/gorilla/websocket"
)

func main() {
	hubBin := flag.String("hub", "", "the sparkhub binary (go build -o /tmp/sparkhub .)")
	duration := flag.Duration("duration", 5*time.Second, "how long each HTTP load runs")
	conns := flag.String("conns", "1,16,64", "concurrent connections for the HTTP load")
	rounds := flag.Int("rounds", 1000, "kernel round trips per target")
	flag.Parse()
	if *hubBin == "" {
		fmt.Fprintln(os.Stderr, "give -hub PATH-TO-SPARKHUB")
		os.Exit(2)
	}
	if err := run(*hubBin, *duration, *conns, *rounds); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

type target struct {
	name, base, auth string
}

func run(hubBin string, duration time.Duration, connList string, rounds int) error {
	dir, err := os.MkdirTemp("", "sparkhub-bench-proxy")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	wrapper, _ := filepath.Abs("bench/proxy/jupyter-wrapper.sh")
	common := []string{"--data-dir", dir, "--bcrypt-cost", "4"}
	add := exec.Command(hubBin, append([]string{"user", "add", "alice", "--password-stdin"}, common...)...)
	add.Stdin = strings.NewReader("bench password\n")
	if out, err := add.CombinedOutput(); err != nil {
		return fmt.Errorf("user add: %v %s", err, out)
	}
	out, err := exec.Command(hubBin, append([]string{"token", "create", "alice"}, common...)...).Output()
	if err != nil {
		return err
	}
	token := strings.TrimSpace(string(out))

	hub := exec.Command(hubBin, "serve", "--listen", "127.0.0.1:0", "--data-dir", dir, "--idle-timeout", "0", "--local-cmd", wrapper)
	stderr, _ := hub.StderrPipe()
	hub.Stdout = io.Discard
	if err := hub.Start(); err != nil {
		return err
	}
	defer func() {
		hub.Process.Signal(syscall.SIGTERM)
		hub.Wait()
	}()
	base, err := waitServing(stderr)
	if err != nil {
		return err
	}
	go io.Copy(io.Discard, stderr)
	client := &http.Client{Timeout: 60 * time.Second}
	req, _ := http.NewRequest("POST", base+"/hub/api/users/alice/server", nil)
	req.Header.Set("Authorization", "token "+token)
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != 201 && resp.StatusCode != 202 {
		return fmt.Errorf("start: %d", resp.StatusCode)
	}
	defer func() {
		req, _ := http.NewRequest("DELETE", base+"/hub/api/users/alice/server", nil)
		req.Header.Set("Authorization", "token "+token)
		if resp, err := client.Do(req); err == nil {
			resp.Body.Close()
		}
	}()
	var direct target
	deadline := time.Now().Add(60 * time.Second)
	for {
		b, err := os.ReadFile(filepath.Join(dir, "users", "alice", ".bench-direct"))
		if err == nil {
			var port, tok string
			fmt.Sscan(string(b), &port, &tok)
			direct = target{"direct", "http://127.0.0.1:" + port, "token " + tok}
			if r, err := get(client, direct, "/user/alice/api/status"); err == nil && r == 200 {
				break
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the server did not come up")
		}
		time.Sleep(200 * time.Millisecond)
	}
	proxied := target{"sparkhub", base, "token " + token}
	for {
		if r, err := get(client, proxied, "/user/alice/api/status"); err == nil && r == 200 {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}

	fmt.Println("HTTP: GET /user/alice/api/status")
	fmt.Println("| target | connections | requests/s | p50 | p99 |")
	fmt.Println("|---|---|---|---|---|")
	for _, c := range strings.Split(connList, ",") {
		var n int
		fmt.Sscan(c, &n)
		for _, t := range []target{direct, proxied} {
			rps, p50, p99 := load(t, "/user/alice/api/status", n, duration)
			fmt.Printf("| %s | %d | %.0f | %s | %s |\n", t.name, n, rps, ms(p50), ms(p99))
		}
	}

	fmt.Println()
	fmt.Printf("Kernel round trips: execute `1`, %d times, one at a time\n", rounds)
	fmt.Println("| target | p50 | p99 | min | max |")
	fmt.Println("|---|---|---|---|---|")
	for _, t := range []target{direct, proxied} {
		d, err := kernelRoundTrips(client, t, rounds)
		if err != nil {
			return fmt.Errorf("%s kernel: %w", t.name, err)
		}
		fmt.Printf("| %s | %s | %s | %s | %s |\n", t.name, ms(pct(d, 50)), ms(pct(d, 99)), ms(d[0]), ms(d[len(d)-1]))
	}
	return nil
}

var servingURL = regexp.MustCompile(`url=(http://[0-9.:]+)/hub/`)

func waitServing(r io.Reader) (string, error) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		if m := servingURL.FindStringSubmatch(sc.Text()); m != nil {
			return m[1], nil
		}
	}
	return "", fmt.Errorf("the hub exited before serving")
}

func get(c *http.Client, t target, path string) (int, error) {
	req, _ := http.NewRequest("GET", t.base+path, nil)
	req.Header.Set("Authorization", t.auth)
	resp, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}

// load runs n clients, each with its own keep-alive connection, for d.
func load(t target, path string, n int, d time.Duration) (float64, time.Duration, time.Duration) {
	var mu sync.Mutex
	var all []time.Duration
	var wg sync.WaitGroup
	stop := time.Now().Add(d)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1, DisableCompression: true}, Timeout: 30 * time.Second}
			var mine []time.Duration
			for time.Now().Before(stop) {
				start := time.Now()
				if code, err := get(c, t, path); err != nil || code != 200 {
					continue
				}
				mine = append(mine, time.Since(start))
			}
			mu.Lock()
			all = append(all, mine...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	slices.Sort(all)
	return float64(len(all)) / d.Seconds(), pct(all, 50), pct(all, 99)
}

func kernelRoundTrips(c *http.Client, t target, rounds int) ([]time.Duration, error) {
	req, _ := http.NewRequest("POST", t.base+"/user/alice/api/kernels", strings.NewReader(`{"name":"python3"}`))
	req.Header.Set("Authorization", t.auth)
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	var k struct{ ID string }
	json.NewDecoder(resp.Body).Decode(&k)
	resp.Body.Close()
	defer func() {
		req, _ := http.NewRequest("DELETE", t.base+"/user/alice/api/kernels/"+k.ID, nil)
		req.Header.Set("Authorization", t.auth)
		if resp, err := c.Do(req); err == nil {
			resp.Body.Close()
		}
	}()
	ws := "ws" + strings.TrimPrefix(t.base, "http") + "/user/alice/api/kernels/" + k.ID + "/channels?session_id=bench"
	conn, _, err := websocket.DefaultDialer.Dial(ws, http.Header{"Authorization": {t.auth}})
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	var out []time.Duration
	for i := 0; i < rounds+10; i++ {
		start := time.Now()
		id := randomID()
		msg := map[string]any{
			"header":        map[string]any{"msg_id": id, "username": "bench", "session": "bench", "msg_type": "execute_request", "version": "5.3"},
			"parent_header": map[string]any{}, "metadata": map[string]any{}, "channel": "shell", "buffers": []any{},
			"content": map[string]any{"code": "1", "silent": false, "store_history": false, "user_expressions": map[string]any{}, "allow_stdin": false, "stop_on_error": true},
		}
		if err := conn.WriteJSON(msg); err != nil {
			return nil, err
		}
		// Done when the shell channel's execute_reply arrives.
		for {
			_, data, err := conn.ReadMessage()
			if err != nil {
				return nil, err
			}
			if bytes.Contains(data, []byte(`"execute_reply"`)) && bytes.Contains(data, []byte(id)) {
				break
			}
		}
		if i >= 10 { // the first few warm the kernel up
			out = append(out, time.Since(start))
		}
	}
	slices.Sort(out)
	return out, nil
}

func randomID() string {
	b := make([]byte, 8)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func pct(d []time.Duration, p int) time.Duration {
	if len(d) == 0 {
		return 0
	}
	return d[min(len(d)-1, len(d)*p/100)]
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d.Microseconds())/1000) }
