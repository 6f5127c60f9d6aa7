// Command mesos-emulator runs an emulated Mesos cluster on this machine:
// masters speaking the v1 scheduler API and agents running tasks as
// local processes, DOCKER tasks through an image → command mapping.
//
//	go run ./spawner/mesos/mesostest/mesos-emulator --listen 127.0.0.1:5050 --agents 3 \
//	    --agent-resources 'cpus:4;mem:8192;disk:20000;ports:[31000-31999]' \
//	    --image "sparkhub/pyspark-notebook:3.5=sh $PWD/images/entrypoint.sh" \
//	    --env SPARKHUB_JUPYTER_COMMAND=jupyter-notebook --env SPARK_CONF_DIR=spark-conf
//
// The image's entrypoint fetches each server's tokens from the hub, as in
// the real image (a task carries none), then runs Jupyter.
//
// --agent-resources and --agent-attributes may be repeated: the i-th
// applies to the i-th agent, the last to the rest. Agents given the same
// unreserved ports get disjoint shares of them. As with a Mesos agent,
// "name(role):value" reserves a resource for a role:
// 'cpus:2;mem:2048;cpus(analytics):4;mem(analytics):8192;ports(analytics):[31000-31099]'.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/sparkhub/sparkhub/spawner/mesos/internal/wire"
	"github.com/sparkhub/sparkhub/spawner/mesos/mesostest"
)

type list []string

func (l *list) String() string     { return strings.Join(*l, " ") }
func (l *list) Set(v string) error { *l = append(*l, v); return nil }

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "mesos-emulator:", err)
		os.Exit(2)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("mesos-emulator", flag.ContinueOnError)
	listen := fs.String("listen", "127.0.0.1:5050", "the leading master's address")
	masters := fs.Int("masters", 1, "how many masters (the others take free ports and answer 307)")
	agents := fs.Int("agents", 3, "how many agents")
	var resources, attributes, images, env list
	fs.Var(&resources, "agent-resources", "an agent's resources, e.g. 'cpus:4;mem:8192;disk:20000;ports:[31000-31999]' (repeatable)")
	fs.Var(&attributes, "agent-attributes", "an agent's attributes, e.g. 'rack:r1;zone:a' (repeatable)")
	fs.Var(&images, "image", "IMAGE=COMMAND [ARGS]: what a Docker image runs here (repeatable)")
	fs.Var(&env, "env", "NAME=VALUE added to every task's environment (repeatable)")
	heartbeat := fs.Duration("heartbeat", 15*time.Second, "interval of HEARTBEAT events")
	offerTimeout := fs.Duration("offer-timeout", 0, "rescind offers held longer (0: never)")
	workDir := fs.String("work-dir", "", "where task sandboxes go (default: a temporary folder)")
	logLevel := fs.String("log-level", "info", "debug, info, warn or error")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	if len(resources) == 0 {
		resources = list{"cpus:4;mem:8192;disk:20000;ports:[31000-31999]"}
	}
	opts := mesostest.Options{
		Masters: *masters, Listen: *listen, Heartbeat: *heartbeat, OfferTimeout: *offerTimeout,
		WorkDir: *workDir, Images: map[string][]string{}, Env: map[string]string{}, Logger: log,
	}
	for i := 0; i < *agents; i++ {
		r, reserved, err := parseAgentResources(resources[min(i, len(resources)-1)])
		if err != nil {
			return fmt.Errorf("--agent-resources: %w", err)
		}
		ac := mesostest.AgentConfig{Resources: r, Reserved: reserved}
		if len(attributes) > 0 {
			if ac.Attributes, err = mesostest.ParseAttributes(attributes[min(i, len(attributes)-1)]); err != nil {
				return fmt.Errorf("--agent-attributes: %w", err)
			}
		}
		opts.Agents = append(opts.Agents, ac)
	}
	for _, im := range images {
		name, cmd, ok := strings.Cut(im, "=")
		if !ok || name == "" || strings.TrimSpace(cmd) == "" {
			return errors.New("--image wants IMAGE=COMMAND")
		}
		opts.Images[name] = strings.Fields(cmd)
	}
	for _, kv := range env {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return errors.New("--env wants NAME=VALUE")
		}
		opts.Env[k] = v
	}
	c, err := mesostest.New(opts)
	if err != nil {
		return err
	}
	defer c.Close()
	rs := c.AgentResources()
	for i, id := range c.Agents() {
		args := []any{"n", i + 1, "id", id, "resources", rs[i].String()}
		for role, r := range opts.Agents[i].Reserved {
			args = append(args, "reserved_for_"+role, r.String())
		}
		log.Info("agent", args...)
	}
	log.Info("Mesos emulator ready", "masters", c.URLs())
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	<-ctx.Done()
	log.Info("stopping: every task is killed")
	return nil
}

// parseAgentResources reads an agent's --resources: "name:value" is
// unreserved, "name(role):value" reserved for role.
func parseAgentResources(s string) (wire.Resources, map[string]wire.Resources, error) {
	parts := map[string][]string{}
	for _, part := range strings.Split(s, ";") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		role := "*"
		if i := strings.IndexByte(part, '('); i >= 0 {
			j := strings.IndexByte(part, ')')
			if j < i || j+1 >= len(part) || part[j+1] != ':' {
				return wire.Resources{}, nil, fmt.Errorf("resource %q: want name(role):value", part)
			}
			role, part = part[i+1:j], part[:i]+part[j+1:]
		}
		parts[role] = append(parts[role], part)
	}
	var unreserved wire.Resources
	reserved := map[string]wire.Resources{}
	for role, ps := range parts {
		r, err := wire.ParseResources(strings.Join(ps, ";"))
		if err != nil {
			return wire.Resources{}, nil, err
		}
		if role == "*" {
			unreserved = r
		} else {
			reserved[role] = r
		}
	}
	return unreserved, reserved, nil
}
