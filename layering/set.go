package layering

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/nixlayer/nixlayer/registration"
)

// SetStrategy is the strategy of the images of a set (buildImageSet): it
// needs Input.Set.
const SetStrategy = "set"

func init() { Register(SetStrategy, setStrategy) }

// Set is what the set strategy reads besides an image's own closure: the
// union closure of every image of the set and each image's roots. Every
// member of a set gets the same Set but Self, so every member computes the
// same units (PlanSet).
type Set struct {
	// Union is the closure of every member's roots.
	Union *registration.Graph
	// Size gives a store path of Union its size; nil means its narSize.
	Size func(path string) int64
	// Self is the member being built; a key of Members.
	Self string
	// Members are the images of the set by name.
	Members map[string]Member
}

// Member is one image of a set, as every member sees it.
type Member struct {
	// Roots are the image's roots in Union: its contents, the derivation
	// of the store paths its arguments name, its cached layers.
	Roots []string
	// Budget is the number of store-path layers the set plans for this
	// image (maxLayers less the customisation layer, the Nix database and
	// the cached layers it declares). An image whose own budget turns out
	// smaller (a base image's layers) merges its least valuable units.
	Budget int
}

// Unit is a layer the set plans: the store paths that exactly the images
// Images have in their closures (or a run of them), in popularity order
// over the union. A unit is the same list in every member that uses it,
// so its layer has the same bytes there.
type Unit struct {
	Images []string
	Paths  []string
	Bytes  int64
}

// Value is what a unit saves by being shared: its bytes times the images
// that hold it.
func (u Unit) Value() int64 { return u.Bytes * int64(len(u.Images)) }

// PlanSet computes the units of a set, from the set alone (not Self): the
// union's paths grouped by the set of images whose closure holds them
// (their signature), each group in popularity order over the union
// (every member's roots ranked as hidden roots), then big groups cut into
// runs (splitSized) while every image they belong to has budget left, the
// group with the most bytes per run first. Units come sorted: most images
// first, then most bytes, then by first path.
func PlanSet(s *Set) ([]Unit, error) {
	names, err := s.names()
	if err != nil {
		return nil, err
	}
	sig := map[string][]string{} // path -> images holding it
	var hidden [][]string
	for _, n := range names {
		m := s.Members[n]
		closure, err := s.Union.Closure(m.Roots...)
		if err != nil {
			return nil, fmt.Errorf("planning the image set: the closure of image %s: %w", n, err)
		}
		for _, p := range closure {
			sig[p] = append(sig[p], n)
		}
		hidden = append(hidden, m.Roots)
	}
	order, err := PopularityOrder(s.Union, hidden...)
	if err != nil {
		return nil, fmt.Errorf("planning the image set: %w", err)
	}
	var groups []Unit
	index := map[string]int{}
	for _, p := range order {
		key := strings.Join(sig[p], "\x00")
		i, ok := index[key]
		if !ok {
			i = len(groups)
			index[key] = i
			groups = append(groups, Unit{Images: sig[p]})
		}
		groups[i].Paths = append(groups[i].Paths, p)
		groups[i].Bytes += s.size(p)
	}
	units, err := s.split(groups, s.runs(groups))
	if err != nil {
		return nil, err
	}
	sortUnits(units)
	return units, nil
}

func (s *Set) names() ([]string, error) {
	if len(s.Members) == 0 {
		return nil, errors.New("planning the image set: the set has no image; give at least one in `images`")
	}
	if s.Union == nil {
		return nil, errors.New("planning the image set: no union closure")
	}
	names := make([]string, 0, len(s.Members))
	for n, m := range s.Members {
		if m.Budget < 1 {
			return nil, fmt.Errorf("planning the image set: image %s has a budget of %d store-path layers; at least 1 is needed", n, m.Budget)
		}
		names = append(names, n)
	}
	sort.Strings(names)
	return names, nil
}

func (s *Set) size(p string) int64 {
	if s.Size != nil {
		return s.Size(p)
	}
	info, _ := s.Union.Lookup(p)
	return int64(min(info.NarSize, 1<<62))
}

// runs decides how many layers each group becomes: one each, then one
// more at a time for the group with the most bytes per layer, as long as
// every image holding it has budget left and it has paths enough.
func (s *Set) runs(groups []Unit) []int {
	k := make([]int, len(groups))
	used := map[string]int{}
	for i, g := range groups {
		k[i] = 1
		for _, n := range g.Images {
			used[n]++
		}
	}
	room := func(g Unit) bool {
		for _, n := range g.Images {
			if used[n] >= s.Members[n].Budget {
				return false
			}
		}
		return true
	}
	for {
		best := -1
		for i, g := range groups {
			if k[i] >= len(g.Paths) || g.Bytes == 0 || !room(g) {
				continue
			}
			// bytes per layer, compared without division; ties: earlier group
			if best < 0 || g.Bytes*int64(k[best]) > groups[best].Bytes*int64(k[i]) {
				best = i
			}
		}
		if best < 0 {
			return k
		}
		k[best]++
		for _, n := range groups[best].Images {
			used[n]++
		}
	}
}

// split cuts each group into its number of runs.
func (s *Set) split(groups []Unit, k []int) ([]Unit, error) {
	var units []Unit
	for i, g := range groups {
		sizes := make([]uint64, len(g.Paths))
		for j, p := range g.Paths {
			sz := s.size(p)
			if sz < 0 {
				return nil, fmt.Errorf("planning the image set: store path %s has negative size %d", p, sz)
			}
			sizes[j] = uint64(sz)
		}
		parts, err := splitSized(g.Paths, sizes, k[i])
		if err != nil {
			return nil, err
		}
		for _, part := range parts {
			u := Unit{Images: g.Images, Paths: part}
			for _, p := range part {
				u.Bytes += s.size(p)
			}
			units = append(units, u)
		}
	}
	return units, nil
}

func sortUnits(units []Unit) {
	sort.SliceStable(units, func(a, b int) bool {
		x, y := units[a], units[b]
		if len(x.Images) != len(y.Images) {
			return len(x.Images) > len(y.Images)
		}
		if x.Bytes != y.Bytes {
			return x.Bytes > y.Bytes
		}
		return x.Paths[0] < y.Paths[0]
	})
}

// Pick returns the layers of image self from the set's units: the units
// holding self, restricted to the paths of have (its closure less what
// cached layers hold), all of them when they fit in budget, else the
// budget-1 most valuable (Value, ties by first path) and one layer of the
// rest, unit after unit. Layers come in the units' order, the rest last.
func Pick(units []Unit, self string, have func(string) bool, budget int) ([][]string, error) {
	if budget < 1 {
		return nil, fmt.Errorf("choosing the layers of image %s: no layer is left for store paths", self)
	}
	var mine []Unit
	for _, u := range units {
		if !contains(u.Images, self) {
			continue
		}
		v := Unit{Images: u.Images}
		for _, p := range u.Paths {
			if have(p) {
				v.Paths = append(v.Paths, p)
			}
		}
		if len(v.Paths) > 0 {
			v.Bytes = u.Bytes * int64(len(v.Paths)) / int64(len(u.Paths))
			mine = append(mine, v)
		}
	}
	out := make([][]string, 0, len(mine))
	if len(mine) <= budget {
		for _, u := range mine {
			out = append(out, u.Paths)
		}
		return out, nil
	}
	rank := make([]int, len(mine))
	for i := range rank {
		rank[i] = i
	}
	sort.SliceStable(rank, func(a, b int) bool {
		x, y := mine[rank[a]], mine[rank[b]]
		if x.Value() != y.Value() {
			return x.Value() > y.Value()
		}
		return x.Paths[0] < y.Paths[0]
	})
	keep := map[int]bool{}
	for _, i := range rank[:budget-1] {
		keep[i] = true
	}
	var rest []string
	for i, u := range mine {
		if keep[i] {
			out = append(out, u.Paths)
		} else {
			rest = append(rest, u.Paths...)
		}
	}
	return append(out, rest), nil
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// setStrategy is the "set" strategy: PlanSet, then Pick for in.Set.Self
// over the paths of in.Graph.
func setStrategy(in Input) ([][]string, error) {
	if in.Set == nil {
		return nil, fmt.Errorf("choosing layers: layering %q plans the images of a set together; use buildImageSet", SetStrategy)
	}
	if _, ok := in.Set.Members[in.Set.Self]; !ok {
		return nil, fmt.Errorf("choosing layers: image %q is not a member of its set", in.Set.Self)
	}
	units, err := PlanSet(in.Set)
	if err != nil {
		return nil, err
	}
	have := func(p string) bool { _, ok := in.Graph.Lookup(p); return ok }
	return Pick(units, in.Set.Self, have, in.Budget)
}
