// Command standin is the --local-cmd sparkhub runs in the side-by-side
// benchmark. For a user whose name starts with "echo" it is itself the
// server: a tiny HTTP and websocket echo server on SPARKHUB_PORT that
// answers every path (so /user/{name}/api, the hub's readiness probe,
// answers too), the same upstream configurable-http-proxy is given a route
// to. For anyone else it leaves the port and token it was given in
// .bench-direct (so the benchmark can also reach the server directly) and
// runs jupyter-notebook with the hub's arguments.
package main

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"

	"github.com/gorilla/websocket"
)

func main() {
	port, token := os.Getenv("SPARKHUB_PORT"), os.Getenv("JUPYTER_TOKEN")
	if err := os.WriteFile(".bench-direct", []byte(port+" "+token+"\n"), 0o600); err != nil {
		fmt.Fprintln(os.Stderr, "standin:", err)
		os.Exit(1)
	}
	if !strings.HasPrefix(os.Getenv("SPARKHUB_USER"), "echo") {
		nb, err := exec.LookPath("jupyter-notebook")
		if err != nil {
			fmt.Fprintln(os.Stderr, "standin:", err)
			os.Exit(1)
		}
		err = syscall.Exec(nb, append([]string{nb}, os.Args[1:]...), os.Environ())
		fmt.Fprintln(os.Stderr, "standin:", err)
		os.Exit(1)
	}
	if len(os.Args) > 1 && os.Args[1] == "-listen" && len(os.Args) > 2 {
		port = os.Args[2]
	}
	if err := http.ListenAndServe("127.0.0.1:"+port, Echo()); err != nil {
		fmt.Fprintln(os.Stderr, "standin:", err)
		os.Exit(1)
	}
}

// Echo answers every request with a small JSON body, and echoes every
// websocket message back.
func Echo() http.Handler {
	up := websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }}
	body := []byte(`{"started":"2026-01-01T00:00:00Z","last_activity":"2026-01-01T00:00:00Z","connections":0,"kernels":0}`)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if websocket.IsWebSocketUpgrade(r) {
			c, err := up.Upgrade(w, r, nil)
			if err != nil {
				return
			}
			defer c.Close()
			for {
				t, m, err := c.ReadMessage()
				if err != nil {
					return
				}
				if c.WriteMessage(t, m) != nil {
					return
				}
			}
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write(body)
	})
}
