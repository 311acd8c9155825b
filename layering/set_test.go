package layering

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
)

// Three services over one union: api and worker share python and its
// libraries, everything shares glibc, cli has only a tool.
var setGraph = []string{
	"api -> libx python",
	"worker -> libx liby python",
	"cli -> tool",
	"tool -> glibc",
	"python -> glibc libffi",
	"libffi -> glibc",
	"libx -> glibc",
	"liby -> glibc",
	"glibc",
}

var setSizes = map[string]uint64{"api": 1 << 20, "worker": 2 << 20, "cli": 1 << 10, "tool": 3 << 20, "python": 100 << 20,
	"libffi": 1 << 20, "libx": 2 << 20, "liby": 2 << 20, "glibc": 30 << 20}

func testSet(t *testing.T, budget int) *Set {
	g := layerTestGraph(t, setGraph, setSizes)
	return &Set{Union: g, Members: map[string]Member{
		"api":    {Roots: []string{layerTestPath("api")}, Budget: budget},
		"worker": {Roots: []string{layerTestPath("worker")}, Budget: budget},
		"cli":    {Roots: []string{layerTestPath("cli")}, Budget: budget},
	}}
}

// members returns the layers of every member of s with the set strategy,
// each over its own closure, as image's plan gives it.
func members(t *testing.T, s *Set, budget int) map[string][][]string {
	out := map[string][][]string{}
	for n, m := range s.Members {
		own := must(s.Union.Subgraph(m.Roots...))(t)
		in := *s
		in.Self = n
		out[n] = groupNames(must(setStrategy(Input{Graph: own, Budget: budget, Set: &in}))(t))
	}
	return out
}

func TestPlanSetUnits(t *testing.T) {
	for _, tc := range []struct {
		name   string
		budget int
		want   map[string][][]string
	}{
		// one unit per signature: glibc (all three), python's part (api,
		// worker), each image's own paths
		{name: "one unit per signature", budget: 3, want: map[string][][]string{
			"api":    {{"glibc"}, {"libffi", "libx", "python"}, {"api"}},
			"worker": {{"glibc"}, {"libffi", "libx", "python"}, {"liby", "worker"}},
			"cli":    {{"glibc"}, {"tool"}, {"cli"}}, // one layer to spare: its own unit is cut
		}},
		// one layer left: the unit with the most bytes per layer
		// (python's, 103 MiB) is cut, python alone; cli cuts its own
		{name: "big units cut", budget: 4, want: map[string][][]string{
			"api":    {{"glibc"}, {"python"}, {"libffi", "libx"}, {"api"}},
			"worker": {{"glibc"}, {"python"}, {"libffi", "libx"}, {"liby", "worker"}},
			"cli":    {{"glibc"}, {"tool"}, {"cli"}},
		}},
		// two left: python's unit in three, by size (bigger first)
		{name: "cut to single paths", budget: 5, want: map[string][][]string{
			"api":    {{"glibc"}, {"python"}, {"libx"}, {"libffi"}, {"api"}},
			"worker": {{"glibc"}, {"python"}, {"libx"}, {"libffi"}, {"liby", "worker"}},
			"cli":    {{"glibc"}, {"tool"}, {"cli"}},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := members(t, testSet(t, tc.budget), tc.budget)
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("layers:\n got %v\nwant %v", got, tc.want)
			}
		})
	}
}

// TestSetSharedUnitsIdentical: a path shared by api and worker is in the
// same layer, with the same neighbours, in both; per-image popularity cuts
// the two closures at different places.
func TestSetSharedUnitsIdentical(t *testing.T) {
	s := testSet(t, 3)
	got := members(t, s, 3)
	layerOf := func(layers [][]string, p string) string {
		for _, l := range layers {
			for _, q := range l {
				if q == p {
					return strings.Join(l, " ")
				}
			}
		}
		return ""
	}
	for _, p := range []string{"glibc", "python", "libx", "libffi"} {
		if a, w := layerOf(got["api"], p), layerOf(got["worker"], p); a != w || a == "" {
			t.Errorf("set: %s is in layer %q of api and %q of worker", p, a, w)
		}
	}
	differ := false
	for _, p := range []string{"glibc", "python", "libx", "libffi"} {
		a := layerOf(groupNames(must(Popularity(must(s.Union.Subgraph(layerTestPath("api")))(t), 3))(t)), p)
		w := layerOf(groupNames(must(Popularity(must(s.Union.Subgraph(layerTestPath("worker")))(t), 3))(t)), p)
		differ = differ || a != w
	}
	if !differ {
		t.Error("per-image popularity shares every layer here too: the test shows nothing")
	}
}

// TestPlanSetDeterministic: the units do not depend on map order, on the
// member building, or on the machine (golden digest of the units).
func TestPlanSetDeterministic(t *testing.T) {
	const golden = "1b878a38af5fe30b" // first 16 hex digits of the units' sha256; see below
	var first string
	for i := 0; i < 20; i++ {
		s := testSet(t, 5)
		s.Self = []string{"api", "worker", "cli"}[i%3]
		units := must(PlanSet(s))(t)
		b, _ := json.Marshal(units)
		sum := sha256.Sum256(b)
		d := hex.EncodeToString(sum[:8])
		if first == "" {
			first = d
		} else if d != first {
			t.Fatalf("run %d: units digest %s, first run %s", i, d, first)
		}
	}
	if first != golden {
		t.Errorf("units digest %s, golden %s", first, golden)
	}
}

func TestPickBudget(t *testing.T) {
	s := testSet(t, 5)
	units := must(PlanSet(s))(t)
	own := must(s.Union.Subgraph(layerTestPath("worker")))(t)
	have := func(p string) bool { _, ok := own.Lookup(p); return ok }
	for _, tc := range []struct {
		budget int
		want   [][]string
	}{
		{5, [][]string{{"glibc"}, {"python"}, {"libx"}, {"libffi"}, {"liby", "worker"}}},
		// the most valuable (bytes × images): python, glibc; the rest together
		{3, [][]string{{"glibc"}, {"python"}, {"libx", "libffi", "liby", "worker"}}},
		{1, [][]string{{"glibc", "python", "libx", "libffi", "liby", "worker"}}},
	} {
		got := groupNames(must(Pick(units, "worker", have, tc.budget))(t))
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("budget %d:\n got %v\nwant %v", tc.budget, got, tc.want)
		}
	}
}

func TestSetErrors(t *testing.T) {
	g := layerTestGraph(t, setGraph, setSizes)
	for _, tc := range []struct {
		name string
		in   Input
		want string
	}{
		{"no set", Input{Graph: g, Budget: 3}, "use buildImageSet"},
		{"empty set", Input{Graph: g, Budget: 3, Set: &Set{Union: g, Self: "api", Members: map[string]Member{}}}, "not a member"},
		{"not a member", Input{Graph: g, Budget: 3, Set: &Set{Union: g, Self: "db", Members: map[string]Member{"api": {Roots: []string{layerTestPath("api")}, Budget: 3}}}}, `image "db" is not a member`},
		{"root outside", Input{Graph: g, Budget: 3, Set: &Set{Union: g, Self: "api", Members: map[string]Member{"api": {Roots: []string{layerTestPath("nope")}, Budget: 3}}}}, "the closure of image api"},
		{"zero budget", Input{Graph: g, Budget: 0, Set: &Set{Union: g, Self: "api", Members: map[string]Member{"api": {Roots: []string{layerTestPath("api")}, Budget: 3}}}}, "no layer is left"},
		{"member budget", Input{Graph: g, Budget: 3, Set: &Set{Union: g, Self: "api", Members: map[string]Member{"api": {Roots: []string{layerTestPath("api")}, Budget: 0}}}}, "image api has a budget of 0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := setStrategy(tc.in)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
	if _, err := PlanSet(&Set{Union: g}); err == nil || !strings.Contains(err.Error(), "the set has no image") {
		t.Errorf("empty set: error %v", err)
	}
}

// TestPlanSetLarge: 40 images over a 6,000-path closure with random
// sharing plan within seconds, and every image's layers fit its budget.
func TestPlanSetLarge(t *testing.T) {
	const paths, images, budget = 6000, 40, 99
	var specs []string
	sizes := map[string]uint64{}
	for i := 0; i < paths; i++ {
		line := fmt.Sprintf("p%d ->", i)
		for _, j := range []int{i / 2, i / 3} {
			if j < i && j > 0 {
				line += fmt.Sprintf(" p%d", j)
			}
		}
		specs = append(specs, line)
		sizes[fmt.Sprintf("p%d", i)] = uint64(1000 + i*7919%100000)
	}
	g := layerTestGraph(t, specs, sizes)
	s := &Set{Union: g, Members: map[string]Member{}}
	for k := 0; k < images; k++ {
		var roots []string
		for i := paths - 1 - k; i > paths/4; i -= 37 + k {
			roots = append(roots, layerTestPath(fmt.Sprintf("p%d", i)))
		}
		s.Members[fmt.Sprintf("img%d", k)] = Member{Roots: roots, Budget: budget}
	}
	start := time.Now()
	units := must(PlanSet(s))(t)
	if d := time.Since(start); d > 20*time.Second {
		t.Errorf("planning took %v", d)
	}
	t.Logf("%d units, planned in %v", len(units), time.Since(start))
	for n, m := range s.Members {
		own := must(g.Subgraph(m.Roots...))(t)
		have := func(p string) bool { _, ok := own.Lookup(p); return ok }
		groups := must(Pick(units, n, have, budget))(t)
		if len(groups) > budget {
			t.Errorf("image %s: %d layers, budget %d", n, len(groups), budget)
		}
		assertPartition(t, own, groups, budget)
	}
}
