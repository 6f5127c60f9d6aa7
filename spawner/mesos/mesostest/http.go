package mesostest

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/sparkhub/sparkhub/spawner/mesos/internal/wire"
)

type framework struct {
	id         string
	info       wire.FrameworkInfo
	roles      []string // FrameworkInfo.roles, or its one role
	stream     *stream
	suppressed map[string]bool // by role
	filters    map[filterKey]filter
	tasks      map[string]*task
	failover   *time.Timer
}

// hasRole reports whether the framework is subscribed with role.
func (fw *framework) hasRole(role string) bool {
	for _, r := range fw.roles {
		if r == role {
			return true
		}
	}
	return false
}

// A refused-resources filter holds for one role on one agent.
type filterKey struct{ role, agent string }

type filter struct {
	res   pool
	until time.Time
}

// stream is one subscription's connection.
type stream struct {
	id      string
	mu      sync.Mutex
	queue   [][]byte
	wake    chan struct{}
	done    chan struct{} // closed: finish the response
	aborted bool          // break the connection instead
	once    sync.Once
}

func newStream() *stream {
	return &stream{id: newUUID(), wake: make(chan struct{}, 1), done: make(chan struct{})}
}

func (s *stream) push(rec []byte) {
	s.mu.Lock()
	s.queue = append(s.queue, rec)
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func (s *stream) take() [][]byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	q := s.queue
	s.queue = nil
	return q
}

func (s *stream) close() { s.once.Do(func() { close(s.done) }) }

func (s *stream) abort() {
	s.mu.Lock()
	s.aborted = true
	s.mu.Unlock()
	s.close()
}

func (c *Cluster) handler(self int) http.Handler {
	mux := http.NewServeMux()
	sched := func(w http.ResponseWriter, r *http.Request) { c.scheduler(self, w, r) }
	mux.HandleFunc("/api/v1/scheduler", sched)
	mux.HandleFunc("/master/api/v1/scheduler", sched)
	redirect := func(w http.ResponseWriter, r *http.Request) {
		c.mu.Lock()
		leader := c.leader
		c.mu.Unlock()
		if leader < 0 {
			http.Error(w, "No leader elected", http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Location", "//"+c.addrs[leader])
		w.WriteHeader(http.StatusTemporaryRedirect)
	}
	mux.HandleFunc("/redirect", redirect)
	mux.HandleFunc("/master/redirect", redirect)
	for _, p := range []string{"/state", "/master/state", "/tasks", "/master/tasks"} {
		tasksOnly := p == "/tasks" || p == "/master/tasks"
		mux.HandleFunc(p, func(w http.ResponseWriter, r *http.Request) { c.serveState(w, r, tasksOnly) })
	}
	return mux
}

func (c *Cluster) scheduler(self int, w http.ResponseWriter, r *http.Request) {
	if len(c.opts.Credentials) > 0 {
		p, s, ok := r.BasicAuth()
		if want, known := c.opts.Credentials[p]; !ok || !known || want != s || strings.Contains(s, ":") {
			w.Header().Set("WWW-Authenticate", `Basic realm="mesos-master-scheduler"`)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
	}
	c.mu.Lock()
	leader := c.leader
	c.mu.Unlock()
	if leader != self {
		if leader < 0 {
			http.Error(w, "No leader elected", http.StatusServiceUnavailable)
			return
		}
		loc := "//" + c.addrs[leader] + r.URL.Path
		if r.URL.RawQuery != "" {
			loc += "?" + r.URL.RawQuery
		}
		w.Header().Set("Location", loc)
		w.WriteHeader(http.StatusTemporaryRedirect)
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST")
		w.WriteHeader(http.StatusMethodNotAllowed)
		return
	}
	ct, present := r.Header["Content-Type"]
	if !present || len(ct) == 0 {
		http.Error(w, "Expecting 'Content-Type' to be present", http.StatusBadRequest)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 16<<20))
	if err != nil {
		return
	}
	var call wire.Call
	switch ct[0] {
	case "application/json":
		var raw any
		if err := json.Unmarshal(body, &raw); err != nil {
			http.Error(w, "Failed to parse body into JSON: "+err.Error(), http.StatusBadRequest)
			return
		}
		if err := json.Unmarshal(body, &call); err != nil {
			http.Error(w, "Failed to convert JSON into Call protobuf: "+err.Error(), http.StatusBadRequest)
			return
		}
		if msg := missingRequired(&call); msg != "" {
			http.Error(w, "Failed to convert JSON into Call protobuf: Missing required fields: "+msg, http.StatusBadRequest)
			return
		}
	case "application/x-protobuf":
		// The emulator speaks JSON only.
		http.Error(w, "Failed to parse body into Call protobuf", http.StatusBadRequest)
		return
	default:
		http.Error(w, "Expecting 'Content-Type' of application/json or application/x-protobuf", http.StatusUnsupportedMediaType)
		return
	}
	if !knownCall[call.Type] {
		call.Type = "" // an unknown enum name on an optional field is dropped
	}
	if msg := validate(&call); msg != "" {
		http.Error(w, "Failed to validate scheduler::Call: "+msg, http.StatusBadRequest)
		return
	}
	c.mu.Lock()
	c.stats.Calls[call.Type]++
	c.mu.Unlock()
	if call.Type == "SUBSCRIBE" {
		if a := r.Header.Get("Accept"); a != "" && !accepts(a, "application/json") && !accepts(a, "application/x-protobuf") {
			w.WriteHeader(http.StatusNotAcceptable)
			return
		}
		if _, ok := r.Header["Mesos-Stream-Id"]; ok {
			http.Error(w, "Subscribe calls should not include the 'Mesos-Stream-Id' header", http.StatusBadRequest)
			return
		}
		c.subscribe(w, r, &call)
		return
	}
	code, msg := c.call(r, &call)
	if msg != "" {
		http.Error(w, msg, code)
		return
	}
	w.WriteHeader(code)
}

var knownCall = map[string]bool{
	"SUBSCRIBE": true, "TEARDOWN": true, "ACCEPT": true, "DECLINE": true, "REVIVE": true, "KILL": true,
	"SHUTDOWN": true, "ACKNOWLEDGE": true, "RECONCILE": true, "MESSAGE": true, "REQUEST": true,
	"SUPPRESS": true, "ACCEPT_INVERSE_OFFERS": true, "DECLINE_INVERSE_OFFERS": true,
	"ACKNOWLEDGE_OPERATION_STATUS": true, "RECONCILE_OPERATIONS": true, "UPDATE_FRAMEWORK": true, "UNKNOWN": true,
}

func accepts(header, mt string) bool {
	for _, part := range strings.Split(header, ",") {
		t, _, _ := strings.Cut(strings.TrimSpace(part), ";")
		if t == mt || t == "*/*" || t == strings.SplitN(mt, "/", 2)[0]+"/*" {
			return true
		}
	}
	return false
}

func missingRequired(call *wire.Call) string {
	if s := call.Subscribe; s != nil && s.FrameworkInfo == nil {
		return "subscribe.framework_info"
	}
	if s := call.Subscribe; s != nil {
		var miss []string
		if s.FrameworkInfo.User == nil {
			miss = append(miss, "subscribe.framework_info.user")
		}
		if s.FrameworkInfo.Name == nil {
			miss = append(miss, "subscribe.framework_info.name")
		}
		return strings.Join(miss, ", ")
	}
	if k := call.Kill; k != nil && k.TaskID == nil {
		return "kill.task_id"
	}
	if a := call.Acknowledge; a != nil && (a.AgentID == nil || a.TaskID == nil || a.UUID == nil) {
		return "acknowledge.agent_id, acknowledge.task_id, acknowledge.uuid"
	}
	return ""
}

// validate is the master's scheduler::call validation.
func validate(call *wire.Call) string {
	if call.Type == "" {
		return "Expecting 'type' to be present"
	}
	if call.Type == "SUBSCRIBE" {
		if call.Subscribe == nil {
			return "Expecting 'subscribe' to be present"
		}
		fi := call.Subscribe.FrameworkInfo
		if (call.FrameworkID == nil) != (fi.ID == nil) || (call.FrameworkID != nil && call.FrameworkID.Value != fi.ID.Value) {
			return "'framework_id' differs from 'subscribe.framework_info.id'"
		}
		return ""
	}
	if call.FrameworkID == nil {
		return "Expecting 'framework_id' to be present"
	}
	need := map[string]bool{
		"ACCEPT": call.Accept != nil, "DECLINE": call.Decline != nil, "KILL": call.Kill != nil,
		"SHUTDOWN": call.Shutdown != nil, "ACKNOWLEDGE": call.Acknowledge != nil,
		"RECONCILE": call.Reconcile != nil, "MESSAGE": call.Message != nil, "REQUEST": call.Request != nil,
		"UPDATE_FRAMEWORK": call.Update != nil,
	}
	if ok, listed := need[call.Type]; listed && !ok {
		return "Expecting '" + strings.ToLower(call.Type) + "' to be present"
	}
	if a := call.Acknowledge; a != nil {
		if len(a.UUID) != 16 || a.UUID[6]>>4 == 0 || a.UUID[6]>>4 > 5 {
			return "Failed to parse UUID: invalid UUID"
		}
	}
	return ""
}

// subscribe serves a SUBSCRIBE: 200 and a RecordIO stream.
func (c *Cluster) subscribe(w http.ResponseWriter, r *http.Request, call *wire.Call) {
	fi := *call.Subscribe.FrameworkInfo
	st := newStream()
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Mesos-Stream-Id", st.id)
	w.WriteHeader(http.StatusOK)
	fl, _ := w.(http.Flusher)
	writeOne := func(ev wire.Event) {
		rec, _ := wire.AppendRecord(nil, ev)
		w.Write(rec)
		if fl != nil {
			fl.Flush()
		}
	}
	if msg := c.checkFramework(&fi, r); msg != "" {
		writeOne(wire.Event{Type: "ERROR", Error: &wire.ErrorInfo{Message: msg}})
		return
	}
	c.mu.Lock()
	var fw *framework
	if fi.ID != nil {
		if c.removed[fi.ID.Value] {
			c.mu.Unlock()
			writeOne(wire.Event{Type: "ERROR", Error: &wire.ErrorInfo{Message: "Framework has been removed"}})
			return
		}
		fw = c.frameworks[fi.ID.Value]
	}
	if fw == nil {
		id := ""
		if fi.ID != nil {
			id = fi.ID.Value // unknown to this master: recovered from the info
		} else {
			id = fmt.Sprintf("%s-%04d", c.masterID, c.nextFw)
			c.nextFw++
		}
		fw = &framework{id: id, filters: map[filterKey]filter{}, tasks: map[string]*task{}}
		c.frameworks[id] = fw
	}
	if fw.stream != nil {
		old := fw.stream
		rec, _ := wire.AppendRecord(nil, wire.Event{Type: "ERROR", Error: &wire.ErrorInfo{Message: "Framework failed over"}})
		old.push(rec)
		old.close()
		c.discardOffersLocked(fw, false)
	}
	if fw.failover != nil {
		fw.failover.Stop()
		fw.failover = nil
	}
	fi.ID = &wire.ID{Value: fw.id}
	fw.info = fi
	switch {
	case fi.Has("MULTI_ROLE"):
		fw.roles = append([]string(nil), fi.Roles...)
	case fi.Role != "":
		fw.roles = []string{fi.Role}
	default:
		fw.roles = []string{"*"}
	}
	fw.suppressed = map[string]bool{}
	for _, r := range call.Subscribe.SuppressedRoles {
		fw.suppressed[r] = true
	}
	fw.stream = st
	c.stats.Subscribes++
	hb := c.opts.Heartbeat
	c.sendLocked(fw, wire.Event{Type: "SUBSCRIBED", Subscribed: &wire.Subscribed{
		FrameworkID: wire.ID{Value: fw.id}, HeartbeatIntervalSeconds: wire.Number(hb.Seconds()),
		MasterInfo: c.masterInfoLocked(),
	}})
	c.sendLocked(fw, wire.Event{Type: "HEARTBEAT"})
	for _, t := range fw.tasks {
		t.retry = c.opts.UpdateRetry
		c.forwardLocked(t)
	}
	c.mu.Unlock()
	c.kickAllocator()

	tick := time.NewTicker(hb)
	defer tick.Stop()
	hbRec, _ := wire.AppendRecord(nil, wire.Event{Type: "HEARTBEAT"})
	flush := func() bool {
		for _, rec := range st.take() {
			if _, err := w.Write(rec); err != nil {
				return false
			}
			if fl != nil {
				fl.Flush()
			}
		}
		return true
	}
	defer func() {
		c.mu.Lock()
		if fw.stream == st {
			c.disconnectLocked(fw, st)
		}
		c.mu.Unlock()
	}()
	for {
		select {
		case <-st.wake:
			if !flush() {
				return
			}
		case <-tick.C:
			st.push(hbRec)
		case <-st.done:
			st.mu.Lock()
			aborted := st.aborted
			st.mu.Unlock()
			if aborted {
				panic(http.ErrAbortHandler) // the connection breaks, as with a dead master
			}
			flush()
			return
		case <-r.Context().Done():
			return
		case <-c.ctx.Done():
			panic(http.ErrAbortHandler)
		}
	}
}

// checkFramework is FrameworkInfo validation and authentication; a
// failure goes to the stream as an ERROR event.
func (c *Cluster) checkFramework(fi *wire.FrameworkInfo, r *http.Request) string {
	if fi.Has("MULTI_ROLE") {
		if fi.Role != "" {
			return "'FrameworkInfo.role' must not be set when the framework is MULTI_ROLE capable"
		}
		seen := map[string]bool{}
		for _, role := range fi.Roles {
			if seen[role] {
				return "'FrameworkInfo.roles' contains duplicate items: { " + role + " }"
			}
			seen[role] = true
			if msg := validRole(role); msg != "" {
				return "'FrameworkInfo.roles' contains invalid role: " + msg
			}
		}
	} else {
		if len(fi.Roles) > 0 {
			return "'FrameworkInfo.roles' must not be set when the framework is not MULTI_ROLE capable"
		}
		if fi.Role != "" {
			if msg := validRole(fi.Role); msg != "" {
				return "'FrameworkInfo.role' is not a valid role: " + msg
			}
		}
	}
	if p, _, ok := r.BasicAuth(); ok && len(c.opts.Credentials) > 0 {
		if fi.Principal == "" {
			fi.Principal = p
		} else if fi.Principal != p {
			return fmt.Sprintf("Authenticated principal '%s' does not match principal '%s' set in `FrameworkInfo`", p, fi.Principal)
		}
	}
	return ""
}

func (c *Cluster) masterInfoLocked() *wire.MasterInfo {
	addr := c.addrs[max(c.leader, 0)]
	host, port := splitHostPort(addr)
	return &wire.MasterInfo{
		ID: c.masterID, IP: 0x0100007f, Port: port, PID: "master@" + addr, Hostname: host, Version: "1.11.0",
		Address: &wire.Address{Hostname: host, IP: host, Port: port},
	}
}

func splitHostPort(addr string) (string, int) {
	i := strings.LastIndexByte(addr, ':')
	var p int
	fmt.Sscan(addr[i+1:], &p)
	return addr[:i], p
}

// disconnectLocked handles a closed subscription: offers come back, and
// the failover timer starts.
func (c *Cluster) disconnectLocked(fw *framework, st *stream) {
	if fw.stream != st {
		return
	}
	fw.stream = nil
	c.discardOffersLocked(fw, false)
	d := time.Duration(float64(fw.info.FailoverTimeout) * float64(time.Second))
	if float64(fw.info.FailoverTimeout) > math.MaxInt64/1e9 {
		d = math.MaxInt64
	}
	if d <= 0 {
		c.removeFrameworkLocked(fw)
		return
	}
	fw.failover = time.AfterFunc(d, func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		if fw.stream == nil && c.frameworks[fw.id] == fw {
			c.removeFrameworkLocked(fw)
		}
	})
}

// removeFrameworkLocked removes a framework: its tasks are killed
// without status updates and its id can no longer subscribe.
func (c *Cluster) removeFrameworkLocked(fw *framework) {
	c.discardOffersLocked(fw, false)
	for _, t := range fw.tasks {
		t.stopTimers()
		t.lost = true
		t.signal(syscall.SIGKILL)
		if !t.freed {
			t.agent.used = t.agent.used.sub(t.res)
		}
		delete(t.agent.tasks, t.id)
	}
	fw.tasks = map[string]*task{}
	if fw.stream != nil {
		fw.stream.close()
		fw.stream = nil
	}
	delete(c.frameworks, fw.id)
	c.removed[fw.id] = true
	c.kickAllocator()
}

// sendLocked queues an event on the framework's stream, if connected.
func (c *Cluster) sendLocked(fw *framework, ev wire.Event) bool {
	if fw.stream == nil {
		return false
	}
	rec, err := wire.AppendRecord(nil, ev)
	if err != nil {
		return false
	}
	fw.stream.push(rec)
	return true
}

// call handles every call but SUBSCRIBE, returning the status code and
// an error body.
func (c *Cluster) call(r *http.Request, call *wire.Call) (int, string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	fw := c.frameworks[call.FrameworkID.Value]
	if fw == nil {
		return http.StatusBadRequest, "Framework cannot be found"
	}
	if p, _, ok := r.BasicAuth(); ok && len(c.opts.Credentials) > 0 && fw.info.Principal != "" && p != fw.info.Principal {
		return http.StatusBadRequest, fmt.Sprintf("Authenticated principal '%s' does not match principal '%s' set in `FrameworkInfo`", p, fw.info.Principal)
	}
	if fw.stream == nil {
		return http.StatusForbidden, "Framework is not subscribed"
	}
	sid, ok := r.Header["Mesos-Stream-Id"]
	if !ok || len(sid) == 0 {
		return http.StatusBadRequest, "All non-subscribe calls should include the 'Mesos-Stream-Id' header"
	}
	if sid[0] != fw.stream.id {
		return http.StatusBadRequest, fmt.Sprintf("The stream ID '%s' included in this request didn't match the stream ID currently associated with framework ID %s", sid[0], fw.id)
	}
	switch call.Type {
	case "UNKNOWN":
		return http.StatusNotImplemented, ""
	case "TEARDOWN":
		c.removeFrameworkLocked(fw)
	case "ACCEPT":
		c.acceptLocked(fw, call.Accept.OfferIDs, call.Accept.Operations, call.Accept.Filters)
	case "DECLINE":
		c.acceptLocked(fw, call.Decline.OfferIDs, nil, call.Decline.Filters)
	case "REVIVE":
		if roles, ok := callRoles(fw, call.Revive); ok {
			for _, r := range roles {
				fw.suppressed[r] = false
				for k := range fw.filters {
					if k.role == r {
						delete(fw.filters, k)
					}
				}
			}
			c.kickAllocator()
		}
	case "SUPPRESS":
		if roles, ok := callRoles(fw, call.Suppress); ok {
			for _, r := range roles {
				fw.suppressed[r] = true
			}
		}
	case "KILL":
		c.killLocked(fw, call.Kill)
	case "ACKNOWLEDGE":
		c.ackLocked(fw, call.Acknowledge)
	case "RECONCILE":
		c.reconcileLocked(fw, call.Reconcile.Tasks)
	case "UPDATE_FRAMEWORK":
		fi := call.Update.FrameworkInfo
		if fi == nil || fi.ID == nil || fi.ID.Value != fw.id {
			return http.StatusBadRequest, "Failed to validate scheduler::Call: 'framework_id' differs from 'update_framework.framework_info.id'"
		}
		if fi.Principal != fw.info.Principal {
			return http.StatusBadRequest, "Failed to validate scheduler::Call: Updating 'FrameworkInfo.principal' is unsupported"
		}
		fw.info.FailoverTimeout, fw.info.Capabilities, fw.info.Labels = fi.FailoverTimeout, fi.Capabilities, fi.Labels
		return http.StatusOK, ""
	}
	return http.StatusAccepted, ""
}

// callRoles are the roles a SUPPRESS or REVIVE is about: those it names,
// or every role of the framework when it names none. A call naming a role
// the framework is not subscribed with is dropped (the answer is still
// 202): ok is false.
func callRoles(fw *framework, l *wire.RoleList) (roles []string, ok bool) {
	if l == nil || len(l.Roles) == 0 {
		return fw.roles, true
	}
	for _, r := range l.Roles {
		if !fw.hasRole(r) {
			return nil, false
		}
	}
	return l.Roles, true
}
