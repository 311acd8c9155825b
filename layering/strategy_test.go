package layering

import (
	"crypto/sha256"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/nix-community/go-nix/pkg/nixbase32"
	"github.com/nixlayer/nixlayer/registration"
)

// layerTestPath makes a valid store path for a short test name: "foo" gets a
// hash derived from its name, "3:foo" one derived from "3" (so two paths
// can share a name and differ by hash).
func layerTestPath(name string) string {
	seed := name
	if i := strings.IndexByte(name, ':'); i >= 0 {
		seed, name = name[:i], name[i+1:]
	}
	sum := sha256.Sum256([]byte(seed))
	return "/nix/store/" + nixbase32.EncodeToString(sum[:20]) + "-" + name
}

// layerTestGraph builds a graph from "name: ref ref" specs (names as layerTestPath
// takes them). sizes, when given, become narSize.
func layerTestGraph(t testing.TB, specs []string, sizes map[string]uint64) *registration.Graph {
	t.Helper()
	var infos []registration.PathInfo
	for _, spec := range specs {
		name, refs, _ := strings.Cut(spec, " ->")
		info := registration.PathInfo{Path: layerTestPath(strings.TrimSpace(name)), NarSize: sizes[strings.TrimSpace(name)]}
		for _, r := range strings.Fields(refs) {
			info.References = append(info.References, layerTestPath(r))
		}
		infos = append(infos, info)
	}
	g, err := registration.NewGraph("", infos)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// must returns the value of a (value, error) call, failing the test on the
// error: must(f())(t).
func must[T any](v T, err error) func(testing.TB) T {
	return func(t testing.TB) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

// groupNames turns groups of store paths back into test names (without hashes
// unless two share a name).
func groupNames(groups [][]string) [][]string {
	out := make([][]string, len(groups))
	for i, grp := range groups {
		out[i] = []string{}
		for _, p := range grp {
			out[i] = append(out[i], p[len("/nix/store/")+33:])
		}
	}
	return out
}

// split runs the strategy called name with the budget of an image of at
// most maxLayers layers with no base image, as image's plan does.
func split(name string, g *registration.Graph, maxLayers int) ([][]string, error) {
	s, err := Lookup(name)
	if err != nil {
		return nil, err
	}
	n, err := AvailableLayers(maxLayers, 0)
	if err != nil {
		return nil, fmt.Errorf("choosing layers: %w", err)
	}
	return s(Input{Graph: g, Budget: n})
}

// TestLookup splits a closure with each strategy found by Lookup.
func TestLookup(t *testing.T) {
	g := layerTestGraph(t, pythonApp, pythonSizes)
	for _, tc := range []struct {
		name      string
		strategy  string
		maxLayers int
		want      [][]string
		err       string
	}{
		{name: "default is popularity", maxLayers: 4, want: [][]string{{"glibc"}, {"libffi"}, {"libx", "liby", "python", "app"}}},
		{name: "popularity", strategy: "popularity", maxLayers: 4, want: [][]string{{"glibc"}, {"libffi"}, {"libx", "liby", "python", "app"}}},
		{name: "size", strategy: "size", maxLayers: 4, want: [][]string{{"glibc"}, {"libffi", "libx", "liby", "app"}, {"python"}}},
		{name: "two layers", maxLayers: 2, want: [][]string{{"glibc", "libffi", "libx", "liby", "python", "app"}}},
		{name: "default maxLayers", maxLayers: DefaultMaxLayers, want: [][]string{{"glibc"}, {"libffi"}, {"libx"}, {"liby"}, {"python"}, {"app"}}},
		{name: "127 layers", strategy: "size", maxLayers: 127, want: [][]string{{"glibc"}, {"libffi"}, {"libx"}, {"liby"}, {"python"}, {"app"}}},
		{name: "unknown", strategy: "equal", maxLayers: 4, err: `choosing layers: unknown layering strategy "equal" (valid: auto, none, pipeline, popularity, set, size)`},
		{name: "too many", maxLayers: 128, err: "choosing layers: maxLayers 128 is too large: Docker and containerd refuse images with more than 127 layers"},
		{name: "too few", maxLayers: 1, err: "choosing layers: maxLayers 1 is too small: one layer is kept for the customisation layer and at least one is needed for store paths, so it must be at least 2"},
		{name: "zero", strategy: "size", maxLayers: 0, err: "maxLayers 0 is too small"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := split(tc.strategy, g, tc.maxLayers)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if n := groupNames(got); !reflect.DeepEqual(n, tc.want) {
				t.Errorf("got %v, want %v", n, tc.want)
			}
		})
	}
}

func TestAvailableLayers(t *testing.T) {
	for _, tc := range []struct {
		max, base, want int
		err             string
	}{
		{max: 100, want: 99},
		{max: 100, base: 3, want: 96},
		{max: 2, want: 1},
		{max: 127, base: 125, want: 1},
		{max: 127, base: 126, err: "maxLayers 127 leaves no layer for store paths: the base image has 126 layers and one is kept for the customisation layer"},
		{max: 10, base: -1, err: "base image layer count -1 is negative"},
		{max: 200, err: "more than 127 layers"},
		{max: 1, err: "must be at least 2"},
	} {
		got, err := AvailableLayers(tc.max, tc.base)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("AvailableLayers(%d, %d) error %v, want %q", tc.max, tc.base, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("AvailableLayers(%d, %d) = %d, %v; want %d", tc.max, tc.base, got, err, tc.want)
		}
	}
}

func TestLookupStrategy(t *testing.T) {
	for _, want := range []string{"none", "popularity", "size"} {
		if !slices.Contains(Names(), want) {
			t.Errorf("Names() = %v, want it to hold %q", Names(), want)
		}
	}
	g := layerTestGraph(t, pythonApp, pythonSizes)
	for _, name := range Names() {
		s, err := Lookup(name)
		if err != nil {
			t.Fatal(err)
		}
		// the set strategy needs a set: a set of one image; the others ignore it
		one := &Set{Union: g, Self: "app", Members: map[string]Member{"app": {Roots: []string{layerTestPath("app")}, Budget: 3}}}
		// the pipeline strategy needs a pipeline: nixpkgs' default one
		pl := must(ParsePipeline([]byte(`[["popularity_contest"], ["limit_layers", 3]]`)))(t)
		got, err := s(Input{Graph: g, Budget: 3, Set: one, Pipeline: pl})
		if err != nil {
			t.Fatal(err)
		}
		assertPartition(t, g, got, 3)
	}
}

// TestRegisteredStrategies: "none" is the whole closure in one group,
// "popularity" ranks with the contents as roots (as buildLayeredImage does)
// and splits the order, "size" is SizeAware; an unknown name is an error
// naming the registered ones.
func TestRegisteredStrategies(t *testing.T) {
	g := layerTestGraph(t, pythonApp, pythonSizes)
	roots := []string{layerTestPath("app"), layerTestPath("libffi")}
	in := Input{Graph: g, Roots: roots, Budget: 3}
	none := must(must(Lookup("none"))(t)(in))(t)
	if len(none) != 1 || len(none[0]) != g.Len() {
		t.Errorf("none: %v, want one group of %d paths", groupNames(none), g.Len())
	}
	if got := must(must(Lookup("none"))(t)(Input{Graph: must(registration.NewGraph("", nil))(t), Budget: 3}))(t); len(got) != 0 {
		t.Errorf("none of an empty closure: %v, want no group", got)
	}
	order := must(PopularityOrder(g, roots))(t)
	want := must(SplitOrder(order, 3))(t)
	if got := must(must(Lookup("popularity"))(t)(in))(t); !reflect.DeepEqual(got, want) {
		t.Errorf("popularity: %v, want %v", groupNames(got), groupNames(want))
	}
	if got, def := must(must(Lookup(""))(t)(in))(t), want; !reflect.DeepEqual(got, def) {
		t.Errorf("default strategy: %v, want popularity's %v", groupNames(got), groupNames(def))
	}
	if got, want := must(must(Lookup("size"))(t)(in))(t), must(SizeAware(g, 3, nil))(t); !reflect.DeepEqual(got, want) {
		t.Errorf("size: %v, want %v", groupNames(got), groupNames(want))
	}
	if _, err := Lookup("random"); err == nil || !strings.Contains(err.Error(), `unknown layering strategy "random"`) {
		t.Errorf("Lookup(random): %v", err)
	}
	defer func() {
		if recover() == nil {
			t.Error("registering popularity twice did not panic")
		}
	}()
	Register("popularity", oneLayer)
}
