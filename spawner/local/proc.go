package local

import (
	"errors"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// procStat reads a process's state letter and start time (clock ticks
// after boot) from /proc/<pid>/stat.
func procStat(pid int) (stateLetter string, ticks uint64, err error) {
	raw, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return "", 0, err
	}
	// The command name, in parentheses, may itself hold spaces and
	// parentheses: the fields start after the last ')'.
	s := string(raw)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return "", 0, errors.New("malformed /proc stat")
	}
	fields := strings.Fields(s[i+1:])
	if len(fields) < 20 {
		return "", 0, errors.New("malformed /proc stat")
	}
	ticks, err = strconv.ParseUint(fields[19], 10, 64) // field 22, starttime
	return fields[0], ticks, err
}

func startTicks(pid int) (uint64, error) {
	_, t, err := procStat(pid)
	return t, err
}

// bootID identifies this boot of the machine: pids and start times
// repeat across reboots.
func bootID() string {
	raw, err := os.ReadFile("/proc/sys/kernel/random/boot_id")
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(raw))
}

// sameProcess reports whether st's pid runs (not a zombie) and is the
// process that was started: same start time, same boot.
func sameProcess(st state) bool {
	letter, ticks, err := procStat(st.PID)
	if err != nil || letter == "Z" || letter == "X" {
		return false
	}
	return ticks == st.StartTicks && st.BootID == bootID()
}

// procUID is the effective uid a process runs as: the owner of its
// /proc folder.
func procUID(pid int) (uint32, bool) {
	fi, err := os.Stat("/proc/" + strconv.Itoa(pid))
	if err != nil {
		return 0, false
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, false
	}
	return st.Uid, true
}
