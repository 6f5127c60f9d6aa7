package images

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// No Docker engine runs here, so the Dockerfiles are checked as text: a
// small parser of the Dockerfile syntax they use (continuations,
// comments, ARG before FROM, JSON-form ENTRYPOINT), then the pinning
// rules: every base image pinned, every download checked.

type instruction struct {
	line    int
	keyword string // upper case
	args    string
}

var dockerKeywords = map[string]bool{
	"ADD": true, "ARG": true, "CMD": true, "COPY": true, "ENTRYPOINT": true, "ENV": true, "EXPOSE": true,
	"FROM": true, "HEALTHCHECK": true, "LABEL": true, "ONBUILD": true, "RUN": true, "SHELL": true,
	"STOPSIGNAL": true, "USER": true, "VOLUME": true, "WORKDIR": true,
}

// parseDockerfile splits a Dockerfile into instructions.
func parseDockerfile(text string) ([]instruction, error) {
	var out []instruction
	var cur *instruction
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	n := 0
	for sc.Scan() {
		n++
		line := sc.Text()
		trimmed := strings.TrimSpace(line)
		if strings.HasPrefix(trimmed, "#") {
			continue // a comment, also inside a continued instruction
		}
		if cur == nil {
			if trimmed == "" {
				continue
			}
			kw, rest, _ := strings.Cut(trimmed, " ")
			kw = strings.ToUpper(kw)
			if !dockerKeywords[kw] {
				return nil, fmt.Errorf("line %d: unknown instruction %q", n, kw)
			}
			if strings.Contains(rest, "<<") && (kw == "RUN" || kw == "COPY") {
				return nil, fmt.Errorf("line %d: heredocs are not used here", n)
			}
			cur = &instruction{line: n, keyword: kw}
			line = rest
		}
		cont := strings.HasSuffix(strings.TrimRight(line, " \t"), "\\")
		if cont {
			line = strings.TrimSuffix(strings.TrimRight(line, " \t"), "\\")
		}
		cur.args += line + " "
		if !cont {
			cur.args = strings.TrimSpace(cur.args)
			if cur.args == "" {
				return nil, fmt.Errorf("line %d: %s without arguments", cur.line, cur.keyword)
			}
			out = append(out, *cur)
			cur = nil
		}
	}
	if cur != nil {
		return nil, fmt.Errorf("line %d: the file ends inside %s", cur.line, cur.keyword)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no instructions")
	}
	return out, sc.Err()
}

var (
	argRefRE    = regexp.MustCompile(`\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?`)
	pinnedTagRE = regexp.MustCompile(`^[a-z0-9][a-z0-9._/-]*(:[A-Za-z0-9_.-]*[0-9][A-Za-z0-9_.-]*)?(@sha256:[0-9a-f]{64})?$`)
	downloadRE  = regexp.MustCompile(`\b(curl|wget)\s+("?https?://|-)`)
	sumCheckRE  = regexp.MustCompile(`\bsha(1|256|512)sum (-c|--check)\b`)
	pipRE       = regexp.MustCompile(`\bpip3? install\b([^&;|]*)`)
)

// checkPinning lists every breach of the pinning rules in a Dockerfile.
func checkPinning(ins []instruction, dir string) []string {
	var bad []string
	add := func(in instruction, format string, args ...any) {
		bad = append(bad, fmt.Sprintf("line %d: %s: %s", in.line, in.keyword, fmt.Sprintf(format, args...)))
	}
	globals := map[string]string{}
	stages := map[string]bool{}
	seenFrom := false
	for _, in := range ins {
		switch in.keyword {
		case "ARG":
			if !seenFrom {
				k, v, _ := strings.Cut(in.args, "=")
				globals[k] = strings.Trim(v, `"`)
			}
		case "FROM":
			seenFrom = true
			f := strings.Fields(in.args)
			var image string
			for _, w := range f {
				if !strings.HasPrefix(w, "--") {
					image = w
					break
				}
			}
			resolved := argRefRE.ReplaceAllStringFunc(image, func(ref string) string {
				return globals[argRefRE.FindStringSubmatch(ref)[1]]
			})
			switch {
			case stages[resolved]:
			case resolved == "":
				add(in, "%q names no image", image)
			case strings.Contains(resolved, ":latest") || !strings.ContainsAny(resolved, ":@"):
				add(in, "%q is not pinned (use an exact tag or a digest, never latest)", resolved)
			case !pinnedTagRE.MatchString(resolved):
				add(in, "%q: the tag names no exact version", resolved)
			}
			// A stage named here may be used by later FROMs.
			if len(f) >= 3 && strings.EqualFold(f[len(f)-2], "AS") {
				stages[f[len(f)-1]] = true
			}
		case "ADD":
			if strings.Contains(in.args, "://") && !strings.Contains(in.args, "--checksum=") {
				add(in, "a download without --checksum")
			}
		case "RUN":
			downloads := len(downloadRE.FindAllString(in.args, -1))
			checks := len(sumCheckRE.FindAllString(in.args, -1))
			if downloads > checks {
				add(in, "%d download(s) but %d checksum check(s)", downloads, checks)
			}
			if regexp.MustCompile(`\|\s*(sh|bash)\b`).MatchString(in.args) {
				add(in, "pipes a download into a shell")
			}
			if strings.Contains(in.args, "mvn ") && !strings.Contains(in.args, "--strict-checksums") {
				add(in, "mvn without --strict-checksums")
			}
			for _, m := range pipRE.FindAllStringSubmatch(in.args, -1) {
				for _, msg := range checkPip(strings.Fields(m[1]), dir) {
					add(in, "pip install: %s", msg)
				}
			}
		case "ENTRYPOINT", "CMD":
			if strings.HasPrefix(in.args, "[") {
				var v []string
				if err := json.Unmarshal([]byte(in.args), &v); err != nil {
					add(in, "exec form is not a JSON list of strings: %v", err)
				}
			}
		}
	}
	return bad
}

// checkPip says what is unpinned in one pip install's arguments: a
// requirements file (in dir) must pin every line with ==; a package
// named on the command line must carry ==; local paths are fine.
func checkPip(args []string, dir string) []string {
	var bad []string
	for i := 0; i < len(args); i++ {
		a := strings.Trim(args[i], `"'`)
		switch {
		case a == "-r" || a == "--requirement":
			if i+1 < len(args) {
				i++
				bad = append(bad, checkRequirements(filepath.Join(dir, filepath.Base(args[i])))...)
			}
		case strings.HasPrefix(a, "-"):
		case strings.HasPrefix(a, "/") || strings.HasPrefix(a, "."):
		case !strings.Contains(a, "=="):
			bad = append(bad, fmt.Sprintf("%s is not pinned with ==", a))
		}
	}
	return bad
}

func checkRequirements(path string) []string {
	b, err := os.ReadFile(path)
	if err != nil {
		return []string{err.Error()}
	}
	var bad []string
	for i, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if !regexp.MustCompile(`^[A-Za-z0-9_.\-\[\],]+==[0-9][A-Za-z0-9_.+!-]*$`).MatchString(line) {
			bad = append(bad, fmt.Sprintf("%s:%d: %q is not name==version", filepath.Base(path), i+1, line))
		}
	}
	return bad
}

func TestDockerfiles(t *testing.T) {
	files, _ := filepath.Glob("Dockerfile*")
	if len(files) < 2 {
		t.Fatalf("found %v, want the base and the Spark Dockerfiles", files)
	}
	for _, f := range files {
		t.Run(f, func(t *testing.T) {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			ins, err := parseDockerfile(string(b))
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			for _, p := range checkPinning(ins, ".") {
				t.Error(p)
			}
			// What the entrypoint and the contents manager need.
			text := string(b)
			for _, want := range dockerfileMusts[f] {
				if !strings.Contains(text, want) {
					t.Errorf("%s lacks %q", f, want)
				}
			}
			// COPY sources exist in the build context (images/).
			for _, in := range ins {
				if in.keyword != "COPY" || strings.Contains(in.args, "--from=") {
					continue
				}
				fields := strings.Fields(in.args)
				for _, src := range fields[:len(fields)-1] {
					if strings.HasPrefix(src, "--") {
						continue
					}
					if _, err := os.Stat(src); err != nil {
						t.Errorf("line %d: COPY %s: %v", in.line, src, err)
					}
				}
			}
		})
	}
}

var dockerfileMusts = map[string][]string{
	"Dockerfile": {"openjdk-17-jre-headless", "tini", "USER analyst", "sparkhub_contents.HubContentsManager",
		"requirements.txt", "/usr/local/bin/sparkhub-entrypoint"},
	"Dockerfile.spark": {"SPARK_VERSION=3.5.", "MESOS_NATIVE_JAVA_LIBRARY=/usr/local/lib/libmesos.so", "hadoop-aws",
		"spark-sql-kafka-0-10_2.12", "WITH_R", "WITH_SCALA", "USER analyst"},
}

// TestPinningRulesCatch: the checks find what they are for.
func TestPinningRulesCatch(t *testing.T) {
	for _, tc := range []struct {
		name, dockerfile, want string
	}{
		{"latest", "FROM ubuntu:latest\n", "is not pinned"},
		{"no tag", "FROM ubuntu\n", "is not pinned"},
		{"floating tag", "FROM ubuntu:jammy\n", "the tag names no exact version"},
		{"unpinned arg", "ARG B=debian\nFROM ${B}\n", "is not pinned"},
		{"curl unchecked", "FROM ubuntu:22.04\nRUN curl -fsSLo x https://e/x && tar xf x\n", "1 download(s) but 0 checksum"},
		{"two downloads one check", "FROM ubuntu:22.04\nRUN curl -o a https://e/a \\\n && wget https://e/b \\\n && echo 'h  a' | sha256sum -c -\n", "2 download(s) but 1 checksum"},
		{"pipe to shell", "FROM ubuntu:22.04\nRUN curl https://e/i.sh | sh && echo 'h  x' | sha256sum -c -\n", "pipes a download into a shell"},
		{"add url", "FROM ubuntu:22.04\nADD https://e/x /x\n", "without --checksum"},
		{"pip unpinned", "FROM ubuntu:22.04\nRUN pip install numpy\n", "numpy is not pinned"},
		{"mvn lax", "FROM ubuntu:22.04\nRUN mvn -B dependency:get -Dartifact=a:b:1\n", "mvn without --strict-checksums"},
		{"bad exec form", "FROM ubuntu:22.04\nENTRYPOINT [\"a\", b]\n", "not a JSON list"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ins, err := parseDockerfile(tc.dockerfile)
			if err != nil {
				t.Fatal(err)
			}
			got := strings.Join(checkPinning(ins, t.TempDir()), "\n")
			if !strings.Contains(got, tc.want) {
				t.Errorf("problems %q, want one saying %q", got, tc.want)
			}
		})
	}
	for _, ok := range []string{
		"FROM ubuntu:jammy-20251001\n",
		"FROM debian@sha256:" + strings.Repeat("a", 64) + "\n",
		"ARG B=sparkhub/notebook-base:0.1.0\nFROM ubuntu:22.04 AS build\nFROM build\nFROM ${B}\n",
		"FROM ubuntu:22.04\nRUN curl -o a https://e/a \\\n  # the release's own hash\n && echo 'h  a' | sha512sum -c -\n",
	} {
		ins, err := parseDockerfile(ok)
		if err != nil {
			t.Fatalf("%q: %v", ok, err)
		}
		if got := checkPinning(ins, "."); len(got) > 0 {
			t.Errorf("%q: unexpected problems %v", ok, got)
		}
	}
}

// TestRequirements: the Python stack the issue names, each pinned.
func TestRequirements(t *testing.T) {
	if bad := checkRequirements("requirements.txt"); len(bad) > 0 {
		t.Errorf("unpinned: %v", bad)
	}
	b, _ := os.ReadFile("requirements.txt")
	for _, p := range []string{"numpy==", "pandas==", "matplotlib==", "scikit-learn==", "pyarrow==", "jupyterlab==", "notebook==", "nbclassic==", "ipykernel=="} {
		if !strings.Contains(string(b), "\n"+p) {
			t.Errorf("requirements.txt lacks %s", p)
		}
	}
}

func TestParseDockerfileRefuses(t *testing.T) {
	for _, bad := range []string{"", "FORM ubuntu:22.04\n", "FROM ubuntu:22.04\nRUN a \\\n", "FROM ubuntu:22.04\nRUN <<EOF\nx\nEOF\n"} {
		if _, err := parseDockerfile(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}
