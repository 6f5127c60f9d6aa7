package mesos

import (
	"strconv"
	"strings"

	"github.com/sparkhub/sparkhub/spawner/mesos/internal/wire"
)

// reason turns a terminal (or lost) status into a short sentence for
// people: what happened to the server, without Mesos words.
func reason(st wire.TaskStatus, host string) string {
	msg := strings.TrimSpace(st.Message)
	on := ""
	if host != "" {
		on = " (" + host + ")"
	}
	switch st.Reason {
	case "REASON_CONTAINER_LIMITATION_MEMORY":
		return "it ran out of memory"
	case "REASON_CONTAINER_LIMITATION_DISK":
		return "it ran out of disk space"
	case "REASON_CONTAINER_LIMITATION":
		return "it went over its resource limits"
	case "REASON_CONTAINER_PREEMPTED":
		return "the cluster took its machine back for other work"
	case "REASON_MAX_COMPLETION_TIME_REACHED":
		return "it reached its maximum run time"
	case "REASON_AGENT_REMOVED", "REASON_AGENT_DISCONNECTED", "REASON_AGENT_RESTARTED",
		"REASON_AGENT_REMOVED_BY_OPERATOR", "REASON_AGENT_UNKNOWN", "REASON_AGENT_DRAINING":
		return "the machine running it" + on + " was lost"
	case "REASON_CONTAINER_LAUNCH_FAILED":
		return "its container could not start: " + msg
	case "REASON_FRAMEWORK_REMOVED":
		return "the cluster removed the hub's framework, and the server with it"
	case "REASON_EXECUTOR_TERMINATED":
		return "it ended unexpectedly"
	}
	switch st.State {
	case "TASK_FINISHED":
		return "it exited (" + lower(msg, "exited with status 0") + ")"
	case "TASK_FAILED":
		if msg == "" {
			return "it failed"
		}
		return "it failed (" + lower(msg, "") + ")"
	case "TASK_KILLED":
		return "it was stopped"
	case "TASK_ERROR":
		return "the cluster refused it: " + msg
	case "TASK_LOST", "TASK_UNREACHABLE", "TASK_GONE", "TASK_GONE_BY_OPERATOR", "TASK_UNKNOWN", "TASK_DROPPED":
		if st.Reason == "REASON_RECONCILIATION" {
			return "the cluster no longer knows it"
		}
		return "the machine running it" + on + " was lost"
	}
	return "it ended (" + st.State + ")"
}

// lower: "Command exited with status 1" → "command exited with status 1".
func lower(msg, def string) string {
	if msg == "" {
		return def
	}
	return strings.ToLower(msg[:1]) + msg[1:]
}

// exitCode reads the status from "... exited with status N"; -1 when
// there is none.
func exitCode(st wire.TaskStatus) int {
	const k = "exited with status "
	if i := strings.LastIndex(st.Message, k); i >= 0 {
		if n, err := strconv.Atoi(strings.TrimSpace(st.Message[i+len(k):])); err == nil {
			return n
		}
	}
	return -1
}
