package mesos

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-zookeeper/zk"
	"github.com/sparkhub/sparkhub/spawner/mesos/internal/wire"
)

// zkDetector finds the leading master in ZooKeeper: the json.info_ node
// with the smallest sequence number under the path holds its MasterInfo.
type zkDetector struct {
	servers []string
	path    string
	log     *slog.Logger

	mu   sync.Mutex
	conn *zk.Conn
}

func newZKDetector(raw string, log *slog.Logger) (*zkDetector, error) {
	rest := strings.TrimPrefix(raw, "zk://")
	if strings.Contains(rest, "@") {
		return nil, errors.New("mesos: zk:// URLs with credentials are not supported")
	}
	hosts, path, ok := strings.Cut(rest, "/")
	if !ok || hosts == "" || path == "" {
		return nil, fmt.Errorf("mesos: master %q: want zk://host:2181,host2:2181/path", raw)
	}
	var servers []string
	for _, h := range strings.Split(hosts, ",") {
		if h = strings.TrimSpace(h); h != "" {
			if _, _, err := net.SplitHostPort(h); err != nil {
				h = net.JoinHostPort(h, "2181")
			}
			servers = append(servers, h)
		}
	}
	return &zkDetector{servers: servers, path: "/" + strings.TrimSuffix(path, "/"), log: log}, nil
}

// leader returns the leading master's base URL.
func (z *zkDetector) leader(ctx context.Context) (string, error) {
	z.mu.Lock()
	defer z.mu.Unlock()
	if z.conn == nil || z.conn.State() == zk.StateDisconnected || z.conn.State() == zk.StateExpired {
		if z.conn != nil {
			z.conn.Close()
		}
		conn, _, err := zk.Connect(z.servers, 10*time.Second, zk.WithLogInfo(false))
		if err != nil {
			return "", fmt.Errorf("zookeeper: %w", err)
		}
		z.conn = conn
	}
	children, _, err := z.conn.Children(z.path)
	if err != nil {
		return "", fmt.Errorf("zookeeper: list %s: %w", z.path, err)
	}
	node, ok := leaderNode(children)
	if !ok {
		return "", errors.New("zookeeper: no Mesos master has registered under " + z.path)
	}
	data, _, err := z.conn.Get(z.path + "/" + node)
	if err != nil {
		return "", fmt.Errorf("zookeeper: read %s: %w", node, err)
	}
	return masterURL(data)
}

func (z *zkDetector) close() {
	z.mu.Lock()
	defer z.mu.Unlock()
	if z.conn != nil {
		z.conn.Close()
		z.conn = nil
	}
}

// leaderNode picks the json.info_ child with the smallest sequence
// number; other children (log_replicas, old formats) are skipped.
func leaderNode(children []string) (string, bool) {
	type member struct {
		name string
		seq  uint64
	}
	var ms []member
	for _, c := range children {
		rest, ok := strings.CutPrefix(c, "json.info_")
		if !ok {
			continue
		}
		seq, err := strconv.ParseUint(rest, 10, 64)
		if err != nil {
			continue
		}
		ms = append(ms, member{c, seq})
	}
	if len(ms) == 0 {
		return "", false
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].seq < ms[j].seq })
	return ms[0].name, true
}

// masterURL reads a MasterInfo (Mesos JSON) into the master's base URL.
func masterURL(data []byte) (string, error) {
	var mi wire.MasterInfo
	if err := json.Unmarshal(data, &mi); err != nil {
		return "", fmt.Errorf("zookeeper: master info: %w", err)
	}
	host, port := mi.Hostname, mi.Port
	if a := mi.Address; a != nil {
		if a.IP != "" {
			host = a.IP
		} else if a.Hostname != "" {
			host = a.Hostname
		}
		if a.Port != 0 {
			port = a.Port
		}
	}
	if host == "" && mi.IP != 0 {
		// MasterInfo.ip is the IPv4 address in network byte order.
		host = net.IPv4(byte(mi.IP), byte(mi.IP>>8), byte(mi.IP>>16), byte(mi.IP>>24)).String()
	}
	if host == "" || port == 0 {
		return "", errors.New("zookeeper: master info without an address")
	}
	return "http://" + net.JoinHostPort(host, strconv.Itoa(port)), nil
}
