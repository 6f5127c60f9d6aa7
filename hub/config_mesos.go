package hub

import (
	"errors"
	"flag"
)

// MesosConfig is what `--spawner mesos` is told: the --mesos-* flags.
type MesosConfig struct {
	Master string
}

func (m *MesosConfig) flags(fs *flag.FlagSet) {
	fs.StringVar(&m.Master, "mesos-master", m.Master, "the Mesos master: http://m1:5050,http://m2:5050 or zk://h1:2181,h2:2181/mesos")
}

// finish checks the settings when the Mesos spawner is chosen.
func (m *MesosConfig) finish() error {
	if m.Master == "" {
		return errors.New("--spawner mesos needs --mesos-master")
	}
	return nil
}
