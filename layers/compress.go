package layers

import "github.com/nixlayer/nixlayer/compression"

// Compression is how a layer blob is compressed; package compression holds
// the writers, readers, detection and media types. The alias keeps the
// layer writers' signatures.
type Compression = compression.Compression

// The compressions a layer can have.
const (
	Gzip = compression.Gzip
	Zstd = compression.Zstd
	None = compression.None
)
