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

// TestEachLayerOrder checks that layers start heaviest first, by the plan's
// narSize when it has one and by the files on disk when it has none.
func TestEachLayerOrder(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1)) // one worker: start order is run order
	dir := t.TempDir()
	big := filepath.Join(dir, "big")
	if err := os.WriteFile(big, make([]byte, 5000), 0o644); err != nil {
		t.Fatal(err)
	}
	plan := []Layer{
		{Comment: "extra 10", Extra: []layers.Entry{layers.File("a", 0o644, make([]byte, 10))}},
		{Comment: "narSize 1000", StorePaths: []string{filepath.Join(dir, "missing")}, Size: 1000},
		{Comment: "disk 5000", StorePaths: []string{big}},
		{Comment: "empty"},
		{Comment: "narSize 2000", StorePaths: []string{big}, Size: 2000},
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
	want := []string{"disk 5000", "narSize 2000", "narSize 1000", "extra 10", "empty"}
	if !slices.Equal(got, want) {
		t.Errorf("started %q, want %q", got, want)
	}
}

func TestNarSize(t *testing.T) {
	const a, b, c = "/nix/store/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-a", "/nix/store/bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb-b", "/nix/store/cccccccccccccccccccccccccccccccc-c"
	g, err := registration.NewGraph("/nix/store", []registration.PathInfo{
		{Path: a, NarSize: 100}, {Path: b, NarSize: 20}, {Path: c},
	})
	if err != nil {
		t.Fatal(err)
	}
	r := &Request{Graph: g}
	tests := []struct {
		paths []string
		want  int64
	}{
		{[]string{a, b}, 120},
		{[]string{a}, 100},
		{[]string{a, c}, 0}, // c has no narSize: the files decide
		{[]string{"/nix/store/dddddddddddddddddddddddddddddddd-d"}, 0},
		{nil, 0},
	}
	for _, tt := range tests {
		if got := r.narSize(tt.paths); got != tt.want {
			t.Errorf("narSize(%v) = %d, want %d", tt.paths, got, tt.want)
		}
	}
}
