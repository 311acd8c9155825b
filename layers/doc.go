// Package layers decides how a closure is split into image layers and writes
// each layer as a deterministic tar stream: sorted entries, parents first,
// fixed owners and times, hard links flattened, with the diffID and the
// compressed digest computed in the same pass as the bytes are written.
// The compressors are package compression's (Compression here is an alias
// of compression.Compression).
package layers
