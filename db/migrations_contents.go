package db

// contentsSteps are the contents service's steps, versions 100-199: the
// pgcontents tables.
func contentsSteps() []Step {
	return nil
}
