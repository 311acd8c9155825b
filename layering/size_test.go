package layering

import (
	"reflect"
	"strings"
	"testing"

	"github.com/nixlayer/nixlayer/registration"
)

// A closure like a Python application's: app on top of small libraries and
// a big runtime, everything on glibc. Popularity order: glibc, libffi, libx,
// liby, python, app.
var pythonApp = []string{
	"app -> libx liby python",
	"python -> glibc libffi",
	"libffi -> glibc",
	"libx -> glibc",
	"liby -> glibc",
	"glibc",
}

var pythonSizes = map[string]uint64{"glibc": 30 << 20, "python": 100 << 20, "app": 1 << 20, "libx": 2 << 20, "liby": 2 << 20, "libffi": 1 << 20}

func TestSizeAware(t *testing.T) {
	chain := []string{"a -> b", "b -> c", "c -> d", "d -> e", "e -> f", "f -> g", "g -> h", "h"}
	chainSizes := map[string]uint64{"a": 10, "b": 10, "c": 10, "d": 10, "e": 10, "f": 10, "g": 10, "h": 10}
	for _, tc := range []struct {
		name   string
		graph  []string
		sizes  map[string]uint64
		layers int
		want   [][]string
	}{
		// python (100 MB) and then glibc (30 MB) are above the average per
		// free layer: own layers; the small rest shares one.
		{name: "big paths alone", graph: pythonApp, sizes: pythonSizes, layers: 3,
			want: [][]string{{"glibc"}, {"libffi", "libx", "liby", "app"}, {"python"}}},
		{name: "enough layers", graph: pythonApp, sizes: pythonSizes, layers: 6,
			want: [][]string{{"glibc"}, {"libffi"}, {"libx"}, {"liby"}, {"python"}, {"app"}}},
		// python, then glibc stand out; the 6 MB left are cut into runs of
		// at most 4 MB (6 MB / 2 layers → 3 MB → next power of two)
		{name: "four layers", graph: pythonApp, sizes: pythonSizes, layers: 4,
			want: [][]string{{"glibc"}, {"libffi", "libx"}, {"liby", "app"}, {"python"}}},
		// equal sizes: runs of ≤ 32 bytes (80 bytes / 3 layers → 27 → 32)
		{name: "chain of equal paths", graph: chain, sizes: chainSizes, layers: 3,
			want: [][]string{{"h", "g", "f"}, {"e", "d", "c"}, {"b", "a"}}},
		// one layer left for the rest: the big one is alone, the small ones
		// share; groups ordered by their most popular path
		{name: "two layers", graph: []string{"a -> b", "b -> c", "c"}, sizes: map[string]uint64{"a": 1, "b": 1000, "c": 1}, layers: 2,
			want: [][]string{{"c", "a"}, {"b"}}},
		{name: "one layer", graph: pythonApp, sizes: pythonSizes, layers: 1,
			want: [][]string{{"glibc", "libffi", "libx", "liby", "python", "app"}}},
		// no sizes: popularity
		{name: "unknown sizes", graph: pythonApp, layers: 3,
			want: [][]string{{"glibc"}, {"libffi"}, {"libx", "liby", "python", "app"}}},
		{name: "empty", layers: 3, want: [][]string{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := layerTestGraph(t, tc.graph, tc.sizes)
			got, err := SizeAware(g, tc.layers, nil)
			if err != nil {
				t.Fatal(err)
			}
			if n := groupNames(got); !reflect.DeepEqual(n, tc.want) {
				t.Errorf("got %v, want %v", n, tc.want)
			}
			assertPartition(t, g, got, tc.layers)
		})
	}
}

// assertPartition checks that groups hold every path of g exactly once in
// at most layers non-empty groups.
func assertPartition(t *testing.T, g *registration.Graph, groups [][]string, layers int) {
	t.Helper()
	if len(groups) > layers {
		t.Errorf("%d groups for %d layers", len(groups), layers)
	}
	seen := map[string]bool{}
	for _, grp := range groups {
		if len(grp) == 0 {
			t.Error("empty group")
		}
		for _, p := range grp {
			if _, ok := g.Lookup(p); !ok || seen[p] {
				t.Errorf("path %s is not in the graph or in two groups", p)
			}
			seen[p] = true
		}
	}
	if len(seen) != g.Len() {
		t.Errorf("groups hold %d of %d paths", len(seen), g.Len())
	}
}

// TestSizeAwareReshipsLess is the point of the strategy: when the image's
// own package changes, the bytes of the layer that holds it must be
// shipped again.
func TestSizeAwareReshipsLess(t *testing.T) {
	g := layerTestGraph(t, pythonApp, pythonSizes)
	layerOf := func(groups [][]string, p string) (size uint64) {
		for _, grp := range groups {
			for _, q := range grp {
				if q == p {
					for _, r := range grp {
						info, _ := g.Lookup(r)
						size += info.NarSize
					}
					return size
				}
			}
		}
		t.Fatalf("%s in no group", p)
		return 0
	}
	pop := must(Popularity(g, 3))(t)
	sz := must(SizeAware(g, 3, nil))(t)
	app := layerTestPath("app")
	if p, s := layerOf(pop, app), layerOf(sz, app); s*10 > p {
		t.Errorf("changing app re-ships %d bytes with size-aware layers, %d with popularity: want at least 10 times less", s, p)
	}
}

func TestSizeAwareSizeFunc(t *testing.T) {
	g := layerTestGraph(t, pythonApp, nil)
	size := func(p string) int64 { return int64(pythonSizes[p[len("/nix/store/")+33:]]) }
	got, err := SizeAware(g, 3, size)
	if err != nil {
		t.Fatal(err)
	}
	if want := [][]string{{"glibc"}, {"libffi", "libx", "liby", "app"}, {"python"}}; !reflect.DeepEqual(groupNames(got), want) {
		t.Errorf("got %v, want %v", groupNames(got), want)
	}
	_, err = SizeAware(g, 3, func(string) int64 { return -1 })
	if err == nil || !strings.Contains(err.Error(), "has negative size -1") {
		t.Errorf("negative size: %v", err)
	}
}

func TestSizeAwareHugeSizes(t *testing.T) {
	g := layerTestGraph(t, pythonApp, nil)
	got, err := SizeAware(g, 2, func(string) int64 { return 1<<63 - 1 })
	if err != nil {
		t.Fatal(err)
	}
	assertPartition(t, g, got, 2)
}
