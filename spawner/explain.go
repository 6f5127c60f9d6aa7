package spawner

import (
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// Why a server ended, in words its user understands. The backend says
// how the process ended (Status.Reason: "it exited with status 1", "it
// ran out of memory"); the server's own log often says why, in a line
// this file finds and rewrites.

// explanations turn a log line into a phrase: the first pattern that
// matches the line wins; lines are tried from the last one back, so the
// final exception of a traceback beats what led to it.
var explanations = []struct {
	re  *regexp.Regexp
	say func(m []string) string
}{
	{regexp.MustCompile(`No module named '([^']+)'`), func(m []string) string {
		return "Python could not import " + m[1]
	}},
	{regexp.MustCompile(`cannot import name '([^']+)' from '([^']+)'`), func(m []string) string {
		return "Python could not import " + m[1] + " from " + m[2]
	}},
	{regexp.MustCompile(`'([\w.]+)' could not be imported`), func(m []string) string {
		return "Python could not import " + m[1]
	}},
	{regexp.MustCompile(`(?i)port \d+ is already in use|address already in use`), func([]string) string {
		return "the port it was given was already in use"
	}},
	{regexp.MustCompile(`Running as root is not recommended`), func([]string) string {
		return "Jupyter refuses to run as root"
	}},
	{regexp.MustCompile(`(?i)unrecognized (?:arguments|alias|flag)[:\s]+(.*)`), func(m []string) string {
		return "Jupyter did not understand its arguments: " + m[1]
	}},
	{regexp.MustCompile(`(?i)no such file or directory[:\s]*(.*)`), func(m []string) string {
		if m[1] == "" {
			return "a file it needs does not exist"
		}
		return "a file it needs does not exist: " + m[1]
	}},
	{regexp.MustCompile(`(?i)permission denied[:\s]*(.*)`), func(m []string) string {
		if m[1] == "" {
			return "it was refused access to a file"
		}
		return "it was refused access to " + m[1]
	}},
	// A shell's "sh: 1: jupyter-lab: not found".
	{regexp.MustCompile(`([^\s:]+): (?:command )?not found$`), func(m []string) string {
		return "the command " + m[1] + " was not found"
	}},
	// The last line of a Python traceback: "ValueError: bad config".
	{regexp.MustCompile(`^(?:[\w.]+\.)?(\w+(?:Error|Exception)): (.+)$`), func(m []string) string {
		return "Python stopped with " + m[1] + ": " + m[2]
	}},
	// Jupyter's own critical lines: "[C 12:00:00.000 NotebookApp] ...".
	{regexp.MustCompile(`^\[C [^\]]*\] (.+)$`), func(m []string) string {
		return "Jupyter said: " + m[1]
	}},
}

// explainLines is how many of a server's last log lines are searched for
// why it ended: a Python traceback's cause may be far above its end.
const explainLines = 200

// last is the admin's part of a log: its last LogLines lines and, when
// the line that explains the end lies above them (a traceback's cause),
// that line first.
func (m *Manager) last(lines []string) []string {
	from := max(0, len(lines)-m.opts.LogLines)
	_, at := explain(lines)
	if at < 0 || at >= from {
		return lines[from:]
	}
	skipped := "[sparkhub] … " + strconv.Itoa(from-at-1) + " more lines …"
	return append([]string{lines[at], skipped}, lines[from:]...)
}

// explainLog is the phrase that best says, from a server's last log
// lines, why it ended; "" when no line does.
func explainLog(lines []string) string {
	why, _ := explain(lines)
	return why
}

// explain is explainLog with the index of the line that says it (-1
// when none does). The hub's own lines ("[sparkhub] ...") are skipped.
func explain(lines []string) (string, int) {
	for _, e := range explanations {
		for i := len(lines) - 1; i >= 0; i-- {
			line := strings.TrimSpace(lines[i])
			if line == "" || strings.HasPrefix(line, "[sparkhub]") {
				continue
			}
			if m := e.re.FindStringSubmatch(line); m != nil {
				for j := range m {
					m[j] = strings.TrimRight(strings.TrimSpace(m[j]), ".")
				}
				return clip(e.say(m), 200), i
			}
		}
	}
	return "", -1
}

// complaint is a line that reads like an error to a person.
var complaint = regexp.MustCompile(`(?i)\b(?:error|fail(?:ed|ure)?|cannot|can't|could not|no such|not found|denied|refused|invalid|unknown|missing)\b`)

// lastWords is the last line the server itself wrote, for when no line
// explains more, if that line complains of something; else "" (a
// line such as "serving at http://...", with its port, tells a user
// nothing).
func lastWords(lines []string) string {
	for i := len(lines) - 1; i >= 0; i-- {
		line := strings.TrimSpace(lines[i])
		if line == "" || strings.HasPrefix(line, "[sparkhub]") {
			continue
		}
		if complaint.MatchString(line) {
			return clip(line, 200)
		}
		return ""
	}
	return ""
}

// clip keeps at most n runes of s, without control characters.
func clip(s string, n int) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

// shutDownInJupyter is how a server that exited cleanly on its own
// ended: Jupyter exits 0 when told to from its own menu.
const shutDownInJupyter = "it was shut down from inside Jupyter (File > Shut Down)"

// stoppedOnItsOwn is what a user reads when their server ended without
// being asked to: the backend's reason ("it ran out of memory", "the
// machine running it (agent3) was lost") and, after an error, what its
// log says.
func stoppedOnItsOwn(st Status, tail []string) string {
	if st.ExitCode == 0 {
		return "Your server stopped: " + shutDownInJupyter + "."
	}
	msg := "Your server stopped"
	if st.Reason != "" {
		msg += ": " + st.Reason
	}
	if why := explainLog(tail); why != "" {
		msg += " (" + why + ")"
	} else if last := lastWords(tail); last != "" {
		msg += "; the last thing it wrote was “" + last + "”"
	}
	return msg + "."
}

// failedToStart is what a user reads when their server exited before it
// answered: what its log says, else how it ended.
func failedToStart(st Status, tail []string) string {
	why := explainLog(tail)
	ended := st.Reason
	if ended == "" {
		ended = "it exited"
	}
	switch last := lastWords(tail); {
	case why != "":
	case last != "":
		why = ended + "; the last thing it wrote was “" + last + "”"
	default:
		why = ended + ", before saying why"
	}
	return "Your server exited while starting: " + why + ". Try again; if it keeps happening, tell an admin."
}

// tokenInURL is a token in a URL a server logs ("?token=abc").
var tokenInURL = regexp.MustCompile(`([?&]token=)[^&\s]+`)

// redact removes the server's own token, and any token in a URL, from
// log lines before anyone sees them: an admin holding a server's token
// could reach it around the hub's checks.
func redact(lines []string, token string) []string {
	out := make([]string, len(lines))
	for i, l := range lines {
		if token != "" {
			l = strings.ReplaceAll(l, token, "[token]")
		}
		out[i] = tokenInURL.ReplaceAllString(l, "${1}[token]")
	}
	return out
}

// human writes a duration as people do: 1h, 1h30m, 45m, 90s.
func human(d time.Duration) string {
	if d < time.Second {
		return d.String()
	}
	var b strings.Builder
	if h := d / time.Hour; h > 0 {
		b.WriteString(strconv.FormatInt(int64(h), 10) + "h")
		d -= h * time.Hour
	}
	if m := d / time.Minute; m > 0 {
		b.WriteString(strconv.FormatInt(int64(m), 10) + "m")
		d -= m * time.Minute
	}
	if s := d.Round(time.Second) / time.Second; s > 0 {
		b.WriteString(strconv.FormatInt(int64(s), 10) + "s")
	}
	if b.Len() == 0 {
		return d.String()
	}
	return b.String()
}
