// Package layering decides which store paths of a closure share an image
// layer. Every strategy gets the same Input (the closure graph, the
// contents, each path's size and the number of layers left for store
// paths) and registers under a name (Register, Lookup, Names): "none",
// "popularity", "auto" and "size" are registered so; the layer count
// limits (CheckMaxLayers, AvailableLayers) live here too.
//
// A strategy only groups paths; package layers turns each group into a
// deterministic tar stream.
package layering
