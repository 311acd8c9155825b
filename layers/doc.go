// Package layers writes image layers as deterministic tar streams: entries
// from the store and the image's contents (sorted, parents first, fixed
// owners and times, hard links flattened), the writer that computes the
// diffID and the compressed digest in the same pass as the bytes are
// written, and the layer descriptors. A store path is named in the image
// where it is on the build machine, in the closure's store directory
// (StorePath, StoreDirs): no store directory is assumed. Contents reach
// the root linked (symlinkJoin's way) or copied (dockerTools' buildImage's
// rsync, symlinks to directories followed or kept: ContentsMode).
//
// The write path takes Options (mtime, compression) and a context that stops
// it between entries and between the chunks of a file. Which store paths
// share a layer is package layering's choice; this package does not read
// closure graphs.
//
// The compressors are package compression's (Compression here is an alias
// of compression.Compression).
package layers
