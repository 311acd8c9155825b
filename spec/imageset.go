package spec

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/nixlayer/nixlayer/layering"
)

// ImageSet is the spec field of an image built as a member of a set
// (nl.buildImageSet): which member it is and every member's roots, so
// that each member plans the same layers over the union closure (the
// closure graph the build gets). nix/default.nix writes it; every member of
// a set gets the same Members.
type ImageSet struct {
	// Member is the image's name in the set, a key of Members.
	Member string `json:"member"`
	// Members are the images of the set by name.
	Members map[string]SetMember `json:"members"`
}

// SetMember is one image of a set.
type SetMember struct {
	// Roots are the store paths whose closure is the member's: its
	// contents, the derivation of the store paths its arguments name, its
	// cached layers.
	Roots []string `json:"roots"`
	// Layers are the roots that are nl.buildLayer outputs (the member's
	// `layers`): inputs of the build, not paths of an image, so the set
	// plans without them (their references stay).
	Layers []string `json:"layers"`
	// Reserved counts the member's layers that are neither store-path
	// layers nor the customisation layer and that Nix knows of: the Nix
	// database and the cached layers (a base image's are known at build
	// time only).
	Reserved int `json:"reserved"`
}

// Names returns the members' names, sorted.
func (s *ImageSet) Names() []string {
	names := make([]string, 0, len(s.Members))
	for n := range s.Members {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Roots returns the roots of the image being built.
func (s *ImageSet) Roots() []string { return s.Members[s.Member].Roots }

// LayeringSet returns the set as layering plans it, every member's
// budget the set's maxLayers less the customisation layer and its
// reserved layers.
func (s *ImageSet) LayeringSet(maxLayers int) *layering.Set {
	out := &layering.Set{Self: s.Member, Members: map[string]layering.Member{}}
	for n, m := range s.Members {
		out.Members[n] = layering.Member{Roots: m.Roots, Budget: maxLayers - 1 - m.Reserved}
	}
	return out
}

// resolveImageSet checks the imageSet field against the layering: a set
// member defaults to the set strategy, and the set strategy needs a set.
func resolveImageSet(s *Spec, set *Settings) error {
	if s.ImageSet == nil {
		if set.Layering == layering.SetStrategy {
			return fmt.Errorf("layering %q plans the images of a set together: build them with nl.buildImageSet", layering.SetStrategy)
		}
		return nil
	}
	is := s.ImageSet
	if len(is.Members) == 0 {
		return errors.New("imageSet: the set has no image")
	}
	if _, ok := is.Members[is.Member]; !ok {
		return fmt.Errorf("imageSet: member %q is not one of the set's images (%s)", is.Member, strings.Join(is.Names(), ", "))
	}
	for _, n := range is.Names() {
		m := is.Members[n]
		if b := set.MaxLayers - 1 - m.Reserved; m.Reserved < 0 || b < 1 {
			return fmt.Errorf("imageSet: maxLayers = %d leaves image %s no layer for store paths (%d layers are its Nix database and cached layers, 1 its customisation layer); the smallest maxLayers that works for this set is %d",
				set.MaxLayers, n, m.Reserved, minMaxLayers(is))
		}
	}
	set.ImageSet = is
	return nil
}

// minMaxLayers is the smallest maxLayers that leaves every member of is
// one store-path layer.
func minMaxLayers(is *ImageSet) int {
	most := 0
	for _, m := range is.Members {
		most = max(most, m.Reserved)
	}
	return most + 2
}
