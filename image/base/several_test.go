package base

import (
	"errors"
	"slices"
	"testing"
)

// TestPosition: Count says how many images an archive lists, WithPosition
// picks each whatever its name (overriding WithName), and Refs gives the
// picked image's names, in every format.
func TestPosition(t *testing.T) {
	s := spec{layers: sampleLayers(t), tags: []string{"first/img:1", "docker.io/library/busybox:latest", "second:2"}}
	for _, f := range []struct {
		name string
		path func(t *testing.T) string
	}{
		{"docker-archive", func(t *testing.T) string { return file(t, s.docker(t)) }},
		{"legacy docker-archive", func(t *testing.T) string { return file(t, s.legacy(t)) }},
		{"oci-archive", func(t *testing.T) string { return file(t, s.ociArchive(t)) }},
		{"oci-layout", func(t *testing.T) string { return s.ociDir(t) }},
	} {
		t.Run(f.name, func(t *testing.T) {
			p := f.path(t)
			for i, tag := range s.tags {
				img, err := Open(p, WithPosition(i), WithName("second"))
				if err != nil {
					t.Fatal(err)
				}
				if img.Count() != 3 || img.Ref() != tag || !slices.Contains(img.Refs(), tag) {
					t.Errorf("position %d: count %d, ref %q, refs %q; want 3, %q", i, img.Count(), img.Ref(), img.Refs(), tag)
				}
				img.Close()
			}
			if _, err := Open(p, WithPosition(3)); !errors.Is(err, ErrMissing) {
				t.Errorf("position 3 of 3: %v, want ErrMissing", err)
			}
		})
	}
}
