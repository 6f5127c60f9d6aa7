package needtest

import (
	"strings"
	"testing"
)

// recorder is a testing.TB that records how a test ended.
type recorder struct {
	testing.TB
	skipped, failed string
}

func (r *recorder) Helper()           {}
func (r *recorder) Skip(args ...any)  { r.skipped = args[0].(string) }
func (r *recorder) Fatal(args ...any) { r.failed = args[0].(string) }

func TestMissing(t *testing.T) {
	for _, ci := range []string{"", "false", "true"} {
		t.Run("CI="+ci, func(t *testing.T) {
			t.Setenv("CI", ci)
			r := &recorder{TB: t}
			Tool(r, "no-such-tool-sparkhub", "apt-get install nothing")
			got, other := r.skipped, r.failed
			if ci == "true" {
				got, other = r.failed, r.skipped
			}
			if !strings.HasPrefix(got, "no-such-tool-sparkhub is not installed (apt-get install nothing)") || other != "" {
				t.Errorf("skipped %q, failed %q", r.skipped, r.failed)
			}
		})
	}
	if p := Tool(t, "go", "a Go toolchain"); p == "" {
		t.Error("Tool(go) found no path")
	}
}
