package layering

import (
	"errors"
	"fmt"
	"slices"
)

// pvalue is what flows between the steps of a pipeline, as in nixpkgs: a
// graph, a list of values, or a dict of values (keys in order: main,
// common, rest).
type pvalue struct {
	kind  pkind
	g     *pgraph
	items []pvalue
	keys  []string // dict only
}

type pkind uint8

const (
	graphKind pkind = iota
	listKind
	dictKind
)

func graphValue(g *pgraph) pvalue { return pvalue{kind: graphKind, g: g} }
func listValue(items []pvalue) pvalue {
	return pvalue{kind: listKind, items: items}
}
func dictValue(keys []string, items []pvalue) pvalue {
	return pvalue{kind: dictKind, keys: keys, items: items}
}

func (v pvalue) describe() string {
	switch v.kind {
	case graphKind:
		return fmt.Sprintf("a graph of %d store paths", v.g.len())
	case listKind:
		return fmt.Sprintf("a list of %d", len(v.items))
	}
	return fmt.Sprintf("an attribute set of %v", v.keys)
}

// Run runs the pipeline over in.Graph (its store paths ordered by in.Size,
// nil meaning narSize, as nixpkgs orders them by narSize) and returns the
// groups, bottom layer first, as nixpkgs' flatten_references_graph prints
// them: the graphs of the result, flattened in order, each as its store
// paths, empty ones left out. Paths that remove_paths took out are in no
// group. in.Roots and in.Budget are not used.
func (p *Pipeline) Run(in Input) ([][]string, error) {
	if in.Graph == nil {
		return nil, nil
	}
	r, g, err := newPipeRun(in)
	if err != nil {
		return nil, err
	}
	v, err := r.pipe(p.steps, graphValue(g))
	if err != nil {
		return nil, err
	}
	if v.kind == graphKind {
		return nil, errors.New("the pipeline's result is one graph, not layers: split it (e.g. end with [\"popularity_contest\"] or [\"split_every\" N])")
	}
	var groups [][]string
	for _, g := range flattenValue(v, nil) {
		if g.len() > 0 {
			groups = append(groups, r.names(g))
		}
	}
	return groups, nil
}

// pipe runs steps in order over v.
func (r *pipeRun) pipe(steps []*step, v pvalue) (pvalue, error) {
	for _, s := range steps {
		var err error
		if v, err = r.apply(s, v); err != nil {
			return pvalue{}, err
		}
	}
	return v, nil
}

// apply runs one step over v; an error names the step.
func (r *pipeRun) apply(s *step, v pvalue) (pvalue, error) {
	want := func(k pkind) error {
		if v.kind == k {
			return nil
		}
		return fmt.Errorf("%s: %s takes %s, and the step before gives %s", s.loc, s.name, []string{"a graph", "a list", "an attribute set"}[k], v.describe())
	}
	var err error
	switch s.name {
	case "popularity_contest":
		if err = want(graphKind); err == nil {
			if v, err = r.popularityContest(v.g); err != nil {
				err = fmt.Errorf("%s: %w", s.loc, err)
			}
		}
	case "split_every":
		if err = want(graphKind); err == nil {
			v = splitEvery(v.g, s.count)
		}
	case "remove_paths":
		if err = want(graphKind); err == nil {
			drop := make([]bool, v.g.len())
			for _, i := range r.locals(v.g, s.paths) {
				drop[i] = true
			}
			v = graphValue(v.g.without(drop))
		}
	case "subcomponent_in", "subcomponent_out":
		if err = want(graphKind); err == nil {
			v = r.subcomponent(v.g, s.paths, s.name == "subcomponent_in")
		}
	case "split_paths":
		if err = want(graphKind); err == nil {
			v = r.splitPaths(v.g, s.split)
		}
	case "over":
		return r.over(s, v)
	case "flatten":
		if v.kind == graphKind {
			err = want(listKind)
		} else {
			v = graphList(flattenValue(v, nil))
		}
	case "limit_layers":
		if err = want(listKind); err == nil {
			v, err = limitLayers(s, v)
		}
	case "reverse":
		if err = want(listKind); err == nil {
			items := slices.Clone(v.items)
			slices.Reverse(items)
			v = listValue(items)
		}
	case "map":
		return r.mapStep(s, v)
	case "pipe":
		return r.pipe(s.steps, v)
	default:
		err = fmt.Errorf("%s: unknown step", s.loc) // ParsePipeline lets none through
	}
	return v, err
}

func (r *pipeRun) over(s *step, v pvalue) (pvalue, error) {
	if v.kind != dictKind {
		return pvalue{}, fmt.Errorf("%s: over takes an attribute set (what split_paths or subcomponent_* give), and the step before gives %s", s.loc, v.describe())
	}
	at := slices.Index(v.keys, s.key)
	if at < 0 {
		return pvalue{}, fmt.Errorf("%s: the attribute set has no %q, only %v (split_paths leaves out the empty ones)", s.loc, s.key, v.keys)
	}
	sub, err := r.apply(s.sub, v.items[at])
	if err != nil {
		return pvalue{}, err
	}
	items := slices.Clone(v.items)
	items[at] = sub
	return dictValue(v.keys, items), nil
}

func (r *pipeRun) mapStep(s *step, v pvalue) (pvalue, error) {
	if v.kind != listKind {
		return pvalue{}, fmt.Errorf("%s: map takes a list, and the step before gives %s", s.loc, v.describe())
	}
	items := make([]pvalue, len(v.items))
	for i, x := range v.items {
		var err error
		if items[i], err = r.apply(s.sub, x); err != nil {
			return pvalue{}, err
		}
	}
	return listValue(items), nil
}

// limitLayers is limit_layers: the first count-1 values as they are, then
// every other one (each must be a graph) merged into one graph, which is
// there (empty) even when nothing is left to merge, as in nixpkgs.
func limitLayers(s *step, v pvalue) (pvalue, error) {
	n := min(s.count-1, len(v.items))
	items := slices.Clone(v.items[:n])
	var rest []*pgraph
	for i, x := range v.items[n:] {
		if x.kind != graphKind {
			return pvalue{}, fmt.Errorf("%s: item %d is %s, and limit_layers merges graphs only (flatten first)", s.loc, n+i, x.describe())
		}
		rest = append(rest, x.g)
	}
	return listValue(append(items, graphValue(mergeGraphs(rest)))), nil
}

// flattenValue appends the graphs of v, depth first, to out.
func flattenValue(v pvalue, out []*pgraph) []*pgraph {
	if v.kind == graphKind {
		return append(out, v.g)
	}
	for _, x := range v.items {
		out = flattenValue(x, out)
	}
	return out
}

func graphList(gs []*pgraph) pvalue {
	items := make([]pvalue, len(gs))
	for i, g := range gs {
		items[i] = graphValue(g)
	}
	return listValue(items)
}
