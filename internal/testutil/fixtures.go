package testutil

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/nixlayer/nixlayer/wire"
)

// PeakRSS is this process's peak resident set size (VmHWM), in bytes.
func PeakRSS(t testing.TB) int64 {
	t.Helper()
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(status), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return kb << 10
		}
	}
	t.Fatal("no VmHWM in /proc/self/status")
	return 0
}

// FakeLayerOutput writes, in a new directory, what nl.buildLayer writes
// for n layers built for linux/arch: layer.json and each layer's blob, one
// byte (not a real layer: its descriptor says digest sha256:<i+1>).
func FakeLayerOutput(t testing.TB, arch string, n int) string {
	t.Helper()
	out := t.TempDir()
	f := &wire.LayerFile{Platform: wire.Platform{Architecture: arch, OS: "linux"}}
	for i := range n {
		d := fmt.Sprintf("sha256:%064x", i+1)
		f.Layers = append(f.Layers, wire.Descriptor{Digest: d, DiffID: d, Size: 1, UncompressedSize: 1, Compression: "none", MediaType: "application/vnd.oci.image.layer.v1.tar"})
		p := filepath.Join(out, wire.BlobPath(d))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte{0}, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	doc, err := wire.EncodeLayerFile(f)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(out, wire.LayerFileName), doc, 0o644); err != nil {
		t.Fatal(err)
	}
	return out
}

// OneLayerArchive writes a docker-archive of one image, ref, whose one
// layer is the blob (a tar, compressed or not) that open reads.
func OneLayerArchive(t testing.TB, ref string, open func() (io.ReadCloser, error)) string {
	t.Helper()
	l, err := tarball.LayerFromOpener(open)
	if err != nil {
		t.Fatal(err)
	}
	img, err := mutate.AppendLayers(empty.Image, l)
	if err != nil {
		t.Fatal(err)
	}
	tag, err := name.NewTag(ref)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "image.tar")
	if err := tarball.WriteToFile(p, tag, img); err != nil {
		t.Fatal(err)
	}
	return p
}
