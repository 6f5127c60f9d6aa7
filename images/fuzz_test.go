package images

import (
	"math"
	"os"
	"testing"
)

// FuzzParseCatalog feeds the profile catalog's parser any text: it
// answers with problems, each with a message, or with a catalog whose
// every profile holds what the rest of the hub relies on (a valid,
// unique name; positive, finite resources; whole GPUs; valid variable
// names), and whose environment and constraints render without a panic.
func FuzzParseCatalog(f *testing.F) {
	sample, err := os.ReadFile("testdata/catalog.yaml")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(sample)
	for _, s := range []string{
		"", "profiles: []", "profiles:\n  - name: a\n    cpus: 1\n    mem: 1\n",
		"profiles:\n  - name: a\n    cpus: .inf\n    mem: NaN\n",
		"profiles:\n  - {name: a, cpus: 1, mem: 1, gpus: 0.5}\n  - {name: a, cpus: 1, mem: 1}\n",
		"profiles:\n  - {name: a, cpus: 1, mem: 1, env: {1X: y, PATH: z}, spark: {spark.master: x}}\n",
		"profiles:\n  - {name: a, cpus: 1, mem: 1, constraints: [[rack, LIKE, '(']]}\n",
		"profiles: &a [*a]\n", "a: &a [*a, *a]\nprofiles: *a\n", "--- \n---\n", "profiles: !!binary AAAA\n",
		"profiles:\n  - name: a\n    cpus: 1e400\n    mem: -1\n    role: ../x\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, problems := ParseCatalog("fuzz.yaml", data)
		for _, p := range problems {
			if p.Message == "" || p.String() == "" {
				t.Fatalf("a problem with no message: %+v", p)
			}
		}
		if len(problems) > 0 {
			return
		}
		if c == nil || len(c.Profiles) == 0 {
			t.Fatalf("no problems, but no profiles either")
		}
		seen := map[string]bool{}
		for _, p := range c.Profiles {
			if !nameRE.MatchString(p.Name) || seen[p.Name] {
				t.Fatalf("profile name %q is invalid or repeated", p.Name)
			}
			seen[p.Name] = true
			for what, v := range map[string]float64{"cpus": p.CPUs, "mem": p.Mem} {
				if !(v > 0) || math.IsInf(v, 0) {
					t.Fatalf("profile %s: %s = %v", p.Name, what, v)
				}
			}
			for what, v := range map[string]float64{"gpus": p.GPUs, "disk": p.Disk} {
				if !(v >= 0) || math.IsInf(v, 0) {
					t.Fatalf("profile %s: %s = %v", p.Name, what, v)
				}
			}
			if p.GPUs != math.Trunc(p.GPUs) {
				t.Fatalf("profile %s: %v GPUs", p.Name, p.GPUs)
			}
			for k := range p.Env {
				if !envNameRE.MatchString(k) {
					t.Fatalf("profile %s: variable %q", p.Name, k)
				}
			}
			if got, ok := c.Lookup(p.Name); !ok || got.Name != p.Name {
				t.Fatalf("Lookup(%q) = %v, %v", p.Name, got.Name, ok)
			}
			for _, k := range p.Constraints {
				if msg := checkConstraint(k); msg != "" {
					t.Fatalf("profile %s: constraint %+v was kept: %s", p.Name, k, msg)
				}
			}
			if _, err := (Specs{Catalog: c, Cluster: &Cluster{Master: "zk://zk:2181/mesos"}}).Resolve(p.Name); err != nil {
				t.Fatalf("Resolve(%q): %v", p.Name, err)
			}
			_ = SparkConstraints(p.Constraints)
			_ = ProfileEnv(p, Cluster{Master: "zk://zk:2181/mesos", Image: DefaultImage})
		}
	})
}
