package recipe

import (
	"slices"
	"strconv"
)

// The layer annotations nix-snapshotter reads: a layer marked as a Nix
// layer is made, on a node that runs nix-snapshotter, of the store paths
// its numbered annotations name (from the node's store or its
// substituters) instead of its blob; other runtimes pull the blob.
const (
	NixLayerAnnotation     = "containerd.io/snapshot/nix-layer"
	NixStorePathAnnotation = "containerd.io/snapshot/nix-store-path."
)

// NixLayerAnnotations returns nix-snapshotter's annotations of layer l:
// the mark and its store paths, sorted, numbered from 0; nil unless the
// layer holds store paths and nothing else, as they are in the store (no
// other entry, owner or permission rule; a cached layer may hold files of
// its own, so it gets none).
func NixLayerAnnotations(l *Layer) map[string]string {
	if len(l.StorePaths) == 0 || len(l.Extra) > 0 || len(l.Rules) > 0 || l.Uid != 0 || l.Gid != 0 || l.Cached != nil {
		return nil
	}
	paths := slices.Sorted(slices.Values(l.StorePaths))
	a := map[string]string{NixLayerAnnotation: "true"}
	for i, p := range paths {
		a[NixStorePathAnnotation+strconv.Itoa(i)] = p
	}
	return a
}
