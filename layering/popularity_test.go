package layering

import (
	"encoding/json"
	"math/rand"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/nixlayer/nixlayer/registration"
)

func TestPopularity(t *testing.T) {
	chain := []string{"a -> b", "b -> c", "c -> d", "d"}
	for _, tc := range []struct {
		name   string
		graph  []string
		layers int
		want   [][]string
	}{
		// scores a=1 b=2 c=3 d=4
		{name: "chain", graph: chain, layers: 10, want: [][]string{{"d"}, {"c"}, {"b"}, {"a"}}},
		{name: "chain exactly", graph: chain, layers: 4, want: [][]string{{"d"}, {"c"}, {"b"}, {"a"}}},
		{name: "chain one short", graph: chain, layers: 3, want: [][]string{{"d"}, {"c"}, {"b", "a"}}},
		{name: "chain two layers", graph: chain, layers: 2, want: [][]string{{"d"}, {"c", "b", "a"}}},
		{name: "chain one layer", graph: chain, layers: 1, want: [][]string{{"d", "c", "b", "a"}}},
		// a=1 b=2 c=2 d=5: b and c tie and go by name
		{name: "diamond", graph: []string{"a -> b c", "b -> d", "c -> d", "d -> d"}, layers: 5, want: [][]string{{"d"}, {"b"}, {"c"}, {"a"}}},
		// closure-graph.py's own example: F E D C B G A
		{name: "nixpkgs example", graph: []string{"A -> B G", "B -> C E", "C -> D E", "D -> F", "E -> F", "F", "G"}, layers: 100,
			want: [][]string{{"F"}, {"E"}, {"D"}, {"C"}, {"B"}, {"G"}, {"A"}}},
		// roots a, x, z: b and y score 2, the rest 1
		{name: "disconnected roots", graph: []string{"a -> b", "b", "x -> y", "y", "z"}, layers: 3, want: [][]string{{"b"}, {"y"}, {"a", "x", "z"}}},
		// all roots tie at 1: ordered by name, then hash, not by store path
		{name: "ties by name-version-hash", graph: []string{"1:foo-1.0", "0:foo-1.0", "bar-2.0", "foo", "zlib", "bash"}, layers: 100,
			want: [][]string{{"bar-2.0"}, {"bash"}, {"foo"}, {"foo-1.0"}, {"foo-1.0"}, {"zlib"}}},
		{name: "empty", graph: nil, layers: 3, want: [][]string{}},
		{name: "self references only", graph: []string{"a -> a", "b -> b"}, layers: 3, want: [][]string{{"a"}, {"b"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := layerTestGraph(t, tc.graph, nil)
			got, err := Popularity(g, tc.layers)
			if err != nil {
				t.Fatal(err)
			}
			if n := groupNames(got); !reflect.DeepEqual(n, tc.want) {
				t.Errorf("got %v, want %v", n, tc.want)
			}
		})
	}
}

func TestPopularityTieHashOrder(t *testing.T) {
	g := layerTestGraph(t, []string{"1:foo-1.0", "0:foo-1.0"}, nil)
	got, err := PopularityOrder(g)
	if err != nil {
		t.Fatal(err)
	}
	a, b := layerTestPath("1:foo-1.0"), layerTestPath("0:foo-1.0")
	if a[11:] > b[11:] { // the smaller hash comes first
		a, b = b, a
	}
	if !reflect.DeepEqual(got, []string{a, b}) {
		t.Errorf("got %v, want %v", got, []string{a, b})
	}
}

// layeringFixture is a closure with the order nixpkgs' closure-graph.py
// printed for it (testdata/layering).
type layeringFixture struct {
	Closure json.RawMessage `json:"closure"`
	Hidden  [][]string      `json:"hidden"`
	Order   []string        `json:"order"`
	graph   *registration.Graph
}

func readFixtures(t *testing.T) map[string]layeringFixture {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "layering", "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no fixtures: %v", err)
	}
	out := map[string]layeringFixture{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var fx layeringFixture
		if err := json.Unmarshal(data, &fx); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		fx.graph = must(registration.ParseStructured(fx.Closure, f, ""))(t)
		out[strings.TrimSuffix(filepath.Base(f), ".json")] = fx
	}
	return out
}

// TestPopularityOrderMatchesNixpkgs compares with the output of nixpkgs'
// closure-graph.py on random closures (with self references and repeated
// names), on 90 levels of diamonds whose scores exceed 2^64, and with the
// hidden roots buildLayeredImage ranks.
func TestPopularityOrderMatchesNixpkgs(t *testing.T) {
	for name, fx := range readFixtures(t) {
		t.Run(name, func(t *testing.T) {
			g := fx.graph
			got := must(PopularityOrder(g, fx.Hidden...))(t)
			if !reflect.DeepEqual(got, fx.Order) {
				t.Errorf("order differs from closure-graph.py:\n got %v\nwant %v", got, fx.Order)
			}
			d, err := newDAG(g, fx.Hidden)
			if err != nil {
				t.Fatal(err)
			}
			if _, ok := contest(d, uint64Arith()); ok == (name == "deep-diamonds") {
				t.Errorf("uint64 scores fit: %v; only deep-diamonds should overflow", ok)
			}
		})
	}
}

func TestPopularityDeterministicUnderReordering(t *testing.T) {
	for name, fx := range readFixtures(t) {
		t.Run(name, func(t *testing.T) {
			g := fx.graph
			want := must(Popularity(g, 7))(t)
			wantSize := must(SizeAware(g, 7, fakeSize))(t)
			r := rand.New(rand.NewSource(1))
			for range 5 {
				infos := append([]registration.PathInfo(nil), g.Paths()...)
				r.Shuffle(len(infos), func(i, j int) { infos[i], infos[j] = infos[j], infos[i] })
				for i := range infos {
					refs := append([]string(nil), infos[i].References...)
					r.Shuffle(len(refs), func(a, b int) { refs[a], refs[b] = refs[b], refs[a] })
					infos[i].References = refs
				}
				g2 := must(registration.NewGraph("", infos))(t)
				if got, _ := Popularity(g2, 7); !reflect.DeepEqual(got, want) {
					t.Fatalf("popularity groups changed with input order:\n got %v\nwant %v", got, want)
				}
				if got, _ := SizeAware(g2, 7, fakeSize); !reflect.DeepEqual(got, wantSize) {
					t.Fatalf("size-aware groups changed with input order:\n got %v\nwant %v", got, wantSize)
				}
			}
		})
	}
}

// fakeSize gives store paths sizes from 1 byte to 1 MB, from their hash.
func fakeSize(p string) int64 {
	var h int64
	for _, c := range p[len("/nix/store/"):][:8] {
		h = h*31 + int64(c)
	}
	return 1 + h%(1<<20)
}

func TestPopularityErrors(t *testing.T) {
	g := layerTestGraph(t, []string{"a -> b", "b"}, nil)
	if _, err := Popularity(g, 0); err == nil || !strings.Contains(err.Error(), "at least one layer is needed for store paths") {
		t.Errorf("0 layers: %v", err)
	}
	if _, err := PopularityOrder(g, []string{layerTestPath("c")}); err == nil || !strings.Contains(err.Error(), "hidden root 0 references "+layerTestPath("c")+", which is not in the closure") {
		t.Errorf("hidden root outside the closure: %v", err)
	}
	cycle, err := registration.NewGraph("", []registration.PathInfo{
		{Path: layerTestPath("a"), References: []string{layerTestPath("b")}},
		{Path: layerTestPath("b"), References: []string{layerTestPath("a")}},
		{Path: layerTestPath("c"), References: []string{layerTestPath("a")}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Popularity(cycle, 5); err == nil || !strings.Contains(err.Error(), "reference cycle through") {
		t.Errorf("cycle: %v", err)
	}
}

func BenchmarkPopularityOrder(b *testing.B) {
	// 2000 paths, each referencing up to 8 later ones.
	r := rand.New(rand.NewSource(7))
	var specs []string
	for i := range 2000 {
		spec := "p-" + strconv.Itoa(i) + " ->"
		for range r.Intn(9) {
			if j := i + 1 + r.Intn(2000-i); j < 2000 {
				spec += " p-" + strconv.Itoa(j)
			}
		}
		specs = append(specs, spec)
	}
	g := layerTestGraph(b, specs, nil)
	b.ResetTimer()
	for range b.N {
		if _, err := PopularityOrder(g); err != nil {
			b.Fatal(err)
		}
	}
}
