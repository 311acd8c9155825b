package layering

import (
	"encoding/json"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/nixlayer/nixlayer/registration"
)

// TestPipelineAgainstPython runs random pipelines over random graphs with
// nixpkgs' own flatten_references_graph and with Run, and compares. It
// needs python3 with igraph and toolz (Debian: python3-igraph,
// python3-toolz) and nixpkgs' sources: $NIXLAYER_FLATTEN_REFERENCES_GRAPH
// names the directory holding the flatten_references_graph package
// (nixpkgs' pkgs/by-name/fl/flatten-references-graph/src). Without them it
// says what is missing and skips; testdata/pipeline holds what it printed
// for the fixed cases.
func TestPipelineAgainstPython(t *testing.T) {
	src := os.Getenv("NIXLAYER_FLATTEN_REFERENCES_GRAPH")
	if src == "" {
		t.Skip("NIXLAYER_FLATTEN_REFERENCES_GRAPH is not set: it names nixpkgs' flatten-references-graph/src, which this test runs")
	}
	if _, err := os.Stat(filepath.Join(src, "flatten_references_graph", "pipe.py")); err != nil {
		t.Skipf("nixpkgs' flatten_references_graph is not in %s: %v", src, err)
	}
	python := "/usr/bin/python3"
	if out, err := exec.Command(python, "-c", "import igraph, toolz").CombinedOutput(); err != nil {
		t.Skipf("%s cannot import igraph and toolz (install python3-igraph python3-toolz): %v %s", python, err, out)
	}
	r := rand.New(rand.NewSource(1))
	dir := t.TempDir()
	compared := 0
	for i := range 200 {
		infos := randomGraph(r, 1+r.Intn(25))
		g, err := registration.NewGraph("", infos)
		if err != nil {
			t.Fatal(err)
		}
		var paths []string
		for _, p := range g.Paths() {
			paths = append(paths, p.Path)
		}
		pg := &pipelineGen{r: r, paths: paths}
		pipeline := pg.steps(graphKind, nil, 0)
		data, _ := json.Marshal(pipeline)
		var nodes []map[string]any
		for _, p := range g.Paths() {
			nodes = append(nodes, map[string]any{"path": p.Path, "references": append([]string{}, p.References...), "narSize": p.NarSize})
		}
		in, _ := json.Marshal(map[string]any{"graph": nodes, "pipeline": pipeline})
		file := filepath.Join(dir, fmt.Sprintf("case-%d.json", i))
		if err := os.WriteFile(file, in, 0o644); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(python, "-m", "flatten_references_graph", file)
		cmd.Dir = src
		var stderr strings.Builder
		cmd.Stderr = &stderr
		out, pyErr := cmd.Output()
		if strings.Contains(stderr.String(), "Fatal error") {
			continue // igraph aborted (a vertex deleted twice, in old igraph)
		}
		if pyErr == nil && strings.Contains(string(out), `"main"`) {
			// limit_layers of an attribute set: igraph adds its keys as
			// vertices named "main", "rest", a layer of no store path that
			// fails later in nixpkgs; an error here.
			pyErr = fmt.Errorf("a layer of non-paths: %s", out)
		}
		p, err := ParsePipeline(data)
		if err == nil {
			var got [][]string
			if got, err = p.Run(Input{Graph: g, Budget: MaxImageLayers}); err == nil {
				if pyErr != nil {
					t.Errorf("case %d %s: nixpkgs fails (%s), Run gives %v", i, data, lastLine(stderr.String()), groupNames(got))
					continue
				}
				var want [][]string
				if err := json.Unmarshal(out, &want); err != nil {
					t.Fatalf("case %d: nixpkgs printed %q: %v", i, out, err)
				}
				if len(got)+len(want) > 0 && !reflect.DeepEqual(got, want) {
					t.Errorf("case %d %s:\n got %v\nwant %v", i, data, groupNames(got), groupNames(want))
				}
				compared++
				continue
			}
		}
		if pyErr == nil {
			t.Errorf("case %d %s: nixpkgs gives %s, Run fails: %v", i, data, out, err)
		}
	}
	t.Logf("%d random pipelines compared with nixpkgs", compared)
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

// randomGraph is a random DAG of n paths with sizes that often tie.
func randomGraph(r *rand.Rand, n int) []registration.PathInfo {
	infos := make([]registration.PathInfo, n)
	for i := range infos {
		infos[i] = registration.PathInfo{Path: layerTestPath(fmt.Sprintf("q%02d", i)), NarSize: uint64([]int{1, 1, 5, 10, 100, r.Intn(500)}[r.Intn(6)])}
		for j := i + 1; j < n; j++ {
			if r.Intn(n) < 2 {
				infos[i].References = append(infos[i].References, layerTestPath(fmt.Sprintf("q%02d", j)))
			}
		}
	}
	return infos
}

// pipelineGen makes random pipelines, mostly well typed (each step fits
// what the one before gives), sometimes not.
type pipelineGen struct {
	r     *rand.Rand
	paths []string
}

func (g *pipelineGen) somePaths() []any {
	var out []any
	for range 1 + g.r.Intn(3) {
		if g.r.Intn(8) == 0 {
			out = append(out, layerTestPath("absent"))
		} else {
			out = append(out, g.paths[g.r.Intn(len(g.paths))])
		}
	}
	return out
}

// steps returns a list of steps starting from a value of kind k (keys: a
// dict's); depth bounds nesting.
func (g *pipelineGen) steps(k pkind, keys []string, depth int) []any {
	var out []any
	for range 1 + g.r.Intn(4) {
		var s []any
		s, k, keys = g.step(k, keys, depth)
		out = append(out, s)
	}
	return out
}

// step returns a step for a value of kind k and the kind it gives.
func (g *pipelineGen) step(k pkind, keys []string, depth int) ([]any, pkind, []string) {
	if g.r.Intn(15) == 0 { // ill typed at times
		k, keys = pkind(g.r.Intn(3)), []string{"main", "common"}
	}
	switch k {
	case graphKind:
		switch g.r.Intn(7) {
		case 0:
			return []any{"popularity_contest"}, listKind, nil
		case 1:
			return []any{"split_every", 1 + g.r.Intn(4)}, listKind, nil
		case 2:
			return []any{"remove_paths", g.somePaths()}, graphKind, nil
		case 3:
			return []any{"subcomponent_out", g.somePaths()[:1]}, dictKind, []string{"main", "rest"}
		case 4:
			return []any{"subcomponent_in", g.somePaths()[:1]}, dictKind, []string{"main", "rest"}
		case 5:
			specs := g.somePaths()
			if g.r.Intn(2) == 0 {
				specs = append(specs, map[string]any{"children_of": g.somePaths()[0]})
			}
			return []any{"split_paths", specs}, dictKind, []string{"main", "common", "rest"}
		}
		if depth < 3 {
			return []any{"pipe", g.steps(graphKind, nil, depth+1)}, listKind, nil
		}
		return []any{"popularity_contest"}, listKind, nil
	case dictKind:
		if depth < 3 && g.r.Intn(3) > 0 {
			key := keys[g.r.Intn(len(keys))]
			sub, _, _ := g.step(graphKind, nil, depth+1)
			return []any{"over", key, sub}, dictKind, keys
		}
		return []any{"flatten"}, listKind, nil
	}
	switch g.r.Intn(5) {
	case 0:
		return []any{"limit_layers", 1 + g.r.Intn(6)}, listKind, nil
	case 1:
		return []any{"reverse"}, listKind, nil
	case 2:
		if depth < 3 {
			sub, _, _ := g.step(graphKind, nil, depth+1)
			return []any{"map", sub}, listKind, nil
		}
	}
	return []any{"flatten"}, listKind, nil
}
