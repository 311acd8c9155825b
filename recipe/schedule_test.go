package recipe

import (
	"context"
	"runtime"
	"slices"
	"sync"
	"testing"

	"github.com/nixlayer/nixlayer/layers"
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
	err := EachLayer(context.Background(), plan, func(i int) error {
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
