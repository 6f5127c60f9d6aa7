package images

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// A lock file is what pip install --require-hashes reads: one
// requirement a logical line (continued with \), each name==version
// followed by its --hash=sha256: options, in the form
// pip-compile --generate-hashes writes. Nothing else is allowed on a
// requirement line: no ranges, markers, URLs or index options.

type lockedPackage struct {
	name, version string
	hashes        []string
	line          int
}

var (
	lockPinRE  = regexp.MustCompile(`^([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)==([0-9][A-Za-z0-9.+!_-]*)$`)
	lockHashRE = regexp.MustCompile(`^--hash=sha256:[0-9a-f]{64}$`)
	nameSepRE  = regexp.MustCompile(`[-_.]+`)
)

// normalizeName is a package name as PyPI compares them (PEP 503).
func normalizeName(name string) string {
	return nameSepRE.ReplaceAllString(strings.ToLower(name), "-")
}

// parseLock reads a lock file and says what is wrong with it: a line
// that is not name==version with sha256 hashes, a package without a
// hash, a package listed twice.
func parseLock(text string) ([]lockedPackage, []string) {
	var pkgs []lockedPackage
	var bad []string
	seen := map[string]int{}
	var logical string
	start := 0
	flush := func() {
		line := strings.TrimSpace(logical)
		logical = ""
		if line == "" {
			return
		}
		// A comment starts at # after a blank (pip's rule).
		if i := strings.Index(line, " #"); i >= 0 {
			line = strings.TrimSpace(line[:i])
		}
		fields := strings.Fields(line)
		m := lockPinRE.FindStringSubmatch(fields[0])
		if m == nil {
			bad = append(bad, fmt.Sprintf("line %d: %q is not name==version", start, fields[0]))
			return
		}
		p := lockedPackage{name: m[1], version: m[2], line: start}
		for _, f := range fields[1:] {
			if !lockHashRE.MatchString(f) {
				bad = append(bad, fmt.Sprintf("line %d: %s: %q is not --hash=sha256:<64 hex digits>", start, p.name, f))
				continue
			}
			p.hashes = append(p.hashes, strings.TrimPrefix(f, "--hash=sha256:"))
		}
		if len(p.hashes) == 0 {
			bad = append(bad, fmt.Sprintf("line %d: %s has no sha256 hash", start, p.name))
		}
		key := normalizeName(p.name)
		if first, ok := seen[key]; ok {
			bad = append(bad, fmt.Sprintf("line %d: %s is listed again (first on line %d)", start, p.name, first))
		}
		seen[key] = start
		pkgs = append(pkgs, p)
	}
	for n, raw := range strings.Split(text, "\n") {
		trimmed := strings.TrimSpace(raw)
		if logical == "" {
			if trimmed == "" || strings.HasPrefix(trimmed, "#") {
				continue
			}
			start = n + 1
		}
		if strings.HasSuffix(trimmed, `\`) {
			logical += strings.TrimSuffix(trimmed, `\`) + " "
			continue
		}
		logical += trimmed
		flush()
	}
	if logical != "" {
		bad = append(bad, fmt.Sprintf("line %d: the file ends inside a continued line", start))
		flush()
	}
	if len(pkgs) == 0 && len(bad) == 0 {
		bad = append(bad, "no packages")
	}
	return pkgs, bad
}

// checkLockFile is parseLock's complaints about the file at path.
func checkLockFile(path string) []string {
	b, err := os.ReadFile(path)
	if err != nil {
		return []string{err.Error()}
	}
	_, bad := parseLock(string(b))
	for i := range bad {
		bad[i] = filepath.Base(path) + ": " + bad[i]
	}
	return bad
}

func readLock(t *testing.T, path string) map[string]lockedPackage {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	pkgs, bad := parseLock(string(b))
	for _, msg := range bad {
		t.Errorf("%s: %s", path, msg)
	}
	byName := map[string]lockedPackage{}
	for _, p := range pkgs {
		byName[normalizeName(p.name)] = p
	}
	return byName
}

// TestRequirementsLock: the notebook image's lock parses, holds the
// stack the issue names (JupyterLab 4, Notebook 7 and the classic
// notebook), and pins every top-level package of requirements.in at
// the version requirements.in names.
func TestRequirementsLock(t *testing.T) {
	if bad := checkRequirements("requirements.in"); len(bad) > 0 {
		t.Errorf("requirements.in: %v", bad)
	}
	lock := readLock(t, "requirements.lock")
	in, err := os.ReadFile("requirements.in")
	if err != nil {
		t.Fatal(err)
	}
	top := map[string]string{}
	for _, line := range strings.Split(string(in), "\n") {
		line = strings.TrimSpace(line)
		if name, version, ok := strings.Cut(line, "=="); ok && !strings.HasPrefix(line, "#") {
			top[normalizeName(name)] = version
		}
	}
	for _, want := range []string{"numpy", "pandas", "matplotlib", "scikit-learn", "pyarrow", "jupyterlab", "notebook", "nbclassic", "ipykernel", "setuptools"} {
		if _, ok := top[want]; !ok {
			t.Errorf("requirements.in lacks %s", want)
		}
	}
	for name, version := range top {
		p, ok := lock[name]
		switch {
		case !ok:
			t.Errorf("requirements.lock lacks %s, pinned in requirements.in", name)
		case p.version != version:
			t.Errorf("requirements.lock has %s==%s, requirements.in %s", name, p.version, version)
		}
	}
	for name, major := range map[string]string{"jupyterlab": "4.", "notebook": "7."} {
		if v := lock[name].version; !strings.HasPrefix(v, major) {
			t.Errorf("%s==%s, want %sx", name, v, major)
		}
	}
	// What Python 3.10 needs that 3.11 has built in, so the lock is not
	// one made for a newer Python.
	for _, name := range []string{"exceptiongroup", "tomli"} {
		if _, ok := lock[name]; !ok {
			t.Errorf("requirements.lock lacks %s, which Python 3.10 needs", name)
		}
	}
}

// TestParseLockCatches: each broken lock is refused, saying why.
func TestParseLockCatches(t *testing.T) {
	const h1 = "1111111111111111111111111111111111111111111111111111111111111111"
	const h2 = "2222222222222222222222222222222222222222222222222222222222222222"
	for _, tc := range []struct {
		name, lock, want string
	}{
		{"empty", "# nothing\n", "no packages"},
		{"no hash", "numpy==1.26.4\n", "numpy has no sha256 hash"},
		{"range", "numpy>=1.26 \\\n    --hash=sha256:" + h1 + "\n", `"numpy>=1.26" is not name==version`},
		{"unpinned", "numpy \\\n    --hash=sha256:" + h1 + "\n", `"numpy" is not name==version`},
		{"marker", "tomli==2.0.1 ; python_version < \"3.11\" \\\n    --hash=sha256:" + h1 + "\n", `";" is not --hash`},
		{"short hash", "numpy==1.26.4 \\\n    --hash=sha256:abc\n", "is not --hash=sha256"},
		{"md5", "numpy==1.26.4 \\\n    --hash=md5:0123456789abcdef0123456789abcdef\n", "is not --hash=sha256"},
		{"upper-case hash", "numpy==1.26.4 \\\n    --hash=sha256:" + strings.ToUpper(strings.Repeat("ab", 32)) + "\n", "is not --hash=sha256"},
		{"index option", "--index-url https://example.org/simple\nnumpy==1.26.4 --hash=sha256:" + h1 + "\n", "is not name==version"},
		{"url", "numpy @ https://example.org/numpy.whl --hash=sha256:" + h1 + "\n", "is not name==version"},
		{"twice", "Jinja2==3.1.4 --hash=sha256:" + h1 + "\njinja2==3.1.4 --hash=sha256:" + h2 + "\n", "jinja2 is listed again"},
		{"twice, other spelling", "typing_extensions==4.12.2 --hash=sha256:" + h1 + "\ntyping.extensions==4.12.2 --hash=sha256:" + h2 + "\n", "listed again"},
		{"ends continued", "numpy==1.26.4 \\\n    --hash=sha256:" + h1 + " \\", "ends inside a continued line"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, bad := parseLock(tc.lock)
			got := strings.Join(bad, "\n")
			if !strings.Contains(got, tc.want) {
				t.Errorf("problems %q, want one saying %q", got, tc.want)
			}
		})
	}
	good := "# c\nnumpy==1.26.4 \\\n    --hash=sha256:" + h1 + " \\\n    --hash=sha256:" + h2 + "\n    # via -r requirements.in\nsix==1.16.0 --hash=sha256:" + h1 + "  # inline\n"
	pkgs, bad := parseLock(good)
	if len(bad) > 0 {
		t.Fatalf("good lock: %v", bad)
	}
	if len(pkgs) != 2 || pkgs[0].name != "numpy" || len(pkgs[0].hashes) != 2 || pkgs[1].version != "1.16.0" {
		t.Errorf("good lock parsed as %+v", pkgs)
	}
}
