package registration

import (
	"fmt"
	"path"
	"sort"

	"github.com/nix-community/go-nix/pkg/storepath"
)

// DefaultStoreDir is the store directory every closure is expected to live in
// unless a caller says otherwise.
const DefaultStoreDir = storepath.StoreDir

// PathInfo is one store path of a closure and what Nix knows about it.
type PathInfo struct {
	// Path is the absolute store path, e.g. /nix/store/<hash>-hello-2.12.
	Path string `json:"path"`
	// NarHash is the NAR hash as Nix prints it ("sha256:<nix32>" or
	// "sha256:<base16>"); empty when the input format does not carry it.
	NarHash string `json:"narHash,omitempty"`
	// NarSize is the size of the NAR serialisation; 0 when unknown.
	NarSize uint64 `json:"narSize,omitempty"`
	// Deriver is the derivation that built the path; empty when unknown.
	Deriver string `json:"deriver,omitempty"`
	// References are absolute store paths, sorted; a self-reference is kept.
	References []string `json:"references"`
}

// Graph is a closure: a set of store paths that is closed under references.
// The zero value is an empty graph in DefaultStoreDir.
type Graph struct {
	storeDir string
	paths    []PathInfo
	index    map[string]int
}

// NewGraph checks infos and returns them as a graph. Every path must be a
// valid store path directly inside storeDir, appear once, and every reference
// must itself be in infos. References are sorted and deduplicated.
func NewGraph(storeDir string, infos []PathInfo) (*Graph, error) {
	if storeDir == "" {
		storeDir = DefaultStoreDir
	}
	g := &Graph{storeDir: storeDir, paths: make([]PathInfo, len(infos)), index: make(map[string]int, len(infos))}
	copy(g.paths, infos)
	sort.Slice(g.paths, func(i, j int) bool { return g.paths[i].Path < g.paths[j].Path })
	for i := range g.paths {
		p := &g.paths[i]
		if err := CheckStorePath(storeDir, p.Path); err != nil {
			return nil, err
		}
		if _, dup := g.index[p.Path]; dup {
			return nil, fmt.Errorf("store path %s appears twice in the closure", p.Path)
		}
		g.index[p.Path] = i
		refs := append([]string(nil), p.References...)
		sort.Strings(refs)
		p.References = dedupSorted(refs)
	}
	for _, p := range g.paths {
		for _, r := range p.References {
			if _, ok := g.index[r]; !ok {
				return nil, fmt.Errorf("store path %s references %s, which is not in the closure", p.Path, r)
			}
		}
	}
	return g, nil
}

// CheckStorePath reports whether p is a valid store path directly inside
// storeDir (no sub-path, a valid hash and name).
func CheckStorePath(storeDir, p string) error {
	if storeDir == "" {
		storeDir = DefaultStoreDir
	}
	dir, base := path.Split(p)
	if path.Clean(dir) != path.Clean(storeDir) || !path.IsAbs(p) {
		return fmt.Errorf("%q is not a store path directly inside %s", p, storeDir)
	}
	if _, err := storepath.FromString(base); err != nil {
		return fmt.Errorf("invalid store path %q: %w", p, err)
	}
	return nil
}

func dedupSorted(s []string) []string {
	out := s[:0]
	for i, v := range s {
		if i == 0 || v != s[i-1] {
			out = append(out, v)
		}
	}
	return out
}

// StoreDir returns the store directory of the graph.
func (g *Graph) StoreDir() string {
	if g == nil || g.storeDir == "" {
		return DefaultStoreDir
	}
	return g.storeDir
}

// Len returns the number of store paths in the graph.
func (g *Graph) Len() int {
	if g == nil {
		return 0
	}
	return len(g.paths)
}

// Paths returns every path of the graph, sorted by store path. The slice is
// shared: callers must not modify it.
func (g *Graph) Paths() []PathInfo {
	if g == nil {
		return nil
	}
	return g.paths
}

// Lookup returns the path info for store path p.
func (g *Graph) Lookup(p string) (PathInfo, bool) {
	if g == nil {
		return PathInfo{}, false
	}
	i, ok := g.index[p]
	if !ok {
		return PathInfo{}, false
	}
	return g.paths[i], true
}

// Closure returns the sorted store paths reachable from roots, roots included.
// A root that is not in the graph is an error.
func (g *Graph) Closure(roots ...string) ([]string, error) {
	seen := map[string]bool{}
	stack := make([]string, 0, len(roots))
	for _, r := range roots {
		if _, ok := g.Lookup(r); !ok {
			return nil, fmt.Errorf("store path %s is not in the closure", r)
		}
		stack = append(stack, r)
	}
	for len(stack) > 0 {
		p := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if seen[p] {
			continue
		}
		seen[p] = true
		info, _ := g.Lookup(p)
		stack = append(stack, info.References...)
	}
	out := make([]string, 0, len(seen))
	for p := range seen {
		out = append(out, p)
	}
	sort.Strings(out)
	return out, nil
}

// Subgraph returns the graph restricted to the closure of roots.
func (g *Graph) Subgraph(roots ...string) (*Graph, error) {
	paths, err := g.Closure(roots...)
	if err != nil {
		return nil, err
	}
	infos := make([]PathInfo, len(paths))
	for i, p := range paths {
		infos[i], _ = g.Lookup(p)
	}
	return NewGraph(g.StoreDir(), infos)
}
