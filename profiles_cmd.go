package main

import (
	"fmt"
	"strings"

	"github.com/sparkhub/sparkhub/images"
)

// profilesCheck is `sparkhub profiles check FILE`: every problem of a
// profile catalog on its own line (file:line: profile: field: what), and
// a non-zero exit when there is any.
func (c *cli) profilesCheck(args []string) error {
	pos, err := c.parse("profiles check", newFlagSet("profiles check"), args)
	if err != nil {
		return err
	}
	if err := wantArgs("profiles check", pos, 1); err != nil {
		return err
	}
	file := pos[0]
	problems := images.Check(file)
	if len(problems) > 0 {
		for _, p := range problems {
			fmt.Fprintln(c.stderr, p.String())
		}
		return fmt.Errorf("%s: %d problem(s)", file, len(problems))
	}
	cat, err := images.LoadCatalog(file)
	if err != nil {
		return err
	}
	for _, w := range cat.Warnings() {
		fmt.Fprintf(c.stderr, "%s: warning: %s\n", file, w)
	}
	fmt.Fprintf(c.stdout, "%s: %d profile(s), no problems: %s\n", file, len(cat.Profiles), strings.Join(cat.Names(), ", "))
	return nil
}
