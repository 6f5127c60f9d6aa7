package spawner

import (
	"os"
	"strings"
	"testing"
	"time"
)

func TestExplainLog(t *testing.T) {
	// What Debian's notebook 6 wrote when sparkhub_contents was not on
	// its PYTHONPATH: the cause is 45 lines above the end.
	real, err := os.ReadFile("testdata/notebook6-no-sparkhub-contents.log")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		log  string
		want string
	}{
		{"notebook 6 without sparkhub_contents", string(real), "Python could not import sparkhub_contents"},
		{"import name", "ImportError: cannot import name 'Foo' from 'bar' (/x/bar.py)", "Python could not import Foo from bar"},
		{"trait", "[C 10:00:00.000 NotebookApp] The 'contents_manager_class' trait must be a type, but 'x.Y' could not be imported", "Python could not import x.Y"},
		{"port", "[C 10:00:00.000 ServerApp] ERROR: the notebook server could not be started because port 8888 is not available.\nOSError: [Errno 98] Address already in use", "the port it was given was already in use"},
		{"root", "[C 10:00:00.000 NotebookApp] Running as root is not recommended. Use --allow-root to bypass.", "Jupyter refuses to run as root"},
		{"shell", "sh: 1: jupyter-lab: not found", "the command jupyter-lab was not found"},
		{"permission", "PermissionError: [Errno 13] Permission denied: '/srv/x'", "it was refused access to '/srv/x'"},
		{"traceback end", "Traceback (most recent call last):\n  File \"x.py\", line 1\nValueError: bad config value", "Python stopped with ValueError: bad config value"},
		{"critical", "[I 10:00 NotebookApp] hello\n[C 10:00:01.000 NotebookApp] Bad config encountered during initialization", "Jupyter said: Bad config encountered during initialization"},
		{"the hub's own lines do not count", "[sparkhub] start failed: ValueError: x", ""},
		{"nothing", "[I 10:00 NotebookApp] Serving notebooks\n", ""},
		{"control characters", "ValueError: a\x1b[31mb", "Python stopped with ValueError: a [31mb"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := explainLog(strings.Split(tt.log, "\n")); got != tt.want {
				t.Errorf("explainLog = %q, want %q", got, tt.want)
			}
		})
	}
	if got := explainLog([]string{"ValueError: " + strings.Repeat("x", 500)}); len([]rune(got)) != 200 {
		t.Errorf("a long line gives %d characters, want 200", len([]rune(got)))
	}
}

func TestReasonSentences(t *testing.T) {
	tests := []struct {
		name string
		got  string
		want string
	}{
		{"exit 0", stoppedOnItsOwn(Status{ExitCode: 0, Reason: "it exited with status 0"}, nil),
			"Your server stopped: it was shut down from inside Jupyter (File > Shut Down)."},
		{"error with a cause", stoppedOnItsOwn(Status{ExitCode: 1, Reason: "it exited with status 1"}, []string{"MemoryError: out of memory"}),
			"Your server stopped: it exited with status 1 (Python stopped with MemoryError: out of memory)."},
		{"lost", stoppedOnItsOwn(Status{ExitCode: -1, Reason: "the machine running it (agent3) was lost"}, nil),
			"Your server stopped: the machine running it (agent3) was lost."},
		{"start with a cause", failedToStart(Status{ExitCode: 1, Reason: "it exited with status 1"}, []string{"ModuleNotFoundError: No module named 'sparkhub_contents'"}),
			"Your server exited while starting: Python could not import sparkhub_contents. Try again; if it keeps happening, tell an admin."},
		{"start with last words", failedToStart(Status{ExitCode: 3, Reason: "it exited with status 3"}, []string{"[sparkhub] starting", "jupyter: no such kernel", "[sparkhub] start failed"}),
			"Your server exited while starting: it exited with status 3; the last thing it wrote was “jupyter: no such kernel”. Try again; if it keeps happening, tell an admin."},
		{"stopped with last words", stoppedOnItsOwn(Status{ExitCode: 2, Reason: "it exited with status 2"}, []string{"bye: cannot go on"}),
			"Your server stopped: it exited with status 2; the last thing it wrote was “bye: cannot go on”."},
		{"last words that say nothing", stoppedOnItsOwn(Status{ExitCode: 2, Reason: "it exited with status 2"}, []string{"serving at http://127.0.0.1:5000/"}),
			"Your server stopped: it exited with status 2."},
		{"start without", failedToStart(Status{ExitCode: 1, Reason: "it exited with status 1"}, nil),
			"Your server exited while starting: it exited with status 1, before saying why. Try again; if it keeps happening, tell an admin."},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s: %q, want %q", tt.name, tt.got, tt.want)
		}
		if strings.Contains(tt.got, "home page") {
			t.Errorf("%s: %q sends the user to the home page, where it is shown", tt.name, tt.got)
		}
	}
}

func TestRedact(t *testing.T) {
	got := redact([]string{
		"http://127.0.0.1:5000/user/a/?token=abc123",
		"token abc123 seen",
		"http://x/?a=1&token=zzz&b=2",
	}, "abc123")
	want := []string{"http://127.0.0.1:5000/user/a/?token=[token]", "token [token] seen", "http://x/?a=1&token=[token]&b=2"}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("line %d = %q, want %q", i, got[i], want[i])
		}
	}
}

func TestHuman(t *testing.T) {
	for d, want := range map[time.Duration]string{
		time.Hour: "1h", 90 * time.Minute: "1h30m", 45 * time.Second: "45s", 500 * time.Millisecond: "500ms", 2*time.Minute + 5*time.Second: "2m5s",
	} {
		if got := human(d); got != want {
			t.Errorf("human(%s) = %q, want %q", d, got, want)
		}
	}
}

// The admin's lines keep the cause of a long traceback.
func TestAdminLinesKeepTheCause(t *testing.T) {
	m := &Manager{opts: Options{LogLines: 3}}
	lines := []string{"a", "ModuleNotFoundError: No module named 'x'", "b", "c", "d", "e", "f"}
	got := strings.Join(m.last(lines), "|")
	if want := "ModuleNotFoundError: No module named 'x'|[sparkhub] … 2 more lines …|d|e|f"; got != want {
		t.Errorf("admin lines = %q, want %q", got, want)
	}
	if got := strings.Join(m.last([]string{"a", "ValueError: y", "b"}), "|"); got != "a|ValueError: y|b" {
		t.Errorf("admin lines = %q, want them as they are", got)
	}
}
