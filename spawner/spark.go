package spawner

import (
	"context"
	"encoding/json"
	"fmt"
	"github.com/sparkhub/sparkhub/internal/httperr"
	"net/http"
	"net/url"
	"sync"
	"time"
)

// SparkApp is what the hub shows of the Spark application in a user's
// server: read from Spark's REST API (/api/v1) through the server's own
// relay ({base_url}spark/, sparkhub_contents.sparkui), so only what the
// server chooses to answer, and nothing the hub trusts it with: names
// are cut short, counts are never negative.
type SparkApp struct {
	ID         string
	Name       string
	Executors  int // active executors, the driver not counted
	Cores      int // their cores
	ActiveJobs int
	Seen       time.Time // when the hub read it
}

// DefaultSparkInterval is how often Run reads running servers' Spark
// applications.
const DefaultSparkInterval = 15 * time.Second

// sparkAnswerLimit bounds what one Spark API answer may hold.
const sparkAnswerLimit = 1 << 20

// sparkReaders bounds how many servers are asked at once.
const sparkReaders = 8

// Spark returns the Spark application last read in user's server, or
// nil when the server runs none (or is not running).
func (m *Manager) Spark(user string) *SparkApp {
	s := m.lookup(user)
	if s == nil || s.route.Load() == nil {
		return nil
	}
	return s.spark.Load()
}

// SparkApps returns the Spark applications last read in every running
// server, by user.
func (m *Manager) SparkApps() map[string]SparkApp {
	out := map[string]SparkApp{}
	m.index.Range(func(_, v any) bool {
		s := v.(*server)
		if a := s.spark.Load(); a != nil && s.route.Load() != nil {
			out[s.user] = *a
		}
		return true
	})
	return out
}

// ReadSpark reads the Spark application of every running server, a few
// at a time. Run calls it every SparkInterval.
func (m *Manager) ReadSpark(ctx context.Context) {
	var running []*server
	m.index.Range(func(_, v any) bool {
		if s := v.(*server); s.route.Load() != nil {
			running = append(running, s)
		}
		return true
	})
	sem := make(chan struct{}, sparkReaders)
	var wg sync.WaitGroup
	for _, s := range running {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			r := s.route.Load()
			if r == nil {
				return
			}
			rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			defer cancel()
			app, err := m.readSpark(rctx, r, s.url)
			if err != nil {
				m.log.Debug("read server's Spark application", "user", s.user, "err", err)
			}
			s.spark.Store(app)
		})
	}
	wg.Wait()
}

// readSpark asks the server's relay for its Spark application: nil, nil
// when it runs none.
func (m *Manager) readSpark(ctx context.Context, r *route, base string) (*SparkApp, error) {
	get := func(path string, v any) (bool, error) {
		status, err := m.getJSON(ctx, r, base+"spark/api/v1/"+path, sparkAnswerLimit, v)
		switch {
		case err != nil:
			return false, err
		case status == http.StatusNotFound:
			return false, nil // no application, or no relay
		case status != http.StatusOK:
			return false, fmt.Errorf("spark %s: status %d", path, status)
		}
		return true, nil
	}
	var apps []struct {
		ID       string `json:"id"`
		Name     string `json:"name"`
		Attempts []struct {
			Completed bool `json:"completed"`
		} `json:"attempts"`
	}
	if ok, err := get("applications?status=running", &apps); !ok || err != nil {
		return nil, err
	}
	var app *SparkApp
	for _, a := range apps {
		if a.ID != "" && len(a.Attempts) > 0 && !a.Attempts[0].Completed {
			app = &SparkApp{ID: httperr.Shorten(a.ID, 100), Name: httperr.Shorten(a.Name, 100)}
			break
		}
	}
	if app == nil {
		return nil, nil
	}
	var executors []struct {
		ID         string `json:"id"`
		IsActive   bool   `json:"isActive"`
		TotalCores int    `json:"totalCores"`
	}
	if _, err := get("applications/"+url.PathEscape(app.ID)+"/executors", &executors); err != nil {
		return nil, err
	}
	for _, e := range executors {
		if e.ID != "driver" && e.IsActive {
			app.Executors++
			app.Cores += max(0, e.TotalCores)
		}
	}
	var jobs []json.RawMessage
	if _, err := get("applications/"+url.PathEscape(app.ID)+"/jobs?status=running", &jobs); err != nil {
		return nil, err
	}
	app.ActiveJobs = len(jobs)
	app.Seen = time.Now()
	return app, nil
}
