package auth

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"
)

// GroupSyncer stores the groups a company provider says a user is in,
// at each login (JupyterHub's manage_groups). The hub's group store
// implements it.
type GroupSyncer interface {
	SyncUserGroups(ctx context.Context, userID int64, groups []string) error
}

// Identity is who a company provider (OpenID Connect, LDAP) says a
// person is: the hub username it maps to and their groups there.
type Identity struct {
	Name   string
	Groups []string
}

// Admission is who a company provider may let in, the same for every
// provider: a person is admitted when AllowAll is set, their name is in
// AllowedUsers, or one of their groups is in AllowedGroups or
// AdminGroups. With AdminGroups set, membership of one of them makes a
// user an admin and its loss takes admin away at the next login.
type Admission struct {
	AllowAll      bool
	AllowedUsers  []string
	AllowedGroups []string
	AdminGroups   []string
	// Groups receives each admitted person's groups; nil keeps none.
	Groups GroupSyncer
}

// RefusedError is a login the provider accepted and the hub refuses;
// Msg says why, for the person trying.
type RefusedError struct{ Msg string }

func (e *RefusedError) Error() string { return e.Msg }

func refusedf(format string, args ...any) error {
	return &RefusedError{Msg: fmt.Sprintf(format, args...)}
}

// allowed reports whether the admission lets id in.
func (ad *Admission) allowed(id Identity) bool {
	if ad.AllowAll || slices.Contains(ad.AllowedUsers, id.Name) {
		return true
	}
	return ad.inAny(id.Groups, ad.AllowedGroups) || ad.inAny(id.Groups, ad.AdminGroups)
}

func (*Admission) inAny(groups, want []string) bool {
	return slices.ContainsFunc(groups, func(g string) bool { return slices.Contains(want, g) })
}

// Admit turns a person the provider source vouched for into the hub
// user of that name: made at first login, with admin following
// AdminGroups when those are set, and their groups handed to
// Admission.Groups. It refuses, with a *RefusedError, a name the
// username rule refuses, a person the admission does not allow, a
// disabled user, and a local account (one with a hub password): a
// provider must not log anyone in as the hub's own admin.
func (a *Authenticator) Admit(ctx context.Context, source string, id Identity) (*User, error) {
	ad := &a.opts.Admission
	if err := ValidateName(id.Name); err != nil {
		return nil, refusedf("%s gave the name %q, which cannot be a username on this hub: a username has 1 to 30 lowercase letters, digits, '-', '_' and '.', starting with a letter or a digit.", source, id.Name)
	}
	if !ad.allowed(id) {
		return nil, refusedf("%s is not allowed on this hub: ask an admin to add you to one of its allowed groups.", id.Name)
	}
	admin := ad.inAny(id.Groups, ad.AdminGroups)
	u, err := a.Store.UserByName(ctx, id.Name)
	switch {
	case errors.Is(err, ErrNotFound):
		if u, err = a.Store.CreateUser(ctx, id.Name, admin, ""); errors.Is(err, ErrExists) {
			// Made by a login of the same person a moment ago.
			u, err = a.Store.UserByName(ctx, id.Name)
		}
		if err != nil {
			return nil, err
		}
	case err != nil:
		return nil, err
	case u.PasswordHash != "":
		return nil, refusedf("%s is an account of this hub's own, which logs in with its password, not through %s.", id.Name, source)
	}
	if u.Disabled {
		return nil, refusedf("The account %s is disabled on this hub.", id.Name)
	}
	if len(ad.AdminGroups) > 0 && u.Admin != admin {
		if u, err = a.followAdminGroups(ctx, u, admin); err != nil {
			return nil, err
		}
	}
	if ad.Groups != nil {
		if err := ad.Groups.SyncUserGroups(ctx, u.ID, slices.Clone(id.Groups)); err != nil {
			return nil, fmt.Errorf("sync %s's groups: %w", u.Name, err)
		}
	}
	now := time.Now().UTC().Truncate(time.Microsecond)
	if err := a.Store.TouchUsers(ctx, map[int64]time.Time{u.ID: now}); err != nil {
		return nil, err
	}
	u.LastActivity = &now
	return u, nil
}

// followAdminGroups makes u an admin or takes admin away, as their
// groups say; the last admin stays one, so that someone can still
// manage the hub.
func (a *Authenticator) followAdminGroups(ctx context.Context, u *User, admin bool) (*User, error) {
	out := u
	err := a.Store.Transaction(ctx, func(st *Store) error {
		if !admin {
			var ie *InputError
			if err := st.KeepAnAdmin(ctx, u); errors.As(err, &ie) {
				return nil
			} else if err != nil {
				return err
			}
		}
		changed, err := st.UpdateUser(ctx, u.Name, UserChange{Admin: &admin})
		if err == nil {
			out = changed
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("follow %s's admin groups: %w", u.Name, err)
	}
	return out, nil
}
