package mesostest

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"github.com/sparkhub/sparkhub/spawner/mesos/internal/wire"
)

// healthCheck is the executor's health checker for one task (the
// "emulator must" item 29): after the delay it probes every interval;
// the first healthy result and every unhealthy one are sent as
// TASK_RUNNING with healthy and REASON_TASK_HEALTH_CHECK_STATUS_UPDATED;
// failures before the first success within the grace period (counted
// from the start, so it includes the delay) are ignored; after
// consecutive_failures the task is killed and its terminal update
// carries healthy:false.
func (c *Cluster) healthCheck(t *task, hc wire.HealthCheck, env []string) {
	secs := func(p *float64, def float64) time.Duration {
		v := def
		if p != nil {
			v = *p
		}
		return time.Duration(v * float64(time.Second))
	}
	delay, interval := secs(hc.DelaySeconds, 15), secs(hc.IntervalSeconds, 10)
	timeout, grace := secs(hc.TimeoutSeconds, 20), secs(hc.GracePeriodSeconds, 10)
	maxFailures := uint32(3)
	if hc.ConsecutiveFailures != nil {
		maxFailures = *hc.ConsecutiveFailures
	}
	if interval <= 0 {
		interval = time.Second
	}
	start := time.Now()
	healthyOnce := false
	var failures uint32
	wait := delay
	for {
		if !c.sleepUnlessEnded(t, wait) {
			return
		}
		wait = interval
		ok := probe(hc, timeout, env)
		c.mu.Lock()
		if t.ended || t.lost || t.killed {
			c.mu.Unlock()
			return
		}
		switch {
		case ok:
			failures = 0
			if !healthyOnce {
				healthyOnce = true
				c.updateLocked(t, c.healthStatus(t, true))
			}
		case !healthyOnce && time.Since(start) < grace:
			// Still starting: not counted.
		default:
			failures++
			c.updateLocked(t, c.healthStatus(t, false))
			if maxFailures > 0 && failures >= maxFailures {
				t.unhealthy = true
				c.killUnhealthyLocked(t)
				c.mu.Unlock()
				return
			}
		}
		c.mu.Unlock()
	}
}

// sleepUnlessEnded waits d, and reports whether the task still runs.
func (c *Cluster) sleepUnlessEnded(t *task, d time.Duration) bool {
	deadline := time.Now().Add(d)
	for {
		c.mu.Lock()
		gone := t.ended || t.lost || t.killed
		c.mu.Unlock()
		if gone {
			return false
		}
		left := time.Until(deadline)
		if left <= 0 {
			return true
		}
		time.Sleep(min(left, 50*time.Millisecond))
	}
}

func (c *Cluster) healthStatus(t *task, healthy bool) wire.TaskStatus {
	st := c.status(t, "TASK_RUNNING", "SOURCE_EXECUTOR", "REASON_TASK_HEALTH_CHECK_STATUS_UPDATED", "")
	st.Healthy = &healthy
	return st
}

// killUnhealthyLocked kills a task that failed its health check as the
// command executor does: SIGTERM, then SIGKILL after the kill policy's
// grace; its end is reported as TASK_KILLED.
func (c *Cluster) killUnhealthyLocked(t *task) {
	t.killed = true
	grace := 3 * time.Second
	if kp := t.info.KillPolicy; kp != nil && kp.GracePeriod != nil {
		grace = time.Duration(kp.GracePeriod.Nanoseconds)
	}
	t.signal(syscall.SIGTERM)
	t.killTimer = time.AfterFunc(grace, func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		t.signal(syscall.SIGKILL)
	})
}

// probe runs one check; 200-399 is healthy for HTTP (redirects followed).
func probe(hc wire.HealthCheck, timeout time.Duration, env []string) bool {
	ctx := context.Background()
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	switch hc.Type {
	case "HTTP":
		if hc.HTTP == nil {
			return false
		}
		scheme := hc.HTTP.Scheme
		if scheme == "" {
			scheme = "http"
		}
		path := hc.HTTP.Path
		if !strings.HasPrefix(path, "/") {
			path = "/" + path
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("%s://127.0.0.1:%d%s", scheme, hc.HTTP.Port, path), nil)
		if err != nil {
			return false
		}
		client := &http.Client{Transport: &http.Transport{Proxy: nil, TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
		resp, err := client.Do(req)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode >= 200 && resp.StatusCode < 400
	case "TCP":
		if hc.TCP == nil {
			return false
		}
		conn, err := (&net.Dialer{}).DialContext(ctx, "tcp", fmt.Sprintf("127.0.0.1:%d", hc.TCP.Port))
		if err != nil {
			return false
		}
		conn.Close()
		return true
	case "COMMAND":
		if hc.Command == nil || hc.Command.Value == nil {
			return false
		}
		var cmd *exec.Cmd
		if hc.Command.Shell != nil && !*hc.Command.Shell {
			cmd = exec.CommandContext(ctx, *hc.Command.Value, hc.Command.Arguments...)
		} else {
			cmd = exec.CommandContext(ctx, "/bin/sh", "-c", *hc.Command.Value)
		}
		cmd.Env = env
		return cmd.Run() == nil
	}
	return false
}
