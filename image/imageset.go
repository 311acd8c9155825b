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

// layeringSet is the set the layering reads, or nil outside a set. The
// members' cached layer outputs are left out of the union (they are no
// image's paths), each root that is one replaced by its references.
func (p *planner) layeringSet() (*layering.Set, error) {
	if p.set.ImageSet == nil || p.union == nil {
		return nil, nil
	}
	s := p.set.ImageSet.LayeringSet(p.set.MaxLayers)
	outs := map[string]bool{}
	for _, m := range p.set.ImageSet.Members {
		for _, l := range m.Layers {
			outs[l] = true
		}
	}
	union, err := without(p.union, outs)
	if err != nil {
		return nil, fmt.Errorf("leaving the set's cached layers out of its union closure: %w", err)
	}
	for n, m := range s.Members {
		var roots []string
		for _, r := range m.Roots {
			if !outs[r] {
				roots = append(roots, r)
				continue
			}
			info, _ := p.union.Lookup(r)
			for _, ref := range info.References {
				if ref != r && !outs[ref] {
					roots = append(roots, ref)
				}
			}
		}
		m.Roots = roots
		s.Members[n] = m
	}
	s.Union = union
	s.Size = pathSize(union)
	return s, nil
}
