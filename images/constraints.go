package images

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/sparkhub/sparkhub/spawner"
)

// Marathon's constraint grammar, read once for the whole hub: from a
// profile catalog (a list of [field, OPERATOR, value] lists) and from
// --mesos-constraints. What it gives is spawner.Constraint, which the
// Mesos backend compiles and evaluates; the operators mean
//
//	UNIQUE           no two servers of the group share the field's value
//	CLUSTER [value]  the value equals value (without one: the value of
//	                 the group's first server)
//	LIKE regex       the value matches regex (whole string)
//	UNLIKE regex     the value does not match; an agent lacking the
//	                 attribute passes (the only operator it passes)
//	GROUP_BY [n]     spread evenly over the values (n: how many there are)
//	MAX_PER n        at most n servers of the group per value

// Operators are Marathon's constraint operators.
var Operators = []string{"UNIQUE", "CLUSTER", "LIKE", "UNLIKE", "GROUP_BY", "MAX_PER"}

// ParseConstraints reads constraints as Marathon's JSON
// ([["hostname","UNIQUE"],["rack","LIKE","r[12]"]]) or as
// "field:OPERATOR[:value]" items separated by ';' (--mesos-constraints).
// Operators may be written in any case. Each is checked as a catalog's
// are.
func ParseConstraints(s string) ([]spawner.Constraint, error) {
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
		for it := range strings.SplitSeq(s, ";") {
			if it = strings.TrimSpace(it); it != "" {
				items = append(items, strings.SplitN(it, ":", 3))
			}
		}
	}
	var out []spawner.Constraint
	for _, it := range items {
		if len(it) < 2 || len(it) > 3 {
			return nil, fmt.Errorf("constraint %q: want field, operator and maybe a value", strings.Join(it, ":"))
		}
		c := spawner.Constraint{Field: it[0], Operator: strings.ToUpper(it[1])}
		if len(it) == 3 {
			c.Value = it[2]
		}
		if msg := checkConstraint(c); msg != "" {
			return nil, fmt.Errorf("constraint %q: %s", strings.Join(it, ":"), msg)
		}
		out = append(out, c)
	}
	return out, nil
}

// checkConstraint says what is wrong with c, or "".
func checkConstraint(c spawner.Constraint) string {
	if c.Field == "" {
		return "the field (hostname or an agent attribute) is empty"
	}
	known := false
	for _, op := range Operators {
		known = known || c.Operator == op
	}
	if !known {
		return fmt.Sprintf("operator %q does not exist; Marathon has %s", c.Operator, strings.Join(Operators, ", "))
	}
	switch c.Operator {
	case "UNIQUE":
		if c.Value != "" {
			return "UNIQUE takes no value"
		}
	case "LIKE", "UNLIKE":
		if c.Value == "" {
			return c.Operator + " needs a regular expression"
		}
		if _, err := regexp.Compile("^(?:" + c.Value + ")$"); err != nil {
			return fmt.Sprintf("%s %q is not a regular expression: %v", c.Operator, c.Value, err)
		}
	case "MAX_PER":
		if n, err := strconv.Atoi(c.Value); err != nil || n < 1 {
			return fmt.Sprintf("MAX_PER needs a whole number of at least 1, not %q", c.Value)
		}
	case "GROUP_BY":
		if c.Value != "" {
			if n, err := strconv.Atoi(c.Value); err != nil || n < 1 {
				return fmt.Sprintf("GROUP_BY takes an optional whole number of at least 1, not %q", c.Value)
			}
		}
	}
	return ""
}
