package base

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// readLayers reads every layer's blob as a push or a loader does (Digest,
// then Compressed to its end) and returns the first error.
func readLayers(img *Image) error {
	for _, l := range img.Layers() {
		if _, err := l.Digest(); err != nil {
			return err
		}
		rc, err := l.Compressed()
		if err != nil {
			return err
		}
		_, err = io.Copy(io.Discard, rc)
		rc.Close()
		if err != nil {
			return err
		}
	}
	return nil
}

// gzipOf compresses b with a gzip member the test controls.
func gzipOf(t testing.TB, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
	zw.Write(b)
	zw.Close()
	return buf.Bytes()
}

// TestBlobsCheckedAgainstDiffIDs: a layer that leaves an archive as it is
// (Compressed, what push, the loaders, merge-images and build-index read)
// is checked against the config's diffID and the manifest's digest and
// size while it is read; the error names the image, the layer and both
// digests.
func TestBlobsCheckedAgainstDiffIDs(t *testing.T) {
	tarA := tarOf(t, reg("a", strings.Repeat("layer a ", 4096)))
	tarB := tarOf(t, reg("b", strings.Repeat("layer b ", 4096)))
	gzA, gzB := gzipOf(t, tarA), gzipOf(t, tarB)
	flipped := append([]byte(nil), tarA...)
	flipped[len(flipped)/2] ^= 1
	// A gzip stream that is valid but holds other content: the checksum
	// in its trailer matches, only the diffID can tell.
	otherGz := gzipOf(t, flipped)
	cases := []struct {
		name     string
		path     func(t *testing.T) string
		openErr  bool   // Open itself fails
		err      error  // wanted class
		msg      string // substring
		twoHashs bool   // the message names the diffID found and the config's
	}{
		{name: "good gzip layers", path: func(t *testing.T) string {
			return file(t, spec{layers: [][]byte{gzA, gzB}, tars: [][]byte{tarA, tarB}}.docker(t))
		}},
		{name: "good uncompressed layers", path: func(t *testing.T) string {
			return file(t, spec{layers: [][]byte{tarA, tarB}}.docker(t))
		}},
		{name: "gzip layer with other content", path: func(t *testing.T) string {
			return file(t, spec{layers: [][]byte{otherGz, gzB}, tars: [][]byte{tarA, tarB}}.docker(t))
		}, err: ErrDigest, msg: "layer 0", twoHashs: true},
		{name: "byte flipped inside a gzip stream", path: func(t *testing.T) string {
			bad := append([]byte(nil), gzA...)
			bad[len(bad)/2] ^= 0x40
			return file(t, spec{layers: [][]byte{bad, gzB}, tars: [][]byte{tarA, tarB}}.docker(t))
		}, msg: "layer 0"},
		{name: "byte flipped in an uncompressed layer", path: func(t *testing.T) string {
			return file(t, spec{layers: [][]byte{tarA, flipped}, diffIDs: ls2ids(tarA, tarA)}.docker(t))
		}, err: ErrDigest, msg: "layer 1", twoHashs: true},
		{name: "layers swapped", path: func(t *testing.T) string {
			return file(t, spec{layers: [][]byte{gzB, gzA}, diffIDs: ls2ids(tarA, tarB)}.docker(t))
		}, err: ErrDigest, msg: "layer 0", twoHashs: true},
		{name: "truncated gzip stream", path: func(t *testing.T) string {
			return file(t, spec{layers: [][]byte{gzA[:len(gzA)-12]}, tars: [][]byte{tarA}}.docker(t))
		}, msg: "layer 0"},
		{name: "diff_ids shorter than the layers", path: func(t *testing.T) string {
			return file(t, spec{layers: [][]byte{gzA, gzB}, diffIDs: ls2ids(tarA)}.docker(t))
		}, openErr: true, err: ErrFormat, msg: "1 rootfs.diff_ids for 2 layers"},
		{name: "diff_ids longer than the layers", path: func(t *testing.T) string {
			return file(t, spec{layers: [][]byte{gzA}, diffIDs: ls2ids(tarA, tarB)}.docker(t))
		}, openErr: true, err: ErrFormat, msg: "2 rootfs.diff_ids for 1 layers"},
		{name: "OCI layout blob with other bytes", path: func(t *testing.T) string {
			d := spec{layers: [][]byte{tarA, tarB}}.ociDir(t)
			writeBlob(t, d, tarB, flippedCopy(tarB))
			return d
		}, err: ErrDigest, msg: "layer 1", twoHashs: true},
		{name: "OCI layout blob of another size", path: func(t *testing.T) string {
			d := spec{layers: [][]byte{tarA, tarB}}.ociDir(t)
			writeBlob(t, d, tarA, append(append([]byte(nil), tarA...), make([]byte, 512)...))
			return d
		}, err: ErrDigest, msg: "has 34816 bytes, the manifest says 34304"},
		{name: "OCI layout whose blob matches its descriptor but not the diffID", path: func(t *testing.T) string {
			return spec{layers: [][]byte{tarA, tarB}, diffIDs: ls2ids(tarB, tarA)}.ociDir(t)
		}, err: ErrDigest, msg: "layer 0", twoHashs: true},
		{name: "OCI archive, layers swapped against diff_ids", path: func(t *testing.T) string {
			return file(t, spec{layers: [][]byte{gzA, gzB}, diffIDs: ls2ids(tarB, tarA)}.ociArchive(t))
		}, err: ErrDigest, msg: "layer 0", twoHashs: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := tc.path(t)
			img, err := Open(p)
			if err == nil {
				defer img.Close()
				if tc.openErr {
					t.Fatal("Open succeeded")
				}
				err = readLayers(img)
			} else if !tc.openErr && tc.msg != "" {
				// a size the store sees at once fails Open: also fine
				t.Logf("Open: %v", err)
			}
			if tc.msg == "" {
				if err != nil {
					t.Fatalf("a good image failed: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("the bad layer was read without an error")
			}
			t.Log(err)
			if tc.err != nil && !errors.Is(err, tc.err) {
				t.Errorf("error is not %v", tc.err)
			}
			if !strings.Contains(err.Error(), tc.msg) || !strings.Contains(err.Error(), p) {
				t.Errorf("error does not name %q and the image %q", tc.msg, p)
			}
			if tc.twoHashs && strings.Count(err.Error(), "sha256:") < 2 {
				t.Errorf("error does not name both digests")
			}
		})
	}
}

func flippedCopy(b []byte) []byte {
	c := append([]byte(nil), b...)
	c[len(c)/3] ^= 1
	return c
}

// writeBlob replaces the blob of an OCI layout that holds content with b.
func writeBlob(t *testing.T, dir string, content, b []byte) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, "blobs", "sha256", sha(content).Hex), b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestGzipBombBlob: a small gzip blob that decompresses to far more than
// MaxBytes fails while it is read, with memory that does not grow with it.
func TestGzipBombBlob(t *testing.T) {
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	zero := make([]byte, 1<<20)
	tw := tarOf(t, reg("f", ""))[:512] // a header, then zeros forever
	zw.Write(tw)
	for range 256 {
		zw.Write(zero)
	}
	zw.Close()
	p := file(t, spec{layers: [][]byte{buf.Bytes()}, diffIDs: []v1.Hash{sha([]byte("x"))}}.docker(t))
	img, err := Open(p, WithLimits(Limits{MaxBytes: 64 << 20}))
	if err != nil {
		t.Fatal(err)
	}
	defer img.Close()
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	err = readLayers(img)
	runtime.ReadMemStats(&after)
	if !errors.Is(err, ErrLimit) || !strings.Contains(err.Error(), "layer 0") {
		t.Fatalf("got %v, want an ErrLimit naming layer 0", err)
	}
	if grew := int64(after.HeapSys) - int64(before.HeapSys); grew > 32<<20 {
		t.Errorf("heap grew by %d MiB reading a %d KiB bomb", grew>>20, buf.Len()>>10)
	}
	t.Logf("%v (blob %d KiB)", err, buf.Len()>>10)
}
