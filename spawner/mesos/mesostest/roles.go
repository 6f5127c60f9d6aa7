package mesostest

import (
	"sort"
	"strconv"
	"strings"

	"github.com/sparkhub/sparkhub/spawner/mesos/internal/wire"
)

// pool is an amount of an agent's resources by reservation: "*" holds
// the unreserved ones, any other key those statically reserved for that
// role. Pools are values: the methods return new ones.
type pool map[string]wire.Resources

func (p pool) add(o pool) pool {
	out := pool{}
	for k, v := range p {
		out[k] = v
	}
	for k, v := range o {
		out[k] = out[k].Add(v)
	}
	return out.trim()
}

// sub returns p - o (o must be contained in p).
func (p pool) sub(o pool) pool {
	out := pool{}
	for k, v := range p {
		out[k] = v.Sub(o[k])
	}
	return out.trim()
}

func (p pool) trim() pool {
	for k, v := range p {
		if v.Empty() {
			delete(p, k)
		}
	}
	return p
}

func (p pool) contains(o pool) bool {
	for k, v := range o {
		if !p[k].Contains(v) {
			return false
		}
	}
	return true
}

func (p pool) empty() bool {
	for _, v := range p {
		if !v.Empty() {
			return false
		}
	}
	return true
}

// sum is everything in p, whatever its reservation.
func (p pool) sum() wire.Resources {
	var r wire.Resources
	for _, v := range p {
		r = r.Add(v)
	}
	return r
}

// keys are p's reservations, the unreserved first.
func (p pool) keys() []string {
	var ks []string
	for k := range p {
		ks = append(ks, k)
	}
	sort.Slice(ks, func(i, j int) bool { return ks[i] == "*" || ks[j] != "*" && ks[i] < ks[j] })
	return ks
}

// wire is p as offered resources: each with its reservation role (the
// format of frameworks without RESERVATION_REFINEMENT, where the master
// writes role "*" on unreserved resources) and, for a MULTI_ROLE
// framework, the role they are allocated to.
func (p pool) wire(alloc string) []wire.Resource {
	var out []wire.Resource
	for _, k := range p.keys() {
		out = append(out, p[k].Wire(k, alloc)...)
	}
	return out
}

// String formats p as the master's messages do:
// "cpus(allocated: a)(reservations: [(STATIC,a)]):1; mem(allocated: a):512".
func (p pool) String(alloc string) string {
	var parts []string
	for _, k := range p.keys() {
		for _, r := range p[k].Wire(k, alloc) {
			s := r.Name
			if alloc != "" {
				s += "(allocated: " + alloc + ")"
			}
			if k != "*" {
				s += "(reservations: [(STATIC," + k + ")])"
			}
			switch {
			case r.Scalar != nil:
				s += ":" + strconv.FormatFloat(float64(r.Scalar.Value), 'f', -1, 64)
			case r.Ranges != nil:
				var rs []string
				for _, x := range r.Ranges.Range {
					rs = append(rs, strconv.FormatUint(x.Begin, 10)+"-"+strconv.FormatUint(x.End, 10))
				}
				s += ":[" + strings.Join(rs, ", ") + "]"
			}
			parts = append(parts, s)
		}
	}
	return strings.Join(parts, "; ")
}

// allocatableTo is what of p may be allocated to role: the unreserved
// resources and those reserved for role or a role above it ("eng" for
// "eng/analytics").
func (p pool) allocatableTo(role string) pool {
	out := pool{}
	for k, v := range p {
		if k == "*" || k == role || strings.HasPrefix(role, k+"/") {
			out[k] = v
		}
	}
	return out.trim()
}

// validRole is the master's check of a role name: "" when it is valid,
// else why not.
func validRole(role string) string {
	if role == "*" {
		return ""
	}
	switch {
	case role == "":
		return "Empty role name is invalid"
	case strings.HasPrefix(role, "/"):
		return "Role '" + role + "' cannot start with a slash"
	case strings.HasSuffix(role, "/"):
		return "Role '" + role + "' cannot end with a slash"
	case strings.Contains(role, "//"):
		return "Role '" + role + "' cannot contain two adjacent slashes"
	case strings.ContainsAny(role, " \t\n\v\f\r\b"):
		return "Role '" + role + "' cannot contain whitespace or backspace"
	}
	for _, c := range strings.Split(role, "/") {
		if c == "." || c == ".." || c == "*" || strings.HasPrefix(c, "-") {
			return "Role '" + role + "' has an invalid component '" + c + "'"
		}
	}
	return ""
}

// taskResources reads a task's resources as the master does once it has
// put the offer's allocation on those that carry none: by reservation
// (Resource.role, "*" when unset), and the one role they are allocated
// to. msg is the validation error when they name no role or several.
func taskResources(rs []wire.Resource, offerRole string) (res pool, alloc, msg string) {
	res = pool{}
	seen := false
	for _, r := range rs {
		a := offerRole
		if r.AllocationInfo != nil {
			if r.AllocationInfo.Role == "" {
				return nil, "", "The resources are not allocated to a role"
			}
			a = r.AllocationInfo.Role
		}
		if seen && a != alloc {
			return nil, "", "The resources have multiple allocation roles ('" + a + "' and '" + alloc + "') but only one allocation role is allowed"
		}
		alloc, seen = a, true
		k := r.Role
		if k == "" {
			k = "*"
		}
		res[k] = res[k].Add(wire.FromWire([]wire.Resource{r}))
	}
	return res.trim(), alloc, ""
}
