package e2e

import (
	endian "encoding/binary"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/sparkhub/sparkhub/hub/hubtest"
)

// memoryBound is what the hub's resident memory must stay under, at its
// peak, while the tests below attack it: some four times what it takes
// idle, and far below what the attacks would cost if the hub held what
// they declare (1.6 GiB, 256 MiB).
const memoryBound = 150 << 20

// checkPeakMemory fails the test when the hub's resident memory has
// ever reached memoryBound.
func checkPeakMemory(t *testing.T, h *hubtest.Hub) {
	t.Helper()
	rss, peak, err := h.Memory()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("hub memory: %d MiB now, %d MiB at its peak", rss>>20, peak>>20)
	if peak >= memoryBound {
		t.Errorf("the hub's resident memory reached %d MiB, over %d MiB", peak>>20, memoryBound>>20)
	}
}

// TestTricklingUploadsHoldLittleMemory runs the slow-upload attack on the
// built hub: eight connections declaring 200 MiB notebooks each, sending
// a byte every 50 ms. Each is cut with 408 once --client-timeout has
// passed, its connection closed, and the hub's resident memory stays
// under memoryBound all along. The per-user upload limit is lifted so
// that all eight reach the contents service.
func TestTricklingUploadsHoldLittleMemory(t *testing.T) {
	dataDir := t.TempDir()
	common := []string{"--data-dir", dataDir, "--bcrypt-cost", "4"}
	mustRun(t, "alice's password\n", append([]string{"user", "add", "alice", "--password-stdin"}, common...)...)
	token := strings.TrimSpace(mustRun(t, "", append([]string{"token", "create", "alice"}, common...)...))
	h := startHub(t, nil, "--data-dir", dataDir, "--client-timeout", "2s", "--contents-uploads-per-user", "8")

	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for i := range 8 {
		wg.Go(func() {
			resp, body, closed := hubtest.Trickle(t, h.URL, hubtest.Request{
				Method: "PUT", Path: fmt.Sprintf("/user/alice/api/contents/big%d.ipynb", i),
				Header:   map[string]string{"Authorization": "token " + token, "Content-Type": "application/json"},
				Declared: 200 << 20,
			})
			switch {
			case resp.StatusCode != http.StatusRequestTimeout || !strings.Contains(body, "arrived too slowly"):
				errs <- fmt.Errorf("upload %d = %d %s, want 408 saying why", i, resp.StatusCode, body)
			case !closed:
				errs <- fmt.Errorf("upload %d: the connection stayed open", i)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	checkPeakMemory(t, h)
}

// TestRelayAttacksHoldLittleMemory attacks the built hub through a
// user's real Jupyter server: a websocket frame declaring 256 MiB is
// refused with 1009 after its header (the hub reads none of it), a
// proxied request whose body trickles is cut with 408, and the hub's
// resident memory stays under memoryBound.
func TestRelayAttacksHoldLittleMemory(t *testing.T) {
	dataDir, _ := jupyterUsers(t)
	h := startHub(t, nil, "--data-dir", dataDir, "--idle-timeout", "0", "--client-timeout", "2s")
	alice := newClient(t, h.URL)
	if resp := alice.login("alice", "alice's password"); resp.StatusCode != http.StatusFound {
		t.Fatalf("login = %d", resp.StatusCode)
	}
	alice.startServer("alice")
	// The contents service sets the _xsrf cookie Jupyter's writes need.
	if code := alice.api("GET", "/user/alice/api/contents", "cookie", nil, nil); code != http.StatusOK {
		t.Fatalf("list contents = %d", code)
	}
	var kernel struct{ ID string }
	if code := alice.api("POST", "/user/alice/api/kernels", "cookie", map[string]any{"name": "python3"}, &kernel); code != http.StatusCreated {
		t.Fatalf("start kernel = %d", code)
	}

	t.Run("256 MiB websocket frame", func(t *testing.T) {
		conn := dialKernel(t, alice, "alice", kernel.ID)
		defer conn.Close()
		const declared = 256 << 20
		// A final binary frame, masked as a client's must be, with a
		// 64-bit length; the mask is zero, so the payload is zeros.
		head := []byte{0x82, 0x80 | 127}
		head = endian.BigEndian.AppendUint64(head, declared)
		head = append(head, 0, 0, 0, 0)
		raw := conn.UnderlyingConn()
		raw.SetWriteDeadline(time.Now().Add(30 * time.Second))
		// The header alone: the hub answers it at once, closing, and a
		// larger first write could meet the closed connection (a reset).
		if _, err := raw.Write(head); err != nil {
			t.Fatal(err)
		}
		conn.SetReadDeadline(time.Now().Add(30 * time.Second))
		var err error
		for err == nil {
			_, _, err = conn.ReadMessage() // the kernel's own messages may come first
		}
		var ce *websocket.CloseError
		if !errors.As(err, &ce) || ce.Code != websocket.CloseMessageTooBig {
			t.Fatalf("after the frame's header: %v, want a close with 1009", err)
		}
		sent := 0
		chunk := make([]byte, 1<<20)
		for sent < declared {
			n, err := raw.Write(chunk)
			sent += n
			if err != nil {
				break
			}
		}
		if sent >= declared {
			t.Errorf("the hub took all %d MiB of the frame", declared>>20)
		}
	})

	t.Run("proxied body that trickles", func(t *testing.T) {
		token := strings.TrimSpace(mustRun(t, "", "token", "create", "alice", "--data-dir", dataDir))
		resp, body, closed := hubtest.Trickle(t, h.URL, hubtest.Request{
			Method: "POST", Path: "/user/alice/api/kernels",
			Header:   map[string]string{"Authorization": "token " + token, "Content-Type": "application/json"},
			Declared: 1 << 20,
		})
		if resp.StatusCode != http.StatusRequestTimeout || !strings.Contains(body, "arrived too slowly") || !closed {
			t.Fatalf("a trickling body to alice's server = %d (closed: %v) %s, want 408 saying why, and closed", resp.StatusCode, closed, body)
		}
	})
	checkPeakMemory(t, h)
}
