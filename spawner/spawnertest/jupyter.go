package spawnertest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/sparkhub/sparkhub/spawner"
)

// FakeJupyterEnv is set in a test binary's environment to make its
// TestMain run FakeJupyter instead of the tests (see FakeJupyterMain).
const FakeJupyterEnv = "SPARKHUB_FAKE_JUPYTER"

// FakeJupyterMain is a TestMain for packages whose backend starts the
// test binary itself as a server: with FakeJupyterEnv=1 it serves as a
// fake Jupyter, otherwise it runs the tests.
func FakeJupyterMain(run func() int) {
	if os.Getenv(FakeJupyterEnv) == "1" {
		FakeJupyter()
		return
	}
	os.Exit(run())
}

// FakeJupyter serves what the conformance suite asks of a server, from
// the environment a backend gives it (SPARKHUB_SOCKET or SPARKHUB_PORT,
// SPARKHUB_BASE_URL, JUPYTER_TOKEN): {base}api, and {base}env with its
// environment, its arguments (ARGS) and working directory (CWD). Started
// with a bootstrap credential (a Bootstrapper's server), it first trades
// it for its environment, as sparkhub_contents.bootstrap does in the
// image, exiting with status 1 when refused, and answers the proof at
// {base}sparkhub/proof. It exits on SIGTERM, unless FAKE_IGNORE_TERM=1
// (to test a kill after the grace period).
func FakeJupyter() {
	if credential := os.Getenv(spawner.BootstrapCredentialEnv); credential != "" {
		env, err := FetchSecrets(os.Getenv(spawner.BootstrapURLEnv), credential)
		if err != nil {
			fmt.Println("sparkhub-bootstrap:", err)
			os.Exit(1)
		}
		os.Unsetenv(spawner.BootstrapCredentialEnv)
		for k, v := range env {
			os.Setenv(k, v)
		}
	}
	base, token := os.Getenv("SPARKHUB_BASE_URL"), os.Getenv("JUPYTER_TOKEN")
	sigs := make(chan os.Signal, 1)
	if os.Getenv("FAKE_IGNORE_TERM") == "1" {
		signal.Ignore(syscall.SIGTERM)
	} else {
		signal.Notify(sigs, syscall.SIGTERM)
	}
	go func() {
		<-sigs
		fmt.Println("fake jupyter: SIGTERM, shutting down")
		os.Exit(0)
	}()
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == base+spawner.ProofPath && token != "" {
			serveProof(w, r, token, base)
			return
		}
		if token == "" || r.Header.Get("Authorization") != "token "+token {
			http.Error(w, "forbidden", http.StatusForbidden)
			return
		}
		switch strings.TrimPrefix(r.URL.Path, base) {
		case "api":
			fmt.Fprint(w, `{"version": "fake"}`)
		case "env":
			env := map[string]string{}
			for _, kv := range os.Environ() {
				k, v, _ := strings.Cut(kv, "=")
				env[k] = v
			}
			env["ARGS"] = strings.Join(os.Args[1:], " ")
			env["CWD"], _ = os.Getwd()
			env["UID"] = strconv.Itoa(os.Getuid())
			json.NewEncoder(w).Encode(env)
		default:
			http.NotFound(w, r)
		}
	})
	fmt.Println("fake jupyter listening")
	l, err := spawner.ServerListener()
	if err == nil {
		err = http.Serve(l, mux)
	}
	if err != nil {
		fmt.Println("fake jupyter:", err)
		os.Exit(1)
	}
}

// FetchSecrets is a server's side of the bootstrap: it POSTs the
// credential to the hub's URL and returns the environment the hub
// answers with, or the hub's sentence when it refuses.
func FetchSecrets(url, credential string) (map[string]string, error) {
	body, _ := json.Marshal(map[string]string{"credential": credential})
	client := &http.Client{Timeout: 30 * time.Second}
	resp, err := client.Post(url, "application/json", bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var answer struct {
		Env     map[string]string `json:"env"`
		Message string            `json:"message"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&answer); err != nil {
		return nil, fmt.Errorf("the hub answered %d, not JSON: %w", resp.StatusCode, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("the hub refused (%d): %s", resp.StatusCode, answer.Message)
	}
	if answer.Env["JUPYTER_TOKEN"] == "" {
		return nil, errors.New("the hub sent no JUPYTER_TOKEN")
	}
	return answer.Env, nil
}

// serveProof answers the hub's challenge as sparkhub_contents does.
func serveProof(w http.ResponseWriter, r *http.Request, token, base string) {
	challenge := r.URL.Query().Get("challenge")
	if challenge == "" {
		http.Error(w, `{"message": "no challenge"}`, http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]string{"proof": spawner.Proof(token, base, challenge)})
}
