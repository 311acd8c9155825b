// Package layers decides how a closure is split into image layers and writes
// each layer as a deterministic tar stream: sorted entries, parents first,
// fixed owners and times, hard links flattened, with the diffID and the
// compressed digest computed in the same pass as the bytes are written.
//
// Layering strategies share one seam: a Strategy gets an Input (graph,
// roots, sizes, layer budget) and registers under a name (Register,
// Lookup, Names); "none", "popularity", "auto" and "size" are registered so.
// The write path takes Options (mtime, compression) and a context that stops
// it between entries and between the chunks of a file.
//
// The compressors are package compression's (Compression here is an alias
// of compression.Compression).
package layers
