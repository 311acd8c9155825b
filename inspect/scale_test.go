package inspect

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/nixlayer/nixlayer/internal/testutil"
	"github.com/nixlayer/nixlayer/wire"
)

// recipeScript writes a stream script of n store-path layers (described,
// never produced: inspect reads the recipe only).
func recipeScript(t testing.TB, n int) string {
	t.Helper()
	s := &wire.Script{Ref: "many:v1", Config: []byte(`{}`), Platform: wire.Platform{Architecture: "amd64", OS: "linux"},
		Created: "1970-01-01T00:00:01Z", MTime: 1, Compression: "gzip"}
	for i := range n {
		sp := fmt.Sprintf("/nix/store/%032d-p%d", i, i)
		d := fmt.Sprintf("sha256:%064x", i+1)
		s.Layers = append(s.Layers, wire.Layer{Descriptor: wire.Descriptor{Digest: d, DiffID: d, Size: 100, UncompressedSize: 1024,
			MediaType: "application/vnd.docker.image.rootfs.diff.tar.gzip", Compression: "gzip", StorePaths: []string{sp}, Comment: "store paths: " + sp}})
	}
	body, err := wire.EncodeScript(s)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "script")
	if err := os.WriteFile(p, append([]byte("#!/x/nixlayer stream\n"), body...), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestInspectScales: inspect takes time linear in the layers of a stream
// recipe, the images of a docker-archive or of an OCI layout (4 times the
// input, at most 6 times the time; quadratic was 16 times), and reads a
// compressed archive of several images sharing a layer once, not once per
// image.
func TestInspectScales(t *testing.T) {
	if testing.Short() {
		t.Skip("times inputs of thousands of layers and images; not with -short")
	}
	inspect := func(p string) {
		r, err := File(t.Context(), p)
		if err != nil {
			t.Fatal(err)
		}
		if len(r.Layers) == 0 {
			t.Fatalf("%s: no layers", p)
		}
	}
	t.Run("stream recipe layers", func(t *testing.T) {
		testutil.AssertGrowth(t, 2000, 8000, 6, func(n int) string { return recipeScript(t, n) }, inspect)
	})
	t.Run("docker-archive images", func(t *testing.T) {
		testutil.AssertGrowth(t, 1000, 4000, 6, func(n int) string { return testutil.ManyImagesArchive(t, n, 1024, false) }, inspect)
	})
	t.Run("OCI layout images", func(t *testing.T) {
		testutil.AssertGrowth(t, 500, 2000, 6, func(n int) string { return testutil.ManyImagesLayout(t, n) }, inspect)
	})
	t.Run("gzip archive sharing a layer", func(t *testing.T) {
		// 1 image, then 20 sharing its 64 MiB layer: decompressed once, so
		// about the same time (per image, it was 20 times).
		testutil.AssertGrowth(t, 1, 20, 3, func(n int) string { return testutil.ManyImagesArchive(t, n, 64<<20, true) }, inspect)
	})
}
