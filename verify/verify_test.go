package verify

import (
	"io"
	"log"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// TestVerify: an image pushed as it is verifies; one with its second
// layer replaced differs there, with both digests named, and in its
// config, and nowhere else.
func TestVerify(t *testing.T) {
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(srv.Close)
	host := strings.TrimPrefix(srv.URL, "http://")
	img, err := random.Image(128, 3)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if _, err := layout.Write(dir, empty.Index); err != nil {
		t.Fatal(err)
	}
	p, _ := layout.FromPath(dir)
	if err := p.AppendImage(img); err != nil {
		t.Fatal(err)
	}
	put := func(ref string, x remote.Taggable) {
		r, err := name.ParseReference(ref)
		if err != nil {
			t.Fatal(err)
		}
		if err := remote.Push(r, x); err != nil {
			t.Fatal(err)
		}
	}
	put(host+"/app:same", img)
	res, err := Verify(t.Context(), host+"/app:same", dir, nil)
	if err != nil || !res.OK() {
		t.Fatalf("the same image: %v, %v", res, err)
	}
	ls, _ := img.Layers()
	other, _ := random.Layer(128, "application/vnd.oci.image.layer.v1.tar+gzip")
	cf, _ := img.ConfigFile()
	cf = cf.DeepCopy()
	cf.RootFS.DiffIDs, cf.History = nil, nil
	mt, _ := img.MediaType()
	base, _ := mutate.ConfigFile(mutate.MediaType(empty.Image, mt), cf)
	mixed, err := mutate.AppendLayers(base, ls[0], other, ls[2])
	if err != nil {
		t.Fatal(err)
	}
	put(host+"/app:mixed", mixed)
	res, err = Verify(t.Context(), host+"/app:mixed", dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := ls[1].Digest()
	got, _ := other.Digest()
	diff := strings.Join(res.Differences, "\n")
	for _, w := range []string{"layer 2 of 3: the registry has " + got.String() + ", the local build " + want.String(), "config:"} {
		if !strings.Contains(diff, w) {
			t.Errorf("the differences do not say %q:\n%s", w, diff)
		}
	}
	if strings.Contains(diff, "layer 1 of") || strings.Contains(diff, "layer 3 of") {
		t.Errorf("layers that agree are named:\n%s", diff)
	}
}
