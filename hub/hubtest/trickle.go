package hubtest

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// Request is an HTTP/1.1 request that Trickle writes on a connection
// of its own.
type Request struct {
	Method, Path string
	Header       map[string]string
	Declared     int64 // its Content-Length
}

// Trickle sends rq's headers to the hub at base, then its body a space
// (filler in JSON and in a form) every 50 ms, as a client holding the
// connection would, until the hub answers or 30 s have passed. It
// returns the answer, its body, and whether the hub then closed the
// connection.
func Trickle(t testing.TB, base string, rq Request) (*http.Response, string, bool) {
	t.Helper()
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var head strings.Builder
	fmt.Fprintf(&head, "%s %s HTTP/1.1\r\nHost: %s\r\nContent-Length: %d\r\n", rq.Method, rq.Path, u.Host, rq.Declared)
	for k, v := range rq.Header {
		fmt.Fprintf(&head, "%s: %s\r\n", k, v)
	}
	head.WriteString("\r\n")
	if _, err := io.WriteString(conn, head.String()); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				if _, err := conn.Write([]byte(" ")); err != nil {
					return
				}
			}
		}
	}()
	conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("%s %s: no answer: %v", rq.Method, rq.Path, err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	_, err = br.ReadByte()
	var ne net.Error
	closed := err != nil && !(errors.As(err, &ne) && ne.Timeout())
	return resp, string(body), closed
}
