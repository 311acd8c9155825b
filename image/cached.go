package image

import (
	"fmt"

	"github.com/nixlayer/nixlayer/layering"
	"github.com/nixlayer/nixlayer/recipe"
	"github.com/nixlayer/nixlayer/registration"
)

// Cached layers are layers built earlier, by nl.buildLayer (BuildLayer):
// the output of such a derivation holds each layer's blob and a
// wire.LayerFile describing them. An image that takes them (spec field
// "layers") puts them at the bottom of its own layers as they are: their
// blobs are never read to be hashed or compressed again, their store paths
// are left out of the image's own layering (they stay in its closure and
// its Nix database), and they count toward maxLayers.

// cachedPaths returns the store paths the cached layers hold.
func cachedPaths(plan []recipe.Layer) map[string]bool {
	held := map[string]bool{}
	for _, l := range plan {
		for _, p := range l.StorePaths {
			held[p] = true
		}
	}
	return held
}

// without returns g without the paths drop says, and without the
// references to them.
func without(g *registration.Graph, drop map[string]bool) (*registration.Graph, error) {
	if len(drop) == 0 {
		return g, nil
	}
	var infos []registration.PathInfo
	for _, info := range g.Paths() {
		if drop[info.Path] {
			continue
		}
		var refs []string
		for _, r := range info.References {
			if !drop[r] {
				refs = append(refs, r)
			}
		}
		info.References = refs
		infos = append(infos, info)
	}
	return registration.NewGraph(g.StoreDir(), infos)
}

// inGraph returns the paths of ps that g holds.
func inGraph(g *registration.Graph, ps []string) []string {
	var out []string
	for _, p := range ps {
		if _, ok := g.Lookup(p); ok {
			out = append(out, p)
		}
	}
	return out
}

// withCached prepares planner p for the cached layers of its settings: it
// reads them, takes their outputs out of the closure (they are inputs of
// the build, not part of the image), checks that the closure holds their
// store paths, and leaves the rest as the graph of the image's own layers.
func (p *planner) withCached() error {
	set := p.set
	p.stores = p.graph
	if len(set.Layers) == 0 {
		return nil
	}
	cached, err := recipe.ReadCached(set.Layers, set.Platform)
	if err != nil {
		return err
	}
	outs := map[string]bool{}
	for _, o := range set.Layers {
		outs[o] = true
	}
	if p.graph, err = without(p.graph, outs); err != nil {
		return fmt.Errorf("taking the layers out of the closure: %w", err)
	}
	for _, l := range cached {
		for _, sp := range l.StorePaths {
			if _, ok := p.graph.Lookup(sp); !ok {
				return fmt.Errorf("store path %s of layer %s is not in the image's closure: give the layer outputs in `layers` (nl.buildLayer)", sp, l.Cached.Output)
			}
		}
	}
	held := cachedPaths(cached)
	if p.stores, err = without(p.graph, held); err != nil {
		return fmt.Errorf("leaving the layers' store paths out of the image's own layers: %w", err)
	}
	p.cached = cached
	return nil
}

// checkCount refuses an image of more than layering.MaxImageLayers layers,
// naming where they come from.
func (p *planner) checkCount(plan []recipe.Layer) error {
	total := len(plan) + p.baseLayers()
	if total <= layering.MaxImageLayers {
		return nil
	}
	return fmt.Errorf("the image would have %d layers (%d from the base image, %d from `layers`, %d of its own); Docker and containerd refuse more than %d",
		total, p.baseLayers(), len(p.cached), len(plan)-len(p.cached), layering.MaxImageLayers)
}

// budget returns the layers left for the image's own store paths
// (layering.AvailableLayers), with an error that counts every kind of layer
// when the cached layers leave none.
func (p *planner) budget() (int, error) {
	if len(p.cached) == 0 || p.set.MaxLayers-1-p.reserved() >= 1 {
		return layering.AvailableLayers(p.set.MaxLayers, p.reserved())
	}
	db := 0
	if p.set.NixDB != nil {
		db = 1
	}
	return 0, fmt.Errorf("maxLayers = %d leaves no layer for the image's own store paths: %d layers come from `layers`, %d from the base image, %d is the Nix database and 1 the customisation layer; raise maxLayers (at most %d) or put more store paths into the layers",
		p.set.MaxLayers, len(p.cached), p.baseLayers(), db, layering.MaxImageLayers)
}
