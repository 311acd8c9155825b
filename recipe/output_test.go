package recipe

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/validate"

	"github.com/nixlayer/nixlayer/format"
	"github.com/nixlayer/nixlayer/layers"
)

// TestLayoutLinksLayerFiles checks that an OCI layout takes the layer files
// as they are, by hard link, rather than copying their bytes, and that the
// layout is still whole once the layer files are gone.
func TestLayoutLinksLayerFiles(t *testing.T) {
	dir := t.TempDir()
	plan := []Layer{{Extra: []layers.Entry{layers.File("hello", 0o644, []byte("hello\n"))}}}
	blobs, err := WriteLayers(t.Context(), plan, WriteOptions{Options: layers.Options{MTime: time.Unix(1, 0), Compression: layers.Gzip}, OCI: true}, dir)
	if err != nil {
		t.Fatal(err)
	}
	set := ImageConfig{Format: format.OCILayout, Platform: v1.Platform{OS: "linux", Architecture: "amd64"}}
	img, err := Assemble(blobs, plan, set, nil)
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "image")
	err = format.Create(out, format.OCILayout, time.Unix(1, 0), func(w format.Writer) error {
		if err := w.Blob(blobs[0].FormatBlob()); err != nil {
			return err
		}
		return AddImage(w, blobs, plan, set, name.MustParseReference("app:v1").(name.Tag), nil)
	})
	if err != nil {
		t.Fatal(err)
	}
	src, err := os.Stat(blobs[0].Path)
	if err != nil {
		t.Fatal(err)
	}
	inLayout, err := os.Stat(filepath.Join(out, "blobs", "sha256", blobs[0].Desc.Digest.Hex))
	if err != nil {
		t.Fatal(err)
	}
	if !os.SameFile(src, inLayout) {
		t.Error("the layer was copied into the layout, not linked")
	}
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	p, err := layout.FromPath(out)
	if err != nil {
		t.Fatal(err)
	}
	digest, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	back, err := p.Image(digest)
	if err != nil {
		t.Fatal(err)
	}
	if err := validate.Image(back); err != nil {
		t.Errorf("layout after removing the layer files: %v", err)
	}
}
