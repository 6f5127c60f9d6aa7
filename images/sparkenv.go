package images

import (
	"fmt"
	"math"
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
	// EnvSparkConf holds the profile's other Spark settings, one
	// "key value" line each, sorted by key.
	EnvSparkConf = "SPARKHUB_SPARK_CONF"

	// From the agent and the task's ports (the names spawner/mesos sets).
	EnvAgentHost               = "SPARKHUB_AGENT_HOST"     // spark.driver.host
	EnvAgentHostname           = "SPARKHUB_AGENT_HOSTNAME" // for people; not rendered
	EnvSparkBindAddress        = "SPARKHUB_SPARK_BIND_ADDRESS"
	EnvSparkDriverPort         = "SPARKHUB_SPARK_DRIVER_PORT"
	EnvSparkBlockManagerPort   = "SPARKHUB_SPARK_BLOCKMANAGER_PORT"
	EnvSparkUIPort             = "SPARKHUB_SPARK_UI_PORT"
	EnvLibprocessIP            = "LIBPROCESS_IP"
	EnvLibprocessPort          = "LIBPROCESS_PORT"
	EnvLibprocessAdvertiseIP   = "LIBPROCESS_ADVERTISE_IP"
	EnvLibprocessAdvertisePort = "LIBPROCESS_ADVERTISE_PORT"
)

// Defaults for what a profile's spark settings leave out.
const (
	DefaultMaxExecutors = 10
	DefaultMinExecutors = 0
)

// Cluster is what the hub knows of where Spark's executors run.
type Cluster struct {
	// Master is the hub's --mesos-master ("http://m1:5050,http://m2:5050"
	// or "zk://h1:2181,h2:2181/mesos"); "" runs Spark inside the server.
	Master string
	// Image is the executor image when the profile names none (the
	// hub's default image).
	Image string
	// Role is the framework's role (--mesos-role), which a profile
	// without a role runs its server under, and so its executors.
	Role string
}

// SparkMaster turns the hub's --mesos-master into Spark's master URL.
// Spark takes one master or a ZooKeeper URL; of a list of masters it
// gets the first (a follower redirects the driver to the leader).
func SparkMaster(mesosMaster string) string {
	m := strings.TrimSpace(mesosMaster)
	switch {
	case m == "":
		return ""
	case strings.HasPrefix(m, "zk://"), strings.HasPrefix(m, "mesos://"):
		if strings.HasPrefix(m, "zk://") {
			return "mesos://" + m
		}
		return m
	}
	first := strings.TrimSpace(strings.Split(m, ",")[0])
	first = strings.TrimPrefix(strings.TrimPrefix(first, "http://"), "https://")
	return "mesos://" + strings.TrimRight(first, "/")
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
	env[EnvSparkMaster] = SparkMaster(c.Master)
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

	execMem := fmt.Sprintf("%dm", int64(max(512, math.Floor(p.Mem))))
	if v, ok := take("spark.executor.memory"); ok {
		execMem = v
	}
	env[EnvSparkExecutorMemory] = execMem

	driverMem := fmt.Sprintf("%dm", int64(max(512, math.Floor(p.Mem/2))))
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
	case "spark.dynamicAllocation.enabled", "spark.shuffle.service.enabled":
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
	"spark.master",                         // configuration.md, Application Properties
	"spark.submit.deployMode",              // configuration.md, Application Properties
	"spark.driver.memory",                  // configuration.md, Application Properties
	"spark.driver.host",                    // configuration.md, Networking
	"spark.driver.bindAddress",             // configuration.md, Networking
	"spark.driver.port",                    // configuration.md, Networking
	"spark.driver.blockManager.port",       // configuration.md, Networking
	"spark.ui.port",                        // configuration.md, Spark UI
	"spark.port.maxRetries",                // configuration.md, Networking
	"spark.executor.cores",                 // configuration.md, Execution Behavior
	"spark.executor.memory",                // configuration.md, Application Properties
	"spark.cores.max",                      // configuration.md, Scheduling
	"spark.dynamicAllocation.enabled",      // configuration.md, Dynamic Allocation
	"spark.dynamicAllocation.minExecutors", // configuration.md, Dynamic Allocation
	"spark.dynamicAllocation.maxExecutors", // configuration.md, Dynamic Allocation
	"spark.shuffle.service.enabled",        // configuration.md, Shuffle Behavior
	"spark.local.dir",                      // configuration.md, Application Properties
	"spark.mesos.executor.docker.volumes",  // running-on-mesos.md
	"spark.mesos.coarse",                   // running-on-mesos.md
	"spark.mesos.executor.docker.image",    // running-on-mesos.md
	"spark.mesos.executor.home",            // running-on-mesos.md
	"spark.mesos.role",                     // running-on-mesos.md
	"spark.mesos.constraints",              // running-on-mesos.md
	"spark.mesos.task.labels",              // running-on-mesos.md
	"spark.ui.killEnabled",                 // configuration.md, Spark UI
	"spark.authenticate",                   // security.md, Spark RPC
	"spark.authenticate.secret",            // security.md, Spark RPC
}
