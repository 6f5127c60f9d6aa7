package spawner

import (
	"context"
	"errors"
)

// Spec is what one server gets: the profile its user picked, resolved by
// the manager (once per start, through Profiles) before the backend sees
// it. A backend takes what it can apply and never looks a profile up
// itself. Zero fields leave the backend's own defaults (the --mesos-*
// flags).
type Spec struct {
	Image string  // container image
	CPUs  float64 // cores
	Mem   float64 // MiB
	Disk  float64 // MiB
	GPUs  float64 // whole GPUs
	// Role is the Mesos role the server runs under; "" is the
	// framework's.
	Role string
	// Constraints place the server (Marathon's rules, parsed and
	// checked); the group they count in is the servers of one profile.
	Constraints []Constraint
	// Env is the profile's part of the server's environment: its env
	// and, where Spark runs on a cluster, the Spark settings the image's
	// entrypoint renders into spark-defaults.conf.
	Env map[string]string
	// Spark is the profile's Spark settings as the admin wrote them
	// (spark-defaults.conf entries); a backend that cannot apply them
	// says so.
	Spark map[string]string
	// DefaultURL is the page, under the server's base URL, its front end
	// opens on ("/lab", "/tree"); "" leaves Jupyter's own.
	DefaultURL string
}

// A Constraint is a Marathon placement rule over an agent's hostname or
// one of its attributes, already parsed and checked (images parses them,
// from a profile catalog or a flag): the operator is one of UNIQUE,
// CLUSTER, LIKE, UNLIKE, GROUP_BY and MAX_PER, and the value is what the
// operator takes (a regular expression for LIKE and UNLIKE, a count for
// GROUP_BY and MAX_PER, none for UNIQUE).
type Constraint struct {
	Field, Operator, Value string
}

// Profiles resolves the profile a user picks ("" for the default) into
// the spec of their server. The hub's catalog is one (images.Specs). A
// name it does not know is an error matching ErrNoProfile.
type Profiles interface {
	Resolve(name string) (Spec, error)
}

// User is a hub user as the manager knows them: the hub loads them (auth
// owns hub_users) and hands them over.
type User struct {
	ID   int64
	Name string
}

// Users names users by id, for what the manager finds in hub_servers on
// its own (the servers a previous hub left, at RecoverAll). auth's Store
// is one.
type Users interface {
	// Names returns the names of the users with these ids; ids of no
	// user are left out.
	Names(ctx context.Context, ids []int64) (map[int64]string, error)
}

// ErrNoProfile: the profile asked for is not in the catalog (400).
var ErrNoProfile = errors.New("no such profile")
