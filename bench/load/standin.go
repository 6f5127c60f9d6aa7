package main

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"

	"github.com/gorilla/websocket"
	"github.com/sparkhub/sparkhub/spawner"
)

// standIn is a small Jupyter stand-in the hub starts with --local-cmd:
// enough of the server API and the kernel websocket protocol (JSON) for
// the load to exercise the hub, its proxy and relay, without the CPU a
// real kernel per analyst would take on two cores.
func standIn() {
	base, token := os.Getenv("SPARKHUB_BASE_URL"), os.Getenv("JUPYTER_TOKEN")
	var mu sync.Mutex
	kernels := map[string]bool{}
	up := websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }}
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "token "+token {
			http.Error(w, "forbidden", http.StatusForbidden)
			return
		}
		path := strings.TrimPrefix(r.URL.Path, base)
		switch {
		case path == "api" || path == "api/status":
			w.Write([]byte(`{"version": "stand-in"}`))
		case path == "api/kernels" && r.Method == http.MethodPost:
			id := randomHex(8)
			mu.Lock()
			kernels[id] = true
			mu.Unlock()
			w.WriteHeader(http.StatusCreated)
			json.NewEncoder(w).Encode(map[string]any{"id": id, "name": "python3", "execution_state": "idle"})
		case path == "api/kernels":
			mu.Lock()
			list := []map[string]any{}
			for id := range kernels {
				list = append(list, map[string]any{"id": id, "name": "python3", "execution_state": "idle"})
			}
			mu.Unlock()
			json.NewEncoder(w).Encode(list)
		case strings.HasPrefix(path, "api/kernels/") && strings.HasSuffix(path, "/channels"):
			c, err := up.Upgrade(w, r, nil)
			if err != nil {
				return
			}
			defer c.Close()
			for {
				var msg map[string]any
				if err := c.ReadJSON(&msg); err != nil {
					return
				}
				h, _ := msg["header"].(map[string]any)
				if h == nil || h["msg_type"] != "execute_request" {
					continue
				}
				for _, m := range []map[string]any{
					{"channel": "iopub", "header": map[string]any{"msg_type": "status", "msg_id": randomHex(8)}, "parent_header": h, "content": map[string]any{"execution_state": "busy"}},
					{"channel": "iopub", "header": map[string]any{"msg_type": "execute_result", "msg_id": randomHex(8)}, "parent_header": h, "content": map[string]any{"data": map[string]any{"text/plain": "2"}}},
					{"channel": "iopub", "header": map[string]any{"msg_type": "status", "msg_id": randomHex(8)}, "parent_header": h, "content": map[string]any{"execution_state": "idle"}},
					{"channel": "shell", "header": map[string]any{"msg_type": "execute_reply", "msg_id": randomHex(8)}, "parent_header": h, "content": map[string]any{"status": "ok"}},
				} {
					if err := c.WriteJSON(m); err != nil {
						return
					}
				}
			}
		default:
			http.NotFound(w, r)
		}
	})
	srv := &http.Server{Handler: mux}
	go func() {
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, syscall.SIGTERM, os.Interrupt)
		<-sig
		srv.Close()
	}()
	l, err := spawner.ServerListener()
	if err != nil {
		os.Exit(1)
	}
	srv.Serve(l)
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}
