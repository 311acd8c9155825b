package layers

import (
	"bytes"
	"io"
	"math/rand"
	"testing"

	"github.com/klauspost/compress/zstd"
)

// TestZstdOptionsKeepBytes checks that the speed and memory options the
// zstd writer uses leave its output as the plain single-threaded encoder's
// at the same level, on data spanning many blocks, so the bytes do not
// depend on them (nor on the machine's core count).
func TestZstdOptionsKeepBytes(t *testing.T) {
	rng := rand.New(rand.NewSource(7))
	data := make([]byte, 5<<20)
	for i := range data {
		data[i] = "nixlayer store path \x00\xff"[rng.Intn(22)]
	}
	encode := func(w io.WriteCloser, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		for off := 0; off < len(data); off += 100_000 {
			if _, err := w.Write(data[off:min(off+100_000, len(data))]); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
	}
	var plain, ours bytes.Buffer
	encode(zstd.NewWriter(&plain, zstd.WithEncoderLevel(zstdLevel), zstd.WithEncoderConcurrency(1), zstd.WithZeroFrames(true)))
	encode(Zstd.NewWriter(&ours))
	if !bytes.Equal(plain.Bytes(), ours.Bytes()) {
		t.Fatalf("zstd output changed with the writer's options: %d bytes vs %d plain", ours.Len(), plain.Len())
	}
}
