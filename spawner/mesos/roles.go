package mesos

import (
	"encoding/json"
	"errors"
	"sort"
	"strings"

	"github.com/sparkhub/sparkhub/spawner/mesos/internal/wire"
)

// An offer's resources are all allocated to one of the framework's roles
// (Offer.allocation_info). Some may be reserved for that role (or a role
// above it): Mesos keeps those apart from the unreserved ones, and a task
// that uses them must name them as they were offered (Resource.role and
// .reservation) and allocated to the offer's role.

// part is the share of an offer's resources under one reservation.
type part struct {
	role string                // Resource.role as offered: "*" or "" when unreserved
	resv *wire.ReservationInfo // a dynamic reservation, as offered
	res  wire.Resources
}

func (p part) reserved() bool { return p.role != "" && p.role != "*" }

// offered is what an offer holds for tasks: its role and its resources,
// reserved ones first.
type offered struct {
	role  string
	parts []part
}

// readOffer groups an offer's resources by reservation. def is the role
// of an offer that says none (a master that strips allocation_info).
func readOffer(o wire.Offer, def string) offered {
	x := offered{role: def}
	switch {
	case o.AllocationInfo != nil && o.AllocationInfo.Role != "":
		x.role = o.AllocationInfo.Role
	case len(o.Resources) > 0 && o.Resources[0].AllocationInfo != nil && o.Resources[0].AllocationInfo.Role != "":
		x.role = o.Resources[0].AllocationInfo.Role
	}
	index := map[string]int{}
	for _, r := range o.Resources {
		if r.AllocationInfo != nil && r.AllocationInfo.Role != "" && r.AllocationInfo.Role != x.role {
			continue // not the offer's: not for its tasks
		}
		key := r.Role
		if r.Reservation != nil {
			b, _ := json.Marshal(r.Reservation)
			key += "\x00" + string(b)
		}
		i, ok := index[key]
		if !ok {
			i = len(x.parts)
			index[key] = i
			x.parts = append(x.parts, part{role: r.Role, resv: r.Reservation})
		}
		x.parts[i].res = x.parts[i].res.Add(wire.FromWire([]wire.Resource{r}))
	}
	sort.SliceStable(x.parts, func(i, j int) bool { return x.parts[i].reserved() && !x.parts[j].reserved() })
	return x
}

// without is x less the given ports.
func (x offered) without(ports []uint64) offered {
	keep := wire.Resources{Ports: wire.PortRanges(ports)}
	out := offered{role: x.role}
	for _, p := range x.parts {
		for _, r := range keep.Ports {
			one := wire.Resources{Ports: []wire.Range{r}}
			if p.res.Contains(one) {
				p.res = p.res.Sub(one)
			}
		}
		out.parts = append(out.parts, p)
	}
	return out
}

// total is everything the offer holds.
func (x offered) total() wire.Resources {
	var t wire.Resources
	for _, p := range x.parts {
		t = t.Add(p.res)
	}
	return t
}

// take splits need and n ports off the offer, from its reserved
// resources first: use is what a task takes, rest what is left, ports the
// ports taken in order. ok is false when the offer is too small.
func (x offered) take(need wire.Resources, n int) (use, rest offered, ports []uint64, ok bool) {
	if !x.total().Contains(need) || x.total().NumPorts() < n {
		return offered{}, x, nil, false
	}
	use, rest = offered{role: x.role}, offered{role: x.role}
	want := need
	for _, p := range x.parts {
		var u wire.Resources
		for _, s := range []struct{ have, want, got *float64 }{
			{&p.res.CPUs, &want.CPUs, &u.CPUs}, {&p.res.Mem, &want.Mem, &u.Mem},
			{&p.res.Disk, &want.Disk, &u.Disk}, {&p.res.GPUs, &want.GPUs, &u.GPUs},
		} {
			*s.got = wire.Fixed(min(*s.have, *s.want))
			*s.want = wire.Fixed(*s.want - *s.got)
		}
		if k := min(n-len(ports), p.res.NumPorts()); k > 0 {
			ps, _ := p.res.TakePorts(k)
			ports = append(ports, ps...)
			u.Ports = wire.PortRanges(ps)
		}
		if !u.Empty() {
			use.parts = append(use.parts, part{role: p.role, resv: p.resv, res: u})
		}
		if left := p.res.Sub(u); !left.Empty() {
			rest.parts = append(rest.parts, part{role: p.role, resv: p.resv, res: left})
		}
	}
	return use, rest, ports, true
}

// wire is x as a task's resources: as offered, allocated to x's role.
func (x offered) wire() []wire.Resource {
	var out []wire.Resource
	for _, p := range x.parts {
		for _, r := range p.res.Wire(p.role, x.role) {
			r.Reservation = p.resv
			out = append(out, r)
		}
	}
	return out
}

// roleList is the framework's roles: first, and the others in order,
// each once.
func roleList(first string, more []string) []string {
	out := []string{first}
	for _, r := range more {
		if r == "" {
			continue
		}
		dup := false
		for _, x := range out {
			dup = dup || x == r
		}
		if !dup {
			out = append(out, r)
		}
	}
	return out
}

// checkRole is the master's rule for role names: "*", or path-like
// components none of which is ".", "..", "*" or starts with "-", without
// whitespace.
func checkRole(role string) error {
	if role == "*" {
		return nil
	}
	if role == "" || strings.HasPrefix(role, "/") || strings.HasSuffix(role, "/") ||
		strings.Contains(role, "//") || strings.ContainsAny(role, " \t\n\v\f\r\b") {
		return errors.New("not a Mesos role name")
	}
	for _, c := range strings.Split(role, "/") {
		if c == "." || c == ".." || c == "*" || strings.HasPrefix(c, "-") {
			return errors.New("not a Mesos role name")
		}
	}
	return nil
}
