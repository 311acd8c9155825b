package image_test

import (
	"archive/tar"
	"context"
	"encoding/json"
	"maps"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	imgformat "github.com/nixlayer/nixlayer/format"
	"github.com/nixlayer/nixlayer/layers"
	"github.com/nixlayer/nixlayer/source"
	"github.com/nixlayer/nixlayer/spec"
)

// TestAnnotationsArgument: without the argument the manifest has the
// defaults and the store-path layers nix-snapshotter's; false leaves
// every annotation out (the manifest as before annotations existed) while
// the layers stay the same blobs; null removes a default, the base's
// included.
func TestAnnotationsArgument(t *testing.T) {
	s := newTestStore(t)
	b := craftedBase(t, baseEntry{name: "etc/", typ: tar.TypeDir}, baseEntry{name: "etc/os-release", body: "ID=base\n", typ: tar.TypeReg})
	baseDigest := "sha256:" + pushedDigest(t, b)
	for _, tc := range []struct {
		name       string
		arg        string
		want       map[string]string
		nixLayered bool
	}{
		{"absent", "", map[string]string{spec.AnnotationTitle: "hello", spec.AnnotationCreated: "1970-01-01T00:00:01Z", spec.AnnotationVersion: "v1",
			spec.AnnotationBaseDigest: baseDigest, spec.AnnotationBaseName: "base:v1"}, true},
		{"false", "false", nil, false},
		{"null removes", `{"org.opencontainers.image.base.name": null, "org.opencontainers.image.title": null, "a": "b"}`,
			map[string]string{spec.AnnotationCreated: "1970-01-01T00:00:01Z", spec.AnnotationVersion: "v1", spec.AnnotationBaseDigest: baseDigest, "a": "b"}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sp := helloSpec(s, imgformat.OCILayout, layers.Gzip)
			sp.Layered, sp.FromImage = ptr(true), b
			if tc.arg != "" {
				sp.Annotations = json.RawMessage(tc.arg)
			}
			m := manifestOf(t, build(t, s, sp, ""))
			if !maps.Equal(m.Annotations, tc.want) {
				t.Errorf("manifest annotations %v, want %v", m.Annotations, tc.want)
			}
			nix := 0
			for _, l := range m.Layers {
				if l.Annotations["containerd.io/snapshot/nix-layer"] == "true" {
					nix++
				}
			}
			if got := nix > 0; got != tc.nixLayered {
				t.Errorf("%d layers with nix-snapshotter's annotations, want some: %v", nix, tc.nixLayered)
			}
		})
	}
}

// TestAnnotationsKeepLayers: the annotations change the manifest, never a
// layer or the config.
func TestAnnotationsKeepLayers(t *testing.T) {
	s := newTestStore(t)
	sp := helloSpec(s, imgformat.OCILayout, layers.Gzip)
	sp.Layered = ptr(true)
	on := manifestOf(t, build(t, s, sp, ""))
	sp.Annotations = json.RawMessage("false")
	off := manifestOf(t, build(t, s, sp, ""))
	if on.Config.Digest != off.Config.Digest || len(on.Layers) != len(off.Layers) {
		t.Fatalf("config or layer count changed with the annotations: %+v, %+v", on, off)
	}
	for i := range on.Layers {
		if on.Layers[i].Digest != off.Layers[i].Digest {
			t.Errorf("layer %d: %s with annotations, %s without", i, on.Layers[i].Digest, off.Layers[i].Digest)
		}
	}
}

func manifestOf(t *testing.T, out string) *v1.Manifest {
	t.Helper()
	src, err := source.Open(context.Background(), out)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	m, err := src.Image.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	return m
}
