package compression

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand"
	"os/exec"
	"sync"
	"testing"

	"github.com/klauspost/compress/zstd"
)

// sample returns n bytes of compressible, seeded data.
func sample(n int, seed int64) []byte {
	rng := rand.New(rand.NewSource(seed))
	data := make([]byte, n)
	for i := range data {
		data[i] = "nixlayer store path \x00\xff"[rng.Intn(22)]
	}
	return data
}

// framesOf is what a zstd layer must hold for data: each zstdFrameSize
// piece encoded on its own by a plain single-threaded encoder.
func framesOf(t testing.TB, data []byte) []byte {
	t.Helper()
	enc, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstdLevel), zstd.WithEncoderConcurrency(1), zstd.WithZeroFrames(true))
	if err != nil {
		t.Fatal(err)
	}
	if len(data) == 0 {
		return enc.EncodeAll(nil, nil)
	}
	var out []byte
	for off := 0; off < len(data); off += zstdFrameSize {
		out = enc.EncodeAll(data[off:min(off+zstdFrameSize, len(data))], out)
	}
	return out
}

// writeIn writes data to w in pieces of step bytes and closes it.
func writeIn(w interface {
	Write([]byte) (int, error)
	Close() error
}, data []byte, step int) error {
	for off := 0; off < len(data); off += step {
		if _, err := w.Write(data[off:min(off+step, len(data))]); err != nil {
			return err
		}
	}
	return w.Close()
}

func TestZstdFrames(t *testing.T) {
	data := sample(5*zstdFrameSize/2, 7)
	tests := []struct {
		size, step int
	}{
		{0, 1},
		{1, 1},
		{1000, 7},
		{zstdFrameSize - 1, 100_000},
		{zstdFrameSize, 100_000},
		{zstdFrameSize + 1, 256 << 10},
		{len(data), 100_000},
		{len(data), len(data)},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%d bytes in %d", tt.size, tt.step), func(t *testing.T) {
			in := data[:tt.size]
			var got bytes.Buffer
			w, err := Zstd.NewWriter(&got)
			if err != nil {
				t.Fatal(err)
			}
			if err := writeIn(w, in, tt.step); err != nil {
				t.Fatal(err)
			}
			if want := framesOf(t, in); !bytes.Equal(got.Bytes(), want) {
				t.Fatalf("got %d bytes, want the %d bytes of independent %d-byte frames", got.Len(), len(want), zstdFrameSize)
			}
			dec, err := zstd.NewReader(nil)
			if err != nil {
				t.Fatal(err)
			}
			defer dec.Close()
			back, err := dec.DecodeAll(got.Bytes(), nil)
			if err != nil || !bytes.Equal(back, in) {
				t.Fatalf("decoding gave %d bytes (%v), want the %d written", len(back), err, len(in))
			}
			if zstdCLI, err := exec.LookPath("zstd"); err == nil {
				cmd := exec.Command(zstdCLI, "-d", "-c")
				cmd.Stdin = bytes.NewReader(got.Bytes())
				back, err := cmd.Output()
				if err != nil || !bytes.Equal(back, in) {
					t.Fatalf("zstd -d gave %d bytes (%v), want the %d written", len(back), err, len(in))
				}
			} else {
				t.Log("zstd CLI not installed: checked with the Go decoder only")
			}
		})
	}
}

// TestZstdWritersShareFewFrames runs more writers than the pool has frames:
// each must still finish with its own bytes, and every frame must come back.
func TestZstdWritersShareFewFrames(t *testing.T) {
	enc, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstdLevel), zstd.WithEncoderConcurrency(2))
	if err != nil {
		t.Fatal(err)
	}
	for _, slots := range []int{1, 2, 3} {
		t.Run(fmt.Sprintf("%d frames", slots), func(t *testing.T) {
			pool := newZstdPool(enc, slots)
			outs := make([]bytes.Buffer, 4)
			errs := make([]error, len(outs))
			var wg sync.WaitGroup
			for i := range outs {
				wg.Add(1)
				go func() {
					defer wg.Done()
					errs[i] = writeIn(&zstdWriter{w: &outs[i], pool: pool}, sample(2*zstdFrameSize+i, int64(i)), 1<<20)
				}()
			}
			wg.Wait()
			for i := range outs {
				if errs[i] != nil {
					t.Fatalf("writer %d: %v", i, errs[i])
				}
				if !bytes.Equal(outs[i].Bytes(), framesOf(t, sample(2*zstdFrameSize+i, int64(i)))) {
					t.Errorf("writer %d wrote other bytes than its frames", i)
				}
			}
			if len(pool.slots) != slots {
				t.Errorf("%d of %d frames back in the pool", len(pool.slots), slots)
			}
		})
	}
}

type failingWriter struct{ after int }

func (f *failingWriter) Write(p []byte) (int, error) {
	if f.after <= 0 {
		return 0, errors.New("disk full")
	}
	f.after--
	return len(p), nil
}

// TestZstdWriterErrors checks that a failed write is reported and that the
// frames come back to the pool whether the writer fails, is abandoned half
// way and closed, or is closed twice.
func TestZstdWriterErrors(t *testing.T) {
	enc, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstdLevel))
	if err != nil {
		t.Fatal(err)
	}
	pool := newZstdPool(enc, 2)
	data := sample(3*zstdFrameSize, 3)

	w := &zstdWriter{w: &failingWriter{after: 1}, pool: pool}
	if err := writeIn(w, data, 1<<20); err == nil || err.Error() != "disk full" {
		t.Errorf("got %v, want the destination's error", err)
	}
	if err := w.Close(); err == nil {
		t.Error("a second Close forgot the error")
	}
	if _, err := w.Write([]byte("x")); err == nil {
		t.Error("Write after Close succeeded")
	}

	half := &zstdWriter{w: &bytes.Buffer{}, pool: pool}
	if _, err := half.Write(data[:zstdFrameSize+5]); err != nil {
		t.Fatal(err)
	}
	if err := half.Close(); err != nil {
		t.Fatal(err)
	}
	if len(pool.slots) != 2 {
		t.Errorf("%d of 2 frames back in the pool", len(pool.slots))
	}
}
