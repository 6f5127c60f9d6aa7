package mesos

import "testing"

// FuzzParseConstraints: a profile's constraints either parse into
// fields and operators, or are refused with an error; never a panic.
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
			if c.Field == "" || c.Operator == "" {
				t.Fatalf("ParseConstraints(%q) gave %+v", s, c)
			}
		}
	})
}
