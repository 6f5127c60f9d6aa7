package images

import (
	"bufio"
	"encoding/json"
	"fmt"
	"github.com/sparkhub/sparkhub/spawner/mesos"
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
	shellPipeRE = regexp.MustCompile(`\|\s*(sh|bash)\b`)
	// A pinned digest in an ARG: NAME_SHA1, NAME_SHA256, NAME_SHA512.
	digestArgRE = regexp.MustCompile(`^[A-Z0-9_]+_SHA(1|256|512)$`)
	hexRE       = regexp.MustCompile(`^[0-9a-f]+$`)
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
			k, v, _ := strings.Cut(in.args, "=")
			v = strings.Trim(v, `"`)
			if !seenFrom {
				globals[k] = v
			}
			if m := digestArgRE.FindStringSubmatch(k); m != nil {
				want := map[string]int{"1": 40, "256": 64, "512": 128}[m[1]]
				if len(v) != want || !hexRE.MatchString(v) {
					add(in, "%s is not a SHA-%s digest (%d lower-case hex digits)", k, m[1], want)
				}
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
			for _, msg := range checkDownloads(in.args) {
				add(in, "%s", msg)
			}
			if shellPipeRE.MatchString(in.args) {
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

// shellCommands splits a RUN line into its commands at &&, || and ;
// (a pipeline stays one command: echo "sum  file" | sha256sum -c -).
func shellCommands(run string) []string {
	return regexp.MustCompile(`&&|\|\||;`).Split(run, -1)
}

// checkDownloads says which file a curl or wget in a RUN line saves
// without a checksum check of that same file after it (a sha*sum -c in a
// later command of the line that names the file), and which download is
// not saved to a file at all, so could not be checked.
func checkDownloads(run string) []string {
	var bad []string
	cmds := shellCommands(run)
	for i, cmd := range cmds {
		loc := downloadRE.FindStringIndex(cmd)
		if loc == nil {
			continue
		}
		tool := strings.Fields(cmd[loc[0]:])[0]
		file, ok := downloadTarget(tool, strings.Fields(cmd[loc[0]:])[1:])
		if !ok {
			bad = append(bad, fmt.Sprintf("%s writes to stdout: save the download to a file and check it", tool))
			continue
		}
		checked := false
		for _, later := range cmds[i+1:] {
			if sumCheckRE.MatchString(later) && namesFile(later, file) {
				checked = true
				break
			}
		}
		if !checked {
			bad = append(bad, fmt.Sprintf("%s saves %s but no sha*sum -c after it checks that file", tool, file))
		}
	}
	return bad
}

// downloadTarget is the file a curl or wget command writes (-o/-O FILE,
// curl's combined short options such as -fsSLo FILE, curl -O and a
// plain wget: the URL's last path element); ok is false for stdout.
func downloadTarget(tool string, args []string) (file string, ok bool) {
	var url string
	remoteName := tool == "wget"
	for i := 0; i < len(args); i++ {
		a := strings.Trim(args[i], `"'`)
		next := func() string {
			if i+1 < len(args) {
				i++
				return strings.Trim(args[i], `"'`)
			}
			return ""
		}
		switch {
		case strings.HasPrefix(a, "http://") || strings.HasPrefix(a, "https://"):
			url = a
		case tool == "curl" && (a == "-o" || a == "--output"):
			return next(), true
		case tool == "curl" && strings.HasPrefix(a, "--output="):
			return strings.TrimPrefix(a, "--output="), true
		case tool == "curl" && (a == "-O" || a == "--remote-name"):
			remoteName = true
		case tool == "curl" && strings.HasPrefix(a, "-") && !strings.HasPrefix(a, "--"):
			// Combined short options: o takes the next word (or the rest).
			if j := strings.IndexByte(a, 'o'); j > 0 {
				if j+1 < len(a) {
					return a[j+1:], true
				}
				return next(), true
			}
			if strings.ContainsRune(a, 'O') {
				remoteName = true
			}
		case tool == "wget" && (a == "-O" || a == "--output-document"):
			f := next()
			return f, f != "-"
		case tool == "wget" && strings.HasPrefix(a, "-O") && len(a) > 2:
			return a[2:], a[2:] != "-"
		}
	}
	if remoteName && url != "" {
		return url[strings.LastIndex(url, "/")+1:], true
	}
	return "", false
}

// namesFile says whether cmd mentions file as a whole word (bounded by
// the line's ends, blanks or quotes).
func namesFile(cmd, file string) bool {
	if file == "" {
		return false
	}
	bound := func(b byte) bool { return b == ' ' || b == '\t' || b == '"' || b == '\'' }
	for from := 0; ; {
		j := strings.Index(cmd[from:], file)
		if j < 0 {
			return false
		}
		start, end := from+j, from+j+len(file)
		if (start == 0 || bound(cmd[start-1])) && (end == len(cmd) || bound(cmd[end])) {
			return true
		}
		from = start + 1
	}
}

// checkPip says what one pip install could fetch without a hash check.
// Packages come from a lock file (in dir) installed with --require-hashes,
// every one pinned with == and hashed (checkLockFile); a local path is
// fine when pip fetches nothing for it (--no-index --no-deps); a package
// named on the command line has no hash and is refused.
func checkPip(args []string, dir string) []string {
	var bad []string
	var locks, locals []string
	flags := map[string]bool{}
	for i := 0; i < len(args); i++ {
		a := strings.Trim(args[i], `"'`)
		switch {
		case a == "-r" || a == "--requirement":
			if i+1 == len(args) {
				bad = append(bad, a+" without a file")
				continue
			}
			i++
			locks = append(locks, strings.Trim(args[i], `"'`))
		case strings.HasPrefix(a, "--requirement="):
			locks = append(locks, strings.TrimPrefix(a, "--requirement="))
		case strings.HasPrefix(a, "-r"):
			locks = append(locks, strings.TrimPrefix(a, "-r"))
		case strings.HasPrefix(a, "-"):
			flags[a] = true
		case strings.HasPrefix(a, "/") || strings.HasPrefix(a, "."):
			locals = append(locals, a)
		default:
			bad = append(bad, fmt.Sprintf("%s is named on the command line: install it from a lock file with --require-hashes", a))
		}
	}
	if len(locks) > 0 && !flags["--require-hashes"] {
		bad = append(bad, "-r without --require-hashes (pip would install unhashed requirements)")
	}
	for _, l := range locks {
		bad = append(bad, checkLockFile(filepath.Join(dir, filepath.Base(l)))...)
	}
	for _, l := range locals {
		if len(locks) > 0 || !flags["--no-index"] || !flags["--no-deps"] {
			bad = append(bad, fmt.Sprintf("%s: a local path is installed on its own with --no-index --no-deps, so pip fetches nothing for it", l))
		}
	}
	if len(locks)+len(locals) == 0 && len(bad) == 0 {
		bad = append(bad, "installs neither a lock file nor a local path")
	}
	return bad
}

// checkRequirements checks a list of top-level pins (requirements.in):
// every line is name==version.
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
		"requirements.lock", "COPY --chmod=0755 entrypoint.sh " + mesos.DefaultEntrypoint}, // what the Mesos containerizer runs
	"Dockerfile.spark": {"SPARK_VERSION=3.5.", "MESOS_NATIVE_JAVA_LIBRARY=/usr/local/lib/libmesos.so", "hadoop-aws",
		"spark-sql-kafka-0-10_2.12", "spark-token-provider-kafka-0-10_2.12", "kafka-clients-${KAFKA_CLIENTS_VERSION}.jar",
		"commons-pool2-${COMMONS_POOL2_VERSION}.jar", "requirements-scala.lock", "WITH_R", "WITH_SCALA", "USER analyst"},
}

// TestPinningRulesCatch: the checks find what they are for. files are
// written beside the Dockerfile (the build context) first.
func TestPinningRulesCatch(t *testing.T) {
	const hash = "--hash=sha256:1111111111111111111111111111111111111111111111111111111111111111"
	goodLock := map[string]string{"r.lock": "numpy==1.26.4 \\\n    " + hash + "\n"}
	for _, tc := range []struct {
		name, dockerfile string
		files            map[string]string
		want             string
	}{
		{"latest", "FROM ubuntu:latest\n", nil, "is not pinned"},
		{"no tag", "FROM ubuntu\n", nil, "is not pinned"},
		{"floating tag", "FROM ubuntu:jammy\n", nil, "the tag names no exact version"},
		{"unpinned arg", "ARG B=debian\nFROM ${B}\n", nil, "is not pinned"},
		{"curl unchecked", "FROM ubuntu:22.04\nRUN curl -fsSLo x https://e/x && tar xf x\n", nil, "curl saves x but no sha*sum -c after it checks that file"},
		{"two downloads one check", "FROM ubuntu:22.04\nRUN curl -o a https://e/a \\\n && wget https://e/b \\\n && echo 'h  a' | sha256sum -c -\n", nil, "wget saves b but no sha*sum -c"},
		{"checks another file", "FROM ubuntu:22.04\nRUN curl -fsSLo a.jar https://e/a.jar \\\n && curl -fsSLo b.jar https://e/b.jar \\\n && echo 'h  a.jar' | sha256sum -c - \\\n && echo 'h  a.jar' | sha256sum -c -\n", nil, "saves b.jar but no sha*sum -c after it checks that file"},
		{"checks before download", "FROM ubuntu:22.04\nRUN echo 'h  a' | sha256sum -c - && curl -o a https://e/a\n", nil, "saves a but no sha*sum -c"},
		{"check names a longer file", "FROM ubuntu:22.04\nRUN curl -o a.jar https://e/a.jar && echo 'h  a.jar.old' | sha256sum -c -\n", nil, "saves a.jar but"},
		{"remote name unchecked", "FROM ubuntu:22.04\nRUN curl -fsSLO https://e/d/x.tgz && echo 'h  y.tgz' | sha256sum -c -\n", nil, "saves x.tgz but"},
		{"wget unchecked", "FROM ubuntu:22.04\nRUN wget -q https://e/d/x.tgz && echo 'h  y.tgz' | sha512sum -c -\n", nil, "saves x.tgz but"},
		{"curl to stdout", "FROM ubuntu:22.04\nRUN curl -fsSL https://e/x.tgz | tar xz && echo 'h  x.tgz' | sha256sum -c -\n", nil, "writes to stdout"},
		{"pipe to shell", "FROM ubuntu:22.04\nRUN curl https://e/i.sh | sh && echo 'h  x' | sha256sum -c -\n", nil, "pipes a download into a shell"},
		{"add url", "FROM ubuntu:22.04\nADD https://e/x /x\n", nil, "without --checksum"},
		{"short digest", "FROM ubuntu:22.04\nARG X_SHA256=abc123\n", nil, "X_SHA256 is not a SHA-256 digest"},
		{"sha1 in a sha512 arg", "FROM ubuntu:22.04\nARG X_SHA512=a65839fbf1869f81a1632e09f415e586922e4f80\n", nil, "X_SHA512 is not a SHA-512 digest"},
		{"pip named package", "FROM ubuntu:22.04\nRUN pip install numpy==1.26.4\n", nil, "numpy==1.26.4 is named on the command line"},
		{"pip unpinned", "FROM ubuntu:22.04\nRUN pip install numpy\n", nil, "numpy is named on the command line"},
		{"pip lock without require-hashes", "FROM ubuntu:22.04\nRUN pip install --no-deps -r /tmp/r.lock\n", goodLock, "-r without --require-hashes"},
		{"pip lock missing", "FROM ubuntu:22.04\nRUN pip install --require-hashes -r /tmp/r.lock\n", nil, "r.lock: no such file"},
		{"pip lock without hashes", "FROM ubuntu:22.04\nRUN pip install --require-hashes -r /tmp/r.lock\n", map[string]string{"r.lock": "numpy==1.26.4\n"}, "r.lock: line 1: numpy has no sha256 hash"},
		{"pip lock with a range", "FROM ubuntu:22.04\nRUN pip install --require-hashes -r r.lock\n", map[string]string{"r.lock": "numpy>=1 " + hash + "\n"}, `"numpy>=1" is not name==version`},
		{"pip lock and a package", "FROM ubuntu:22.04\nRUN pip install --require-hashes -r r.lock spylon-kernel==0.4.1\n", goodLock, "spylon-kernel==0.4.1 is named on the command line"},
		{"pip local path fetching deps", "FROM ubuntu:22.04\nRUN pip install --no-build-isolation /tmp/pkg\n", nil, "/tmp/pkg: a local path is installed on its own with --no-index --no-deps"},
		{"pip local path from the index", "FROM ubuntu:22.04\nRUN pip install --no-deps /tmp/pkg\n", nil, "a local path is installed on its own"},
		{"pip upgrades itself", "FROM ubuntu:22.04\nRUN python3 -m pip install --upgrade pip\n", nil, "pip is named on the command line"},
		{"mvn lax", "FROM ubuntu:22.04\nRUN mvn -B dependency:get -Dartifact=a:b:1\n", nil, "mvn without --strict-checksums"},
		{"bad exec form", "FROM ubuntu:22.04\nENTRYPOINT [\"a\", b]\n", nil, "not a JSON list"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, content := range tc.files {
				if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			ins, err := parseDockerfile(tc.dockerfile)
			if err != nil {
				t.Fatal(err)
			}
			got := strings.Join(checkPinning(ins, dir), "\n")
			if !strings.Contains(got, tc.want) {
				t.Errorf("problems %q, want one saying %q", got, tc.want)
			}
		})
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "r.lock"), []byte(goodLock["r.lock"]), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, ok := range []string{
		"FROM ubuntu:jammy-20251001\n",
		"FROM debian@sha256:" + strings.Repeat("a", 64) + "\n",
		"ARG B=sparkhub/notebook-base:0.1.0\nFROM ubuntu:22.04 AS build\nFROM build\nFROM ${B}\n",
		"FROM ubuntu:22.04\nRUN curl -o a https://e/a \\\n  # the release's own hash\n && echo 'h  a' | sha512sum -c -\n",
		"FROM ubuntu:22.04\nARG A_SHA1=a65839fbf1869f81a1632e09f415e586922e4f80\nRUN curl -fsSLo \"/j/a-${V}.jar\" \"https://e/a-${V}.jar\" \\\n && curl -fsSLO https://e/b.tgz \\\n && wget -q -O c.zip https://e/c \\\n && echo \"${A_SHA1}  /j/a-${V}.jar\" | sha1sum -c - \\\n && printf '%s  %s\\n' h b.tgz h c.zip | sha256sum -c -\n",
		"FROM ubuntu:22.04\nRUN pip install --no-cache-dir --require-hashes --no-deps --only-binary=:all: -r /tmp/r.lock \\\n && pip install --no-deps --no-index --no-build-isolation /tmp/pkg\n",
	} {
		ins, err := parseDockerfile(ok)
		if err != nil {
			t.Fatalf("%q: %v", ok, err)
		}
		if got := checkPinning(ins, dir); len(got) > 0 {
			t.Errorf("%q: unexpected problems %v", ok, got)
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
