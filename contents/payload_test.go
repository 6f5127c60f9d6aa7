package contents

import (
	"bytes"
	"encoding/base64"
	"math/rand"
	"testing"
)

// Large payloads are encoded and decoded in two halves at once; every
// cut must give back the bytes (run with -race: the halves share one
// buffer).
func TestPayloadHalves(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	for _, n := range []int{0, 1, 2, 3, 2<<20 - 1, 2 << 20, 2<<20 + 1, 3<<20 + 2, 5<<20 + 7} {
		data := make([]byte, n)
		rng.Read(data)
		enc := encodePayload(data)
		if want := base64.StdEncoding.EncodeToString(data); string(enc) != want {
			t.Fatalf("encodePayload of %d bytes differs from base64", n)
		}
		dec, err := decodePayload(enc)
		if err != nil || !bytes.Equal(dec, data) {
			t.Fatalf("decodePayload(encodePayload(%d bytes)): %v, equal %v", n, err, bytes.Equal(dec, data))
		}
	}
	// Another client's upload with line breaks takes the lenient path.
	data := make([]byte, 3<<20)
	rng.Read(data)
	wrapped := base64.StdEncoding.EncodeToString(data)
	var b bytes.Buffer
	for i := 0; i < len(wrapped); i += 76 {
		b.WriteString(wrapped[i:min(i+76, len(wrapped))])
		b.WriteString("\r\n")
	}
	if dec, err := decodePayload(b.Bytes()); err != nil || !bytes.Equal(dec, data) {
		t.Fatalf("wrapped payload: %v, equal %v", err, bytes.Equal(dec, data))
	}
}
