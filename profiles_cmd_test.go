package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestProfilesCheck: a usage error exits 2, any other error 1 with
// "sparkhub: " before it.
func TestProfilesCheck(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := write("good.yaml", "profiles:\n  - name: small\n    cpus: 1\n    mem: 2048\n  - name: big\n    cpus: 8\n    mem: 32768\n")
	grouped := write("grouped.yaml", "profiles:\n  - name: small\n    cpus: 1\n    mem: 2048\n  - name: gpu\n    cpus: 8\n    mem: 32768\n    groups: [ml, physics]\n")
	badGroups := write("bad-groups.yaml", "profiles:\n  - name: gpu\n    cpus: 8\n    mem: 32768\n    groups: [ML Team]\n")
	bad := write("bad.yaml", "profiles:\n  - name: small\n    cpus: -1\n    mem: 2048\n    colour: red\n    constraints: [[rack, NEAR, r1]]\n")
	// What Spark cannot follow is a warning; what Spark would refuse
	// (a key the hub sets, constraints with no common value) a problem.
	sparkWarn := write("warn.yaml", "profiles:\n  - name: gpu\n    cpus: 1\n    mem: 2048\n    constraints: [[gpu, LIKE, \".*\"], [rack, LIKE, \"r[12]\"], [os, UNLIKE, centos]]\n")
	sparkBad := write("sparkbad.yaml", "profiles:\n  - name: p\n    cpus: 1\n    mem: 2048\n    constraints: [[zone, CLUSTER, a], [zone, CLUSTER, b]]\n    spark:\n      spark.local.dir: /tmp\n      spark.mesos.executor.docker.volumes: /x:/var/lib/sparkhub/shuffle:rw\n      spark.mesos.constraints: \"zone:a;zone:b\"\n")
	for _, tc := range []struct {
		name       string
		args       []string
		wantCode   int
		wantOut    string
		wantErrOut []string
	}{
		{"good", []string{good}, 0, good + ": 2 profile(s), no problems: small, big\n", nil},
		{"bad", []string{bad}, 1, "", []string{
			bad + ":3: profile small: cpus: -1 is negative\n",
			bad + ":5: profile small: colour: unknown field",
			bad + ":6: profile small: constraints[0]: operator \"NEAR\" does not exist",
			"sparkhub: " + bad + ": 3 problem(s)\n",
		}},
		{"groups", []string{grouped}, 0, grouped + ": 2 profile(s), no problems: small, gpu\n", nil},
		{"bad groups", []string{badGroups}, 1, "", []string{badGroups + ":5: profile gpu: groups[0]: \"ML Team\" is not a valid group name"}},
		{"warnings", []string{sparkWarn}, 0, sparkWarn + ": 1 profile(s), no problems: gpu\n", []string{
			sparkWarn + ": warning: profile gpu: constraints: [rack, LIKE, r[12]]: Spark cannot match an expression, so executors go to any agent that has rack\n",
			sparkWarn + ": warning: profile gpu: constraints: [os, UNLIKE, centos] places the notebook only",
		}},
		{"spark problems", []string{sparkBad}, 1, "", []string{
			sparkBad + ":5: profile p: constraints: the constraints on \"zone\" admit no value in common",
			sparkBad + ":7: profile p: spark.local.dir: set by the hub",
			sparkBad + ":8: profile p: spark.mesos.executor.docker.volumes: \"/x:/var/lib/sparkhub/shuffle:rw\": /var/lib/sparkhub/shuffle is the agents' shuffle folder",
			sparkBad + ":9: profile p: spark.mesos.constraints: \"zone:a;zone:b\": Spark's syntax",
			"4 problem(s)",
		}},
		{"sample catalog", []string{filepath.Join("images", "testdata", "catalog.yaml")}, 0, "", nil},
		{"missing file", []string{filepath.Join(dir, "none.yaml")}, 1, "", []string{"none.yaml: no such file or directory"}},
		{"no file", nil, 2, "", []string{"sparkhub profiles check: needs FILE (see sparkhub profiles check --help)\n"}},
		{"two files", []string{good, bad}, 2, "", []string{"sparkhub profiles check: takes FILE and no more"}},
		{"help", []string{"--help"}, 0, "usage: sparkhub profiles check FILE\n\nCheck a profile catalog: every problem on its own line, and a non-zero exit when there is any.\n", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			code := run(append([]string{"profiles", "check"}, tc.args...), strings.NewReader(""), &out, &errOut, func(string) string { return "" })
			if code != tc.wantCode {
				t.Errorf("exit code = %d, want %d; stderr:\n%s", code, tc.wantCode, errOut.String())
			}
			if tc.wantOut != "" && out.String() != tc.wantOut {
				t.Errorf("stdout = %q, want %q", out.String(), tc.wantOut)
			}
			for _, w := range tc.wantErrOut {
				if !strings.Contains(errOut.String(), w) {
					t.Errorf("stderr lacks %q:\n%s", w, errOut.String())
				}
			}
		})
	}
}
