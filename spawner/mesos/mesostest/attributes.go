package mesostest

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/sparkhub/sparkhub/spawner/mesos/internal/wire"
)

// ParseAttributes reads the agent --attributes syntax:
// "rack:r1;zone:us-east-1a;ssd:1;rng:[1-3];tags:{a,b}". A number is a
// SCALAR, [..] RANGES, {..} a SET, anything else TEXT.
func ParseAttributes(s string) ([]Attribute, error) {
	var out []Attribute
	for _, part := range strings.Split(s, ";") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		name, val, ok := strings.Cut(part, ":")
		if !ok || name == "" {
			return nil, fmt.Errorf("attribute %q: want name:value", part)
		}
		a := wire.Attribute{Name: name}
		switch {
		case strings.HasPrefix(val, "["):
			r, err := wire.ParseResources("ports:" + val)
			if err != nil {
				return nil, fmt.Errorf("attribute %s: %w", name, err)
			}
			a.Type, a.Ranges = "RANGES", &wire.Ranges{Range: r.Ports}
		case strings.HasPrefix(val, "{"):
			items := strings.Split(strings.Trim(val, "{}"), ",")
			a.Type, a.Set = "SET", &wire.Set{Item: items}
		default:
			if f, err := strconv.ParseFloat(val, 64); err == nil {
				a.Type, a.Scalar = "SCALAR", &wire.Scalar{Value: wire.Number(f)}
			} else {
				a.Type, a.Text = "TEXT", &wire.Text{Value: val}
			}
		}
		out = append(out, a)
	}
	return out, nil
}
