package auth

import (
	"github.com/sparkhub/sparkhub/internal/httperr"
	"slices"
	"sort"
	"strings"
)

// Scope names, as JupyterHub spells them, plus sparkhub's "contents".
const (
	ScopeSelf             = "self"
	ScopeInherit          = "inherit"
	ScopeAdminUsers       = "admin:users"
	ScopeUsers            = "users"
	ScopeListUsers        = "list:users"
	ScopeReadUsers        = "read:users"
	ScopeReadUsersName    = "read:users:name"
	ScopeReadUsersGroups  = "read:users:groups"
	ScopeReadUsersActive  = "read:users:activity"
	ScopeUsersActivity    = "users:activity"
	ScopeDeleteUsers      = "delete:users"
	ScopeAdminServers     = "admin:servers"
	ScopeAdminServerState = "admin:server_state"
	ScopeServers          = "servers"
	ScopeReadServers      = "read:servers"
	ScopeDeleteServers    = "delete:servers"
	ScopeAccessServers    = "access:servers"
	ScopeTokens           = "tokens"
	ScopeReadTokens       = "read:tokens"
	ScopeReadHub          = "read:hub"
	ScopeReadMetrics      = "read:metrics"
	ScopeShutdown         = "shutdown"
	ScopeProxy            = "proxy"
	ScopeContents         = "contents"
	ScopeAdminGroups      = "admin:groups"
	ScopeGroups           = "groups"
	ScopeListGroups       = "list:groups"
	ScopeReadGroups       = "read:groups"
	ScopeReadGroupsName   = "read:groups:name"
	ScopeDeleteGroups     = "delete:groups"
)

// subscopes is JupyterHub 3's scope hierarchy for the scopes sparkhub
// knows: holding a scope grants everything below it.
var subscopes = map[string][]string{
	ScopeAdminUsers:     {ScopeUsers, ScopeDeleteUsers},
	ScopeUsers:          {ScopeReadUsers, ScopeListUsers, ScopeUsersActivity},
	ScopeReadUsers:      {ScopeReadUsersName, ScopeReadUsersGroups, ScopeReadUsersActive},
	ScopeAdminServers:   {ScopeAdminServerState, ScopeReadServers},
	ScopeServers:        {ScopeDeleteServers},
	ScopeTokens:         {ScopeReadTokens},
	ScopeAdminGroups:    {ScopeGroups, ScopeDeleteGroups},
	ScopeGroups:         {ScopeReadGroups, ScopeListGroups},
	ScopeReadGroups:     {ScopeReadGroupsName},
	ScopeListGroups:     {ScopeReadGroupsName},
	ScopeReadGroupsName: nil, ScopeDeleteGroups: nil,
	ScopeListUsers:     nil,
	ScopeReadUsersName: nil, ScopeReadUsersGroups: nil, ScopeReadUsersActive: nil,
	ScopeUsersActivity: nil, ScopeDeleteUsers: nil, ScopeAdminServerState: nil,
	ScopeReadServers: nil, ScopeDeleteServers: nil, ScopeAccessServers: nil,
	ScopeReadTokens: nil, ScopeReadHub: nil, ScopeReadMetrics: nil,
	ScopeShutdown: nil, ScopeContents: nil, ScopeProxy: nil,
}

// KnownScopes lists every scope name a token may be given.
func KnownScopes() []string {
	names := []string{ScopeInherit, ScopeSelf}
	for s := range subscopes {
		names = append(names, s)
	}
	sort.Strings(names[2:])
	return names
}

// Scopes is an expanded set of scopes: each entry is a scope name, alone
// (on every user or group), with a "!user=NAME" filter (on that user
// only) or with a "!group=NAME" filter (on that group, and on the users
// who are its members at the time of each request: Principal.Can).
type Scopes map[string]bool

// Has reports whether the set grants scope on the given user's
// resources ("" for a hub-wide scope).
func (s Scopes) Has(scope, user string) bool {
	if s[scope] {
		return true
	}
	return user != "" && s[scope+"!user="+user]
}

// HasGroup reports whether the set grants scope on the named group: the
// scope alone or with that group's filter. A !user= filter never grants
// a group.
func (s Scopes) HasGroup(scope, group string) bool {
	return s[scope] || s[scope+"!group="+group]
}

// filterGroups lists the groups of the set's !group= filters.
func (s Scopes) filterGroups() []string {
	var out []string
	for k := range s {
		if _, g, ok := strings.Cut(k, "!group="); ok && !slices.Contains(out, g) {
			out = append(out, g)
		}
	}
	sort.Strings(out)
	return out
}

// HasAny reports whether the set grants scope on any user at all.
func (s Scopes) HasAny(scope string) bool {
	if s[scope] {
		return true
	}
	for k := range s {
		if strings.HasPrefix(k, scope+"!") {
			return true
		}
	}
	return false
}

// List returns the scopes sorted, as GET /hub/api/user shows them.
func (s Scopes) List() []string {
	out := make([]string, 0, len(s))
	for k := range s {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func (s Scopes) addTree(scope, filter string) {
	s[scope+filter] = true
	for _, sub := range subscopes[scope] {
		s.addTree(sub, filter)
	}
}

// RoleScopes are what a user holds by being who they are: their own
// resources, and for admins the hub's. Reaching other users' servers and
// contents takes adminAccess (--admin-access) too.
func RoleScopes(u *User, adminAccess bool) Scopes {
	s := Scopes{}
	self := "!user=" + u.Name
	for _, sc := range []string{ScopeReadUsers, ScopeUsersActivity, ScopeServers, ScopeReadServers, ScopeTokens, ScopeAccessServers, ScopeContents} {
		s.addTree(sc, self)
	}
	if u.Admin {
		for _, sc := range []string{ScopeAdminUsers, ScopeAdminServers, ScopeServers, ScopeTokens, ScopeAdminGroups, ScopeReadHub, ScopeReadMetrics, ScopeShutdown, ScopeProxy} {
			s.addTree(sc, "")
		}
		if adminAccess {
			s.addTree(ScopeAccessServers, "")
			s.addTree(ScopeContents, "")
		}
	}
	return s
}

// ParseScopes checks scope names a person asked for ("read:users",
// "servers!user=alice", "access:servers!group=interns", "inherit") and
// returns them cleaned and sorted.
func ParseScopes(names []string) ([]string, error) {
	seen := map[string]bool{}
	for _, raw := range names {
		n := strings.TrimSpace(raw)
		if n == "" {
			continue
		}
		base, filter, hasFilter := strings.Cut(n, "!")
		if _, ok := subscopes[base]; !ok && base != ScopeInherit && base != ScopeSelf {
			return nil, inputErrorf("unknown scope %q; known scopes are %s", httperr.Shorten(base, 40), strings.Join(KnownScopes(), ", "))
		}
		if hasFilter {
			ok := base != ScopeInherit && base != ScopeSelf
			if user, isUser := strings.CutPrefix(filter, "user="); isUser {
				ok = ok && ValidateName(user) == nil
			} else if group, isGroup := strings.CutPrefix(filter, "group="); isGroup {
				ok = ok && ValidateGroupName(group) == nil
			} else {
				ok = false
			}
			if !ok {
				return nil, inputErrorf("scope %q has a filter sparkhub does not know; use SCOPE!user=NAME or SCOPE!group=NAME", httperr.Shorten(n, 60))
			}
		}
		seen[n] = true
	}
	out := make([]string, 0, len(seen))
	for n := range seen {
		out = append(out, n)
	}
	sort.Strings(out)
	return out, nil
}

// Grant returns what a token with the given scopes may do for its owner,
// who holds owner: the token's scopes, expanded, cut down to the owner's.
// "inherit" (and no scopes at all) means everything the owner holds.
func Grant(tokenScopes []string, owner Scopes, ownerName string) Scopes {
	if len(tokenScopes) == 0 || slices.Contains(tokenScopes, ScopeInherit) {
		return owner
	}
	want := Scopes{}
	for _, n := range tokenScopes {
		if n == ScopeSelf {
			for _, sc := range []string{ScopeReadUsers, ScopeUsersActivity, ScopeServers, ScopeReadServers, ScopeTokens, ScopeAccessServers, ScopeContents} {
				want.addTree(sc, "!user="+ownerName)
			}
			continue
		}
		base, filter, _ := strings.Cut(n, "!")
		if filter != "" {
			filter = "!" + filter
		}
		want.addTree(base, filter)
	}
	got := Scopes{}
	for k := range want {
		base, _, hasFilter := strings.Cut(k, "!")
		switch {
		case owner[base]:
			got[k] = true
		case hasFilter:
			if owner[k] {
				got[k] = true
			}
		default:
			// An unfiltered scope the owner holds only on some users
			// narrows to those users.
			for ok := range owner {
				if strings.HasPrefix(ok, base+"!") {
					got[ok] = true
				}
			}
		}
	}
	return got
}

// Missing returns the first of the requested scopes the owner does not
// hold, or "" when the owner holds them all.
func Missing(requested []string, owner Scopes, ownerName string) string {
	for _, n := range requested {
		if n == ScopeInherit || n == ScopeSelf {
			continue
		}
		base, filter, hasFilter := strings.Cut(n, "!")
		if hasFilter {
			// A group's filter needs the scope on everyone: the
			// group's members change after the token is made.
			user, isUser := strings.CutPrefix(filter, "user=")
			if !isUser && !owner[base] || isUser && !owner.Has(base, user) {
				return n
			}
			continue
		}
		if !owner[base] {
			// A user's own token may ask for a scope it then holds only
			// on that user, as JupyterHub allows.
			if !owner.Has(base, ownerName) {
				return n
			}
		}
	}
	return ""
}
