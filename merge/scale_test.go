package merge

import (
	"path/filepath"
	"testing"

	"github.com/nixlayer/nixlayer/internal/testutil"
)

// TestMergeScales: merging a docker-archive takes time linear in its
// images (4 times the images, at most 6 times the time; reopening the
// archive per image was quadratic), and a compressed archive of several
// images sharing a layer is decompressed once, not once per image.
func TestMergeScales(t *testing.T) {
	if testing.Short() {
		t.Skip("times archives of thousands of images; not with -short")
	}
	merge := func(p string) {
		out := filepath.Join(t.TempDir(), "merged.tar")
		if err := Images(t.Context(), out, []Input{{Path: p}}, Options{Compression: "none", TempDir: t.TempDir()}); err != nil {
			t.Fatal(err)
		}
	}
	t.Run("docker-archive images", func(t *testing.T) {
		testutil.AssertGrowth(t, 1000, 4000, 6, func(n int) string { return testutil.ManyImagesArchive(t, n, 1024, false) }, merge)
	})
	t.Run("gzip archive sharing a layer", func(t *testing.T) {
		testutil.AssertGrowth(t, 1, 20, 3, func(n int) string { return testutil.ManyImagesArchive(t, n, 64<<20, true) }, merge)
	})
}
