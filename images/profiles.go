package images

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/sparkhub/sparkhub/spawner"
)

// A Profile is what a user picks when starting a server: the image, the
// resources of the notebook's task, where it may run, its environment and
// the Spark settings its driver starts with.
type Profile struct {
	Name        string // [a-z0-9-]; what the API's {"profile": ...} names
	DisplayName string
	Description string
	Image       string  // "" means the hub's default image
	CPUs        float64 // cores for the notebook (the Spark driver)
	Mem         float64 // MiB
	GPUs        float64 // whole GPUs
	Disk        float64 // MiB
	Role        string  // Mesos role; "" means the framework's
	Constraints []spawner.Constraint
	Env         map[string]string
	Spark       map[string]string // spark-defaults.conf entries
	// DefaultURL is the front end the server opens on: "/lab"
	// (JupyterLab), "/tree" (Notebook's file list), or a page under
	// either; "" leaves the server's own.
	DefaultURL string
}

// Catalog is the list of profiles users pick from. The first one is the
// default.
type Catalog struct {
	Profiles []Profile
}

// DefaultImage is the image of the default profile.
const DefaultImage = "sparkhub/pyspark-notebook:3.5"

// DefaultCatalog is the catalog without a --profiles file for servers on
// the cluster: one profile, whose resources the --mesos-* flags may
// change.
func DefaultCatalog() *Catalog {
	return &Catalog{Profiles: []Profile{{
		Name:        "default",
		DisplayName: "PySpark 3.5",
		Description: "Python with Spark on the cluster",
		Image:       DefaultImage,
		CPUs:        1,
		Mem:         2048,
	}}}
}

// LocalCatalog is the catalog without a --profiles file for servers that
// run as processes on the hub's machine: one profile that promises
// nothing such a process does not get (no image, no resources of its
// own, no Spark cluster).
func LocalCatalog() *Catalog {
	return &Catalog{Profiles: []Profile{{
		Name:        "default",
		DisplayName: "Python (this machine)",
		Description: "Jupyter running on the hub's own machine, sharing its CPUs and memory",
	}}}
}

// Lookup returns the profile called name; "" names the first one.
func (c *Catalog) Lookup(name string) (Profile, bool) {
	if len(c.Profiles) == 0 {
		return Profile{}, false
	}
	if name == "" {
		return c.Profiles[0], true
	}
	for _, p := range c.Profiles {
		if p.Name == name {
			return p, true
		}
	}
	return Profile{}, false
}

// Names lists the profiles' names in catalog order.
func (c *Catalog) Names() []string {
	out := make([]string, len(c.Profiles))
	for i, p := range c.Profiles {
		out[i] = p.Name
	}
	return out
}

// Specs resolves the profile a user picks into their server's spec: the
// spawner's manager asks it once per start (it is a spawner.Profiles)
// and hands the spec to the backend.
type Specs struct {
	Catalog *Catalog
	// Cluster, when set, is where the servers' Spark runs (the Mesos
	// cluster): a spec's environment then also carries the Spark
	// settings the image's entrypoint renders (ProfileEnv). Without it
	// the environment is the profile's env alone.
	Cluster *Cluster
}

var _ spawner.Profiles = Specs{}

// Resolve is the spec of the profile called name ("" names the first):
// its image, resources, role, constraints, environment and Spark
// settings. A name the catalog lacks is an error matching
// spawner.ErrNoProfile.
func (s Specs) Resolve(name string) (spawner.Spec, error) {
	p, ok := s.Catalog.Lookup(name)
	if !ok {
		return spawner.Spec{}, fmt.Errorf("profile %q: %w", name, spawner.ErrNoProfile)
	}
	env := p.Env
	if s.Cluster != nil {
		env = ProfileEnv(p, *s.Cluster)
	}
	return spawner.Spec{
		Image: p.Image, CPUs: p.CPUs, Mem: p.Mem, Disk: p.Disk, GPUs: p.GPUs, Role: p.Role,
		Constraints: p.Constraints, Env: env, Spark: p.Spark, DefaultURL: p.DefaultURL,
	}, nil
}

// A Problem is one thing wrong in a catalog file, where it is.
type Problem struct {
	File    string
	Line    int    // 1-based; 0 when the file could not be read
	Profile string // the profile's name, when known
	Field   string // "cpus", "constraints[1]", "env.TZ", ...
	Message string
}

func (p Problem) String() string {
	var b strings.Builder
	b.WriteString(p.File)
	if p.Line > 0 {
		fmt.Fprintf(&b, ":%d", p.Line)
	}
	b.WriteString(": ")
	if p.Profile != "" {
		fmt.Fprintf(&b, "profile %s: ", p.Profile)
	}
	if p.Field != "" {
		b.WriteString(p.Field + ": ")
	}
	b.WriteString(p.Message)
	return b.String()
}

// CatalogError is what LoadCatalog returns for a file with problems.
type CatalogError struct {
	Problems []Problem
}

func (e *CatalogError) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.String()
	}
	return fmt.Sprintf("profile catalog has %d problem(s):\n%s", len(e.Problems), strings.Join(lines, "\n"))
}

// LoadCatalog reads the catalog at path, or gives DefaultCatalog when
// path is "". A file with any problem is refused with a *CatalogError
// naming them all.
func LoadCatalog(path string) (*Catalog, error) {
	if path == "" {
		return DefaultCatalog(), nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("profile catalog: %w", err)
	}
	c, problems := ParseCatalog(path, b)
	if len(problems) > 0 {
		return nil, &CatalogError{Problems: problems}
	}
	return c, nil
}

// Check reads the catalog at path and lists every problem in it.
func Check(path string) []Problem {
	b, err := os.ReadFile(path)
	if err != nil {
		return []Problem{{File: path, Message: errors.Unwrap(err).Error()}}
	}
	_, problems := ParseCatalog(path, b)
	return problems
}

// ParseCatalog reads a catalog's YAML. The catalog is usable only when
// there are no problems.
func ParseCatalog(file string, b []byte) (*Catalog, []Problem) {
	ck := &checker{file: file}
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&doc); err != nil && !errors.Is(err, io.EOF) {
		ck.add(yamlLine(err), "", "", "not valid YAML: %s", strings.TrimPrefix(err.Error(), "yaml: "))
		return nil, ck.problems
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		ck.add(extra.Line, "", "", "more than one YAML document; the catalog is one")
	}
	c := ck.catalog(&doc)
	sort.SliceStable(ck.problems, func(i, j int) bool { return ck.problems[i].Line < ck.problems[j].Line })
	return c, ck.problems
}

var yamlLineRE = regexp.MustCompile(`line (\d+)`)

func yamlLine(err error) int {
	if m := yamlLineRE.FindStringSubmatch(err.Error()); m != nil {
		n, _ := strconv.Atoi(m[1])
		return n
	}
	return 0
}

type checker struct {
	file     string
	problems []Problem
}

func (ck *checker) add(line int, profile, field, format string, args ...any) {
	ck.problems = append(ck.problems, Problem{File: ck.file, Line: line, Profile: profile, Field: field, Message: fmt.Sprintf(format, args...)})
}

var (
	nameRE    = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)
	envNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	// defaultURLRE is a front end's page: /lab or /tree, or a page
	// under one, as a path only (no host, query or '//').
	defaultURLRE = regexp.MustCompile(`^/(lab|tree)(/[A-Za-z0-9._~-]+)*/?$`)
	roleRE       = regexp.MustCompile(`^[A-Za-z0-9_.][A-Za-z0-9_.\-/]*$`)
)

// profileFields are the keys a profile may have.
var profileFields = []string{"name", "display_name", "description", "image", "cpus", "mem", "gpus", "disk", "role", "constraints", "env", "spark", "default_url"}

func (ck *checker) catalog(doc *yaml.Node) *Catalog {
	if doc.Kind == 0 || len(doc.Content) == 0 {
		ck.add(0, "", "profiles", "the file is empty; it needs a list of profiles")
		return nil
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		ck.add(root.Line, "", "", "the catalog must be a mapping with the key profiles")
		return nil
	}
	var list *yaml.Node
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		switch k.Value {
		case "profiles":
			list = v
		default:
			ck.add(k.Line, "", k.Value, "unknown field (the catalog has only profiles)")
		}
	}
	if list == nil {
		ck.add(root.Line, "", "profiles", "missing")
		return nil
	}
	if list.Kind != yaml.SequenceNode {
		ck.add(list.Line, "", "profiles", "must be a list of profiles")
		return nil
	}
	if len(list.Content) == 0 {
		ck.add(list.Line, "", "profiles", "the list is empty; give at least one profile")
	}
	c := &Catalog{}
	seen := map[string]int{}
	for i, n := range list.Content {
		p, ok := ck.profile(i, n)
		if !ok {
			continue
		}
		if first, dup := seen[p.Name]; dup {
			ck.add(n.Line, p.Name, "name", "duplicate; the profile on line %d has the same name", first)
			continue
		}
		seen[p.Name] = n.Line
		c.Profiles = append(c.Profiles, p)
	}
	return c
}

func (ck *checker) profile(i int, n *yaml.Node) (Profile, bool) {
	var p Profile
	if n.Kind != yaml.MappingNode {
		ck.add(n.Line, "", fmt.Sprintf("profiles[%d]", i), "a profile must be a mapping of fields")
		return p, false
	}
	fields := map[string]*yaml.Node{}
	keyLine := map[string]int{}
	for j := 0; j+1 < len(n.Content); j += 2 {
		k := n.Content[j]
		fields[k.Value] = n.Content[j+1]
		keyLine[k.Value] = k.Line
	}
	// The name first, so every other problem can say which profile.
	who := fmt.Sprintf("#%d", i+1)
	before := len(ck.problems)
	if v, ok := fields["name"]; !ok {
		ck.add(n.Line, who, "name", "missing")
	} else if s, ok := ck.str(v, who, "name"); ok {
		p.Name = s
		if !nameRE.MatchString(s) {
			ck.add(v.Line, who, "name", "%q: use lowercase letters, digits and '-' (at most 63, not starting or ending with '-')", s)
		} else {
			who = s
		}
	}
	for j := 0; j+1 < len(n.Content); j += 2 {
		k, v := n.Content[j], n.Content[j+1]
		switch k.Value {
		case "name":
		case "display_name":
			p.DisplayName, _ = ck.str(v, who, k.Value)
		case "description":
			p.Description, _ = ck.str(v, who, k.Value)
		case "image":
			p.Image, _ = ck.str(v, who, k.Value)
			if strings.ContainsAny(p.Image, " \t\n") {
				ck.add(v.Line, who, k.Value, "%q is not an image reference", p.Image)
			}
		case "cpus":
			p.CPUs = ck.resource(v, who, k.Value, "cores", false)
		case "mem":
			p.Mem = ck.resource(v, who, k.Value, "MiB", false)
		case "gpus":
			p.GPUs = ck.resource(v, who, k.Value, "whole GPUs", true)
			if p.GPUs != math.Trunc(p.GPUs) {
				ck.add(v.Line, who, k.Value, "%v: GPUs come whole", p.GPUs)
			}
		case "disk":
			p.Disk = ck.resource(v, who, k.Value, "MiB", true)
		case "role":
			if s, ok := ck.str(v, who, k.Value); ok {
				p.Role = s
				if s != "*" && (!roleRE.MatchString(s) || s == "." || s == ".." || strings.Contains(s, "/.") || strings.HasSuffix(s, "/")) {
					ck.add(v.Line, who, k.Value, "%q is not a Mesos role name", s)
				}
			}
		case "constraints":
			p.Constraints = ck.constraints(v, who)
		case "env":
			p.Env = ck.env(v, who)
		case "spark":
			p.Spark = ck.spark(v, who)
		case "default_url":
			if s, ok := ck.str(v, who, k.Value); ok {
				p.DefaultURL = s
				if !defaultURLRE.MatchString(s) || strings.Contains(s, "/..") || strings.Contains(s, "/./") {
					ck.add(v.Line, who, k.Value, "%q: use /lab (JupyterLab), /tree (Notebook's file list) or a page under one of them", s)
				}
			}
		default:
			ck.add(k.Line, who, k.Value, "unknown field (a profile has %s)", strings.Join(profileFields, ", "))
		}
	}
	for _, f := range []string{"cpus", "mem"} {
		if _, ok := fields[f]; !ok {
			ck.add(n.Line, who, f, "missing; every profile says how many cores and how much memory (MiB) it gets")
		}
	}
	if p.DisplayName == "" {
		p.DisplayName = p.Name
	}
	// Problems found before the name was known name the profile by it.
	for j := before; j < len(ck.problems); j++ {
		if ck.problems[j].Profile == fmt.Sprintf("#%d", i+1) && who != ck.problems[j].Profile {
			ck.problems[j].Profile = who
		}
	}
	return p, p.Name != "" && nameRE.MatchString(p.Name)
}

func (ck *checker) str(v *yaml.Node, who, field string) (string, bool) {
	if v.Kind != yaml.ScalarNode || v.Tag == "!!null" {
		ck.add(v.Line, who, field, "must be a single value")
		return "", false
	}
	return v.Value, true
}

func (ck *checker) resource(v *yaml.Node, who, field, unit string, zeroOK bool) float64 {
	if v.Kind != yaml.ScalarNode || (v.Tag != "!!int" && v.Tag != "!!float") {
		ck.add(v.Line, who, field, "%q must be a number (%s)", v.Value, unit)
		return 0
	}
	f, err := strconv.ParseFloat(strings.ReplaceAll(v.Value, "_", ""), 64)
	switch {
	case err != nil || math.IsNaN(f) || math.IsInf(f, 0):
		ck.add(v.Line, who, field, "%q must be a number (%s)", v.Value, unit)
	case f < 0:
		ck.add(v.Line, who, field, "%v is negative", f)
	case f == 0 && !zeroOK:
		ck.add(v.Line, who, field, "must be more than 0")
	}
	return f
}

func (ck *checker) constraints(v *yaml.Node, who string) []spawner.Constraint {
	if v.Kind != yaml.SequenceNode {
		ck.add(v.Line, who, "constraints", "must be a list of [field, OPERATOR, value] lists")
		return nil
	}
	var out []spawner.Constraint
	for i, it := range v.Content {
		field := fmt.Sprintf("constraints[%d]", i)
		if it.Kind != yaml.SequenceNode || len(it.Content) < 2 || len(it.Content) > 3 {
			ck.add(it.Line, who, field, "must be [field, OPERATOR] or [field, OPERATOR, value]")
			continue
		}
		var parts []string
		ok := true
		for _, s := range it.Content {
			if s.Kind != yaml.ScalarNode {
				ck.add(s.Line, who, field, "each part must be a single value")
				ok = false
				break
			}
			parts = append(parts, s.Value)
		}
		if !ok {
			continue
		}
		c := spawner.Constraint{Field: parts[0], Operator: parts[1]}
		if len(parts) == 3 {
			c.Value = parts[2]
		}
		if msg := checkConstraint(c); msg != "" {
			ck.add(it.Line, who, field, "%s", msg)
			continue
		}
		out = append(out, c)
	}
	return out
}

// reservedEnv is what the spawner sets for every server; a profile may
// not change it.
func reservedEnv(name string) bool {
	return name == "JUPYTER_TOKEN" || strings.HasPrefix(name, "SPARKHUB_") || strings.HasPrefix(name, "JUPYTERHUB_") || strings.HasPrefix(name, "LIBPROCESS_") ||
		name == "MESOS_NATIVE_JAVA_LIBRARY" || name == "SPARK_CONF_DIR"
}

func (ck *checker) env(v *yaml.Node, who string) map[string]string {
	if v.Kind != yaml.MappingNode {
		ck.add(v.Line, who, "env", "must be a mapping of NAME: value")
		return nil
	}
	out := map[string]string{}
	for j := 0; j+1 < len(v.Content); j += 2 {
		k, val := v.Content[j], v.Content[j+1]
		field := "env." + k.Value
		switch {
		case !envNameRE.MatchString(k.Value):
			ck.add(k.Line, who, field, "not a variable name (letters, digits and _, not starting with a digit)")
		case reservedEnv(k.Value):
			ck.add(k.Line, who, field, "set by the hub for every server; a profile cannot change it")
		case val.Kind != yaml.ScalarNode:
			ck.add(val.Line, who, field, "must be a single value")
		default:
			out[k.Value] = val.Value
		}
	}
	return out
}

func (ck *checker) spark(v *yaml.Node, who string) map[string]string {
	if v.Kind != yaml.MappingNode {
		ck.add(v.Line, who, "spark", "must be a mapping of spark.key: value")
		return nil
	}
	out := map[string]string{}
	for j := 0; j+1 < len(v.Content); j += 2 {
		k, val := v.Content[j], v.Content[j+1]
		field := "spark." + strings.TrimPrefix(k.Value, "spark.")
		switch {
		case !strings.HasPrefix(k.Value, "spark.") || strings.ContainsAny(k.Value, " \t=:"):
			ck.add(k.Line, who, k.Value, "not a Spark setting (they start with spark. and have no spaces)")
		case hubSparkKeys[k.Value]:
			ck.add(k.Line, who, field, "set by the hub from the server's task; a profile cannot change it")
		case val.Kind != yaml.ScalarNode || val.Tag == "!!null":
			ck.add(val.Line, who, field, "must be a single value")
		case strings.ContainsAny(val.Value, "\n\r"):
			ck.add(val.Line, who, field, "must be one line")
		default:
			if msg := checkSparkValue(k.Value, val.Value); msg != "" {
				ck.add(val.Line, who, field, "%s", msg)
				continue
			}
			out[k.Value] = val.Value
		}
	}
	return out
}
