package main

import (
	"errors"
	"flag"
	"fmt"
	"strings"
	"time"

	"github.com/sparkhub/sparkhub/images"
	"github.com/sparkhub/sparkhub/spawner/mesos"
)

// MesosConfig is what `--spawner mesos` is told: the --mesos-* flags.
// The resources and constraints here are every server's until the
// profile catalog gives them per profile.
type MesosConfig struct {
	Master          string
	Principal       string
	SecretFile      string // the secret itself never sits in the config
	Role            string
	User            string
	FrameworkName   string
	FailoverTimeout time.Duration
	RefuseSeconds   float64
	Network         string
	Containerizer   string
	Image           string
	CPUs            float64
	Mem             float64
	Disk            float64
	GPUs            float64
	Constraints     string
	// Spark's drivers on the cluster: the master they register with
	// (default from Master), the user and credentials of their
	// frameworks, which are Spark's own, never the hub's.
	SparkMaster     string
	SparkUser       string
	SparkPrincipal  string
	SparkSecretFile string // a path on every agent; the hub never reads it
	// ShufflePort is the agents' Spark shuffle service's port, which
	// no server's task is given.
	ShufflePort int
	// SparkApps is how many Spark applications a server may run at once.
	SparkApps int
}

// mesosDefaults are the --mesos-* flags' defaults: the framework's own
// (package mesos) and the battery-included image.
func mesosDefaults() MesosConfig {
	return MesosConfig{
		Role: mesos.DefaultRole, FrameworkName: mesos.DefaultFrameworkName,
		FailoverTimeout: mesos.DefaultFailoverTimeout, RefuseSeconds: mesos.DefaultRefuseSeconds,
		Network: mesos.DefaultNetwork, Containerizer: mesos.DefaultContainerizer,
		Image: images.DefaultImage, CPUs: mesos.DefaultCPUs, Mem: mesos.DefaultMem,
		SparkUser: "nobody", ShufflePort: 7337, SparkApps: mesos.DefaultSparkApps,
	}
}

func (m *MesosConfig) flags(fs *flag.FlagSet) {
	fs.StringVar(&m.Master, "mesos-master", m.Master, "the Mesos master: http://m1:5050,http://m2:5050 or zk://h1:2181,h2:2181/mesos")
	fs.StringVar(&m.Principal, "mesos-principal", m.Principal, "the framework's principal, for Basic authentication")
	fs.StringVar(&m.SecretFile, "mesos-secret-file", m.SecretFile, "file holding the principal's secret")
	fs.StringVar(&m.Role, "mesos-role", m.Role, "the role the framework takes offers for")
	fs.StringVar(&m.User, "mesos-user", m.User, "the user tasks run as on the agents (default: the hub's user)")
	fs.StringVar(&m.FrameworkName, "mesos-framework-name", m.FrameworkName, "the framework's name in Mesos")
	fs.DurationVar(&m.FailoverTimeout, "mesos-failover-timeout", m.FailoverTimeout, "how long Mesos keeps servers running while the hub is away")
	fs.Float64Var(&m.RefuseSeconds, "mesos-refuse-seconds", m.RefuseSeconds, "how long a declined offer is not offered again")
	fs.StringVar(&m.Network, "mesos-network", m.Network, "container network: HOST or BRIDGE (host port = container port)")
	fs.StringVar(&m.Containerizer, "mesos-containerizer", m.Containerizer, "DOCKER, or MESOS (the Docker image under the Mesos containerizer; needed for GPUs)")
	fs.StringVar(&m.Image, "mesos-image", m.Image, "the servers' Docker image")
	fs.Float64Var(&m.CPUs, "mesos-cpus", m.CPUs, "CPUs per server")
	fs.Float64Var(&m.Mem, "mesos-mem", m.Mem, "memory per server, MiB")
	fs.Float64Var(&m.Disk, "mesos-disk", m.Disk, "disk per server, MiB (0: none asked)")
	fs.Float64Var(&m.GPUs, "mesos-gpus", m.GPUs, "GPUs per server (needs --mesos-containerizer MESOS)")
	fs.StringVar(&m.SparkMaster, "spark-mesos-master", m.SparkMaster, "the Mesos master Spark's drivers register with: http://host:5050 or zk://h1:2181,h2:2181/mesos (default: --mesos-master, which must then be one http:// master or zk://)")
	fs.StringVar(&m.SparkUser, "spark-user", m.SparkUser, "the user Spark's frameworks register as and executors run as on the agents; it must exist on every agent")
	fs.StringVar(&m.SparkPrincipal, "spark-mesos-principal", m.SparkPrincipal, "Spark's own principal on a cluster with framework authentication (not the hub's: analysts can read it)")
	fs.StringVar(&m.SparkSecretFile, "spark-mesos-secret-file", m.SparkSecretFile, "path on every agent of the file holding Spark's principal's secret, mounted read-only into each server")
	fs.IntVar(&m.SparkApps, "spark-apps", m.SparkApps, "how many Spark applications (kernels with a SparkContext) a server may run at once; its task holds 4 ports for each")
	fs.IntVar(&m.ShufflePort, "spark-shuffle-port", m.ShufflePort, "the agents' Spark shuffle service port, never given to a server (0: none)")
	fs.StringVar(&m.Constraints, "mesos-constraints", m.Constraints, `Marathon constraints: [["hostname","UNIQUE"]] or "hostname:MAX_PER:4;rack:LIKE:r[12]"`)
}

// finish checks the settings when the Mesos spawner is chosen.
func (m *MesosConfig) finish() error {
	if m.Master == "" {
		return errors.New("--spawner mesos needs --mesos-master")
	}
	m.Network = strings.ToUpper(m.Network)
	if m.Network != "HOST" && m.Network != "BRIDGE" {
		return fmt.Errorf("--mesos-network must be HOST or BRIDGE, not %q", m.Network)
	}
	m.Containerizer = strings.ToUpper(m.Containerizer)
	if m.Containerizer != "DOCKER" && m.Containerizer != "MESOS" {
		return fmt.Errorf("--mesos-containerizer must be DOCKER or MESOS, not %q", m.Containerizer)
	}
	if m.GPUs > 0 && m.Containerizer != "MESOS" {
		return errors.New("--mesos-gpus needs --mesos-containerizer MESOS")
	}
	if m.CPUs <= 0 || m.Mem <= 0 || m.Disk < 0 || m.GPUs < 0 || m.GPUs != float64(int(m.GPUs)) {
		return errors.New("--mesos-cpus and --mesos-mem must be positive, --mesos-disk and --mesos-gpus not negative, and GPUs whole")
	}
	if m.FailoverTimeout <= 0 {
		return errors.New("--mesos-failover-timeout must be positive")
	}
	if m.SecretFile != "" && m.Principal == "" {
		return errors.New("--mesos-secret-file needs --mesos-principal")
	}
	if cs, err := images.ParseConstraints(m.Constraints); err == nil {
		if err := images.CheckSparkConstraints(cs); err != nil {
			return fmt.Errorf("--mesos-constraints: %w", err)
		}
	}
	if _, err := images.SparkMaster(m.sparkMaster()); err != nil {
		return fmt.Errorf("--spark-mesos-master (default --mesos-master) %w", err)
	}
	if m.SparkSecretFile != "" && (m.SparkPrincipal == "" || !strings.HasPrefix(m.SparkSecretFile, "/")) {
		return errors.New("--spark-mesos-secret-file needs --spark-mesos-principal and an absolute path")
	}
	if m.SparkPrincipal != "" && m.SparkPrincipal == m.Principal {
		return errors.New("--spark-mesos-principal must not be the hub's --mesos-principal: analysts can read what their server holds")
	}
	if m.SparkSecretFile != "" && m.SparkSecretFile == m.SecretFile {
		return errors.New("--spark-mesos-secret-file must not be the hub's --mesos-secret-file: analysts can read what their server holds")
	}
	if m.SparkApps < 1 || m.SparkApps > 16 {
		return fmt.Errorf("--spark-apps must be from 1 to 16, not %d", m.SparkApps)
	}
	if m.ShufflePort < 0 || m.ShufflePort > 65535 {
		return fmt.Errorf("--spark-shuffle-port must be a port, not %d", m.ShufflePort)
	}
	return nil
}

// sparkMaster is what Spark's drivers are given.
func (m *MesosConfig) sparkMaster() string {
	if m.SparkMaster != "" {
		return m.SparkMaster
	}
	return m.Master
}

// cluster is where the servers' Spark runs.
func (m *MesosConfig) cluster() *images.Cluster {
	return &images.Cluster{Master: m.sparkMaster(), Image: m.Image, Role: m.Role,
		User: m.SparkUser, Principal: m.SparkPrincipal, SecretFile: m.SparkSecretFile, ShufflePort: m.ShufflePort}
}
