package mesostest

import (
	"encoding/json"
	"net/http"
	"sort"

	"github.com/sparkhub/sparkhub/spawner/mesos/internal/wire"
)

// stateTask is a task as GET /master/state and /master/tasks show it:
// its definition whole, as the framework launched it (the command and
// its environment included), with where it runs and its state. What
// Mesos's own endpoints (and the agents', and the sandboxes') show of a
// definition depends on the version and the endpoint; the emulator shows
// all of it, so a test sees what any reader of the cluster's state
// might.
type stateTask struct {
	wire.TaskInfo
	ID          string `json:"id"`
	FrameworkID string `json:"framework_id"`
	SlaveID     string `json:"slave_id"`
	State       string `json:"state"`
	Role        string `json:"role,omitempty"`
}

// stateFramework is a framework in GET /master/state.
type stateFramework struct {
	ID    string      `json:"id"`
	Name  string      `json:"name"`
	Tasks []stateTask `json:"tasks"`
}

// serveState answers /master/state ({"frameworks": [...]}, each with its
// tasks) and /master/tasks ({"tasks": [...]}), read-only and without
// authentication, as a master with its HTTP authorization off.
func (c *Cluster) serveState(w http.ResponseWriter, r *http.Request, tasksOnly bool) {
	if r.Method != http.MethodGet {
		http.Error(w, "Expecting 'GET', received '"+r.Method+"'", http.StatusMethodNotAllowed)
		return
	}
	c.mu.Lock()
	var fws []stateFramework
	var all []stateTask
	for _, fw := range c.frameworks {
		sf := stateFramework{ID: fw.id, Tasks: []stateTask{}}
		if fw.info.Name != nil {
			sf.Name = *fw.info.Name
		}
		for _, t := range fw.tasks {
			st := stateTask{TaskInfo: t.info, ID: t.id, FrameworkID: fw.id, SlaveID: t.agent.id, State: t.agentState, Role: t.role}
			sf.Tasks = append(sf.Tasks, st)
			all = append(all, st)
		}
		sort.Slice(sf.Tasks, func(i, j int) bool { return sf.Tasks[i].ID < sf.Tasks[j].ID })
		fws = append(fws, sf)
	}
	c.mu.Unlock()
	sort.Slice(fws, func(i, j int) bool { return fws[i].ID < fws[j].ID })
	sort.Slice(all, func(i, j int) bool { return all[i].ID < all[j].ID })
	w.Header().Set("Content-Type", "application/json")
	if tasksOnly {
		json.NewEncoder(w).Encode(map[string]any{"tasks": all})
		return
	}
	json.NewEncoder(w).Encode(map[string]any{"frameworks": fws})
}
