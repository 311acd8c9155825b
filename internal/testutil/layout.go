package testutil

import (
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
)

// LayoutIndex reads the OCI layout dir with go-containerregistry and
// returns its index and the decoded index.json, failing t on an error.
func LayoutIndex(t testing.TB, dir string) (v1.ImageIndex, *v1.IndexManifest) {
	t.Helper()
	idx, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		t.Fatal(err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	return idx, im
}
