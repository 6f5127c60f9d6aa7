package db

// spawnerSteps are the spawner's steps, versions 200-299: hub_servers.
func spawnerSteps() []Step {
	return nil
}
