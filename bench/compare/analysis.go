package main

// analysis is what limits sparkhub where it misses a goal, from profiles
// taken next to these runs (pprof on the Go benchmarks named, and the
// harness's own memory readings). It is prose kept with the harness so
// that a new run writes it again; revise it when a fix lands.
const analysis = `### Where sparkhub misses a goal, and what limits it

- **Proxied/direct HTTP to Jupyter at 1 connection (goal ≥ 0.90, +0.15 ms).**
  One connection means requests/s is 1 / latency, so the ratio is the added
  latency over tornado's own ~0.6 ms. On two shared cores the load client,
  the hub and tornado take turns on the same CPUs, and each proxied request
  is two loopback round trips and two extra wake-ups. The CPU profile of
  ` + "`go test -run X -bench ProxyGET -cpuprofile`" + ` in ` + "`proxy/`" + ` puts the proxy's own
  share in ` + "`httputil.ReverseProxy`" + `'s per-request work (cloning and filtering
  headers, ` + "`Rewrite`" + `, the upstream transport's write and read loops, which cost
  two goroutine hand-offs per request) and in the syscalls themselves; the
  token and user lookups are cached. The Go echo upstream shows the relay
  itself is 4–6× faster than CHP, so what is left against Jupyter is mostly
  scheduling on a busy 2-core machine rather than code.
- **Per idle websocket (goal ≤ 20 KiB).** Each relayed websocket holds two
  goroutines blocked in reads (stacks grown to 8 KiB each), a 4 KiB read
  buffer on each side (the upgrader sets ` + "`ReadBufferSize`" + `, so gorilla allocates
  a fresh reader instead of reusing net/http's hijacked one), two ` + "`websocket.Conn`" + `s, the cloned
  request headers and context of the upgrade request, and the Go heap's
  headroom (GOGC=100 lets the heap reach twice the live data before a
  collection, and RSS follows the peak). CHP, in one Node process, pays for
  sockets and small objects only.
- **Contents PUT + GET of a 10 MB notebook (goal ≤ 150 ms).** The time is in
  JSON: the service decodes the whole request into generic values, writes it
  back in nbformat's indented layout, base64-encodes it for the pgcontents
  column (about 17 MB stored), and on GET reverses all of it; SQLite's single
  writer and the pure-Go driver add the copy of a 17 MB blob. The database
  itself is a small share (see the Contents section above: the same costs
  appear with PostgreSQL).
- **` + "`GET /hub/api/users`" + ` at 10,000 users (goal ≥ 10× JupyterHub).** In-process
  (` + "`go test -run X -bench ListUsers ./hub/`" + `, no spawner) the list takes about a
  third of what it takes here; the rest is the second query for the users'
  servers (` + "`userModels`" + ` asks the spawner's store for every listed name, even
  though only live servers are in the manager's memory), reflection-based
  JSON encoding of 10,000 nested models (about 2.5 MB), and writing it
  through the proxy on the shared cores.
`
