package image_test

import (
	"archive/tar"
	"io"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	imgformat "github.com/nixlayer/nixlayer/format"
	"github.com/nixlayer/nixlayer/layers"
	"github.com/nixlayer/nixlayer/nixdb"
)

// TestStoreDirFromGraph: a closure whose store directory is not /nix/store
// (the test store, <tmp>/nix/store, as Nix's store setting would give) is
// put under that directory in the image, nothing under /nix/store, and
// with includeNixDB the image's database registers exactly the store paths
// the image holds, by the same names.
func TestStoreDirFromGraph(t *testing.T) {
	s := newTestStore(t)
	if s.graph.StoreDir() == "/nix/store" {
		t.Fatalf("the test store is /nix/store; this test needs another store directory")
	}
	for _, format := range []imgformat.Format{imgformat.DockerArchive, imgformat.OCILayout} {
		t.Run(string(format), func(t *testing.T) {
			spec := helloSpec(s, format, layers.Gzip)
			spec.IncludeNixDB = true
			img, _ := readBack(t, format, layers.Gzip, build(t, s, spec, "1700000000"))
			ls, err := img.Layers()
			if err != nil {
				t.Fatal(err)
			}
			dbDir := t.TempDir()
			names := map[string]bool{}
			for _, l := range ls {
				walkTar(t, l.Uncompressed, func(h *tar.Header, r io.Reader) {
					n := strings.TrimSuffix(h.Name, "/")
					names[n] = true
					if n == "nix/var/nix/db/db.sqlite" || n == "nix/var/nix/db/schema" {
						data, err := io.ReadAll(r)
						if err != nil {
							t.Fatal(err)
						}
						if err := os.WriteFile(filepath.Join(dbDir, path.Base(n)), data, 0o644); err != nil {
							t.Fatal(err)
						}
					}
				})
			}
			store := strings.TrimPrefix(s.graph.StoreDir(), "/")
			var inImage []string
			for n := range names {
				if strings.HasPrefix(n, "nix/store") {
					t.Errorf("the image has /%s; its store is %s", n, s.graph.StoreDir())
				}
				if path.Dir(n) == store {
					inImage = append(inImage, "/"+n)
				}
			}
			for _, d := range layers.StoreDir(s.graph.StoreDir()) {
				if !names[d.Name] {
					t.Errorf("the image has no directory /%s", d.Name)
				}
			}
			infos, err := nixdb.ReadDB(filepath.Join(dbDir, "db.sqlite"))
			if err != nil {
				t.Fatalf("reading the image's Nix database: %v", err)
			}
			var registered []string
			for _, info := range infos {
				registered = append(registered, info.Path)
			}
			slices.Sort(inImage)
			slices.Sort(registered)
			want := []string{s.busybox, s.hello}
			slices.Sort(want)
			if !slices.Equal(inImage, want) {
				t.Errorf("store paths in the image: %q, want %q", inImage, want)
			}
			if !slices.Equal(registered, inImage) {
				t.Errorf("the database registers %q; the image holds %q", registered, inImage)
			}
		})
	}
}
