package image

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"testing"

	"github.com/nixlayer/nixlayer/layers"
	"github.com/nixlayer/nixlayer/registration"
)

// TestEachLayerOrder checks that layers start heaviest first, by their
// store paths' size and their extra files.
func TestEachLayerOrder(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1)) // one worker: start order is run order
	plan := []Layer{
		{Comment: "extra 10", Extra: []layers.Entry{layers.File("a", 0o644, make([]byte, 10))}},
		{Comment: "size 1000", StorePaths: []string{"/nix/store/x"}, Size: 1000},
		{Comment: "empty"},
		{Comment: "size 2000 and extra 5", StorePaths: []string{"/nix/store/y"}, Size: 2000,
			Extra: []layers.Entry{layers.File("b", 0o644, make([]byte, 5))}},
		{Comment: "size 2000", StorePaths: []string{"/nix/store/z"}, Size: 2000},
	}
	var mu sync.Mutex
	var got []string
	err := eachLayer(context.Background(), plan, func(i int) error {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, plan[i].Comment)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"size 2000 and extra 5", "size 2000", "size 1000", "extra 10", "empty"}
	if !slices.Equal(got, want) {
		t.Errorf("started %q, want %q", got, want)
	}
}

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
