package image

import (
	"fmt"

	"github.com/nixlayer/nixlayer/layering"
	"github.com/nixlayer/nixlayer/registration"
	"github.com/nixlayer/nixlayer/spec"
)

// An image built as a member of a set (nl.buildImageSet, spec.ImageSet)
// gets the union closure of every member as its closure graph: its own
// closure is the part its roots reach, and its store-path layers are
// planned over the union with the "set" strategy, so that every member
// cuts the paths it shares with others at the same places.

// setClosure returns the image's own closure and the union it was cut
// from: for an image outside a set, g and nil.
func setClosure(set *spec.Settings, g *registration.Graph) (own, union *registration.Graph, err error) {
	if set.ImageSet == nil {
		return g, nil, nil
	}
	own, err = g.Subgraph(set.ImageSet.Roots()...)
	if err != nil {
		return nil, nil, fmt.Errorf("the closure of image %s of the set, in the set's union closure: %w", set.ImageSet.Member, err)
	}
	return own, g, nil
}

// layeringSet is the set the layering reads, or nil outside a set.
func (p *planner) layeringSet() *layering.Set {
	if p.set.ImageSet == nil || p.union == nil {
		return nil
	}
	s := p.set.ImageSet.LayeringSet(p.set.MaxLayers)
	s.Union = p.union
	s.Size = pathSize(p.union)
	return s
}
