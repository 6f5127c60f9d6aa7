package proxy

import (
	"io"
	"net/http"
	"testing"

	"github.com/gorilla/websocket"
)

// BenchmarkProxyGET is one proxied request with a token, end to end over
// loopback: authentication, route lookup, the reverse proxy.
func BenchmarkProxyGET(b *testing.B) {
	e := newEnv(b, false)
	defer e.hub.Close()
	defer e.backend.Close()
	go func() {
		for range e.seen {
		}
	}()
	tok := e.token("alice")
	c := &http.Client{}
	req, _ := http.NewRequest("GET", e.hub.URL+"/user/alice/api/status", nil)
	req.Header.Set("Authorization", "token "+tok)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		resp, err := c.Do(req)
		if err != nil || resp.StatusCode != 200 {
			b.Fatalf("%v %v", err, resp)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
}

// BenchmarkWebsocketRelay is one message through the relay and back.
func BenchmarkWebsocketRelay(b *testing.B) {
	e := newEnv(b, false)
	defer e.hub.Close()
	defer e.backend.Close()
	c, _, err := websocket.DefaultDialer.Dial(wsURL(e.hub.URL, "/user/alice/api/kernels/k/channels"), http.Header{"Authorization": {"token " + e.token("alice")}})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	msg := make([]byte, 64)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := c.WriteMessage(websocket.BinaryMessage, msg); err != nil {
			b.Fatal(err)
		}
		if _, _, err := c.ReadMessage(); err != nil {
			b.Fatal(err)
		}
	}
}
