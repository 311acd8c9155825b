package base

import (
	"testing"

	"github.com/nixlayer/nixlayer/internal/testutil"
)

// TestSelect: every image Select picks from an open archive is the one
// Open picks by position, for a gzip docker-archive and an OCI layout;
// closing a selected image leaves the archive open for the next.
func TestSelect(t *testing.T) {
	for name, p := range map[string]string{
		"gzip docker-archive": testutil.ManyImagesArchive(t, 5, 2048, true),
		"OCI layout":          testutil.ManyImagesLayout(t, 5),
	} {
		t.Run(name, func(t *testing.T) {
			archive, err := Open(p)
			if err != nil {
				t.Fatal(err)
			}
			defer archive.Close()
			if archive.Count() != 5 {
				t.Fatalf("Count %d, want 5", archive.Count())
			}
			for i := range 5 {
				sel, err := archive.Select(i)
				if err != nil {
					t.Fatal(err)
				}
				want, err := Open(p, WithPosition(i))
				if err != nil {
					t.Fatal(err)
				}
				if sel.Ref() != want.Ref() {
					t.Errorf("image %d: ref %q, Open gives %q", i, sel.Ref(), want.Ref())
				}
				sc, _ := sel.V1().ConfigName()
				wc, _ := want.V1().ConfigName()
				sd, err := sel.Layers()[0].Digest()
				if err != nil {
					t.Fatal(err)
				}
				wd, _ := want.Layers()[0].Digest()
				if sc != wc || sd != wd {
					t.Errorf("image %d: config %s layer %s, Open gives %s %s", i, sc, sd, wc, wd)
				}
				want.Close()
				sel.Close()
			}
		})
	}
}
