package layering

import (
	"encoding/json"
	"fmt"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/nixlayer/nixlayer/registration"
)

// pipelineCase is one pipeline of testdata/pipeline with what nixpkgs'
// flatten_references_graph printed for it: the groups, or an error.
type pipelineCase struct {
	Pipeline json.RawMessage `json:"pipeline"`
	Groups   [][]string      `json:"groups"`
	Error    string          `json:"error"`
}

type pipelineFixture struct {
	name  string
	graph *registration.Graph
	cases []pipelineCase
}

func loadPipelineFixtures(t testing.TB) []pipelineFixture {
	t.Helper()
	type expected struct {
		Cases []pipelineCase `json:"cases"`
	}
	var out []pipelineFixture
	loadFixtures(t, "pipeline", func() any { return new(expected) }, func(name string, g *registration.Graph, e any) {
		out = append(out, pipelineFixture{name: name, graph: g, cases: e.(*expected).Cases})
	})
	return out
}

func TestPipelineMatchesNixpkgs(t *testing.T) {
	steps := map[string]bool{}
	for _, fx := range loadPipelineFixtures(t) {
		for i, c := range fx.cases {
			t.Run(fx.name+"/"+string(rune('a'+i/26))+string(rune('a'+i%26)), func(t *testing.T) {
				countSteps(t, c.Pipeline, steps)
				p, err := ParsePipeline(c.Pipeline)
				if err != nil {
					t.Fatalf("%s: %v", c.Pipeline, err)
				}
				got, err := p.Run(Input{Graph: fx.graph, Budget: MaxImageLayers})
				if c.Error != "" {
					if err == nil {
						t.Errorf("%s: nixpkgs fails (%s), Run gives %v", c.Pipeline, c.Error, got)
					}
					return
				}
				if err != nil {
					t.Fatalf("%s: %v", c.Pipeline, err)
				}
				if len(got) == 0 && len(c.Groups) == 0 {
					return
				}
				if !reflect.DeepEqual(got, c.Groups) {
					t.Errorf("%s:\n got %v\nwant %v", c.Pipeline, groupNames(got), groupNames(c.Groups))
				}
			})
		}
	}
	for _, n := range PipelineStepNames() {
		if !steps[n] {
			t.Errorf("no fixture uses step %s", n)
		}
	}
}

// countSteps marks the step names a pipeline's JSON uses, nested ones too.
func countSteps(t *testing.T, raw json.RawMessage, seen map[string]bool) {
	t.Helper()
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	var walk func(any)
	walk = func(v any) {
		l, ok := v.([]any)
		if !ok {
			return
		}
		if len(l) > 0 {
			if s, ok := l[0].(string); ok {
				seen[s] = true
			}
		}
		for _, x := range l {
			walk(x)
		}
	}
	walk(v)
}

func TestParsePipelineErrors(t *testing.T) {
	deep := `["popularity_contest"]`
	for i := 0; i < MaxPipelineDepth+1; i++ {
		deep = `["map", ` + deep + `]`
	}
	many := `[` + strings.Repeat(`["reverse"], `, MaxPipelineSteps) + `["reverse"]]`
	for _, tc := range []struct {
		name, in, err string
	}{
		{"not JSON", `[["popularity_contest"]`, "layeringPipeline: not JSON"},
		{"two values", `[] []`, "more than one JSON value"},
		{"not a list", `{"popularity_contest": 1}`, "a pipeline is a list of steps, not an attribute set"},
		{"empty", `[]`, "the pipeline is empty"},
		{"step not a list", `["popularity_contest"]`, `step 0: a step is a list [ NAME ARGS... ], not the string "popularity_contest"`},
		{"empty step", `[[]]`, "step 0: a step is a list"},
		{"name not a string", `[[3]]`, "step 0: a step starts with its name (a string), not the number 3"},
		{"unknown step", `[["popularity_contest"], ["topological_sort"]]`, `step 1: unknown step "topological_sort" (valid: flatten, limit_layers, map, over, pipe, popularity_contest, remove_paths, reverse, split_every, split_paths, subcomponent_in, subcomponent_out)`},
		{"too many arguments", `[["popularity_contest", 3]]`, "step 0 (popularity_contest): 1 arguments, popularity_contest takes 0"},
		{"too few arguments", `[["popularity_contest"], ["limit_layers"]]`, `step 1 (limit_layers): 0 arguments, limit_layers takes 1: ["limit_layers", N] with N >= 1`},
		{"negative limit", `[["popularity_contest"], ["limit_layers", -1]]`, "step 1 (limit_layers): the count -1 must be at least 1"},
		{"zero split_every", `[["split_every", 0]]`, "step 0 (split_every): the count 0 must be at least 1"},
		{"fractional count", `[["split_every", 1.5]]`, "the count 1.5 is not a whole number"},
		{"count a string", `[["split_every", "2"]]`, `the count is the string "2", not a number`},
		{"huge count", `[["split_every", 99999999999]]`, "is too large"},
		{"paths not a list", `[["subcomponent_out", "/nix/store/x"]]`, `step 0 (subcomponent_out): the store paths are the string "/nix/store/x", not a list of strings`},
		{"path not a string", `[["remove_paths", ["/nix/store/x", 4]]]`, "the store paths: item 1 is the number 4, not a string"},
		{"split spec a number", `[["split_paths", [1]]]`, "split path 0 is the number 1, not a store path"},
		{"split spec bad attr", `[["split_paths", [{"parents_of": "x"}]]]`, "split path 0: an attribute set takes exactly one attribute, children_of"},
		{"children_of a number", `[["split_paths", [{"children_of": 2}]]]`, "split path 0: children_of are the number 2, not a list of strings"},
		{"over key not a string", `[["split_paths", []], ["over", 1, ["popularity_contest"]]]`, "step 1 (over): the key is the number 1, not a string"},
		{"nested error", `[["split_paths", []], ["over", "rest", ["pipe", [["popularity_contest"], ["limit_layers", 0]]]]]`, "step 1 (over) > step (pipe) > step 1 (limit_layers): the count 0 must be at least 1"},
		{"map of a non-step", `[["map", 3]]`, "step 0 (map) > step: a step is a list"},
		{"deep nesting", `[` + deep + `]`, "steps nested more than 32 deep"},
		{"huge pipeline", many, "more than 1000 steps"},
		{"too many bytes", `[["remove_paths", "` + strings.Repeat("x", MaxPipelineBytes) + `"]]`, "more than the 16777216 a pipeline may have"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := ParsePipeline([]byte(tc.in))
			if err == nil {
				t.Fatalf("no error, pipeline %v", p)
			}
			if !strings.Contains(err.Error(), tc.err) || !strings.HasPrefix(err.Error(), "layeringPipeline: ") {
				t.Errorf("error %q, want it to hold %q", err, tc.err)
			}
		})
	}
}

func TestPipelineStrategy(t *testing.T) {
	g := layerTestGraph(t, pythonApp, pythonSizes)
	s := must(Lookup(PipelineStrategy))(t)
	if _, err := s(Input{Graph: g, Budget: 3}); err == nil || !strings.Contains(err.Error(), "needs a layeringPipeline") {
		t.Errorf("no pipeline: %v", err)
	}
	run := func(pipeline string, budget int) ([][]string, error) {
		return s(Input{Graph: g, Budget: budget, Pipeline: must(ParsePipeline([]byte(pipeline)))(t)})
	}
	// nixpkgs' default pipeline is the popularity contest over the graph's
	// own roots, cut by limit_layers.
	got := must(run(`[["popularity_contest"], ["limit_layers", 3]]`, 3))(t)
	order := must(PopularityOrder(g))(t)
	if want := must(SplitOrder(order, 3))(t); !reflect.DeepEqual(got, want) {
		t.Errorf("default pipeline: %v, want %v", groupNames(got), groupNames(want))
	}
	// remove_paths: what the pipeline drops comes back in one more layer.
	got = must(run(`[["remove_paths", ["`+layerTestPath("glibc")+`", "`+layerTestPath("python")+`"]], ["popularity_contest"], ["limit_layers", 2]]`, 3))(t)
	if n := groupNames(got); len(n) != 3 || !reflect.DeepEqual(n[2], []string{"glibc", "python"}) {
		t.Errorf("remove_paths: %v, want two layers and then glibc and python", n)
	}
	assertPartition(t, g, got, 3)
	// More layers than the budget is an error that says how to fix it.
	_, err := run(`[["popularity_contest"]]`, 3)
	if err == nil || !strings.Contains(err.Error(), `it gives 6 layers of store paths, and 3 are available`) || !strings.Contains(err.Error(), `["limit_layers" 3]`) {
		t.Errorf("over budget: %v", err)
	}
	// A step that gets the wrong kind of value names itself.
	_, err = run(`[["popularity_contest"], ["over", "main", ["flatten"]]]`, 3)
	if err == nil || !strings.Contains(err.Error(), "step 1 (over): over takes an attribute set") {
		t.Errorf("over a list: %v", err)
	}
	_, err = run(`[["subcomponent_out", ["`+layerTestPath("python")+`"]], ["over", "common", ["popularity_contest"]]]`, 3)
	if err == nil || !strings.Contains(err.Error(), `has no "common"`) {
		t.Errorf("over an absent key: %v", err)
	}
	if _, err := run(`[["split_every", 2], ["split_every", 2]]`, 3); err == nil || !strings.Contains(err.Error(), "step 1 (split_every): split_every takes a graph, and the step before gives a list of 3") {
		t.Errorf("split_every of a list: %v", err)
	}
	if _, err := run(`[["remove_paths", "x"]]`, 3); err == nil || !strings.Contains(err.Error(), "the pipeline's result is one graph") {
		t.Errorf("a graph as the result: %v", err)
	}
}

// TestPipelineLargeClosure runs a pipeline that uses every step over a
// closure of 100,000 paths: its time is bounded by a ratio to the popularity
// contest of the same closure, its allocations by a fixed amount.
func TestPipelineLargeClosure(t *testing.T) {
	const n = 100_000
	infos := make([]registration.PathInfo, n)
	for i := range infos {
		infos[i] = registration.PathInfo{Path: layerTestPath(fmt.Sprintf("p%d", i)), NarSize: uint64(1000 + i*7919%100000)}
		for _, j := range []int{i / 2, i / 3, 1} {
			if j < i && j > 0 {
				infos[i].References = append(infos[i].References, layerTestPath(fmt.Sprintf("p%d", j)))
			}
		}
	}
	g := must(registration.NewGraph("", infos))(t)
	pl := must(ParsePipeline([]byte(fmt.Sprintf(`[
		["remove_paths", %[1]q],
		["split_paths", [%[2]q, {"children_of": %[3]q}]],
		["over", "main", ["pipe", [["subcomponent_in", [%[2]q]], ["flatten"], ["map", ["split_every", 5000]], ["flatten"], ["reverse"]]]],
		["over", "common", ["subcomponent_out", [%[4]q]]],
		["over", "rest", ["popularity_contest"]],
		["flatten"],
		["limit_layers", 90]
	]`, layerTestPath("p99999"), layerTestPath("p7"), layerTestPath("p40"), layerTestPath("p3")))))(t)
	start := time.Now()
	if _, err := PopularityOrder(g); err != nil {
		t.Fatal(err)
	}
	base := time.Since(start)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	start = time.Now()
	groups, err := pipelineStrategy(Input{Graph: g, Budget: 99, Pipeline: pl})
	took := time.Since(start)
	runtime.ReadMemStats(&after)
	if err != nil {
		t.Fatal(err)
	}
	assertPartition(t, g, groups, 99)
	alloc := after.TotalAlloc - before.TotalAlloc
	t.Logf("%d paths: %d layers in %v (popularity contest alone: %v), %d MiB allocated", n, len(groups), took, base, alloc>>20)
	if took > 10*base+2*time.Second {
		t.Errorf("the pipeline took %v, more than 10 times the popularity contest's %v", took, base)
	}
	if alloc > 2<<30 {
		t.Errorf("the pipeline allocated %d MiB", alloc>>20)
	}
}

// FuzzPipeline: no pipeline makes ParsePipeline or Run panic; a pipeline
// that parses and runs gives every path of the graph at most once.
func FuzzPipeline(f *testing.F) {
	for _, fx := range loadPipelineFixtures(f) {
		if fx.name != "nixpkgs-pipe-test" {
			continue
		}
		for _, c := range fx.cases {
			f.Add([]byte(c.Pipeline))
		}
	}
	f.Add([]byte(`[["split_paths", [{"children_of": []}]], ["over", "rest", ["map", ["flatten"]]]]`))
	g := layerTestGraph(f, pythonApp, pythonSizes)
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := ParsePipeline(data)
		if err != nil {
			return
		}
		groups, err := p.Run(Input{Graph: g, Budget: MaxImageLayers})
		if err != nil {
			return
		}
		seen := map[string]bool{}
		for _, grp := range groups {
			for _, path := range grp {
				if seen[path] {
					t.Fatalf("%s: %s in two layers", data, path)
				}
				seen[path] = true
			}
		}
	})
}
