package wire

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
)

// Resources is an amount of the resources sparkhub deals in: cpus, mem
// and disk (MiB), gpus, and ports.
type Resources struct {
	CPUs  float64
	Mem   float64
	Disk  float64
	GPUs  float64
	Ports []Range
}

// ParseResources reads the agent --resources syntax the emulator takes:
// "cpus:4;mem:8192;disk:20000;gpus:1;ports:[31000-31999,32100-32200]".
func ParseResources(s string) (Resources, error) {
	var r Resources
	for _, part := range strings.Split(s, ";") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		name, val, ok := strings.Cut(part, ":")
		if !ok {
			return r, fmt.Errorf("resource %q: want name:value", part)
		}
		if name == "ports" {
			rs, err := parseRanges(val)
			if err != nil {
				return r, fmt.Errorf("resource ports: %w", err)
			}
			r.Ports = rs
			continue
		}
		f, err := strconv.ParseFloat(val, 64)
		if err != nil || f < 0 {
			return r, fmt.Errorf("resource %s: %q is not a number", name, val)
		}
		switch name {
		case "cpus":
			r.CPUs = f
		case "mem":
			r.Mem = f
		case "disk":
			r.Disk = f
		case "gpus":
			r.GPUs = f
		default:
			return r, fmt.Errorf("unknown resource %q", name)
		}
	}
	return r, nil
}

func parseRanges(s string) ([]Range, error) {
	s = strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(s), "["), "]")
	var out []Range
	for _, p := range strings.Split(s, ",") {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		a, b, ok := strings.Cut(p, "-")
		if !ok {
			b = a
		}
		begin, err1 := strconv.ParseUint(strings.TrimSpace(a), 10, 64)
		end, err2 := strconv.ParseUint(strings.TrimSpace(b), 10, 64)
		if err1 != nil || err2 != nil || end < begin {
			return nil, fmt.Errorf("bad range %q", p)
		}
		out = append(out, Range{Begin: begin, End: end})
	}
	return normRanges(out), nil
}

// FromWire sums a list of resources.
func FromWire(rs []Resource) Resources {
	var r Resources
	for _, x := range rs {
		switch {
		case x.Scalar != nil:
			v := float64(x.Scalar.Value)
			switch x.Name {
			case "cpus":
				r.CPUs += v
			case "mem":
				r.Mem += v
			case "disk":
				r.Disk += v
			case "gpus":
				r.GPUs += v
			}
		case x.Ranges != nil && x.Name == "ports":
			r.Ports = normRanges(append(r.Ports, x.Ranges.Range...))
		}
	}
	return r
}

// Wire is r as Mesos resources, with role and allocation role when set.
func (r Resources) Wire(role, allocRole string) []Resource {
	var out []Resource
	var alloc *AllocationInfo
	if allocRole != "" {
		alloc = &AllocationInfo{Role: allocRole}
	}
	for _, s := range []struct {
		name string
		v    float64
	}{{"cpus", r.CPUs}, {"mem", r.Mem}, {"disk", r.Disk}, {"gpus", r.GPUs}} {
		if s.v > 0 {
			out = append(out, Resource{Name: s.name, Type: "SCALAR", Scalar: &Scalar{Value: Number(Fixed(s.v))}, Role: role, AllocationInfo: alloc})
		}
	}
	if len(r.Ports) > 0 {
		out = append(out, Resource{Name: "ports", Type: "RANGES", Ranges: &Ranges{Range: append([]Range(nil), r.Ports...)}, Role: role, AllocationInfo: alloc})
	}
	return out
}

// Fixed rounds to Mesos's three decimal digits.
func Fixed(v float64) float64 { return math.Round(v*1000) / 1000 }

// Empty reports whether r holds nothing.
func (r Resources) Empty() bool {
	return r.CPUs <= 0 && r.Mem <= 0 && r.Disk <= 0 && r.GPUs <= 0 && len(r.Ports) == 0
}

// Contains reports whether every resource of o is in r.
func (r Resources) Contains(o Resources) bool {
	const eps = 1e-6
	return o.CPUs <= r.CPUs+eps && o.Mem <= r.Mem+eps && o.Disk <= r.Disk+eps && o.GPUs <= r.GPUs+eps &&
		rangesContain(r.Ports, o.Ports)
}

// Add returns r + o.
func (r Resources) Add(o Resources) Resources {
	return Resources{
		CPUs: Fixed(r.CPUs + o.CPUs), Mem: Fixed(r.Mem + o.Mem), Disk: Fixed(r.Disk + o.Disk), GPUs: Fixed(r.GPUs + o.GPUs),
		Ports: normRanges(append(append([]Range(nil), r.Ports...), o.Ports...)),
	}
}

// Sub returns r - o (o must be contained in r).
func (r Resources) Sub(o Resources) Resources {
	return Resources{
		CPUs: Fixed(math.Max(r.CPUs-o.CPUs, 0)), Mem: Fixed(math.Max(r.Mem-o.Mem, 0)),
		Disk: Fixed(math.Max(r.Disk-o.Disk, 0)), GPUs: Fixed(math.Max(r.GPUs-o.GPUs, 0)),
		Ports: subRanges(r.Ports, o.Ports),
	}
}

// NumPorts is how many ports r holds.
func (r Resources) NumPorts() int {
	n := 0
	for _, p := range r.Ports {
		n += int(p.End - p.Begin + 1)
	}
	return n
}

// TakePorts returns the first n ports of r, or false when r has fewer.
func (r Resources) TakePorts(n int) ([]uint64, bool) {
	var out []uint64
	for _, p := range r.Ports {
		for v := p.Begin; v <= p.End && len(out) < n; v++ {
			out = append(out, v)
		}
	}
	return out, len(out) == n
}

// PortRanges turns a list of ports into ranges.
func PortRanges(ports []uint64) []Range {
	var rs []Range
	for _, p := range ports {
		rs = append(rs, Range{Begin: p, End: p})
	}
	return normRanges(rs)
}

// String formats r like the agent's --resources flag.
func (r Resources) String() string {
	var parts []string
	for _, s := range []struct {
		name string
		v    float64
	}{{"cpus", r.CPUs}, {"mem", r.Mem}, {"disk", r.Disk}, {"gpus", r.GPUs}} {
		if s.v > 0 {
			parts = append(parts, s.name+":"+strconv.FormatFloat(s.v, 'f', -1, 64))
		}
	}
	if len(r.Ports) > 0 {
		var rs []string
		for _, p := range r.Ports {
			rs = append(rs, fmt.Sprintf("%d-%d", p.Begin, p.End))
		}
		parts = append(parts, "ports:["+strings.Join(rs, ",")+"]")
	}
	return strings.Join(parts, ";")
}

func normRanges(rs []Range) []Range {
	if len(rs) == 0 {
		return nil
	}
	rs = append([]Range(nil), rs...)
	sort.Slice(rs, func(i, j int) bool { return rs[i].Begin < rs[j].Begin })
	out := []Range{rs[0]}
	for _, r := range rs[1:] {
		last := &out[len(out)-1]
		if r.Begin <= last.End+1 {
			last.End = max(last.End, r.End)
			continue
		}
		out = append(out, r)
	}
	return out
}

func rangesContain(have, want []Range) bool {
	for _, w := range want {
		ok := false
		for _, h := range have {
			if w.Begin >= h.Begin && w.End <= h.End {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	return true
}

func subRanges(have, take []Range) []Range {
	out := normRanges(have)
	for _, t := range take {
		var next []Range
		for _, h := range out {
			if t.End < h.Begin || t.Begin > h.End {
				next = append(next, h)
				continue
			}
			if t.Begin > h.Begin {
				next = append(next, Range{Begin: h.Begin, End: t.Begin - 1})
			}
			if t.End < h.End {
				next = append(next, Range{Begin: t.End + 1, End: h.End})
			}
		}
		out = next
	}
	return out
}
