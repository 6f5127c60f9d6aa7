package hub

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sparkhub/sparkhub/hub/hubtest"
)

// giveUp bounds how long a test waits for the hub to act; it is not a
// speed the hub must reach.
const giveUp = 30 * time.Second

// TestTricklingBodyIsCut runs the slow-body attack on each kind of
// endpoint that reads a body: headers declaring a large body, then a
// byte every 50 ms. Each is answered 408 with a sentence once the
// client's time is up, and the connection is closed; nothing is kept.
// A client that may not write at all is answered at once and its
// connection closed the same way, and an honest body that takes longer
// than the timeout but keeps its pace goes through.
func TestTricklingBodyIsCut(t *testing.T) {
	th := newContentsHubWith(t, false, func(o *Options) { o.ClientTimeout = 300 * time.Millisecond })
	tok := th.token("alice")
	before := th.snapshot()
	for _, tc := range []struct {
		name string
		rq   hubtest.Request
		want int
	}{
		{"API", hubtest.Request{Method: "POST", Path: "/hub/api/users/alice/tokens", Header: map[string]string{"Authorization": "token " + tok, "Content-Type": "application/json"}, Declared: 1 << 20}, http.StatusRequestTimeout},
		{"login form", hubtest.Request{Method: "POST", Path: "/hub/login", Header: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, Declared: 60 << 10}, http.StatusRequestTimeout},
		{"contents", hubtest.Request{Method: "PUT", Path: "/user/alice/api/contents/big.txt", Header: map[string]string{"Authorization": "token " + tok, "Content-Type": "application/json"}, Declared: 200 << 20}, http.StatusRequestTimeout},
		{"anonymous contents", hubtest.Request{Method: "PUT", Path: "/user/alice/api/contents/big.txt", Header: map[string]string{"Content-Type": "application/json"}, Declared: 200 << 20}, http.StatusUnauthorized},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body, closed := hubtest.Trickle(t, th.srv.URL, tc.rq)
			if resp.StatusCode != tc.want {
				t.Fatalf("status = %d, want %d\n%s", resp.StatusCode, tc.want, body)
			}
			if tc.want == http.StatusRequestTimeout && !strings.Contains(body, "arrived too slowly") {
				t.Errorf("the answer does not say why:\n%s", body)
			}
			if !closed {
				t.Error("the hub kept the connection open for more of the body")
			}
		})
	}
	if th.snapshot() != before {
		t.Error("a cut request changed the users or tokens")
	}
	if r := th.do(nil, req{method: "GET", path: "/user/alice/api/contents/big.txt", auth: "token " + tok}); r.status != http.StatusNotFound {
		t.Errorf("the cut upload was stored: GET = %d", r.status)
	}

	// 64 KiB in four parts, 200 ms apart: longer than the 300 ms
	// timeout, far faster than 16 KiB a second.
	model := fmt.Appendf(nil, `{"type": "file", "format": "text", "content": %q}`, strings.Repeat("a", 64<<10))
	pr, pw := io.Pipe()
	go func() {
		for part := range slices.Chunk(model, len(model)/4+1) {
			pw.Write(part)
			time.Sleep(200 * time.Millisecond)
		}
		pw.Close()
	}()
	hr, _ := http.NewRequest("PUT", th.srv.URL+"/user/alice/api/contents/paced.txt", pr)
	hr.ContentLength = int64(len(model))
	hr.Header.Set("Authorization", "token "+tok)
	resp, err := http.DefaultClient.Do(hr)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("a paced upload = %d, want 201", resp.StatusCode)
	}
}

// TestAnswerToAClientThatStopsReading: a client that asks for a large
// file and stops reading is cut once a write of the answer has waited
// its time, so it does not hold the file in the hub's memory; one that
// keeps reading, for longer than the timeout, gets the whole file.
func TestAnswerToAClientThatStopsReading(t *testing.T) {
	th := newContentsHubWith(t, false, func(o *Options) { o.ClientTimeout = 300 * time.Millisecond })
	tok := th.token("alice")
	const size = 32 << 20
	data := bytes.Repeat([]byte{0xff, 0, 1, 2}, size/4)
	if r := th.do(nil, req{method: "PUT", path: "/user/alice/api/contents/big.bin", auth: "token " + tok,
		body: map[string]any{"type": "file", "format": "base64", "content": base64.StdEncoding.EncodeToString(data)}}); r.status != http.StatusCreated {
		t.Fatalf("store %d bytes = %d %s", size, r.status, r.body)
	}
	get := func() (net.Conn, *bufio.Reader) {
		u, _ := url.Parse(th.srv.URL)
		conn, err := net.Dial("tcp", u.Host)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() })
		fmt.Fprintf(conn, "GET /user/alice/files/big.bin HTTP/1.1\r\nHost: %s\r\nAuthorization: token %s\r\n\r\n", u.Host, tok)
		return conn, bufio.NewReader(conn)
	}

	t.Run("stops reading", func(t *testing.T) {
		conn, br := get()
		const route = "GET /user/{name}/files/{path...}"
		served := th.answered(route)
		hubtest.WaitFor(t, "the hub to give up on the answer", giveUp, func() bool { return th.answered(route) > served })
		conn.SetReadDeadline(time.Now().Add(giveUp))
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		n, err := io.Copy(io.Discard, resp.Body)
		if err == nil || n >= size {
			t.Fatalf("read %d of %d bytes, %v: the hub sent the whole answer to a client that did not read", n, size, err)
		}
	})
	t.Run("keeps reading", func(t *testing.T) {
		conn, br := get()
		conn.SetReadDeadline(time.Now().Add(giveUp))
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		var got int64
		for {
			n, err := io.CopyN(io.Discard, resp.Body, 1<<20)
			got += n
			if err != nil {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		if got != size {
			t.Fatalf("a client reading 1 MiB every 50 ms got %d of %d bytes", got, size)
		}
	})
}

// answered is how many requests the hub has finished answering on the
// route, as its metrics count them.
func (th *testHub) answered(route string) float64 {
	th.t.Helper()
	families, err := th.hub.metrics.reg.Gather()
	if err != nil {
		th.t.Fatal(err)
	}
	total := 0.0
	for _, f := range families {
		if f.GetName() != "sparkhub_http_requests_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "route" && l.GetValue() == route {
					total += m.GetCounter().GetValue()
				}
			}
		}
	}
	return total
}
