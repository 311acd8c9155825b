// Package layering decides which store paths of a closure share an image
// layer. Every strategy gets the same Input (the closure graph, the
// contents, each path's size and the number of layers left for store
// paths) and registers under a name (Register, Lookup, Names) from an
// init function of its own file: "none", "popularity", "auto" and "size"
// are registered so, and a new strategy is a new file and its test. "set"
// (set.go) plans the images of a set (buildImageSet) over their union
// closure, from Input.Set, so that every image cuts shared paths alike.
// "pipeline" (pipeline.go, pipegraph.go, pipesteps.go) runs nixpkgs'
// layeringPipeline, from Input.Pipeline (ParsePipeline): the steps of
// nixpkgs' flatten-references-graph over the closure graph. The layer
// count limits (CheckMaxLayers, AvailableLayers) live here too.
//
// A strategy only groups paths; package layers turns each group into a
// deterministic tar stream.
package layering
