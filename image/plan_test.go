package image

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/nixlayer/nixlayer/registration"
)

// TestPathSize checks that a path's size is its narSize when the graph has
// one and else its files' sizes, walked once.
func TestPathSize(t *testing.T) {
	dir := t.TempDir()
	withNar := filepath.Join(dir, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-a")
	onDisk := filepath.Join(dir, "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb-b")
	for path, size := range map[string]int{
		filepath.Join(withNar, "file"):       7,
		filepath.Join(onDisk, "file"):        5000,
		filepath.Join(onDisk, "sub", "more"): 300,
	} {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, make([]byte, size), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	g, err := registration.NewGraph(dir, []registration.PathInfo{{Path: withNar, NarSize: 100}, {Path: onDisk}})
	if err != nil {
		t.Fatal(err)
	}
	size := pathSize(g)
	if got := size(withNar); got != 100 {
		t.Errorf("size of a path with a narSize: %d, want 100", got)
	}
	if got := size(onDisk); got != 5300 {
		t.Errorf("size of a path without one: %d, want its files' 5300 bytes", got)
	}
	if err := os.RemoveAll(onDisk); err != nil {
		t.Fatal(err)
	}
	if got := size(onDisk); got != 5300 {
		t.Errorf("second size of a path without a narSize: %d; it was walked again", got)
	}
}
