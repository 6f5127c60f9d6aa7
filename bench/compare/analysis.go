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
  ratio is the proxy's added latency over tornado's own ~0.5 ms; at 64
  connections the proxy is CPU-bound on two cores it shares with the load
  generator and the upstream. In the proxy's profile, syscalls are ~30 % of
  the CPU; then ` + "`httputil.ReverseProxy`" + `'s ` + "`maxLatencyWriter.delayedFlush`" + ` ~10 %:
  the proxy sets ` + "`FlushInterval: -1`" + `, so every response starts a timer goroutine
  that flushes the headers in their own write, separately from the body (an
  extra wake-up and syscall per request); ~4 % is allocating and zeroing a
  fresh 32 KiB copy buffer per response (no ` + "`BufferPool`" + `), which also feeds the
  GC's ~10 %. The auth check is ~3 % (cached).
- **Per idle websocket.** The Go runtime's gauges (table above) put it at two
  goroutines holding ~23 KiB of stack (the handler's goroutine, already deep
  in net/http and the middleware, keeps relaying one direction) and ~23 KiB
  of live heap: a fresh 4 KiB read buffer on each side (the upgrader sets
  ` + "`ReadBufferSize`" + `, so gorilla does not reuse net/http's hijacked reader), the
  upgrade request, its cloned headers and context, kept alive by the handler
  frame, and two ` + "`websocket.Conn`" + `s; RSS then adds the GC's headroom.
- **Contents PUT + GET of a 10 MB notebook.** About a third of the time is
  SQLite reading the ~17 MB stored value (nbformat's indented layout, then
  base64) through 4 KiB overflow pages, one ` + "`pread`" + ` each, and not only for
  GETs: ` + "`fileMetaCols`" + ` reads ` + "`SUBSTR(content, LENGTH(content) - 1, 2)`" + ` and
  ` + "`created_at`" + ` sits after ` + "`content`" + ` in the row, so even a metadata lookup walks the
  whole overflow chain, and a PUT does two of them (` + "`put`" + ` and ` + "`writeFile`" + `) and
  then reads the file back in full (` + "`writeBytes`" + ` → ` + "`get`" + `). The rest is JSON:
  decoding the request into ` + "`map[string]any`" + `, writing nbformat's layout, and on
  GET parsing the stored notebook back into maps to re-encode it.
- **` + "`GET /hub/api/users`" + `** (meets the goal in the latest run, built after the
  spawner began listing servers with one scan instead of an IN of every
  name; the runs before gave 3.5–4×). In-process without the spawner the list takes
  6 / 55 ms at 1,063 / 10,000 users: ~60 % SQLite row stepping (pure Go),
  ~35 % reflection-based JSON encoding of the 2.5 MB answer.
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
