package layering

import (
	"fmt"
	"math/big"
	"math/bits"
	"sort"
	"strings"

	"github.com/nixlayer/nixlayer/registration"
)

func init() {
	Register("popularity", func(in Input) ([][]string, error) {
		// As buildLayeredImage: the contents are referenced by the
		// customisation layer, which is not part of the contest.
		order, err := PopularityOrder(in.Graph, in.Roots)
		if err != nil {
			return nil, err
		}
		return SplitOrder(order, in.Budget)
	})
}

// Popularity splits the store paths of g into at most storeLayers groups
// with nixpkgs' popularity contest, exactly as dockerTools.buildLayeredImage
// and streamLayeredImage do: the paths are ordered by PopularityOrder, the
// first storeLayers-1 paths get a group each and the remaining paths share
// the last group (in popularity order). Groups come bottom layer first:
// group 0 holds the most popular path (the one most of the closure depends
// on, typically glibc) and the last group the least popular ones (typically
// the image's own packages).
//
// storeLayers is the number of layers available for store paths, not the
// image's maxLayers: buildLayeredImage keeps one layer for the
// customisation layer and counts base-image layers too, so it passes
// maxLayers - 1 - len(baseLayers); AvailableLayers computes that. An empty
// graph gives no groups.
func Popularity(g *registration.Graph, storeLayers int) ([][]string, error) {
	order, err := PopularityOrder(g)
	if err != nil {
		return nil, err
	}
	return SplitOrder(order, storeLayers)
}

// SplitOrder cuts an ordered list of store paths into at most storeLayers
// groups the way buildLayeredImage does (jq `.[:n-1] | map([.])) +
// [.[n-1:]]`): one path per group for the first storeLayers-1 paths, the
// rest in the last group; no empty group.
func SplitOrder(order []string, storeLayers int) ([][]string, error) {
	if storeLayers < 1 {
		return nil, fmt.Errorf("splitting %d store paths into %d layers: at least one layer is needed for store paths", len(order), storeLayers)
	}
	var groups [][]string
	for i, p := range order {
		if i == storeLayers-1 {
			groups = append(groups, append([]string(nil), order[i:]...))
			break
		}
		groups = append(groups, []string{p})
	}
	return groups, nil
}

// PopularityOrder returns every store path of g, most popular first, as
// nixpkgs' referencesByPopularity prints them
// (pkgs/build-support/references-by-popularity/closure-graph.py).
//
// The roots are the paths no other path references (self-references do
// not count). Unfolding the graph into a tree from the roots, a path's
// popularity adds, for every occurrence of it in the tree, one plus its
// popularity within the subtree above it; closure-graph.py's comment
// shows the worked example. Paths are ordered by popularity, largest
// first, and equal ones by their name-version-hash key (the base name with
// the hash moved to the end: "hello-2.12-/nix/store/<hash>"), ascending.
// Scores are exact at any size (they grow exponentially with the depth of
// diamonds; Python's integers are unbounded and so are ours).
//
// hiddenRoots stands for store paths outside g that reference paths of g,
// each given by the list of paths it references. buildLayeredImage ranks
// the closure of its customisation layer (which references `contents`)
// and of its config (which references the paths the config names), so
// passing those two lists reproduces its order exactly even when one
// content references another. With hidden roots, g's own roots that no
// hidden root reaches are roots as well. A reference that is not in g is
// an error, and so is a reference cycle.
func PopularityOrder(g *registration.Graph, hiddenRoots ...[]string) ([]string, error) {
	d, err := newDAG(g, hiddenRoots)
	if err != nil {
		return nil, err
	}
	idx := d.rank()
	order := make([]string, len(idx))
	for k, i := range idx {
		order[k] = d.paths[i]
	}
	return order, nil
}

// rankDAG ranks the nodes of a graph given by its paths and each node's
// references (by index, self-references left out) as PopularityOrder does
// with no hidden root, and returns their indices, most popular first.
func rankDAG(paths []string, children [][]int) ([]int, error) {
	d := &dag{paths: paths, real: len(paths), children: children}
	referenced := make([]bool, len(paths))
	for _, cs := range children {
		for _, c := range cs {
			referenced[c] = true
		}
	}
	for i, r := range referenced {
		if !r {
			d.top = append(d.top, i)
		}
	}
	if err := d.sortTopologically(); err != nil {
		return nil, err
	}
	return d.rank(), nil
}

// rank orders the real nodes of d by their contest scores, largest first,
// equal ones by packageName.
func (d *dag) rank() []int {
	scores, ok := contest(d, uint64Arith())
	var less func(i, j int) int
	if ok {
		less = func(i, j int) int { return cmpUint64(scores[i], scores[j]) }
	} else {
		big, _ := contest(d, bigArith())
		less = func(i, j int) int { return big[i].Cmp(big[j]) }
	}
	idx := make([]int, d.real)
	keys := make([]string, d.real)
	for i := range idx {
		idx[i] = i
		keys[i] = packageName(d.paths[i])
	}
	sort.Slice(idx, func(a, b int) bool {
		i, j := idx[a], idx[b]
		if c := less(i, j); c != 0 {
			return c > 0
		}
		return keys[i] < keys[j]
	})
	return idx
}

// packageName is closure-graph.py's sort key for equally popular paths:
// the path split at its first "-", with the part before it moved to the
// end, so that names sort before hashes.
func packageName(p string) string {
	i := strings.IndexByte(p, '-')
	if i < 0 {
		return p
	}
	return p[i+1:] + "-" + p[:i]
}

func cmpUint64(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// dag is a closure graph as indices: nodes 0..real-1 are g's paths in
// store-path order, the nodes after them are hidden roots. children holds
// each node's references without self-references; top lists the nodes the
// contest starts from.
type dag struct {
	paths    []string
	real     int
	children [][]int
	top      []int
	topo     []int // every node, children before parents
}

func newDAG(g *registration.Graph, hiddenRoots [][]string) (*dag, error) {
	infos := g.Paths()
	d := &dag{real: len(infos)}
	index := make(map[string]int, len(infos))
	for i, p := range infos {
		d.paths = append(d.paths, p.Path)
		index[p.Path] = i
	}
	refsToIdx := func(from string, refs []string) ([]int, error) {
		out := make([]int, 0, len(refs))
		for _, r := range refs {
			j, ok := index[r]
			if !ok {
				return nil, fmt.Errorf("ranking store paths by popularity: %s references %s, which is not in the closure", from, r)
			}
			if r != from {
				out = append(out, j)
			}
		}
		return out, nil
	}
	referenced := make([]bool, len(infos))
	for _, p := range infos {
		c, err := refsToIdx(p.Path, p.References)
		if err != nil {
			return nil, err
		}
		d.children = append(d.children, c)
		for _, j := range c {
			referenced[j] = true
		}
	}
	for k, refs := range hiddenRoots {
		c, err := refsToIdx(fmt.Sprintf("hidden root %d", k), refs)
		if err != nil {
			return nil, err
		}
		d.paths = append(d.paths, "")
		d.children = append(d.children, c)
		d.top = append(d.top, len(d.paths)-1)
	}
	if err := d.sortTopologically(); err != nil {
		return nil, err
	}
	reached := make([]bool, len(d.paths))
	var mark func(int)
	mark = func(i int) {
		if reached[i] {
			return
		}
		reached[i] = true
		for _, c := range d.children[i] {
			mark(c)
		}
	}
	for _, t := range d.top {
		mark(t)
	}
	for i := 0; i < d.real; i++ {
		if !referenced[i] && !reached[i] {
			d.top = append(d.top, i)
		}
	}
	return d, nil
}

// sortTopologically fills d.topo by depth-first search and reports a
// reference cycle, which Nix never produces but a hand-written graph can.
func (d *dag) sortTopologically() error {
	const (
		unseen = iota
		active
		done
	)
	state := make([]uint8, len(d.paths))
	var visit func(int) error
	visit = func(i int) error {
		switch state[i] {
		case active:
			return fmt.Errorf("ranking store paths by popularity: reference cycle through %s", d.paths[i])
		case done:
			return nil
		}
		state[i] = active
		for _, c := range d.children[i] {
			if err := visit(c); err != nil {
				return err
			}
		}
		state[i] = done
		d.topo = append(d.topo, i)
		return nil
	}
	for i := range d.paths {
		if err := visit(i); err != nil {
			return err
		}
	}
	return nil
}

// arith is the arithmetic the contest needs, for uint64 (fast, reports
// overflow) and for big.Int (exact at any size).
type arith[N any] struct {
	zero     func() N
	addOne   func(acc, v N) N // acc + v + 1
	overflow func() bool
}

func uint64Arith() arith[uint64] {
	over := false
	return arith[uint64]{
		zero: func() uint64 { return 0 },
		addOne: func(acc, v uint64) uint64 {
			s, c1 := bits.Add64(acc, v, 1)
			if c1 != 0 {
				over = true
			}
			return s
		},
		overflow: func() bool { return over },
	}
}

func bigArith() arith[*big.Int] {
	one := big.NewInt(1)
	return arith[*big.Int]{
		zero: func() *big.Int { return new(big.Int) },
		addOne: func(acc, v *big.Int) *big.Int {
			return acc.Add(acc.Add(acc, v), one)
		},
		overflow: func() bool { return false },
	}
}

// sparse is a node's popularity table over its strict descendants, sorted
// by node index.
type sparse[N any] struct {
	idx []int
	val []N
}

// contest computes the popularity of every real node, closure-graph.py's
// graph_popularity_contest: for a node with children cs,
//
//	C(node)[c] += 1                 for each child c
//	C(node)[q] += C(c)[q] + 1       for each q in C(c)
//
// and the result is the same sum taken over the top nodes. ok is false when
// the arithmetic overflowed.
func contest[N any](d *dag, ar arith[N]) (scores []N, ok bool) {
	n := len(d.paths)
	tables := make([]sparse[N], n)
	acc := make([]N, n)
	used := make([]bool, n)
	var touched []int
	sumChildren := func(cs []int) sparse[N] {
		touched = touched[:0]
		add := func(q int, v N) {
			if !used[q] {
				used[q] = true
				acc[q] = ar.zero()
				touched = append(touched, q)
			}
			acc[q] = ar.addOne(acc[q], v)
		}
		for _, c := range cs {
			add(c, ar.zero())
			t := tables[c]
			for k, q := range t.idx {
				add(q, t.val[k])
			}
		}
		sort.Ints(touched)
		s := sparse[N]{idx: append([]int(nil), touched...), val: make([]N, len(touched))}
		for k, q := range touched {
			s.val[k] = acc[q]
			used[q] = false
		}
		return s
	}
	for _, i := range d.topo {
		if i < d.real {
			tables[i] = sumChildren(d.children[i])
		}
	}
	for _, i := range d.top {
		if i >= d.real {
			tables[i] = sumChildren(d.children[i])
		}
	}
	// The top level: each top node counts once for itself (a real root) and
	// its table entries count like a child's.
	total := make([]N, d.real)
	for i := range total {
		total[i] = ar.zero()
	}
	for _, t := range d.top {
		if t < d.real {
			total[t] = ar.addOne(total[t], ar.zero())
		}
		for k, q := range tables[t].idx {
			total[q] = ar.addOne(total[q], tables[t].val[k])
		}
	}
	return total, !ar.overflow()
}
