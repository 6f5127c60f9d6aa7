package spawnertest_test

import (
	"testing"

	"github.com/sparkhub/sparkhub/spawner"
	"github.com/sparkhub/sparkhub/spawner/spawnertest"
)

func TestFakeConforms(t *testing.T) {
	spawnertest.Run(t, spawnertest.Harness{
		New: func(t *testing.T) spawner.Backend {
			f := spawnertest.NewFake()
			t.Cleanup(f.Close)
			return f
		},
		Reopen: func(_ *testing.T, b spawner.Backend) spawner.Backend { return b },
		Crash: func(_ *testing.T, b spawner.Backend, h spawner.Handle) {
			b.(*spawnertest.Fake).CrashHandle(h)
		},
		EchoesEnv: true,
	})
}
