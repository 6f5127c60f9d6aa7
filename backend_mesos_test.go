package main

import (
	"slices"
	"testing"

	"github.com/sparkhub/sparkhub/images"
)

func TestMesosRolesFromCatalog(t *testing.T) {
	cat, problems := images.ParseCatalog("p.yaml", []byte(`profiles:
  - {name: small, cpus: 1, mem: 1024}
  - {name: big, cpus: 8, mem: 65536, role: analytics}
  - {name: gpu, cpus: 4, mem: 16384, role: ml}
  - {name: huge, cpus: 16, mem: 131072, role: analytics}
`))
	if len(problems) > 0 {
		t.Fatal(problems)
	}
	cfg := defaults()
	if got := mesosRoles(cfg, cat); got != nil {
		t.Errorf("without --profiles: roles %v, want none", got)
	}
	cfg.Profiles = "p.yaml"
	if got, want := mesosRoles(cfg, cat), []string{"analytics", "ml"}; !slices.Equal(got, want) {
		t.Errorf("roles = %v, want %v", got, want)
	}
	for name, want := range map[string]string{"small": "", "big": "analytics"} {
		if spec, err := profileSpecs(cfg, cat).Resolve(name); err != nil || spec.Role != want {
			t.Errorf("spec of %s: role %q, %v; want %q", name, spec.Role, err, want)
		}
	}
}
