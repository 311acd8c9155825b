package image

import (
	"fmt"

	"github.com/nixlayer/nixlayer/registration"
)

// withoutReferences returns g without the store path refs, the derivation
// nix/default.nix makes so that the store paths the arguments name (config,
// symlinks, files, ...) are in the closure graph: its references stay, as
// roots of the graph, and it is not part of the image. An empty refs gives
// g. A path of g that references refs is an error (nothing should).
func withoutReferences(g *registration.Graph, refs string) (*registration.Graph, error) {
	if refs == "" {
		return g, nil
	}
	if _, ok := g.Lookup(refs); !ok {
		return nil, fmt.Errorf("references %s (the store paths the arguments name) is not in the closure graph", refs)
	}
	for _, info := range g.Paths() {
		for _, r := range info.References {
			if r == refs && info.Path != refs {
				return nil, fmt.Errorf("store path %s references %s, the references of the arguments: it cannot be left out", info.Path, refs)
			}
		}
	}
	return without(g, map[string]bool{refs: true})
}
