package images

import (
	"errors"
	"fmt"
	"math"
	"path"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/sparkhub/sparkhub/spawner"
)

// The environment sparkhub_contents.sparkconf renders into Spark's
// configuration (run by the image's entrypoint and by the server
// extension).
// ProfileEnv renders the first group from a profile, before the server
// has a machine; the Mesos backend sets the second group from the offer
// it accepted (the tests' AgentEnv renders the same from an Agent).
const (
	// From the profile.
	EnvProfile             = "SPARKHUB_PROFILE"              // the profile's name
	EnvProfileCPUs         = "SPARKHUB_PROFILE_CPUS"         // the notebook's cores (local[N] without a cluster)
	EnvProfileMem          = "SPARKHUB_PROFILE_MEM"          // the notebook's MiB
	EnvSparkMaster         = "SPARKHUB_SPARK_MASTER"         // mesos://...; "" runs Spark inside the server
	EnvSparkExecutorImage  = "SPARKHUB_SPARK_EXECUTOR_IMAGE" // spark.mesos.executor.docker.image
	EnvSparkRole           = "SPARKHUB_SPARK_ROLE"           // spark.mesos.role
	EnvSparkConstraints    = "SPARKHUB_SPARK_CONSTRAINTS"    // spark.mesos.constraints, Spark's syntax
	EnvSparkCoresMax       = "SPARKHUB_SPARK_CORES_MAX"      // spark.cores.max
	EnvSparkExecutorCores  = "SPARKHUB_SPARK_EXECUTOR_CORES" // spark.executor.cores
	EnvSparkExecutorMemory = "SPARKHUB_SPARK_EXECUTOR_MEMORY"
	EnvSparkDriverMemory   = "SPARKHUB_SPARK_DRIVER_MEMORY"
	EnvSparkDynamic        = "SPARKHUB_SPARK_DYNAMIC_ALLOCATION" // "true" or "false"
	EnvSparkShuffleService = "SPARKHUB_SPARK_SHUFFLE_SERVICE"    // "true" or "false"
	EnvSparkMinExecutors   = "SPARKHUB_SPARK_MIN_EXECUTORS"
	EnvSparkMaxExecutors   = "SPARKHUB_SPARK_MAX_EXECUTORS"
	// EnvSparkShuffleDir is the agents' folder for shuffle files, which
	// executors and the agent's external shuffle service share
	// (default /var/lib/sparkhub/shuffle; deploy/ mounts the same).
	EnvSparkShuffleDir = "SPARKHUB_SPARK_SHUFFLE_DIR"
	// EnvSparkShufflePort is the agents' shuffle service's port
	// (--spark-shuffle-port) when not Spark's default 7337.
	EnvSparkShufflePort = "SPARKHUB_SPARK_SHUFFLE_PORT"
	// EnvSparkConf holds the profile's other Spark settings, one
	// "key value" line each, sorted by key.
	EnvSparkConf = "SPARKHUB_SPARK_CONF"
	// EnvSparkVolumes is the profile's spark.mesos.executor.docker.volumes,
	// which sparkconf merges with the shuffle folder's mount.
	EnvSparkVolumes = "SPARKHUB_SPARK_VOLUMES"
	// EnvSparkCachedIdleTimeout is
	// spark.dynamicAllocation.cachedExecutorIdleTimeout (default
	// DefaultCachedIdleTimeout: Spark's own keeps an executor holding
	// cached data forever).
	EnvSparkCachedIdleTimeout = "SPARKHUB_SPARK_CACHED_IDLE_TIMEOUT"
	// EnvSparkForcePull is spark.mesos.executor.docker.forcePullImage:
	// "true" unless the executor image is pinned by digest, so that
	// executors run the build the tag names now, as the server does.
	EnvSparkForcePull = "SPARKHUB_SPARK_FORCE_PULL"
	// EnvSparkPrincipal and EnvSparkSecretFile are
	// spark.mesos.principal and spark.mesos.secret.file: Spark's own
	// principal on a cluster with framework authentication (--spark-
	// mesos-principal, --spark-mesos-secret-file), never the hub's.
	EnvSparkPrincipal  = "SPARKHUB_SPARK_PRINCIPAL"
	EnvSparkSecretFile = "SPARKHUB_SPARK_SECRET_FILE"
	// EnvSparkUser is the user Spark's framework registers as on Mesos
	// (--spark-user); Spark reads it itself.
	EnvSparkUser = "SPARK_USER"

	// From the agent and the task's ports (the names spawner/mesos sets).
	EnvAgentHost             = "SPARKHUB_AGENT_HOST"     // spark.driver.host
	EnvAgentHostname         = "SPARKHUB_AGENT_HOSTNAME" // for people; not rendered
	EnvSparkBindAddress      = "SPARKHUB_SPARK_BIND_ADDRESS"
	EnvSparkDriverPort       = "SPARKHUB_SPARK_DRIVER_PORT"
	EnvSparkBlockManagerPort = "SPARKHUB_SPARK_BLOCKMANAGER_PORT"
	EnvSparkUIPort           = "SPARKHUB_SPARK_UI_PORT"
	// EnvSparkPorts are the task's sets of ports, one for each Spark
	// application the server may run at once ("driver,blockmanager,ui,
	// libprocess" sets, space-separated; the first is the ports above).
	EnvSparkPorts              = "SPARKHUB_SPARK_PORTS"
	EnvLibprocessIP            = "LIBPROCESS_IP"
	EnvLibprocessPort          = "LIBPROCESS_PORT"
	EnvLibprocessAdvertiseIP   = "LIBPROCESS_ADVERTISE_IP"
	EnvLibprocessAdvertisePort = "LIBPROCESS_ADVERTISE_PORT"
)

// Defaults for what a profile's spark settings leave out.
const (
	DefaultMaxExecutors      = 10
	DefaultMinExecutors      = 0
	DefaultCachedIdleTimeout = "30min"
	// DefaultShuffleDir is the agents' folder for shuffle files when
	// SPARKHUB_SPARK_SHUFFLE_DIR is unset (sparkconf's default too).
	DefaultShuffleDir = "/var/lib/sparkhub/shuffle"
)

// Cluster is what the hub knows of where Spark's executors run.
type Cluster struct {
	// Master is where Spark's drivers register: the hub's
	// --spark-mesos-master, else its --mesos-master, as SparkMaster
	// accepts it ("http://m1:5050" or "zk://h1:2181,h2:2181/mesos");
	// "" runs Spark inside the server.
	Master string
	// User is the user Spark's framework registers as, which must exist
	// on every agent (--spark-user).
	User string
	// Principal and SecretFile are Spark's own credentials on a cluster
	// with framework authentication (--spark-mesos-principal, and the
	// path on every agent of its secret, mounted read-only into each
	// server); never the hub's, since an analyst can read what their
	// server holds.
	Principal, SecretFile string
	// Image is the executor image when the profile names none (the
	// hub's default image).
	Image string
	// Role is the framework's role (--mesos-role), which a profile
	// without a role runs its server under, and so its executors.
	Role string
	// ShufflePort is the agents' shuffle service's port
	// (--spark-shuffle-port); 0 or 7337 leaves Spark's default.
	ShufflePort int
}

// SparkMaster turns the hub's --mesos-master into Spark's master URL.
// Spark's driver speaks libprocess to one master, which does not
// redirect it to the leader (a follower drops it and the driver waits
// forever), so of several masters Spark needs ZooKeeper; and libmesos
// in the image has no TLS, so an https:// master is refused.
func SparkMaster(mesosMaster string) (string, error) {
	m := strings.TrimSpace(mesosMaster)
	switch {
	case m == "":
		return "", nil
	case strings.HasPrefix(m, "zk://"):
		return "mesos://" + m, nil
	case strings.HasPrefix(m, "https://"), strings.HasPrefix(m, "mesos://https://"):
		return "", fmt.Errorf("%q: Spark's driver (libmesos) speaks no TLS; give Spark an http:// master or a zk:// URL with --spark-mesos-master", m)
	case strings.Contains(m, ","):
		return "", fmt.Errorf("%q: Spark's driver registers with one master and is not redirected to the leader; with several masters give Spark their ZooKeeper with --spark-mesos-master zk://host:2181/mesos", m)
	case strings.HasPrefix(m, "mesos://"):
		return m, nil
	}
	host := strings.TrimRight(strings.TrimPrefix(m, "http://"), "/")
	if host == "" || strings.ContainsAny(host, "/ ") {
		return "", fmt.Errorf("%q is not a Mesos master: want http://host:5050 or zk://host:2181/mesos", m)
	}
	return "mesos://" + host, nil
}

// ProfileEnv is the profile's part of a server's environment: its env,
// and its Spark sizes, role, constraints and settings for the
// sparkconf to render. Settings the profile leaves out get defaults:
// executors the size of the notebook (cores rounded down, at least 1),
// dynamic allocation with the external shuffle service from 0 to
// DefaultMaxExecutors executors, spark.cores.max = max executors ×
// executor cores, and half the notebook's memory for the driver.
func ProfileEnv(p Profile, c Cluster) map[string]string {
	env := map[string]string{}
	for k, v := range p.Env {
		env[k] = v
	}
	spark := map[string]string{}
	for k, v := range p.Spark {
		spark[k] = v
	}
	take := func(key string) (string, bool) {
		v, ok := spark[key]
		delete(spark, key)
		return v, ok
	}
	num := func(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

	env[EnvProfile] = p.Name
	env[EnvProfileCPUs] = num(p.CPUs)
	env[EnvProfileMem] = num(math.Floor(p.Mem))
	// The hub refuses to start with a master Spark cannot take.
	env[EnvSparkMaster], _ = SparkMaster(c.Master)
	if c.ShufflePort > 0 && c.ShufflePort != 7337 {
		env[EnvSparkShufflePort] = strconv.Itoa(c.ShufflePort)
	}
	if strings.HasPrefix(env[EnvSparkMaster], "mesos://") {
		if c.User != "" {
			env[EnvSparkUser] = c.User
		}
		if c.Principal != "" {
			env[EnvSparkPrincipal] = c.Principal
		}
		if c.SecretFile != "" {
			env[EnvSparkSecretFile] = c.SecretFile
		}
	}
	if v, ok := take("spark.master"); ok {
		// Spark in the server, or a standalone cluster the profile
		// names, wherever the server itself runs.
		env[EnvSparkMaster] = v
	}

	image := p.Image
	if v, ok := take("spark.mesos.executor.docker.image"); ok {
		image = v
	}
	if image == "" {
		image = c.Image
	}
	env[EnvSparkExecutorImage] = image
	force := strconv.FormatBool(!strings.Contains(image, "@sha256:"))
	if v, ok := take("spark.mesos.executor.docker.forcePullImage"); ok {
		force = strings.ToLower(v)
	}
	env[EnvSparkForcePull] = force
	if v, ok := take("spark.mesos.executor.docker.volumes"); ok {
		env[EnvSparkVolumes] = v
	}
	idle := DefaultCachedIdleTimeout
	if v, ok := take("spark.dynamicAllocation.cachedExecutorIdleTimeout"); ok {
		idle = v
	}
	env[EnvSparkCachedIdleTimeout] = idle

	role := p.Role
	if role == "" {
		role = c.Role
	}
	if v, ok := take("spark.mesos.role"); ok {
		role = v
	}
	env[EnvSparkRole] = role

	constraints := SparkConstraints(p.Constraints)
	if v, ok := take("spark.mesos.constraints"); ok {
		constraints = v
	}
	env[EnvSparkConstraints] = constraints

	execCores := int64(max(1, math.Floor(p.CPUs)))
	if v, ok := take("spark.executor.cores"); ok {
		execCores, _ = strconv.ParseInt(v, 10, 64)
	}
	env[EnvSparkExecutorCores] = strconv.FormatInt(execCores, 10)

	// A profile without memory of its own (the local catalog's) leaves
	// Spark's defaults.
	execMem, driverMem := "", ""
	if p.Mem > 0 {
		execMem = fmt.Sprintf("%dm", int64(max(512, math.Floor(p.Mem))))
		driverMem = fmt.Sprintf("%dm", int64(max(512, math.Floor(p.Mem/2))))
	}
	if v, ok := take("spark.executor.memory"); ok {
		execMem = v
	}
	env[EnvSparkExecutorMemory] = execMem

	if v, ok := take("spark.driver.memory"); ok {
		driverMem = v
	}
	env[EnvSparkDriverMemory] = driverMem

	dynamic := "true"
	if v, ok := take("spark.dynamicAllocation.enabled"); ok {
		dynamic = strings.ToLower(v)
	}
	env[EnvSparkDynamic] = dynamic
	shuffle := dynamic
	if v, ok := take("spark.shuffle.service.enabled"); ok {
		shuffle = strings.ToLower(v)
	}
	env[EnvSparkShuffleService] = shuffle

	minExec := strconv.Itoa(DefaultMinExecutors)
	if v, ok := take("spark.dynamicAllocation.minExecutors"); ok {
		minExec = v
	}
	env[EnvSparkMinExecutors] = minExec

	coresMax, haveCoresMax := take("spark.cores.max")
	maxExec, haveMaxExec := take("spark.dynamicAllocation.maxExecutors")
	switch {
	case !haveMaxExec && haveCoresMax:
		n, _ := strconv.ParseInt(coresMax, 10, 64)
		maxExec = strconv.FormatInt(max(1, n/execCores), 10)
	case !haveMaxExec:
		maxExec = strconv.Itoa(DefaultMaxExecutors)
	}
	if !haveCoresMax {
		n, _ := strconv.ParseInt(maxExec, 10, 64)
		coresMax = strconv.FormatInt(n*execCores, 10)
	}
	env[EnvSparkMaxExecutors] = maxExec
	env[EnvSparkCoresMax] = coresMax

	var lines []string
	for k, v := range spark {
		lines = append(lines, k+" "+v)
	}
	sort.Strings(lines)
	env[EnvSparkConf] = strings.Join(lines, "\n")
	return env
}

var literalAlternativesRE = regexp.MustCompile(`^[A-Za-z0-9_.\-]+(\|[A-Za-z0-9_.\-]+)*$`)

// sparkValueRE is a value spark.mesos.constraints can hold: Spark splits
// the setting on ';', ':' and ',' and trims spaces.
var sparkValueRE = regexp.MustCompile(`^[^;:,\s]+$`)

// SparkConstraints turns the profile's Marathon constraints into
// spark.mesos.constraints ("attr:v1,v2;attr2:"), for the executors.
func SparkConstraints(cs []spawner.Constraint) string {
	s, _, _ := sparkConstraints(cs)
	return s
}

// CheckSparkConstraints says why cs cannot be Spark's executors'
// constraints (constraints on one attribute with no value in common, a
// value Spark's syntax cannot hold), or nil.
func CheckSparkConstraints(cs []spawner.Constraint) error {
	if _, _, problems := sparkConstraints(cs); len(problems) > 0 {
		return errors.New(strings.Join(problems, "; "))
	}
	return nil
}

// sparkConstraints is SparkConstraints with what it could not carry
// over (notes, for `profiles check` to warn of) and what makes the
// profile unusable (problems). Spark 3.5 matches executors on agent
// attributes only, one entry per attribute (Guava's map splitter
// refuses a key twice), an entry being "attr:v1,v2" (the value is one
// of those) or "attr:" (the attribute exists). So: CLUSTER with a value
// and LIKE with literal alternatives ("a|b") give their values; LIKE
// with any other expression gives "attr:" (executors may land on an
// agent whose value does not match); constraints on one attribute are
// intersected. UNLIKE, UNIQUE, GROUP_BY, MAX_PER, CLUSTER without a
// value and constraints on the hostname place the notebook only.
func sparkConstraints(cs []spawner.Constraint) (spark string, notes, problems []string) {
	var order []string
	values := map[string][]string{} // nil: any value (the attribute exists)
	seen := map[string]bool{}
	add := func(field string, vs []string) {
		if !seen[field] {
			seen[field] = true
			order = append(order, field)
			values[field] = vs
			return
		}
		switch {
		case vs == nil:
		case values[field] == nil:
			values[field] = vs
		default:
			var both []string
			for _, v := range values[field] {
				if slices.Contains(vs, v) {
					both = append(both, v)
				}
			}
			if both == nil {
				problems = append(problems, fmt.Sprintf("the constraints on %q admit no value in common, so no agent could run the executors", field))
				both = []string{}
			}
			values[field] = both
		}
	}
	for _, c := range cs {
		say := fmt.Sprintf("[%s, %s", c.Field, c.Operator)
		if c.Value != "" {
			say += ", " + c.Value
		}
		say += "]"
		switch {
		case c.Field == "hostname" || c.Operator == "UNIQUE" || c.Operator == "GROUP_BY" || c.Operator == "MAX_PER" ||
			(c.Operator == "CLUSTER" && c.Value == ""):
			notes = append(notes, say+" places the notebook only: Spark places executors by agent attributes and has no such rule")
		case c.Operator == "UNLIKE":
			notes = append(notes, say+" places the notebook only: Spark cannot keep executors off a value")
		case !sparkValueRE.MatchString(c.Field):
			problems = append(problems, fmt.Sprintf("%s: Spark's constraints cannot name an attribute with spaces, ';', ':' or ','", say))
		case c.Operator == "CLUSTER" && !sparkValueRE.MatchString(c.Value):
			problems = append(problems, fmt.Sprintf("%s: Spark's constraints cannot hold a value with spaces, ';', ':' or ','", say))
		case c.Operator == "CLUSTER":
			add(c.Field, []string{c.Value})
		case c.Operator == "LIKE" && literalAlternativesRE.MatchString(c.Value):
			add(c.Field, strings.Split(c.Value, "|"))
		case c.Operator == "LIKE":
			if c.Value != ".*" {
				notes = append(notes, say+": Spark cannot match an expression, so executors go to any agent that has "+c.Field)
			}
			add(c.Field, nil)
		}
	}
	out := make([]string, len(order))
	for i, f := range order {
		out[i] = f + ":" + strings.Join(values[f], ",")
	}
	return strings.Join(out, ";"), notes, problems
}

// hubSparkKeys are rendered by sparkconf from the server's task; a
// profile cannot change them.
var hubSparkKeys = map[string]bool{
	"spark.submit.deployMode":        true,
	"spark.mesos.coarse":             true, // dynamic allocation needs it
	"spark.local.dir":                true, // the agents' shuffle folder
	"spark.shuffle.service.port":     true, // where the agents' service listens
	"spark.mesos.principal":          true, // the hub's --spark-mesos-*
	"spark.mesos.principal.file":     true,
	"spark.mesos.secret":             true,
	"spark.mesos.secret.file":        true,
	"spark.mesos.task.labels":        true, // who the executors are for
	"spark.ui.killEnabled":           true, // the relay refuses kill links
	"spark.authenticate":             true, // a local driver's secret
	"spark.authenticate.secret":      true,
	"spark.driver.host":              true,
	"spark.driver.bindAddress":       true,
	"spark.driver.port":              true,
	"spark.driver.blockManager.port": true,
	"spark.blockManager.port":        true,
	"spark.ui.port":                  true,
	"spark.port.maxRetries":          true,
	"spark.mesos.executor.home":      true,
}

// profileMasterRE is a master a profile may name: Spark inside the
// server, or a standalone cluster (the same rule as
// sparkhub_contents.sparkconf).
var profileMasterRE = regexp.MustCompile(`^(local\[([1-9][0-9]*|\*)\]|spark://[A-Za-z0-9.\-]+:[0-9]{1,5}(,[A-Za-z0-9.\-]+:[0-9]{1,5})*)$`)

var (
	durationRE = regexp.MustCompile(`^[0-9]+(us|ms|s|m|min|h|d)$`)
	// volumeRE is one entry of spark.mesos.executor.docker.volumes:
	// [host_path:]container_path[:ro|:rw].
	volumeRE = regexp.MustCompile(`^(/[^:,\s]*:)?/[^:,\s]*(:ro|:rw)?$`)
)

var sizeRE = regexp.MustCompile(`^[0-9]+[kmgtpKMGTP]?[bB]?$`)

// checkSparkValue says what is wrong with a profile's Spark setting that
// the hub computes with, or "".
func checkSparkValue(key, value string) string {
	switch key {
	case "spark.cores.max", "spark.executor.cores", "spark.dynamicAllocation.maxExecutors":
		if n, err := strconv.ParseInt(value, 10, 64); err != nil || n < 1 {
			return fmt.Sprintf("%q must be a whole number of at least 1", value)
		}
	case "spark.dynamicAllocation.minExecutors":
		if n, err := strconv.ParseInt(value, 10, 64); err != nil || n < 0 {
			return fmt.Sprintf("%q must be a whole number of at least 0", value)
		}
	case "spark.executor.memory", "spark.driver.memory":
		if !sizeRE.MatchString(value) {
			return fmt.Sprintf("%q must be a size such as 4g or 4096m", value)
		}
	case "spark.dynamicAllocation.cachedExecutorIdleTimeout":
		if !durationRE.MatchString(value) {
			return fmt.Sprintf("%q must be a time such as 30min, 2h or 600s", value)
		}
	case "spark.mesos.executor.docker.volumes":
		for v := range strings.SplitSeq(value, ",") {
			if !volumeRE.MatchString(v) {
				return fmt.Sprintf("%q: Spark's syntax is [/host/path:]/container/path[:ro|:rw], separated by commas", v)
			}
			parts := strings.Split(v, ":")
			target := parts[0]
			if len(parts) > 1 && strings.HasPrefix(parts[1], "/") {
				target = parts[1]
			}
			if path.Clean(target) == DefaultShuffleDir {
				return fmt.Sprintf("%q: %s is the agents' shuffle folder, which the hub mounts itself", v, DefaultShuffleDir)
			}
		}
	case "spark.dynamicAllocation.enabled", "spark.shuffle.service.enabled", "spark.mesos.executor.docker.forcePullImage":
		if v := strings.ToLower(value); v != "true" && v != "false" {
			return fmt.Sprintf("%q must be true or false", value)
		}
	case "spark.master":
		if !profileMasterRE.MatchString(value) {
			return fmt.Sprintf("%q: a profile names local[N], local[*] or a standalone cluster's spark://host:port[,host:port]; the Mesos master is the hub's --mesos-master", value)
		}
	case "spark.mesos.constraints":
		// What Spark's parser (Guava's map splitter) refuses: an entry
		// without ':' or an attribute given twice.
		seen := map[string]bool{}
		for entry := range strings.SplitSeq(value, ";") {
			attr, vals, ok := strings.Cut(entry, ":")
			if strings.ContainsAny(value, " \t") || !ok || attr == "" || strings.Contains(vals, ":") || seen[attr] {
				return fmt.Sprintf("%q: Spark's syntax is attr:value1,value2;attr2: (\"attr:\" when the attribute only has to exist), each attribute once, without spaces", value)
			}
			seen[attr] = true
		}
	}
	return ""
}

// RenderedSparkKeys are the keys sparkconf writes itself (the
// profile's other settings are passed through as given). Each is a
// Spark 3.5 setting; the source is the Spark 3.5 documentation
// (docs/configuration.md, docs/running-on-mesos.md on branch-3.5),
// with the Mesos ones as ../shared/specs/mesos.md section 17 lists them.
// A test checks every key in the entrypoint's golden output is here.
var RenderedSparkKeys = []string{
	"spark.master",                                      // configuration.md, Application Properties
	"spark.submit.deployMode",                           // configuration.md, Application Properties
	"spark.driver.memory",                               // configuration.md, Application Properties
	"spark.driver.host",                                 // configuration.md, Networking
	"spark.driver.bindAddress",                          // configuration.md, Networking
	"spark.driver.port",                                 // configuration.md, Networking
	"spark.driver.blockManager.port",                    // configuration.md, Networking
	"spark.ui.port",                                     // configuration.md, Spark UI
	"spark.port.maxRetries",                             // configuration.md, Networking
	"spark.executor.cores",                              // configuration.md, Execution Behavior
	"spark.executor.memory",                             // configuration.md, Application Properties
	"spark.cores.max",                                   // configuration.md, Scheduling
	"spark.dynamicAllocation.enabled",                   // configuration.md, Dynamic Allocation
	"spark.dynamicAllocation.minExecutors",              // configuration.md, Dynamic Allocation
	"spark.dynamicAllocation.maxExecutors",              // configuration.md, Dynamic Allocation
	"spark.shuffle.service.enabled",                     // configuration.md, Shuffle Behavior
	"spark.local.dir",                                   // configuration.md, Application Properties
	"spark.mesos.executor.docker.volumes",               // running-on-mesos.md
	"spark.mesos.coarse",                                // running-on-mesos.md
	"spark.mesos.executor.docker.image",                 // running-on-mesos.md
	"spark.mesos.executor.docker.forcePullImage",        // running-on-mesos.md
	"spark.mesos.principal",                             // running-on-mesos.md
	"spark.mesos.secret.file",                           // running-on-mesos.md
	"spark.dynamicAllocation.cachedExecutorIdleTimeout", // configuration.md, Dynamic Allocation
	"spark.mesos.executor.home",                         // running-on-mesos.md
	"spark.mesos.role",                                  // running-on-mesos.md
	"spark.mesos.constraints",                           // running-on-mesos.md
	"spark.mesos.task.labels",                           // running-on-mesos.md
	"spark.ui.killEnabled",                              // configuration.md, Spark UI
	"spark.authenticate",                                // security.md, Spark RPC
	"spark.authenticate.secret",                         // security.md, Spark RPC
}
