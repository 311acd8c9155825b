package nixdb

import (
	"fmt"

	"github.com/nixlayer/nixlayer/registration"
)

// Merge returns the union of base (the paths a base image's database
// registers, see ReadDB) and ours (the closure this image adds), so that
// the image's database registers the paths of every layer.
//
// When a store path is in both, ours wins: its narHash, narSize, deriver
// and references are the ones nixlayer just read from the build's own
// store (and the path's files in our layers, if any, lie above the base
// image's). Both graphs must use the same store directory, and the result
// must be closed under references.
func Merge(base, ours *registration.Graph) (*registration.Graph, error) {
	if base.StoreDir() != ours.StoreDir() {
		return nil, fmt.Errorf("merging Nix registrations: the base image's store is %s, the image's is %s", base.StoreDir(), ours.StoreDir())
	}
	infos := make([]registration.PathInfo, 0, base.Len()+ours.Len())
	for _, p := range base.Paths() {
		if _, ok := ours.Lookup(p.Path); !ok {
			infos = append(infos, p)
		}
	}
	infos = append(infos, ours.Paths()...)
	g, err := registration.NewGraph(ours.StoreDir(), infos)
	if err != nil {
		return nil, fmt.Errorf("merging Nix registrations: %w", err)
	}
	return g, nil
}
