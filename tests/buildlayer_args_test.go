package tests

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/nixlayer/nixlayer/internal/testutil"
)

// TestBuildLayerIgnoreMetadata: nix2container's buildLayer arguments.
// ignore leaves a store path alone out of the layer (what it refers to
// stays); metadata sets the layer's history created_by, author and
// comment in an image built on it. A path to ignore that the layer does
// not hold, and an unknown metadata field, are errors naming them.
func TestBuildLayerIgnoreMetadata(t *testing.T) {
	layer := `(nl.buildLayer { name = "ign"; deps = [ testPkgs.hello ]; ignore = testPkgs.hello;
	  metadata = { created_by = "make base"; author = "ops@example.org"; comment = "the base"; }; })`
	outs := nixBuildAll(t, []string{
		layer,
		`(nl.buildLayeredImage { name = "ign"; tag = "v1"; contents = [ testPkgs.hello ]; layers = [ ` + layer + ` ]; })`,
		`testPkgs.hello`,
		`testPkgs.bbBin`,
	})
	f := readLayerFile(t, outs[0])
	var held []string
	for _, l := range f.Layers {
		held = append(held, l.StorePaths...)
		if l.CreatedBy != "make base" || l.Author != "ops@example.org" || l.Comment != "the base" {
			t.Errorf("layer.json descriptor: createdBy %q author %q comment %q, want the metadata", l.CreatedBy, l.Author, l.Comment)
		}
	}
	if slices.Contains(held, outs[2]) || !slices.Contains(held, outs[3]) {
		t.Errorf("layer holds %v: want %s (hello's reference) and not the ignored %s", held, filepath.Base(outs[3]), filepath.Base(outs[2]))
	}
	img := readImage(t, outs[1])
	img.has(t, outs[2]) // hello: the image's own layer
	img.has(t, outs[3])
	h := img.config.History
	if len(h) < 2 || h[0].CreatedBy != "make base" || h[0].Author != "ops@example.org" || h[0].Comment != "the base" {
		t.Errorf("image history %+v: want the cached layer's first with the metadata", h)
	}
	if len(h) > 1 && (h[len(h)-1].CreatedBy != "nixlayer" || h[len(h)-1].Author != "") {
		t.Errorf("image's own layer history %+v: want created_by nixlayer, no author", h[len(h)-1])
	}
	for _, c := range []struct{ expr, want string }{
		{`nl.buildLayer { deps = [ testPkgs.bbBin ]; ignore = testPkgs.hello; }`, "ignore = " + outs[2] + ": not a store path of the layer"},
		{`nl.buildLayer { deps = [ testPkgs.bbBin ]; metadata.created = "x"; }`, `unknown field "created"`},
		{`nl.buildLayer { deps = [ testPkgs.bbBin ]; ignore = "bin/sh"; }`, `ignore[0] = "bin/sh" is not a store path`},
	} {
		_, stderr, err := testutil.NixBuildErr(t, c.expr)
		if err == nil || !strings.Contains(stderr, c.want) {
			t.Errorf("%s: %v\n%s\nwant an error containing %q", c.expr, err, stderr, c.want)
		}
	}
}
