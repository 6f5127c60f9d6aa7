package main

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"time"
)

// report collects the summary table, detail tables and notes.
type report struct {
	summary [][]string // measure, sparkhub, JupyterHub + CHP, ratio, goal, met
	details []string
	notes   []string
}

func (r *report) row(cells ...string) { r.summary = append(r.summary, cells) }

func (r *report) detail(title string, header []string, rows [][]string) {
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n\n| %s |\n|%s\n", title, strings.Join(header, " | "), strings.Repeat("---|", len(header)))
	for _, row := range rows {
		fmt.Fprintf(&b, "| %s |\n", strings.Join(row, " | "))
	}
	r.details = append(r.details, b.String())
}

func (r *report) note(format string, args ...any) {
	r.notes = append(r.notes, fmt.Sprintf(format, args...))
}

func met(ok bool) string {
	if ok {
		return "yes"
	}
	return "**no**"
}

func numCPU() int { return runtime.NumCPU() }

func (r *report) markdown(e *env) string {
	var b strings.Builder
	b.WriteString("## Side by side\n\n")
	b.WriteString("sparkhub and JupyterHub 3.0 with configurable-http-proxy (CHP), measured\n")
	b.WriteString("by `make bench` (harness: `bench/compare`) in the same run on the same\n")
	b.WriteString("machine, both on loopback with password logins and local Jupyter servers.\n")
	b.WriteString("JupyterHub runs the shared baseline config adapted to a temp dir and free\n")
	b.WriteString("ports; sparkhub its built binary with SQLite and the local spawner. HTTP\n")
	b.WriteString("load comes from wrk when installed (named below), everything else from Go\n")
	b.WriteString("clients in the harness. Targets\n")
	b.WriteString("are interleaved round by round where a measure repeats; medians are over\n")
	b.WriteString("requests or round trips, ranges are min–max (of rounds for requests/s).\n")
	fmt.Fprintf(&b, "Run of %s.\n\n", time.Now().UTC().Format("2006-01-02 15:04 UTC"))
	for _, v := range e.versions {
		fmt.Fprintf(&b, "- %s\n", v)
	}
	fmt.Fprintf(&b, "- load average (1, 5, 15 min) when the run began: %s; when it ended: %s\n", e.load0, loadAvg())
	b.WriteString("\nThe machine is shared with other work (tests, builds) while this runs:\n")
	b.WriteString("differences under ~25% are noise; the ratios, taken in the same run, are\n")
	b.WriteString("steadier than the absolute numbers.\n\n")
	b.WriteString("| measure | sparkhub | JupyterHub + CHP | ratio | goal | met |\n|---|---|---|---|---|---|\n")
	for _, row := range r.summary {
		fmt.Fprintf(&b, "| %s |\n", strings.Join(row, " | "))
	}
	b.WriteString("\n")
	for _, d := range r.details {
		b.WriteString(d)
		b.WriteString("\n")
	}
	b.WriteString(analysis)
	b.WriteString("\n")
	if len(r.notes) > 0 {
		b.WriteString("Notes from this run:\n\n")
		for _, n := range r.notes {
			fmt.Fprintf(&b, "- %s\n", n)
		}
		b.WriteString("\n")
	}
	return b.String()
}

// writeSection replaces (or appends) the "## Side by side" section of
// path, leaving every other section as it is.
func writeSection(path, section string) error {
	raw, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	s := string(raw)
	const head = "## Side by side\n"
	start := strings.Index(s, head)
	if start < 0 {
		s = strings.TrimRight(s, "\n") + "\n\n" + section
	} else {
		end := len(s)
		if i := strings.Index(s[start+len(head):], "\n## "); i >= 0 {
			end = start + len(head) + i + 1
		}
		s = s[:start] + section + s[end:]
	}
	s = strings.TrimRight(s, "\n") + "\n"
	return os.WriteFile(path, []byte(s), 0o644)
}
