package contents

import (
	"bytes"
	"io"
	"math/rand"
	"testing"
	"testing/iotest"
)

// TestReadUpToTrustsOnlyWhatArrives: a client that declares a body of
// 200 MiB and sends a few bytes makes the hub hold no more than
// firstRead, however it stops (end of body or a broken connection);
// honest bodies of every size, with their length declared or not, come
// back whole.
func TestReadUpToTrustsOnlyWhatArrives(t *testing.T) {
	for _, src := range []io.Reader{
		bytes.NewReader([]byte("{}")),
		io.MultiReader(bytes.NewReader([]byte("{}")), iotest.ErrReader(io.ErrUnexpectedEOF)),
	} {
		buf, _ := readUpTo(src, 200<<20)
		if cap(buf) > firstRead {
			t.Errorf("a body declared as 200 MiB that sent 2 bytes took %d bytes of memory", cap(buf))
		}
	}
	rng := rand.New(rand.NewSource(1))
	for _, n := range []int{0, 1, 511, 512, 513, firstRead - 1, firstRead, firstRead + 1, 3*firstRead + 5} {
		want := make([]byte, n)
		rng.Read(want)
		for _, declared := range []int64{int64(n), -1} {
			got, err := readUpTo(iotest.HalfReader(bytes.NewReader(want)), declared)
			if err != nil || !bytes.Equal(got, want) {
				t.Fatalf("%d bytes (declared %d): got %d bytes, %v", n, declared, len(got), err)
			}
			if declared == int64(n) && cap(got) > n+1 && n > 0 {
				t.Errorf("%d bytes declared: %d bytes of memory, want at most one more", n, cap(got))
			}
		}
	}
}
