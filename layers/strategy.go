package layers

import (
	"fmt"
	"sort"
	"strings"

	"github.com/nixlayer/nixlayer/registration"
)

const (
	// MaxImageLayers is the most layers an image may have: Docker and
	// containerd refuse to run images with more than 127 layers.
	MaxImageLayers = 127
	// DefaultMaxLayers is buildLayeredImage's default maxLayers.
	DefaultMaxLayers = 100
	// DefaultStrategy is the layering strategy used when none is named.
	DefaultStrategy = "popularity"
)

// Strategy splits the store paths of a closure into at most storeLayers
// groups, bottom layer first; every path is in exactly one group. size
// gives a store path's size in bytes (nil: the graph's narSize); strategies
// that do not need sizes ignore it.
type Strategy func(g *registration.Graph, storeLayers int, size func(path string) int64) ([][]string, error)

var strategies = map[string]Strategy{
	"popularity": func(g *registration.Graph, storeLayers int, _ func(string) int64) ([][]string, error) {
		return Popularity(g, storeLayers)
	},
	"size": SizeAware,
}

// StrategyNames returns the names LookupStrategy accepts, sorted.
func StrategyNames() []string {
	names := make([]string, 0, len(strategies))
	for n := range strategies {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// LookupStrategy returns the layering strategy called name: "popularity"
// (Popularity, nixpkgs' buildLayeredImage) or "size" (SizeAware). The empty
// name means DefaultStrategy.
func LookupStrategy(name string) (Strategy, error) {
	if name == "" {
		name = DefaultStrategy
	}
	s, ok := strategies[name]
	if !ok {
		return nil, fmt.Errorf("choosing layers: unknown layering strategy %q (valid: %s)", name, strings.Join(StrategyNames(), ", "))
	}
	return s, nil
}

// AvailableLayers returns how many layers are left for store paths in an
// image of at most maxLayers layers that sits on baseLayers layers of a
// base image, keeping one layer for the customisation layer (contents'
// symlinks, extra files, users), as buildLayeredImage does. maxLayers must
// be between 2 and MaxImageLayers, and at least one layer must remain.
func AvailableLayers(maxLayers, baseLayers int) (int, error) {
	switch {
	case maxLayers > MaxImageLayers:
		return 0, fmt.Errorf("maxLayers %d is too large: Docker and containerd refuse images with more than %d layers", maxLayers, MaxImageLayers)
	case maxLayers < 2:
		return 0, fmt.Errorf("maxLayers %d is too small: one layer is kept for the customisation layer and at least one is needed for store paths, so it must be at least 2", maxLayers)
	case baseLayers < 0:
		return 0, fmt.Errorf("base image layer count %d is negative", baseLayers)
	}
	n := maxLayers - 1 - baseLayers
	if n < 1 {
		return 0, fmt.Errorf("maxLayers %d leaves no layer for store paths: the base image has %d layers and one is kept for the customisation layer", maxLayers, baseLayers)
	}
	return n, nil
}

// ChooseLayers splits the store paths of g with the strategy called name
// ("" for DefaultStrategy) for an image of at most maxLayers layers with no
// base image: maxLayers-1 layers hold store paths, the last one is kept for
// the customisation layer. Groups come bottom layer first. With a base
// image, use AvailableLayers and LookupStrategy instead.
func ChooseLayers(name string, g *registration.Graph, maxLayers int, size func(path string) int64) ([][]string, error) {
	s, err := LookupStrategy(name)
	if err != nil {
		return nil, err
	}
	n, err := AvailableLayers(maxLayers, 0)
	if err != nil {
		return nil, fmt.Errorf("choosing layers: %w", err)
	}
	return s(g, n, size)
}
