package image_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/nixlayer/nixlayer/image"
	"github.com/nixlayer/nixlayer/internal/testutil"
	"github.com/nixlayer/nixlayer/layers"
	"github.com/nixlayer/nixlayer/spec"

	imgformat "github.com/nixlayer/nixlayer/format"
)

// TestBuildImageSet builds two members of a set over the test store's
// union (hello alone, and busybox alone): busybox's layer has the same
// digest in both; a member whose roots are outside the union is an error
// naming it.
func TestBuildImageSet(t *testing.T) {
	s := newTestStore(t)
	members := map[string]spec.SetMember{"h": {Roots: []string{s.hello}}, "b": {Roots: []string{s.busybox}}}
	digests := map[string]map[string]bool{}
	for _, m := range []string{"h", "b"} {
		sp := helloSpec(s, imgformat.OCILayout, layers.Gzip)
		sp.Layered = ptr(true)
		sp.Contents = members[m].Roots
		sp.ImageSet = &spec.ImageSet{Member: m, Members: members}
		img, _ := readBack(t, imgformat.OCILayout, layers.Gzip, build(t, s, sp, ""))
		ls, err := img.Layers()
		if err != nil {
			t.Fatal(err)
		}
		digests[m] = map[string]bool{}
		for _, l := range ls {
			d, _ := l.Digest()
			digests[m][d.String()] = true
		}
	}
	var shared []string
	for d := range digests["b"] {
		if digests["h"][d] {
			shared = append(shared, d)
		}
	}
	// (no golden digest here: the test store lives in a temporary
	// directory, whose name is in the entries; layering's golden digest
	// pins the partition)
	if len(shared) != 1 {
		t.Errorf("the members share layers %v, want busybox's alone", shared)
	}

	sp := helloSpec(s, imgformat.OCILayout, layers.Gzip)
	sp.Layered = ptr(true)
	sp.ImageSet = &spec.ImageSet{Member: "x", Members: map[string]spec.SetMember{"x": {Roots: []string{filepath.Join(s.dir, "00000000000000000000000000000000-gone")}}}}
	req := &image.Request{Spec: sp, Graph: s.graph, Out: filepath.Join(t.TempDir(), "image"), Env: spec.Env{DefaultTag: "latest", TempDir: t.TempDir()}}
	err := image.Build(context.Background(), req)
	testutil.WantErr(t, err, "the closure of image x of the set", "-gone is not in the closure")
}
