package hub

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/sparkhub/sparkhub/images"
)

// profileView is a profile as the pages show it.
type profileView struct {
	Name, DisplayName, Description, Resources string
}

// profileViews lists the catalog for the home, spawn and admin pages.
func (h *Hub) profileViews() []profileView {
	out := make([]profileView, 0, len(h.profiles.Profiles))
	for _, p := range h.profiles.Profiles {
		name := p.DisplayName
		if name == "" {
			name = p.Name
		}
		res := resources(p)
		if res != "" && h.spawner == "local" {
			res += " (not applied: servers run as processes on the hub's machine)"
		}
		out = append(out, profileView{Name: p.Name, DisplayName: name, Description: p.Description, Resources: res})
	}
	return out
}

// resources says what a profile gives in words: "2 CPUs · 8 GiB · 1 GPU".
func resources(p images.Profile) string {
	num := func(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }
	parts := []string{}
	if p.CPUs > 0 {
		unit := "CPUs"
		if p.CPUs == 1 {
			unit = "CPU"
		}
		parts = append(parts, num(p.CPUs)+" "+unit)
	}
	if p.Mem > 0 {
		if p.Mem >= 1024 {
			parts = append(parts, num(p.Mem/1024)+" GiB")
		} else {
			parts = append(parts, num(p.Mem)+" MiB")
		}
	}
	if p.GPUs > 0 {
		unit := "GPUs"
		if p.GPUs == 1 {
			unit = "GPU"
		}
		parts = append(parts, num(p.GPUs)+" "+unit)
	}
	return strings.Join(parts, " · ")
}

// noProfile refuses a profile name the catalog does not have (the
// spawner's ErrNoProfile).
func (h *Hub) noProfile(name string) error {
	return errorf(http.StatusBadRequest, "There is no profile %q; choose one of: %s.", truncate(name, 40), strings.Join(h.profiles.Names(), ", "))
}
