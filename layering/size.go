package layering

import (
	"fmt"
	"math/bits"
	"sort"

	"github.com/nixlayer/nixlayer/registration"
)

func init() {
	Register("size", func(in Input) ([][]string, error) {
		return SizeAware(in.Graph, in.Budget, in.Size)
	})
}

// SizeAware splits the store paths of g into at most storeLayers groups so
// that a change to one store path re-ships as few bytes as possible:
//
//  1. Large paths get a layer of their own. A path is large when it is at
//     least the average size per layer of the paths not yet given their own
//     layer; this is repeated until no more path qualifies (water filling),
//     keeping at least one layer for the rest. When more paths qualify than
//     layers remain, the largest win (ties: the more popular).
//  2. The other paths, in popularity order (PopularityOrder), are cut into
//     consecutive runs of at most a cap bytes each: the cap is the smallest
//     power of two, at least their average per remaining layer, for which
//     the runs fit in the remaining layers. Rounding to a power of two keeps
//     the cut points where they were when sizes change a little.
//  3. Groups are ordered like Popularity's, bottom layer first by the most
//     popular path they hold; within a group paths are in popularity order.
//
// With no more paths than layers every path gets its own layer in
// popularity order, exactly as Popularity does. size gives the size of a
// store path (a NAR size or the bytes on disk); nil means each path's
// NarSize from g. When every size is 0 (unknown), SizeAware is Popularity.
// The result depends only on the graph and the sizes, never on input order.
//
// Use Popularity to match dockerTools.buildLayeredImage layer for layer
// (the same closure gives the same layer contents, so layers are shared
// with images built by nixpkgs' tools and by older nixlayer builds). Use
// SizeAware when the closure has more paths than layers and the image's
// own packages change often: Popularity then puts the least popular paths
// — the image's own packages and many mid-size libraries — into one
// catch-all top layer, and changing any of them re-ships all of it, while
// SizeAware bounds every shared group to about the average layer size and
// keeps big paths (compilers, runtimes, glibc) in layers of their own.
func SizeAware(g *registration.Graph, storeLayers int, size func(path string) int64) ([][]string, error) {
	order, err := PopularityOrder(g)
	if err != nil {
		return nil, err
	}
	sizes := make([]uint64, len(order))
	for i, p := range order {
		var s int64
		if size != nil {
			s = size(p)
		} else {
			info, _ := g.Lookup(p)
			s = int64(min(info.NarSize, 1<<62))
		}
		if s < 0 {
			return nil, fmt.Errorf("choosing size-aware layers: store path %s has negative size %d", p, s)
		}
		sizes[i] = uint64(s)
	}
	return splitSized(order, sizes, storeLayers)
}

// splitSized is SizeAware's cut of paths already in popularity order, with
// their sizes: at most storeLayers groups, big paths alone, the rest in
// runs of about the average layer size.
func splitSized(order []string, sizes []uint64, storeLayers int) ([][]string, error) {
	if storeLayers < 1 || len(order) <= storeLayers {
		return SplitOrder(order, storeLayers)
	}
	var total uint64
	for _, s := range sizes {
		total = satAdd(total, s)
	}
	if total == 0 {
		return SplitOrder(order, storeLayers)
	}

	own := pickLarge(sizes, storeLayers)
	var groups [][]int
	var small []int
	for i := range order {
		if own[i] {
			groups = append(groups, []int{i})
		} else {
			small = append(small, i)
		}
	}
	groups = append(groups, packRuns(small, sizes, storeLayers-len(groups))...)
	// Members are popularity ranks, so a group's first member is its most
	// popular path; sort groups by it.
	sort.Slice(groups, func(a, b int) bool { return groups[a][0] < groups[b][0] })
	out := make([][]string, len(groups))
	for k, grp := range groups {
		for _, i := range grp {
			out[k] = append(out[k], order[i])
		}
	}
	return out, nil
}

// pickLarge marks the paths (indexed by popularity rank) that get a layer
// of their own, by water filling over the average size per free layer.
func pickLarge(sizes []uint64, layers int) []bool {
	own := make([]bool, len(sizes))
	nOwn := 0
	for {
		free := layers - nOwn
		var rest uint64
		var restN int
		for i, s := range sizes {
			if !own[i] {
				rest = satAdd(rest, s)
				restN++
			}
		}
		if restN <= free || free <= 1 {
			if restN <= free { // everything left fits one per layer
				for i := range own {
					own[i] = true
				}
			}
			return own
		}
		avg := ceilDiv(rest, uint64(free))
		var cand []int
		for i, s := range sizes {
			if !own[i] && s > 0 && s >= avg {
				cand = append(cand, i)
			}
		}
		if len(cand) == 0 {
			return own
		}
		sort.SliceStable(cand, func(a, b int) bool { return sizes[cand[a]] > sizes[cand[b]] })
		if room := free - 1; len(cand) > room {
			cand = cand[:room]
		}
		for _, i := range cand {
			own[i] = true
		}
		nOwn += len(cand)
	}
}

// packRuns cuts items (popularity ranks, in order) into at most layers
// consecutive runs, each at most a power-of-two cap bytes unless a single
// item is bigger.
func packRuns(items []int, sizes []uint64, layers int) [][]int {
	if len(items) == 0 {
		return nil
	}
	var sum uint64
	for _, i := range items {
		sum = satAdd(sum, sizes[i])
	}
	limit := max(ceilDiv(sum, uint64(layers)), 1)
	capacity := uint64(1) << (64 - bits.LeadingZeros64(limit-1)) // next power of two ≥ limit
	if capacity == 0 {                                           // limit > 2^63
		capacity = 1 << 63
	}
	for {
		runs := greedyRuns(items, sizes, capacity)
		if len(runs) <= layers || capacity >= sum || capacity >= 1<<63 {
			if len(runs) > layers { // unreachable: one run holds everything
				return [][]int{items}
			}
			return runs
		}
		capacity *= 2
	}
}

// greedyRuns fills runs in order, starting a new run when the next item
// would take the current one over capacity.
func greedyRuns(items []int, sizes []uint64, capacity uint64) [][]int {
	var runs [][]int
	var cur []int
	var used uint64
	for _, i := range items {
		if len(cur) > 0 && satAdd(used, sizes[i]) > capacity {
			runs = append(runs, cur)
			cur, used = nil, 0
		}
		cur = append(cur, i)
		used = satAdd(used, sizes[i])
	}
	return append(runs, cur)
}

func ceilDiv(a, b uint64) uint64 { return a/b + min(a%b, 1) }

// satAdd adds without wrapping around.
func satAdd(a, b uint64) uint64 {
	s, c := bits.Add64(a, b, 0)
	if c != 0 {
		return ^uint64(0)
	}
	return s
}
