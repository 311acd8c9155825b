package layering

import (
	"fmt"
	"sort"
	"strings"
	"sync"

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
	// NoLayering is the strategy of buildImage: the whole closure in one
	// layer (the image's builder copies the contents into it too).
	NoLayering = "none"
)

// Input is what a layering strategy decides from.
type Input struct {
	// Graph is the closure whose store paths are split into layers.
	Graph *registration.Graph
	// Roots are the image's contents: store paths of Graph that the
	// customisation layer references (buildLayeredImage ranks them as
	// referenced by a path outside the closure).
	Roots []string
	// Size gives a store path's size in bytes (its narSize, or its bytes on
	// disk); nil means each path's narSize in Graph.
	Size func(path string) int64
	// Budget is the number of layers available for store paths (see
	// AvailableLayers); a strategy returns at most that many groups.
	Budget int
	// Set is the image's set (buildImageSet), for the "set" strategy;
	// nil for an image built alone. Other strategies ignore it.
	Set *Set
	// Pipeline is the image's layeringPipeline, for the "pipeline"
	// strategy (pipeline.go); other strategies ignore it.
	Pipeline *Pipeline
}

// Strategy splits the store paths of in.Graph into at most in.Budget
// groups, bottom layer first; every path is in exactly one group.
// Strategies that do not need the roots or the sizes ignore them.
type Strategy func(in Input) ([][]string, error)

var (
	registryMu sync.RWMutex
	strategies = map[string]Strategy{}
)

func init() { Register(NoLayering, oneLayer) }

// Register makes s available under name to Lookup. Strategies register
// from an init function of their file; a name registered twice, or an
// empty name, panics.
func Register(name string, s Strategy) {
	registryMu.Lock()
	defer registryMu.Unlock()
	if name == "" || s == nil {
		panic("layering.Register: a strategy needs a name and a function")
	}
	if _, dup := strategies[name]; dup {
		panic("layering.Register: strategy " + name + " registered twice")
	}
	strategies[name] = s
}

// Names returns the names Lookup accepts, sorted.
func Names() []string {
	registryMu.RLock()
	defer registryMu.RUnlock()
	names := make([]string, 0, len(strategies))
	for n := range strategies {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Lookup returns the layering strategy registered as name. The empty name
// means DefaultStrategy.
func Lookup(name string) (Strategy, error) {
	if name == "" {
		name = DefaultStrategy
	}
	registryMu.RLock()
	s, ok := strategies[name]
	registryMu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("choosing layers: unknown layering strategy %q (valid: %s)", name, strings.Join(Names(), ", "))
	}
	return s, nil
}

// oneLayer is NoLayering: every store path in one group, in store-path
// order; an empty closure gives no group.
func oneLayer(in Input) ([][]string, error) {
	paths := in.Graph.Paths()
	if len(paths) == 0 {
		return nil, nil
	}
	all := make([]string, len(paths))
	for i, p := range paths {
		all[i] = p.Path
	}
	return [][]string{all}, nil
}

// CheckMaxLayers checks a maxLayers argument: between 2 and MaxImageLayers.
func CheckMaxLayers(maxLayers int) error {
	switch {
	case maxLayers > MaxImageLayers:
		return fmt.Errorf("maxLayers %d is too large: Docker and containerd refuse images with more than %d layers", maxLayers, MaxImageLayers)
	case maxLayers < 2:
		return fmt.Errorf("maxLayers %d is too small: one layer is kept for the customisation layer and at least one is needed for store paths, so it must be at least 2", maxLayers)
	}
	return nil
}

// AvailableLayers returns how many layers are left for store paths in an
// image of at most maxLayers layers that sits on baseLayers layers of a
// base image, keeping one layer for the customisation layer (contents'
// symlinks, extra files, users), as buildLayeredImage does. maxLayers must
// be between 2 and MaxImageLayers, and at least one layer must remain.
func AvailableLayers(maxLayers, baseLayers int) (int, error) {
	if err := CheckMaxLayers(maxLayers); err != nil {
		return 0, err
	}
	if baseLayers < 0 {
		return 0, fmt.Errorf("base image layer count %d is negative", baseLayers)
	}
	n := maxLayers - 1 - baseLayers
	if n < 1 {
		return 0, fmt.Errorf("maxLayers %d leaves no layer for store paths: the base image has %d layers and one is kept for the customisation layer", maxLayers, baseLayers)
	}
	return n, nil
}
