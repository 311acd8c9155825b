package layering

import (
	"encoding/binary"
	"fmt"
	"sort"
	"strings"
)

// nixpkgs' auto-layer.py, buildLayeredImage's default there.
func init() { Register("auto", Auto) }

// Auto splits a closure into layers as nixpkgs' default layering does
// (pkgs/build-support/docker/auto-layer.py), giving the same groups for the
// same closure and budget:
//
//   - Store paths become layer "primaries" one at a time, largest first
//     (ties: the later store path in Nix's sorted order first).
//   - Every path carries the set of primaries it is grouped under; paths
//     with equal sets form one layer, and paths under no primary yet share
//     the layer of the empty set.
//   - A new primary P takes a layer of its own. Each dependency D of P first
//     drops the primaries that depend on P (their layer now sits above P's),
//     then joins P unless it is still held by a primary that P itself
//     depends on. A dependency only P needs so ends up in P's layer, one that
//     several large paths share in a layer of its own per set of users.
//   - When a new primary would make more distinct sets than in.Budget, Auto
//     stops and keeps the split from before it; otherwise it goes on until
//     every path is a primary (then each path is a layer of its own).
//   - Layers come smallest closure first (the summed size of everything the
//     layer's paths need, themselves included), so a layer follows every
//     layer it depends on. Paths within a layer are sorted by name, then by
//     hash. Two layers with equal closure sizes, which nixpkgs orders by
//     Python's set iteration, come here in the order of their first path.
//
// Sizes are in.Size (nil: narSize), as nixpkgs ranks by narSize; in.Roots
// is not used. in.Budget must be at least 1; a budget of 1 gives one layer.
func Auto(in Input) ([][]string, error) {
	if in.Budget < 1 {
		return nil, fmt.Errorf("choosing auto layers: budget %d: at least one layer is needed for store paths", in.Budget)
	}
	g, err := newAutoGraph(in)
	if err != nil {
		return nil, fmt.Errorf("choosing auto layers: %w", err)
	}
	return g.groups(g.split(in.Budget)), nil
}

// autoGraph is a closure in the form Auto works on: store paths by index in
// the graph's order (sorted, as Nix exports them), with references, direct
// users and sizes by index.
type autoGraph struct {
	paths []string
	refs  [][]int
	users [][]int
	size  []uint64
	// seen and stamp mark visited indices during one walk without clearing.
	seen  []uint32
	stamp uint32
}

func newAutoGraph(in Input) (*autoGraph, error) {
	infos := in.Graph.Paths()
	g := &autoGraph{
		paths: make([]string, len(infos)),
		refs:  make([][]int, len(infos)),
		users: make([][]int, len(infos)),
		size:  make([]uint64, len(infos)),
		seen:  make([]uint32, len(infos)),
	}
	index := make(map[string]int, len(infos))
	for i, info := range infos {
		g.paths[i] = info.Path
		index[info.Path] = i
	}
	for i, info := range infos {
		for _, r := range info.References {
			j, ok := index[r]
			if !ok {
				return nil, fmt.Errorf("store path %s references %s, which is not in the closure", info.Path, r)
			}
			g.refs[i] = append(g.refs[i], j)
			g.users[j] = append(g.users[j], i)
		}
		g.size[i] = info.NarSize
		if in.Size != nil {
			s := in.Size(info.Path)
			if s < 0 {
				return nil, fmt.Errorf("store path %s has negative size %d", info.Path, s)
			}
			g.size[i] = uint64(s)
		}
	}
	return g, nil
}

// walk returns every index reachable from the starts along next, the starts
// included when keepStarts, else left out even when a cycle leads back to
// them. It leaves the result marked with g.stamp for g.marked.
func (g *autoGraph) walk(next [][]int, keepStarts bool, starts ...int) []int {
	g.stamp++
	if g.stamp == 0 {
		clear(g.seen)
		g.stamp = 1
	}
	var out []int
	todo := append([]int(nil), starts...)
	for _, s := range starts {
		g.seen[s] = g.stamp
	}
	if keepStarts {
		out = append(out, starts...)
	}
	for len(todo) > 0 {
		i := todo[len(todo)-1]
		todo = todo[:len(todo)-1]
		for _, j := range next[i] {
			if g.seen[j] != g.stamp {
				g.seen[j] = g.stamp
				out = append(out, j)
				todo = append(todo, j)
			}
		}
	}
	if !keepStarts {
		for _, s := range starts {
			g.seen[s] = 0
		}
	}
	return out
}

// marks turns a walk's result into a membership table.
func marks(n int, idx []int) []bool {
	in := make([]bool, n)
	for _, i := range idx {
		in[i] = true
	}
	return in
}

// autoSplit is the state of the split: for every path the sorted set of
// primaries it is grouped under, the set's key, and how many paths carry
// each key.
type autoSplit struct {
	owners [][]int
	keys   []string
	count  map[string]int
}

// setKey encodes a sorted set of indices as a map key.
func setKey(set []int) string {
	b := make([]byte, 0, 4*len(set))
	for _, i := range set {
		b = binary.LittleEndian.AppendUint32(b, uint32(i))
	}
	return string(b)
}

// popOrder returns the indices largest first, a later index first among
// equal sizes: the order in which auto-layer.py pops its size-sorted list.
func (g *autoGraph) popOrder() []int {
	order := make([]int, len(g.paths))
	for i := range order {
		order[i] = len(order) - 1 - i
	}
	sort.SliceStable(order, func(a, b int) bool { return g.size[order[a]] > g.size[order[b]] })
	return order
}

// split makes primaries in popOrder until one more would exceed budget
// distinct sets, and returns the last split within it.
func (g *autoGraph) split(budget int) *autoSplit {
	n := len(g.paths)
	s := &autoSplit{owners: make([][]int, n), keys: make([]string, n), count: map[string]int{}}
	if n > 0 {
		s.count[""] = n
	}
	type change struct {
		path int
		set  []int
		key  string
	}
	for _, p := range g.popOrder() {
		deps := g.walk(g.refs, false, p)
		isDep := marks(n, deps)
		isUser := marks(n, g.walk(g.users, false, p))
		changes := []change{{p, []int{p}, setKey([]int{p})}}
		for _, d := range deps {
			set := regroup(s.owners[d], p, isDep, isUser)
			changes = append(changes, change{d, set, setKey(set)})
		}
		delta := map[string]int{}
		for _, c := range changes {
			delta[s.keys[c.path]]--
			delta[c.key]++
		}
		layers := len(s.count)
		for k, d := range delta {
			switch before := s.count[k]; {
			case before == 0 && d > 0:
				layers++
			case before > 0 && before+d == 0:
				layers--
			}
		}
		if layers > budget {
			break
		}
		for k, d := range delta {
			if s.count[k] += d; s.count[k] == 0 {
				delete(s.count, k)
			}
		}
		for _, c := range changes {
			s.owners[c.path], s.keys[c.path] = c.set, c.key
		}
	}
	return s
}

// regroup returns the new set of a dependency of the new primary p, given
// its old set: without the primaries that use p, and with p unless one of
// the remaining primaries is itself a dependency of p.
func regroup(old []int, p int, isDep, isUser []bool) []int {
	set := make([]int, 0, len(old)+1)
	held := false
	for _, q := range old {
		if isUser[q] {
			continue
		}
		held = held || isDep[q]
		set = append(set, q)
	}
	if !held {
		at := sort.SearchInts(set, p)
		set = append(set, 0)
		copy(set[at+1:], set[at:])
		set[at] = p
	}
	return set
}

// groups turns a split into layers: paths of equal sets together, sorted by
// name then hash, layers by closure size and then by their first path.
func (g *autoGraph) groups(s *autoSplit) [][]string {
	byKey := map[string]int{}
	var members [][]int
	for i, k := range s.keys {
		at, ok := byKey[k]
		if !ok {
			at = len(members)
			byKey[k] = at
			members = append(members, nil)
		}
		members[at] = append(members[at], i)
	}
	type layer struct {
		paths   []string
		closure uint64
	}
	out := make([]layer, len(members))
	for i, m := range members {
		var total uint64
		for _, j := range g.walk(g.refs, true, m...) {
			total = satAdd(total, g.size[j])
		}
		paths := make([]string, len(m))
		for k, j := range m {
			paths[k] = g.paths[j]
		}
		sort.Slice(paths, func(a, b int) bool { return pathKeyLess(paths[a], paths[b]) })
		out[i] = layer{paths, total}
	}
	sort.Slice(out, func(a, b int) bool {
		if out[a].closure != out[b].closure {
			return out[a].closure < out[b].closure
		}
		return pathKeyLess(out[a].paths[0], out[b].paths[0])
	})
	groups := make([][]string, len(out))
	for i, l := range out {
		groups[i] = l.paths
	}
	return groups
}

// pathKeyLess orders store paths as auto-layer.py does: by the text after
// the first "-" of the whole path (the name), then by the text before it
// (the store directory and hash).
func pathKeyLess(a, b string) bool {
	ah, an, _ := strings.Cut(a, "-")
	bh, bn, _ := strings.Cut(b, "-")
	if an != bn {
		return an < bn
	}
	return ah < bh
}
