package auth

import (
	"context"
	"errors"
)

// EnsureFirstAdmin creates the user "admin" when there are no users at
// all. The password is the one given or, when that is empty, a random
// one; generated reports which, so the caller shows a random one once.
func EnsureFirstAdmin(ctx context.Context, st *Store, pw *Passwords, password string) (created, generated bool, usedPassword string, err error) {
	n, err := st.CountUsers(ctx)
	if err != nil || n > 0 {
		return false, false, "", err
	}
	generated = password == ""
	if generated {
		password = RandomPassword()
	}
	hash, err := pw.Hash(password)
	if err != nil {
		return false, false, "", err
	}
	if _, err := st.CreateUser(ctx, "admin", true, hash); err != nil {
		if errors.Is(err, ErrExists) {
			// Another hub starting at the same moment made it.
			return false, false, "", nil
		}
		return false, false, "", err
	}
	return true, generated, password, nil
}
