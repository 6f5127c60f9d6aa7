package images

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/sparkhub/sparkhub/spawner"
)

func TestParseConstraints(t *testing.T) {
	c := func(field, op, value string) spawner.Constraint {
		return spawner.Constraint{Field: field, Operator: op, Value: value}
	}
	tests := []struct {
		in      string
		want    []spawner.Constraint
		wantErr string // a part of the error; "" for none
	}{
		{"", nil, ""},
		{"  ", nil, ""},
		{";", nil, ""},
		{`[["hostname","UNIQUE"],["rack","LIKE","r[12]"]]`, []spawner.Constraint{c("hostname", "UNIQUE", ""), c("rack", "LIKE", "r[12]")}, ""},
		{"hostname:UNIQUE;rack:LIKE:r[12]", []spawner.Constraint{c("hostname", "UNIQUE", ""), c("rack", "LIKE", "r[12]")}, ""},
		{`[["hostname","UNIQUE"],["rack","LIKE","r1"]]`, []spawner.Constraint{c("hostname", "UNIQUE", ""), c("rack", "LIKE", "r1")}, ""},
		{" hostname:MAX_PER:4 ; rack:LIKE:r[12] ", []spawner.Constraint{c("hostname", "MAX_PER", "4"), c("rack", "LIKE", "r[12]")}, ""},
		{"rack:CLUSTER:a", []spawner.Constraint{c("rack", "CLUSTER", "a")}, ""},
		{"rack:CLUSTER", []spawner.Constraint{c("rack", "CLUSTER", "")}, ""},
		{"rack:LIKE:a|c", []spawner.Constraint{c("rack", "LIKE", "a|c")}, ""},
		{"rack:UNLIKE:a", []spawner.Constraint{c("rack", "UNLIKE", "a")}, ""},
		{"zone:LIKE:.*", []spawner.Constraint{c("zone", "LIKE", ".*")}, ""},
		{"rack:MAX_PER:2", []spawner.Constraint{c("rack", "MAX_PER", "2")}, ""},
		{"rack:GROUP_BY", []spawner.Constraint{c("rack", "GROUP_BY", "")}, ""},
		{"rack:GROUP_BY:3", []spawner.Constraint{c("rack", "GROUP_BY", "3")}, ""},
		// A flag's operators may be written in any case.
		{"rack:like:r1;hostname:unique", []spawner.Constraint{c("rack", "LIKE", "r1"), c("hostname", "UNIQUE", "")}, ""},
		// The value keeps its colons: only the first two split.
		{"a:CLUSTER:b:c", []spawner.Constraint{c("a", "CLUSTER", "b:c")}, ""},
		{"rack:NEAR", nil, `operator "NEAR" does not exist`},
		{"rack:LIKE", nil, "LIKE needs a regular expression"},
		{"a:LIKE:(", nil, "is not a regular expression"},
		{`[["a","LIKE","["]]`, nil, "is not a regular expression"},
		{"a:UNLIKE:*", nil, "is not a regular expression"},
		{"rack:MAX_PER:x", nil, "MAX_PER needs a whole number"},
		{"rack:MAX_PER:0", nil, "MAX_PER needs a whole number"},
		{"rack:MAX_PER", nil, "MAX_PER needs a whole number"},
		{"os:GROUP_BY:x", nil, "GROUP_BY takes an optional whole number"},
		{"hostname:UNIQUE:x", nil, "UNIQUE takes no value"},
		{":UNIQUE", nil, "the field"},
		{":", nil, "the field"},
		{"a:", nil, `operator "" does not exist`},
		{"rack", nil, "want field, operator and maybe a value"},
		{`[["a"]]`, nil, "want field, operator and maybe a value"},
		{`[[]]`, nil, "want field, operator and maybe a value"},
		{`[["a","LIKE","b","c"]]`, nil, "want field, operator and maybe a value"},
		{`[1]`, nil, "constraints:"},
		{`[["a","UNIQUE"]`, nil, "constraints:"},
	}
	for _, tt := range tests {
		got, err := ParseConstraints(tt.in)
		switch {
		case tt.wantErr == "" && err != nil:
			t.Errorf("ParseConstraints(%q): %v", tt.in, err)
		case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
			t.Errorf("ParseConstraints(%q) = %+v, %v; want an error saying %q", tt.in, got, err, tt.wantErr)
		case !reflect.DeepEqual(got, tt.want):
			t.Errorf("ParseConstraints(%q) = %+v, want %+v", tt.in, got, tt.want)
		}
	}
}

// TestOneConstraintGrammar: a flag and a catalog accept and refuse the
// same constraints, and a catalog's reach the spec as they were written.
func TestOneConstraintGrammar(t *testing.T) {
	items := [][]string{
		{"hostname", "UNIQUE"}, {"hostname", "UNIQUE", "x"}, {"rack", "CLUSTER"}, {"rack", "CLUSTER", "a"},
		{"rack", "LIKE", "r[12]"}, {"rack", "LIKE"}, {"rack", "UNLIKE", "r["}, {"rack", "GROUP_BY"},
		{"rack", "GROUP_BY", "0"}, {"rack", "MAX_PER", "2"}, {"rack", "MAX_PER", "two"}, {"rack", "NEAR", "r1"},
	}
	for _, it := range items {
		j, _ := json.Marshal([][]string{it})
		cs, flagErr := ParseConstraints(string(j))
		cat, problems := ParseCatalog("p.yaml", []byte("profiles:\n  - name: p\n    cpus: 1\n    mem: 512\n    constraints: "+string(j)+"\n"))
		if (flagErr == nil) != (len(problems) == 0) {
			t.Errorf("%q: the flag says %v, the catalog %v", it, flagErr, problems)
			continue
		}
		if flagErr != nil {
			continue
		}
		spec, err := Specs{Catalog: cat}.Resolve("p")
		if err != nil || !reflect.DeepEqual(spec.Constraints, cs) {
			t.Errorf("%q: spec constraints = %+v, %v; want %+v", it, spec.Constraints, err, cs)
		}
	}
}

// FuzzParseConstraints: constraints either parse into fields and
// operators that the catalog's check accepts, or are refused with an
// error; never a panic.
func FuzzParseConstraints(f *testing.F) {
	for _, s := range []string{
		`[["hostname","UNIQUE"],["rack","LIKE","r[12]"]]`, "hostname:UNIQUE;rack:LIKE:r[12]",
		"", ";", ":", "a:", "a:LIKE:(", `[["a"]]`, `[[]]`, `[1]`, "rack:GROUP_BY:3", "rack:MAX_PER:x",
		"a:CLUSTER:b:c", `[["a","LIKE","["]]`, "a:UNLIKE:*",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		cs, err := ParseConstraints(s)
		if err != nil {
			return
		}
		for _, c := range cs {
			if c.Field == "" || c.Operator == "" || checkConstraint(c) != "" {
				t.Fatalf("ParseConstraints(%q) gave %+v", s, c)
			}
		}
	})
}
