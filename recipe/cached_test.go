package recipe

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/nixlayer/nixlayer/internal/testutil"
	"github.com/nixlayer/nixlayer/wire"
)

// layerOutput writes a buildLayer output of one layer of a one-byte blob.
func layerOutput(t *testing.T) (out, blob string) {
	out = testutil.FakeLayerOutput(t, "amd64", 1)
	return out, filepath.Join(out, wire.BlobPath(fmt.Sprintf("sha256:%064x", 1)))
}

// replace puts at p what make makes, after removing what is there.
func replace(t *testing.T, p string, make func(string) error) {
	t.Helper()
	if err := os.Remove(p); err != nil {
		t.Fatal(err)
	}
	if err := make(p); err != nil {
		t.Fatal(err)
	}
}

func sparse(size int64) func(string) error {
	return func(p string) error {
		f, err := os.Create(p)
		if err != nil {
			return err
		}
		defer f.Close()
		return f.Truncate(size)
	}
}

// TestReadLayerOutputAttacks: every file of a buildLayer output is read
// as a regular file inside it, bounded: a symlinked blob or blobs
// directory, a FIFO, /dev/zero, a 1 GiB sparse layer.json or blob end in
// an error naming the file, without a hang or memory growth.
func TestReadLayerOutputAttacks(t *testing.T) {
	secret := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(secret, []byte{7}, 0o600); err != nil {
		t.Fatal(err)
	}
	symlinkTo := func(target string) func(string) error {
		return func(p string) error { return os.Symlink(target, p) }
	}
	fifo := func(p string) error { return syscall.Mkfifo(p, 0o644) }
	const gib = 1 << 30
	for _, tt := range []struct {
		name string
		// doc: attack layer.json, else the blob.
		doc  bool
		make func(string) error
		want string
	}{
		{"blob a symlink out", false, symlinkTo(secret), ": a symlink, not a regular file"},
		{"blob a FIFO", false, fifo, ": a FIFO, not a regular file"},
		{"blob a link to /dev/zero", false, symlinkTo("/dev/zero"), ": a symlink, not a regular file"},
		{"blob sparse 1 GiB", false, sparse(gib), "has 1073741824 bytes, its descriptor says 1"},
		{"layer.json a FIFO", true, fifo, "layer.json: a FIFO, not a regular file"},
		{"layer.json a link to /dev/zero", true, symlinkTo("/dev/zero"), "layer.json: a symlink, not a regular file"},
		{"layer.json sparse 1 GiB", true, sparse(gib), "layer.json is over the 16777216 byte limit"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			out, blob := layerOutput(t)
			target := blob
			if tt.doc {
				target = filepath.Join(out, wire.LayerFileName)
			}
			replace(t, target, tt.make)
			before := testutil.PeakRSS(t)
			_, _, err := ReadLayerOutput(out, "layers[0]")
			if err == nil || !strings.Contains(err.Error(), target) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want an error naming %s and saying %q", err, target, tt.want)
			}
			if grew := testutil.PeakRSS(t) - before; grew > 32<<20 {
				t.Errorf("peak RSS grew by %d MiB", grew>>20)
			}
		})
	}
	t.Run("blobs a symlink", func(t *testing.T) {
		out, _ := layerOutput(t)
		elsewhere := t.TempDir()
		if err := os.Rename(filepath.Join(out, "blobs"), filepath.Join(elsewhere, "blobs")); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(filepath.Join(elsewhere, "blobs"), filepath.Join(out, "blobs")); err != nil {
			t.Fatal(err)
		}
		_, _, err := ReadLayerOutput(out, "layers[0]")
		if want := filepath.Join(out, "blobs") + ": a symlink, not a directory"; err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("got %v, want %q", err, want)
		}
	})
}
