package layering

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

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

func loadPipelineFixtures(t *testing.T) []pipelineFixture {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "pipeline", "*.graph.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no fixtures in testdata/pipeline: %v", err)
	}
	var out []pipelineFixture
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".graph.json")
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		g, err := registration.ParseStructured(data, f, "")
		if err != nil {
			t.Fatal(err)
		}
		raw, err := os.ReadFile(filepath.Join("testdata", "pipeline", name+".expected.json"))
		if err != nil {
			t.Fatal(err)
		}
		var exp struct {
			Cases []pipelineCase `json:"cases"`
		}
		if err := json.Unmarshal(raw, &exp); err != nil {
			t.Fatalf("%s.expected.json: %v", name, err)
		}
		out = append(out, pipelineFixture{name: name, graph: g, cases: exp.Cases})
	}
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
