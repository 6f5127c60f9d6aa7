package mesos

import (
	"fmt"
	"regexp"
	"strconv"

	"github.com/sparkhub/sparkhub/spawner"
	"github.com/sparkhub/sparkhub/spawner/mesos/internal/wire"
)

// rule is a placement constraint, parsed and checked by images
// (Marathon's grammar: UNIQUE, CLUSTER, LIKE, UNLIKE, GROUP_BY, MAX_PER),
// compiled for evaluation against offers. Scalar, range and set
// attributes compare as Marathon formats them: "2", "[1-3]", "{a,b}".
// The group is the servers of one profile.
type rule struct {
	spawner.Constraint
	re *regexp.Regexp // LIKE and UNLIKE
}

// compile readies constraints for evaluation.
func compile(cs []spawner.Constraint) ([]rule, error) {
	rules := make([]rule, len(cs))
	for i, c := range cs {
		rules[i].Constraint = c
		if c.Operator == "LIKE" || c.Operator == "UNLIKE" {
			re, err := regexp.Compile("^(?:" + c.Value + ")$")
			if err != nil {
				return nil, fmt.Errorf("constraint %s %s %s: %w", c.Field, c.Operator, c.Value, err)
			}
			rules[i].re = re
		}
	}
	return rules, nil
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

// allows reports whether a new server of the group may go to agent,
// given where the group's servers already are.
func (c rule) allows(agent Placement, group []Placement) bool {
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
		return c.re.MatchString(v) == (c.Operator == "LIKE")
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
