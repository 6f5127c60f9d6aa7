package mesos

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/sparkhub/sparkhub/spawner/mesos/internal/wire"
)

// A Constraint is a Marathon placement rule over an agent's hostname or
// one of its attributes: [field, operator, value].
//
//	UNIQUE           no two servers of the group share the field's value
//	CLUSTER [value]  the value equals value (without one: the value of
//	                 the group's first server)
//	LIKE regex       the value matches regex (whole string)
//	UNLIKE regex     the value does not match; an agent lacking the
//	                 attribute passes (the only operator it passes)
//	GROUP_BY [n]     spread evenly over the values (n: how many there are)
//	MAX_PER n        at most n servers of the group per value
//
// Scalar, range and set attributes compare as Marathon formats them:
// "2", "[1-3]", "{a,b}". The group is the servers of one profile.
type Constraint struct {
	Field    string
	Operator string
	Value    string
	re       *regexp.Regexp
}

// ParseConstraints reads constraints as Marathon's JSON
// ([["hostname","UNIQUE"],["rack","LIKE","r[12]"]]) or as
// "field:OPERATOR[:value]" items separated by ';'.
func ParseConstraints(s string) ([]Constraint, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, nil
	}
	var items [][]string
	if strings.HasPrefix(s, "[") {
		if err := json.Unmarshal([]byte(s), &items); err != nil {
			return nil, fmt.Errorf("constraints: %w", err)
		}
	} else {
		for _, it := range strings.Split(s, ";") {
			if it = strings.TrimSpace(it); it != "" {
				items = append(items, strings.SplitN(it, ":", 3))
			}
		}
	}
	var out []Constraint
	for _, it := range items {
		if len(it) < 2 || len(it) > 3 || it[0] == "" {
			return nil, fmt.Errorf("constraint %q: want field, operator and maybe a value", strings.Join(it, ":"))
		}
		c := Constraint{Field: it[0], Operator: strings.ToUpper(it[1])}
		if len(it) == 3 {
			c.Value = it[2]
		}
		if err := c.check(); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

func (c *Constraint) check() error {
	bad := func(why string) error {
		return fmt.Errorf("constraint %s %s %s: %s", c.Field, c.Operator, c.Value, why)
	}
	switch c.Operator {
	case "UNIQUE", "CLUSTER":
	case "LIKE", "UNLIKE":
		if c.Value == "" {
			return bad("needs a regular expression")
		}
		re, err := regexp.Compile("^(?:" + c.Value + ")$")
		if err != nil {
			return bad(err.Error())
		}
		c.re = re
	case "GROUP_BY":
		if c.Value != "" {
			if n, err := strconv.Atoi(c.Value); err != nil || n < 1 {
				return bad("the value must be a positive number")
			}
		}
	case "MAX_PER":
		if n, err := strconv.Atoi(c.Value); err != nil || n < 1 {
			return bad("needs a positive number")
		}
	default:
		return bad("unknown operator (UNIQUE, CLUSTER, LIKE, UNLIKE, GROUP_BY, MAX_PER)")
	}
	return nil
}

// String is the constraint as "field:OPERATOR[:value]".
func (c Constraint) String() string {
	s := c.Field + ":" + c.Operator
	if c.Value != "" {
		s += ":" + c.Value
	}
	return s
}

// Placement is where one server of a group runs: its agent's hostname
// and attributes.
type Placement struct {
	Hostname   string
	Attributes []wire.Attribute
}

func (p Placement) field(name string) (string, bool) {
	if name == "hostname" {
		return p.Hostname, true
	}
	for _, a := range p.Attributes {
		if a.Name == name {
			return a.String(), true
		}
	}
	return "", false
}

// Allows reports whether a new server of the group may go to agent,
// given where the group's servers already are.
func (c Constraint) Allows(agent Placement, group []Placement) bool {
	v, ok := agent.field(c.Field)
	if !ok {
		return c.Operator == "UNLIKE"
	}
	counts := map[string]int{}
	var first string
	for i, p := range group {
		pv, ok := p.field(c.Field)
		if !ok {
			continue
		}
		if i == 0 || first == "" {
			first = pv
		}
		counts[pv]++
	}
	switch c.Operator {
	case "UNIQUE":
		return counts[v] == 0
	case "CLUSTER":
		if c.Value != "" {
			return v == c.Value
		}
		return first == "" || v == first
	case "LIKE", "UNLIKE":
		re := c.re
		if re == nil {
			var err error
			if re, err = regexp.Compile("^(?:" + c.Value + ")$"); err != nil {
				return false
			}
		}
		return re.MatchString(v) == (c.Operator == "LIKE")
	case "MAX_PER":
		n, _ := strconv.Atoi(c.Value)
		return counts[v] < n
	case "GROUP_BY":
		least := -1
		for _, n := range counts {
			if least < 0 || n < least {
				least = n
			}
		}
		if want, _ := strconv.Atoi(c.Value); want > len(counts) {
			least = 0 // some values have no server yet
		}
		return least < 0 || counts[v] <= least
	}
	return false
}
