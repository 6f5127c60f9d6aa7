package main

import (
	"context"
	"fmt"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// load runs one bounded HTTP load with wrk when it is installed (it costs
// the shared cores far less per request than a Go client, leaving them to
// the proxies), with the Go client otherwise.
func (e *env) load(url, auth string, n int) loadResult {
	if e.wrk != "" {
		r, err := wrkLoad(e.wrk, url, auth, n, e.opts.duration)
		if err == nil {
			return r
		}
		e.rep.note("wrk failed (%v); that run used the Go client", err)
	}
	return load(url, auth, n, e.opts.duration)
}

var (
	wrkRPS     = regexp.MustCompile(`Requests/sec:\s+([0-9.]+)`)
	wrkPct     = regexp.MustCompile(`(?m)^\s+(50|99)%\s+([0-9.]+)(us|ms|s)\s*$`)
	wrkNon2xx  = regexp.MustCompile(`Non-2xx or 3xx responses: (\d+)`)
	wrkSockErr = regexp.MustCompile(`Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)`)
)

// wrkLoad runs wrk with one thread and n connections for d.
func wrkLoad(wrk, url, auth string, n int, d time.Duration) (loadResult, error) {
	ctx, cancel := context.WithTimeout(context.Background(), d+30*time.Second)
	defer cancel()
	args := []string{"-t1", "-c" + strconv.Itoa(n), "-d" + strconv.Itoa(int(d.Seconds())) + "s", "--timeout", "10s", "--latency"}
	if auth != "" {
		args = append(args, "-H", "Authorization: "+auth)
	}
	out, err := exec.CommandContext(ctx, wrk, append(args, url)...).CombinedOutput()
	if err != nil {
		return loadResult{}, fmt.Errorf("%v: %s", err, lastLine(string(out)))
	}
	s := string(out)
	m := wrkRPS.FindStringSubmatch(s)
	if m == nil {
		return loadResult{}, fmt.Errorf("no requests/s in wrk's output")
	}
	var r loadResult
	r.rps, _ = strconv.ParseFloat(m[1], 64)
	for _, p := range wrkPct.FindAllStringSubmatch(s, -1) {
		v, _ := strconv.ParseFloat(p[2], 64)
		switch p[3] {
		case "us":
			v /= 1000
		case "s":
			v *= 1000
		}
		if p[1] == "50" {
			r.p50 = v
		} else {
			r.p99 = v
		}
	}
	if m := wrkNon2xx.FindStringSubmatch(s); m != nil {
		r.errs, _ = strconv.Atoi(m[1])
	}
	if m := wrkSockErr.FindStringSubmatch(s); m != nil {
		for _, x := range m[1:] {
			k, _ := strconv.Atoi(x)
			r.errs += k
		}
	}
	if r.errs > 0 {
		// wrk counts failed requests in requests/s; count only the good.
		total := r.rps * d.Seconds()
		r.rps = max(0, total-float64(r.errs)) / d.Seconds()
	}
	return r, nil
}

func wrkVersion(wrk string) string {
	out, _ := exec.Command(wrk, "-v").CombinedOutput()
	return strings.TrimSpace(strings.SplitN(string(out), "\n", 2)[0])
}
