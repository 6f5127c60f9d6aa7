package local

import (
	"context"
	"os"
	osuser "os/user"
	"path/filepath"
	"strconv"
	"syscall"

	"github.com/sparkhub/sparkhub/spawner"
)

var _ spawner.Sweeper = (*Backend)(nil)

// Sweep ends every process group that leads in the user's working
// directory: a server started by a hub that died before it saved the
// handle. Each server leads its own group there, so the group is the
// server with its kernels; a server's own account runs nothing else, so
// all of that account's processes end too.
func (b *Backend) Sweep(_ context.Context, user string) error {
	if err := checkName(user); err != nil {
		return err
	}
	work := filepath.Join(b.opts.DataDir, "users", user)
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return err
	}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		cwd, err := os.Readlink(filepath.Join("/proc", e.Name(), "cwd"))
		if err != nil || cwd != work {
			continue
		}
		if pgid, err := syscall.Getpgid(pid); err != nil || pgid != pid {
			continue
		}
		b.log.Info("ending a server left by an interrupted start", "user", user, "pid", pid)
		syscall.Kill(-pid, syscall.SIGKILL)
	}
	if b.iso == ownAccounts {
		// And whatever its account runs outside that group.
		if u, err := osuser.Lookup(AccountName(b.opts.AccountPrefix, user)); err == nil {
			if acct, err := checkAccount(u, user); err == nil {
				endAccount(acct.UID)
			}
		}
	}
	return nil
}
