package local

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// isolation is whose OS account servers run as.
type isolation int

const (
	// ownAccounts: the hub runs as root, and each user's server runs as
	// an unprivileged account of that user's own, made on first start.
	ownAccounts isolation = iota
	// oneUser: the hub is not root and was not told that its users trust
	// each other: servers run as the hub's own account, for one user only.
	oneUser
	// sharedAccount: --local-shared-account: every user's server runs as
	// the hub's own account.
	sharedAccount
)

func isolationFor(euid int, shared bool) isolation {
	switch {
	case shared:
		return sharedAccount
	case euid == 0:
		return ownAccounts
	default:
		return oneUser
	}
}

// Isolated reports whether each user's server runs as an account of its
// own.
func (b *Backend) Isolated() bool { return b.iso == ownAccounts }

// Describe is a sentence for the hub's log at start: whose account
// servers run as, and what that means for the users.
func (b *Backend) Describe() string {
	switch b.iso {
	case ownAccounts:
		return "each user's server runs as an OS account of its own (" + b.opts.AccountPrefix + "{name}), in a home folder only that account can enter"
	case oneUser:
		return "the hub is not running as root, so servers run as its own OS account and only one user can have one; run the hub as root to give each user an account of their own, or pass --local-shared-account if the users trust each other"
	default:
		return "every user's server runs as the hub's own OS account (--local-shared-account): any user's code can read every other user's files and the hub's database; only for users who trust each other"
	}
}

// DefaultAccountPrefix begins the name of every OS account made for a
// user's server (--local-account-prefix).
const DefaultAccountPrefix = "sh-"

// maxAccountName is the longest account name useradd accepts.
const maxAccountName = 32

// AccountName is the OS account of a user's servers: the prefix and the
// user's name (sparkhub's names are valid account names), or, past 32
// characters, the prefix, the name cut short, "-" and the first eight
// hex digits of the name's SHA-256, so that two long names never share
// an account.
func AccountName(prefix, name string) string {
	if len(prefix)+len(name) <= maxAccountName {
		return prefix + name
	}
	sum := sha256.Sum256([]byte(name))
	keep := maxAccountName - len(prefix) - 9
	return prefix + strings.TrimRight(name[:keep], "-_.") + "-" + hex.EncodeToString(sum[:4])
}

// checkPrefix says whether prefix can begin an account name.
func checkPrefix(prefix string) error {
	ok := prefix != "" && len(prefix) <= 10 && prefix[0] >= 'a' && prefix[0] <= 'z'
	for _, c := range prefix {
		ok = ok && (c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_')
	}
	if !ok {
		return fmt.Errorf("--local-account-prefix %q must be 1 to 10 lowercase letters, digits, '-' or '_', starting with a letter", prefix)
	}
	return nil
}

// accountComment begins the comment of every account the hub makes: an
// account without it was made by someone else, and is not the hub's to
// run servers as.
const accountComment = "sparkhub server of "

// account is the OS account a server runs as.
type account struct {
	Name     string
	UID, GID uint32
}

// ensureAccount returns the user's account, making it when it does not
// exist: no password, no login shell, a group of its own.
func (b *Backend) ensureAccount(ctx context.Context, name, home string) (account, error) {
	acct := AccountName(b.opts.AccountPrefix, name)
	b.accountsMu.Lock()
	defer b.accountsMu.Unlock()
	wait := 50 * time.Millisecond
	for attempt := 0; ; attempt++ {
		u, err := user.Lookup(acct)
		if err == nil {
			return checkAccount(u, name)
		}
		var unknown user.UnknownUserError
		if !errors.As(err, &unknown) {
			return account{}, fmt.Errorf("look up the OS account %s: %w", acct, err)
		}
		out, err := exec.CommandContext(ctx, "useradd",
			"--no-create-home", "--no-log-init", "--user-group",
			"--home-dir", home, "--shell", "/usr/sbin/nologin",
			"--comment", accountComment+name, acct).CombinedOutput()
		var exit *exec.ExitError
		switch {
		case err == nil:
			b.log.Info("made an OS account for a user's servers", "user", name, "account", acct)
			continue
		case errors.As(err, &exit) && exit.ExitCode() == 9:
			continue // made meanwhile by another process
		case attempt < 8 && errors.As(err, &exit) && strings.Contains(string(out), "lock"):
			// Another process holds the account files' lock.
			select {
			case <-ctx.Done():
				return account{}, ctx.Err()
			case <-time.After(wait):
			}
			wait *= 2
			continue
		}
		return account{}, fmt.Errorf("make the OS account %s: %v: %s", acct, err, strings.TrimSpace(string(out)))
	}
}

// checkAccount turns a looked-up account into the one to run as, when
// the hub made it for this user.
func checkAccount(u *user.User, name string) (account, error) {
	uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
	gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
	if err1 != nil || err2 != nil || uid == 0 || gid == 0 {
		return account{}, fmt.Errorf("the OS account %s has uid %s, gid %s: not an account a server may run as", u.Username, u.Uid, u.Gid)
	}
	if u.Name != accountComment+name {
		return account{}, fmt.Errorf("the OS account %s exists but was not made by sparkhub for %s (its comment is %q); remove it or choose another --local-account-prefix", u.Username, name, u.Name)
	}
	return account{Name: u.Username, UID: uint32(uid), GID: uint32(gid)}, nil
}

// ownHome makes the user's home folder the account's alone: created if
// missing, mode 0700, and everything in it owned by the account. The
// walk goes through an os.Root, so a link the user's code planted in the
// folder can never make the hub change a file outside it.
func ownHome(home string, acct account) error {
	if err := os.Mkdir(home, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return err
	}
	fi, err := os.Lstat(home)
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return fmt.Errorf("%s is not a folder", home)
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && st.Uid != acct.UID {
		// A folder from before servers had accounts (or of another
		// account): hand over all of it.
		root, err := os.OpenRoot(home)
		if err != nil {
			return err
		}
		defer root.Close()
		err = fs.WalkDir(root.FS(), ".", func(p string, _ fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			return root.Lchown(p, int(acct.UID), int(acct.GID))
		})
		if err != nil {
			return fmt.Errorf("give %s to %s: %w", home, acct.Name, err)
		}
	}
	return os.Chmod(home, 0o700)
}

// reachable checks that an account other than the hub's can walk down to
// dir: every folder above it lets others through (o+x).
func reachable(dir string) error {
	for d := filepath.Dir(dir); ; d = filepath.Dir(d) {
		fi, err := os.Stat(d)
		if err != nil {
			return err
		}
		if fi.Mode().Perm()&0o001 == 0 {
			return fmt.Errorf("servers run as accounts of their own, which cannot reach %s: %s lets no other account through (mode %04o); choose a --data-dir outside it, or allow passing through with chmod o+x %s", dir, d, fi.Mode().Perm(), d)
		}
		if d == filepath.Dir(d) {
			return nil
		}
	}
}

// endAccount kills every process the account still runs: a server's
// account runs nothing else, and whatever left the server's process
// group (a kernel that called setsid) must not outlive it.
func endAccount(uid uint32) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return
	}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if u, ok := procUID(pid); ok && u == uid {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}
