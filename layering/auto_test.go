package layering

import (
	"reflect"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/nixlayer/nixlayer/registration"
)

// autoFixture is one graph of testdata/auto with the groups nixpkgs'
// auto-layer.py printed for it, by budget.
type autoFixture struct {
	name     string
	graph    *registration.Graph
	expected map[int][][]string
}

func loadAutoFixtures(t *testing.T) []autoFixture {
	t.Helper()
	type expected struct {
		Budgets map[string][][]string `json:"budgets"`
	}
	var out []autoFixture
	loadFixtures(t, "auto", func() any { return new(expected) }, func(name string, g *registration.Graph, e any) {
		fx := autoFixture{name: name, graph: g, expected: map[int][][]string{}}
		for b, groups := range e.(*expected).Budgets {
			n, err := strconv.Atoi(b)
			if err != nil {
				t.Fatalf("%s.expected.json: budget %q: %v", name, b, err)
			}
			fx.expected[n] = groups
		}
		out = append(out, fx)
	})
	return out
}

// closureSizes returns the summed narSize of the closure of each group.
func closureSizes(t *testing.T, g *registration.Graph, groups [][]string) []uint64 {
	t.Helper()
	sizes := make([]uint64, len(groups))
	for i, group := range groups {
		paths, err := g.Closure(group...)
		if err != nil {
			t.Fatalf("group %d: %v", i, err)
		}
		for _, p := range paths {
			info, _ := g.Lookup(p)
			sizes[i] += info.NarSize
		}
	}
	return sizes
}

// tieRuns cuts groups into runs of equal closure size and returns each run
// as a sorted list of its groups (joined), so that two orders of tied
// layers compare equal.
func tieRuns(sizes []uint64, groups [][]string) [][]string {
	var runs [][]string
	for i := 0; i < len(groups); {
		j := i
		var run []string
		for j < len(groups) && sizes[j] == sizes[i] {
			run = append(run, strings.Join(groups[j], " "))
			j++
		}
		sort.Strings(run)
		runs = append(runs, run)
		i = j
	}
	return runs
}

func TestAutoMatchesNixpkgs(t *testing.T) {
	for _, fx := range loadAutoFixtures(t) {
		budgets := make([]int, 0, len(fx.expected))
		for b := range fx.expected {
			budgets = append(budgets, b)
		}
		sort.Ints(budgets)
		for _, b := range budgets {
			want := fx.expected[b]
			t.Run(fx.name+"/budget="+strconv.Itoa(b), func(t *testing.T) {
				got, err := Auto(Input{Graph: fx.graph, Budget: b})
				if err != nil {
					t.Fatal(err)
				}
				checkPartition(t, fx.graph, got)
				if len(got) > b {
					t.Errorf("%d groups for a budget of %d", len(got), b)
				}
				gotSizes := closureSizes(t, fx.graph, got)
				if !sort.SliceIsSorted(gotSizes, func(i, j int) bool { return gotSizes[i] < gotSizes[j] }) {
					t.Errorf("groups not in closure-size order: %v", gotSizes)
				}
				if reflect.DeepEqual(got, want) {
					return
				}
				wantSizes := closureSizes(t, fx.graph, want)
				if !reflect.DeepEqual(gotSizes, wantSizes) || !reflect.DeepEqual(tieRuns(gotSizes, got), tieRuns(wantSizes, want)) {
					t.Errorf("groups differ from auto-layer.py's:\n got %v\nwant %v", got, want)
				} else {
					t.Logf("same groups; layers of equal closure size in another order")
				}
			})
		}
	}
}

// checkPartition fails unless every path of g is in exactly one group.
func checkPartition(t *testing.T, g *registration.Graph, groups [][]string) {
	t.Helper()
	seen := map[string]int{}
	for i, group := range groups {
		if len(group) == 0 {
			t.Errorf("group %d is empty", i)
		}
		for _, p := range group {
			if j, dup := seen[p]; dup {
				t.Errorf("%s is in groups %d and %d", p, j, i)
			}
			seen[p] = i
		}
	}
	if len(seen) != g.Len() {
		t.Errorf("groups hold %d paths, the closure has %d", len(seen), g.Len())
	}
}

func TestAutoBudgetEdges(t *testing.T) {
	for _, fx := range loadAutoFixtures(t) {
		n := fx.graph.Len()
		if fx.name == "cycle" {
			// Every path alone holds for store closures, which have no
			// cycles but self-references; in a cycle auto-layer.py (and
			// Auto) keeps the cycle's paths together.
			continue
		}
		t.Run(fx.name, func(t *testing.T) {
			one := must(Auto(Input{Graph: fx.graph, Budget: 1}))(t)
			if n > 0 && (len(one) != 1 || len(one[0]) != n) {
				t.Errorf("budget 1: want one group of all %d paths, got %d groups", n, len(one))
			}
			for _, b := range []int{n, n + 1, 1000} {
				if b < 1 {
					continue
				}
				groups := must(Auto(Input{Graph: fx.graph, Budget: b}))(t)
				if len(groups) != n {
					t.Errorf("budget %d >= %d paths: want every path alone, got %d groups", b, n, len(groups))
				}
				for _, g := range groups {
					if len(g) != 1 {
						t.Errorf("budget %d: group %v has more than one path", b, g)
					}
				}
			}
		})
	}
	g := layerTestGraph(t, []string{"top -> lib", "lib"}, map[string]uint64{"top": 1, "lib": 2})
	for _, b := range []int{0, -1} {
		if _, err := Auto(Input{Graph: g, Budget: b}); err == nil || !strings.Contains(err.Error(), "at least one layer") {
			t.Errorf("budget %d: want an error naming the budget, got %v", b, err)
		}
	}
	if groups := must(Auto(Input{Budget: 3}))(t); len(groups) != 0 {
		t.Errorf("no graph: want no groups, got %v", groups)
	}
}

func TestAutoSize(t *testing.T) {
	specs := []string{"top -> a b", "a -> c", "b -> c", "c"}
	sized := layerTestGraph(t, specs, map[string]uint64{"top": 1, "a": 50, "b": 40, "c": 30})
	unsized := layerTestGraph(t, specs, nil)
	byName := map[string]int64{}
	for _, p := range sized.Paths() {
		byName[p.Path] = int64(p.NarSize)
	}
	for _, b := range []int{1, 2, 3, 4} {
		want := must(Auto(Input{Graph: sized, Budget: b}))(t)
		got := must(Auto(Input{Graph: unsized, Budget: b, Size: func(p string) int64 { return byName[p] }}))(t)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("budget %d: Size gives %v, narSize %v", b, groupNames(got), groupNames(want))
		}
	}
	_, err := Auto(Input{Graph: sized, Budget: 2, Size: func(string) int64 { return -5 }})
	if err == nil || !strings.Contains(err.Error(), "negative size -5") {
		t.Errorf("negative size: got %v", err)
	}
}

func TestAutoGrouping(t *testing.T) {
	// app1 and app2 are large and share glibc and ssl; each has a private
	// dependency; the small tool needs glibc only.
	g := layerTestGraph(t, []string{
		"top -> app1 app2 tool", "app1 -> glibc ssl a1dep", "app2 -> glibc ssl a2dep",
		"tool -> glibc", "ssl -> glibc", "a1dep", "a2dep", "glibc",
	}, map[string]uint64{"top": 8, "app1": 7000, "app2": 6000, "tool": 20, "glibc": 3000, "ssl": 900, "a1dep": 70, "a2dep": 65})
	tests := []struct {
		budget int
		want   [][]string
	}{
		{1, [][]string{{"a1dep", "a2dep", "app1", "app2", "glibc", "ssl", "tool", "top"}}},
		{2, [][]string{{"a1dep", "app1", "glibc", "ssl"}, {"a2dep", "app2", "tool", "top"}}},
		{4, [][]string{{"glibc", "ssl"}, {"a2dep", "app2"}, {"a1dep", "app1"}, {"tool", "top"}}},
		{5, [][]string{{"glibc"}, {"ssl"}, {"a2dep", "app2"}, {"a1dep", "app1"}, {"tool", "top"}}},
	}
	for _, tt := range tests {
		t.Run(strconv.Itoa(tt.budget), func(t *testing.T) {
			got := groupNames(must(Auto(Input{Graph: g, Budget: tt.budget}))(t))
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestAutoTieOrder(t *testing.T) {
	// a and b have equal closure sizes: nixpkgs' order depends on Python's
	// hashing; Auto puts them in the order of their first path.
	g := layerTestGraph(t, []string{"top -> b a", "a", "b"}, map[string]uint64{"top": 1, "a": 10, "b": 10})
	got := groupNames(must(Auto(Input{Graph: g, Budget: 3}))(t))
	want := [][]string{{"a"}, {"b"}, {"top"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}
