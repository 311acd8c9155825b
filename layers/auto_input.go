// TEMPORARY: replaced by strategy.go's Input at merge

package layers

import "github.com/nixlayer/nixlayer/registration"

// Input is what a layering strategy is given: the closure, the store paths
// the image names directly, a store path's size in bytes (nil: the graph's
// narSize) and how many layers the store paths may take.
type Input struct {
	Graph  *registration.Graph
	Roots  []string
	Size   func(path string) int64
	Budget int
}
