package layering

import (
	"fmt"
	"sort"
)

// pgraph is a graph as flatten-references-graph's igraph graphs are: its
// vertices in an order of its own (closure ids, see pipeRun), its edges by
// local index. Subgraphs keep their vertices in the order of the graph they
// come from; a merge puts one graph's vertices after the other's and keeps
// no edge between them, as igraph's disjoint union does.
type pgraph struct {
	vs  []int32   // closure ids, in the graph's order
	out [][]int32 // successors by local index
}

func (g *pgraph) len() int { return len(g.vs) }

// induced returns the subgraph of the vertices keep marks (by local
// index), in g's order, with the edges between them.
func (g *pgraph) induced(keep []bool) *pgraph {
	newIdx := make([]int32, len(g.vs))
	n := int32(0)
	for i := range g.vs {
		newIdx[i] = -1
		if keep[i] {
			newIdx[i] = n
			n++
		}
	}
	h := &pgraph{vs: make([]int32, 0, n), out: make([][]int32, 0, n)}
	for i, v := range g.vs {
		if !keep[i] {
			continue
		}
		h.vs = append(h.vs, v)
		var succ []int32
		for _, j := range g.out[i] {
			if newIdx[j] >= 0 {
				succ = append(succ, newIdx[j])
			}
		}
		h.out = append(h.out, succ)
	}
	return h
}

// without returns g less the vertices drop marks.
func (g *pgraph) without(drop []bool) *pgraph {
	keep := make([]bool, len(drop))
	for i, d := range drop {
		keep[i] = !d
	}
	return g.induced(keep)
}

// inEdges returns each vertex's predecessors.
func (g *pgraph) inEdges() [][]int32 {
	in := make([][]int32, len(g.vs))
	for i, succ := range g.out {
		for _, j := range succ {
			in[j] = append(in[j], int32(i))
		}
	}
	return in
}

// reach marks the vertices reachable from starts along next, the starts
// included (igraph's subcomponent).
func reach(next [][]int32, starts []int32) []bool {
	seen := make([]bool, len(next))
	todo := make([]int32, 0, len(starts))
	for _, s := range starts {
		if !seen[s] {
			seen[s] = true
			todo = append(todo, s)
		}
	}
	for len(todo) > 0 {
		i := todo[len(todo)-1]
		todo = todo[:len(todo)-1]
		for _, j := range next[i] {
			if !seen[j] {
				seen[j] = true
				todo = append(todo, j)
			}
		}
	}
	return seen
}

// mergeGraphs is the disjoint union of gs, in order.
func mergeGraphs(gs []*pgraph) *pgraph {
	h := &pgraph{}
	for _, g := range gs {
		off := int32(len(h.vs))
		h.vs = append(h.vs, g.vs...)
		for _, succ := range g.out {
			shifted := make([]int32, len(succ))
			for k, j := range succ {
				shifted[k] = j + off
			}
			h.out = append(h.out, shifted)
		}
	}
	return h
}

// pipeRun is one run of a pipeline over a closure: the closure's paths by
// id, and a scratch table for finding a path's local index in a graph.
type pipeRun struct {
	paths []string
	id    map[string]int32
	pos   []int32 // closure id -> local index + 1 in the graph locals is called on; 0 otherwise
}

// newPipeRun makes the graph the pipeline starts from, as
// flatten-references-graph builds it: the store paths ordered by size
// (equal sizes in store-path order), an edge for every reference but
// self-references.
func newPipeRun(in Input) (*pipeRun, *pgraph, error) {
	infos := in.Graph.Paths()
	size := make([]int64, len(infos))
	for i, info := range infos {
		size[i] = int64(info.NarSize)
		if in.Size != nil {
			if size[i] = in.Size(info.Path); size[i] < 0 {
				return nil, nil, fmt.Errorf("store path %s has negative size %d", info.Path, size[i])
			}
		}
	}
	order := make([]int, len(infos))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return size[order[a]] < size[order[b]] })
	r := &pipeRun{paths: make([]string, len(infos)), id: make(map[string]int32, len(infos)), pos: make([]int32, len(infos))}
	g := &pgraph{vs: make([]int32, len(infos)), out: make([][]int32, len(infos))}
	for k, i := range order {
		r.paths[k] = infos[i].Path
		r.id[infos[i].Path] = int32(k)
		g.vs[k] = int32(k)
	}
	for k, i := range order {
		for _, ref := range infos[i].References {
			j, ok := r.id[ref]
			if !ok {
				return nil, nil, fmt.Errorf("store path %s references %s, which is not in the closure", infos[i].Path, ref)
			}
			if j != int32(k) {
				g.out[k] = append(g.out[k], j)
			}
		}
		sort.Slice(g.out[k], func(a, b int) bool { return g.out[k][a] < g.out[k][b] })
	}
	return r, g, nil
}

// locals returns the local indices in g of the paths g has, in the order
// of paths, leaving out those it lacks (as nixpkgs ignores them).
func (r *pipeRun) locals(g *pgraph, paths []string) []int32 {
	for i, v := range g.vs {
		r.pos[v] = int32(i) + 1
	}
	var out []int32
	for _, p := range paths {
		if id, ok := r.id[p]; ok && r.pos[id] > 0 {
			out = append(out, r.pos[id]-1)
		}
	}
	for _, v := range g.vs {
		r.pos[v] = 0
	}
	return out
}

// names returns the store paths of g, in its order.
func (r *pipeRun) names(g *pgraph) []string {
	out := make([]string, len(g.vs))
	for i, v := range g.vs {
		out[i] = r.paths[v]
	}
	return out
}

// subcomponent is subcomponent_out (in false) and subcomponent_in (in
// true): "main" holds the paths and what they reach (out: their
// dependencies; in: what depends on them), "rest" the others.
func (r *pipeRun) subcomponent(g *pgraph, paths []string, in bool) pvalue {
	next := g.out
	if in {
		next = g.inEdges()
	}
	main := reach(next, r.locals(g, paths))
	return dictValue([]string{"main", "rest"}, []pvalue{graphValue(g.induced(main)), graphValue(g.without(main))})
}

// splitPaths is split_paths: "main" holds the split paths and the
// dependencies only they reach, "common" the dependencies they share with
// the rest of the graph, "rest" the others; keys with no path are left
// out. The split paths lose the edges that point at them, as in nixpkgs.
// When nothing matches the result is {rest = g}, and when a split path is
// g's only root, {main = g}.
func (r *pipeRun) splitPaths(g *pgraph, specs []splitSpec) pvalue {
	var idx []int32
	for _, s := range specs {
		if s.childrenOf == nil {
			idx = append(idx, r.locals(g, []string{s.path})...)
			continue
		}
		for _, parent := range r.locals(g, s.childrenOf) {
			idx = append(idx, g.out[parent]...)
		}
	}
	if len(idx) == 0 {
		return dictValue([]string{"rest"}, []pvalue{graphValue(g)})
	}
	isSplit := make([]bool, g.len())
	for _, i := range idx {
		isSplit[i] = true
	}
	hasPred := make([]bool, g.len())
	for _, succ := range g.out {
		for _, j := range succ {
			hasPred[j] = true
		}
	}
	var roots []int32
	for i := range g.vs {
		if !hasPred[i] {
			roots = append(roots, int32(i))
		}
	}
	if len(roots) == 1 && isSplit[roots[0]] {
		return dictValue([]string{"main"}, []pvalue{graphValue(g)})
	}
	splitOff := reach(g.out, idx)
	cut := &pgraph{vs: g.vs, out: make([][]int32, g.len())}
	for i, succ := range g.out {
		for _, j := range succ {
			if !isSplit[j] {
				cut.out[i] = append(cut.out[i], j)
			}
		}
	}
	// With several roots nixpkgs adds one above them; it reaches the roots
	// that are not split paths (the edges to those are cut).
	var starts []int32
	for _, s := range roots {
		if len(roots) == 1 || !isSplit[s] {
			starts = append(starts, s)
		}
	}
	restAll := reach(cut.out, starts)
	main, common, rest := make([]bool, g.len()), make([]bool, g.len()), make([]bool, g.len())
	for i := range g.vs {
		main[i] = splitOff[i] && !restAll[i]
		common[i] = splitOff[i] && restAll[i]
		rest[i] = restAll[i] && !splitOff[i]
	}
	var keys []string
	var vals []pvalue
	for k, set := range [][]bool{main, common, rest} {
		if h := cut.induced(set); h.len() > 0 {
			keys = append(keys, []string{"main", "common", "rest"}[k])
			vals = append(vals, graphValue(h))
		}
	}
	return dictValue(keys, vals)
}

// popularityContest is popularity_contest: one single-path graph per path
// of g, most popular first, ranked as referencesByPopularity ranks within g.
func (r *pipeRun) popularityContest(g *pgraph) (pvalue, error) {
	children := make([][]int, g.len())
	for i, succ := range g.out {
		children[i] = make([]int, len(succ))
		for k, j := range succ {
			children[i][k] = int(j)
		}
	}
	order, err := rankDAG(r.names(g), children)
	if err != nil {
		return pvalue{}, err
	}
	items := make([]pvalue, len(order))
	for k, i := range order {
		items[k] = graphValue(&pgraph{vs: []int32{g.vs[i]}, out: [][]int32{nil}})
	}
	return listValue(items), nil
}

// splitEvery is split_every: g's vertices in runs of n, in order.
func splitEvery(g *pgraph, n int) pvalue {
	var items []pvalue
	for start := 0; start < g.len(); start += n {
		end := min(start+n, g.len())
		h := &pgraph{vs: g.vs[start:end:end], out: make([][]int32, end-start)}
		for i := start; i < end; i++ {
			for _, j := range g.out[i] {
				if int(j) >= start && int(j) < end {
					h.out[i-start] = append(h.out[i-start], j-int32(start))
				}
			}
		}
		items = append(items, graphValue(h))
	}
	return listValue(items)
}
