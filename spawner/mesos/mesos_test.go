package mesos_test

import (
	"context"
	"os"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sparkhub/sparkhub/spawner"
	"github.com/sparkhub/sparkhub/spawner/mesos"
	"github.com/sparkhub/sparkhub/spawner/mesos/mesostest"
	"github.com/sparkhub/sparkhub/spawner/spawnertest"
)

const testImage = "sparkhub/test-notebook:1"

// TestMain doubles as a tiny Jupyter stand-in (spawnertest.FakeJupyter)
// when a backend starts the test binary as a server.
func TestMain(m *testing.M) { spawnertest.FakeJupyterMain(m.Run) }

// cluster starts an emulated cluster of n agents with res each.
func cluster(t testing.TB, n int, res string, tweak func(*mesostest.Options)) *mesostest.Cluster {
	t.Helper()
	r, err := mesostest.ParseResources(res)
	if err != nil {
		t.Fatal(err)
	}
	opts := mesostest.Options{
		Images:             map[string][]string{testImage: {os.Args[0]}},
		Env:                map[string]string{"SPARKHUB_FAKE_JUPYTER": "1"},
		Heartbeat:          time.Second,
		AllocationInterval: 50 * time.Millisecond,
		UpdateRetry:        200 * time.Millisecond,
		UpdateRetryMax:     2 * time.Second,
		WorkDir:            t.TempDir(),
	}
	for i := 0; i < n; i++ {
		opts.Agents = append(opts.Agents, mesostest.AgentConfig{Resources: r})
	}
	if tweak != nil {
		tweak(&opts)
	}
	c, err := mesostest.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// hubDB stands for the hub's database: the framework id and the
// handles of started servers.
type hubDB struct {
	mu      sync.Mutex
	id      string
	handles map[string]spawner.Handle
}

func newHubDB() *hubDB { return &hubDB{handles: map[string]spawner.Handle{}} }

func (d *hubDB) Get(context.Context) (string, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.id, nil
}

func (d *hubDB) Set(_ context.Context, id string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.id = id
	return nil
}

// Handles implements spawner.Known, as the manager does from
// hub_servers.
func (d *hubDB) Handles(_ context.Context, backend string) ([]spawner.Handle, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	var hs []spawner.Handle
	for _, h := range d.handles {
		if h.Backend == backend {
			hs = append(hs, h)
		}
	}
	return hs, nil
}

// hub is a backend that records the handles it starts, as the manager
// does in hub_servers, and runs its framework until Close.
type hub struct {
	*mesos.Backend
	db    *hubDB
	close func()
}

// Close ends the framework's Run, as the end of a hub does, and waits
// for it.
func (h *hub) Close() { h.close() }

func (h *hub) Start(ctx context.Context, req spawner.StartRequest) (spawner.Started, error) {
	st, err := h.Backend.Start(ctx, req)
	if err == nil {
		h.db.mu.Lock()
		h.db.handles[st.Handle.ID] = st.Handle
		h.db.mu.Unlock()
	}
	return st, err
}

func (h *hub) Stop(ctx context.Context, hd spawner.Handle, grace time.Duration) error {
	err := h.Backend.Stop(ctx, hd, grace)
	if err == nil {
		h.db.mu.Lock()
		delete(h.db.handles, hd.ID)
		h.db.mu.Unlock()
	}
	return err
}

func newHub(t testing.TB, c *mesostest.Cluster, db *hubDB, tweak func(*mesos.Options)) *hub {
	t.Helper()
	opts := mesos.Options{
		Master:            c.URLs(),
		Defaults:          spawner.Spec{Image: testImage, CPUs: 1, Mem: 1024},
		IDs:               db,
		KillGrace:         2 * time.Second,
		MinBackoff:        50 * time.Millisecond,
		MaxBackoff:        500 * time.Millisecond,
		ReconcileInterval: time.Minute,
		RefuseSeconds:     5,
	}
	if tweak != nil {
		tweak(&opts)
	}
	b, err := mesos.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	b.SetKnown(db)
	return &hub{Backend: b, db: db, close: run(t, b)}
}

// run runs b until the test ends or the returned function is called;
// either waits for Run to return, and it must return nil.
func run(t testing.TB, b *mesos.Backend) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("Run = %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

func TestConformance(t *testing.T) {
	c := cluster(t, 2, "cpus:4;mem:8192;disk:20000;ports:[31000-31999]", nil)
	db := newHubDB()
	spawnertest.Run(t, spawnertest.Harness{
		New: func(t *testing.T) spawner.Backend { return newHub(t, c, db, nil) },
		Reopen: func(t *testing.T, b spawner.Backend) spawner.Backend {
			b.(*hub).Close()
			return newHub(t, c, db, nil)
		},
		Crash: func(t *testing.T, b spawner.Backend, h spawner.Handle) {
			for _, tv := range c.Tasks() {
				if tv.ID == h.ID && tv.Pid > 0 {
					syscall.Kill(-tv.Pid, syscall.SIGKILL)
					return
				}
			}
			t.Fatalf("no process for task %s", h.ID)
		},
		EchoesEnv: true,
		Wait:      20 * time.Second,
	})
}
