package main

// analysis is what limits sparkhub where it misses a goal, from CPU
// profiles taken next to these runs and the memory measure's Go runtime
// gauges. It is prose kept with the harness so that a new run writes it
// again; revise it when a fix lands.
const analysis = `### Where sparkhub misses a goal, and what limits it

Profiles: ` + "`go test -run X -bench ProxyGET -cpuprofile p.out ./proxy/`" + `,
` + "`go test -run X -bench ListUsers -cpuprofile u.out ./hub/`" + ` and
` + "`go run ./bench/compare/profile -size 10`" + ` (the contents service saving and
loading the 10 MB notebook in-process on SQLite), read with ` + "`go tool pprof -top -cum`" + `.

- **Proxied/direct HTTP to Jupyter at 1 connection, and the Go echo server at
  64 connections.** With one connection, requests/s is 1 / latency, so the
  ratio is the proxy's added latency over tornado's own ~0.4–0.7 ms; the proxy
  now adds less than the run-to-run noise (it flushes as the upstream writes,
  reuses its copy buffers and keeps its upstream connections). At 64
  connections the proxy is CPU-bound on two cores it shares with wrk and the
  upstream: in its profile, system calls are about a third of the CPU, then
  net/http's own request and response handling; the ratio to CHP moved
  between 4.9× and 7.2× across runs.
- **Websocket echo, proxied.** Bimodal: a round trip takes ~0.02 ms when the
  relay's two goroutines and the peers run hot on the same core, and ~0.1 ms
  when each hop wakes a goroutine on the other core; the median lands on
  whichever the machine's other load favours (0.061 to 0.109 ms in runs of
  nearly the same code). The relay itself copies each message once;
  ` + "`BenchmarkWebsocketRelay`" + ` in-process gives its own cost.
- **Per idle websocket.** 17–20 KiB of RSS across runs (goal 20). The Go
  runtime's gauges (table above) put it at two goroutines with ~8 KiB of
  stack between them and ~9 KiB of live heap: a 1 KiB read buffer on each
  side, two ` + "`websocket.Conn`" + `s, and the upgrade request with its headers and
  context, kept alive by the handler frame; RSS then adds the GC's
  headroom, which is why the hub keeps Go's default GOGC.
- **Contents PUT + GET of a 10 MB notebook.** 145–155 ms through the hub
  across runs, on either side of the goal (1.3 s before this was profiled;
  JupyterHub 700–800 ms),
  ~140 ms in-process (` + "`go test -bench Notebook ./contents/`" + `). A save: reading
  and parsing the 11 MB body (~15 ms; strings are unescaped in place),
  writing nbformat's layout (~12 ms, lines split and escaped in one pass),
  base64 (~6 ms on two cores), and SQLite storing
  the ~15 MB value (~35 ms: the pure-Go SQLite copies it into 64 KiB pages,
  walks the old value's overflow chain to free it, and writes the WAL). A
  load: SQLite reading the value (~25 ms), base64 (~6 ms), parsing (~15 ms)
  and writing the answer while it is sent (~13 ms). What is left is mostly
  the stored format, which pgcontents fixes: base64 of nbformat's indented
  JSON, 1.4× the notebook, so every save and load moves ~15 MB through the
  database and converts it twice; and the garbage collector, with Go's
  default GOGC (a save reuses the buffer of its notebook's text, so a
  10 MB save allocates ~33 MB, not ~43 MB; --memory-limit caps the heap).
- **` + "`GET /hub/api/users`" + `** (9.6–9.9× at 1,063 users and 11.1–11.3× at 10,000
  in the last runs; the ratio follows JupyterHub's own time, 32–76 ms at
  1,063 users across runs, as much as sparkhub's, 3.4–3.9 ms since the list
  is written by hand). In-process
  (` + "`go test -bench ListUsers ./hub/`" + `) 1,063 users take ~3.5 ms and 10,000 ~30 ms,
  of which ~60 % is the pure-Go SQLite driver: stepping rows, and per column
  of every row a mutex and a look-up of the column's declared type. The
  times are read as text and parsed once, and the JSON is written without
  reflection; what is left is the driver, and a cgo SQLite is not an option
  for a single static binary.
- **Spawn to ready.** Nearly all of it is Jupyter's own start (the "alone"
  row; it moves between ~0.55 and ~1 s with the machine's load). The hub's
  share is mostly waiting for its next readiness probe: ` + "`Manager.waitReady`" + `
  backs off 50, 75, 112, 168, 253, 380 ms..., so a server ready at 0.70 s is
  seen at 1.04 s; spawn times cluster on those probe instants (0.66, 1.04,
  1.61 s) rather than spreading out.
- **Hub start with 10,000 users and 2,000 running servers.** Not profiled
  (the hub has no pprof endpoint and the start is a separate process); the
  CPU time above is about half the wall time, so the rest is waiting. Per
  recovered server ` + "`Manager.recoverOne`" + ` reads the log tail before knowing
  whether the server is gone, and ` + "`becomeReady`" + ` writes ` + "`state = running`" + ` in
  its own transaction although the row already says so: 2,000 serialised
  write transactions on SQLite's single connection, under a semaphore of 16.
`
