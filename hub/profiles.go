package hub

import (
	"context"
	"github.com/sparkhub/sparkhub/internal/httperr"
	"net/http"
	"strconv"
	"strings"

	"github.com/sparkhub/sparkhub/images"
)

// profileView is a profile as the pages show it.
type profileView struct {
	Name, DisplayName, Description, Resources string
	// Groups are the groups the profile is limited to, for the admin
	// page; "" when it is open to everyone.
	Groups string
}

// profilesFor lists the profiles the user with that id may see and
// start: all for an admin, else those open to everyone and those of a
// group of theirs, in catalog order.
func (h *Hub) profilesFor(ctx context.Context, userID int64) ([]images.Profile, error) {
	limited := false
	for _, p := range h.profiles.Profiles {
		limited = limited || len(p.Groups) > 0
	}
	if !limited {
		return h.profiles.Profiles, nil
	}
	u, err := h.users.UserByID(ctx, userID)
	if err != nil {
		return nil, err
	}
	if u.Admin {
		return h.profiles.Profiles, nil
	}
	groups, err := h.users.GroupNamesOf(ctx, userID)
	if err != nil {
		return nil, err
	}
	var out []images.Profile
	for _, p := range h.profiles.Profiles {
		if p.OpenTo(groups) {
			out = append(out, p)
		}
	}
	return out, nil
}

// chooseProfile checks that the user (the server's owner) may start the
// profile called name and returns the name to start: "" (the catalog's
// first profile) stays "" when the first is open to them, and becomes
// the first profile that is, when not. A profile that is not theirs is
// a 403 naming it.
func (h *Hub) chooseProfile(ctx context.Context, userID int64, owner, name string) (string, error) {
	open, err := h.profilesFor(ctx, userID)
	if err != nil {
		return "", err
	}
	if len(open) == 0 {
		return "", errorf(http.StatusForbidden, "No profile is open to %s: each is limited to groups %s is not in. An admin can add them to one.", owner, owner)
	}
	if name == "" {
		if open[0].Name == h.profiles.Profiles[0].Name {
			return "", nil
		}
		return open[0].Name, nil
	}
	for _, p := range open {
		if p.Name == name {
			return name, nil
		}
	}
	p, ok := h.profiles.Lookup(name)
	if !ok {
		return "", h.noProfile(name, open)
	}
	return "", errorf(http.StatusForbidden, "The profile %q is only for members of the groups %s, and %s is in none of them.", p.Name, strings.Join(p.Groups, ", "), owner)
}

// profileViews lists profiles for the home, spawn and admin pages.
func (h *Hub) profileViews(profiles []images.Profile) []profileView {
	out := make([]profileView, 0, len(profiles))
	for _, p := range profiles {
		name := p.DisplayName
		if name == "" {
			name = p.Name
		}
		res := resources(p)
		if res != "" && h.spawner == "local" {
			res += " (not applied: servers run as processes on the hub's machine)"
		}
		out = append(out, profileView{Name: p.Name, DisplayName: name, Description: p.Description, Resources: res, Groups: strings.Join(p.Groups, ", ")})
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
// spawner's ErrNoProfile), naming the ones open to the user.
func (h *Hub) noProfile(name string, open []images.Profile) error {
	names := make([]string, len(open))
	for i, p := range open {
		names[i] = p.Name
	}
	return errorf(http.StatusBadRequest, "There is no profile %q; choose one of: %s.", httperr.Shorten(name, 40), strings.Join(names, ", "))
}
