package compression

import "github.com/google/go-containerregistry/pkg/v1/types"

// The media types of layers, by compression: the one place that tells a
// layer's compression from its media type and back.

// MediaType returns the layer media type for c, in OCI or Docker flavour
// (zstd layers are OCI only).
func (c Compression) MediaType(oci bool) types.MediaType {
	switch {
	case c == Zstd:
		return types.OCILayerZStd
	case c == None && oci:
		return types.OCIUncompressedLayer
	case c == None:
		return types.DockerUncompressedLayer
	case oci:
		return types.OCILayer
	}
	return types.DockerLayer
}

// LayerMediaType returns the layer media type for c, in OCI or Docker
// flavour, and false for a compression no layer media type names (xz).
func (c Compression) LayerMediaType(oci bool) (types.MediaType, bool) {
	switch c {
	case Gzip, Zstd, None:
		return c.MediaType(oci), true
	}
	return "", false
}

// FromMediaType returns the compression of a layer of media type mt
// (Docker, OCI, foreign and non-distributable layers), and false when mt
// is not a layer media type.
func FromMediaType(mt types.MediaType) (Compression, bool) {
	switch mt {
	case types.DockerLayer, types.OCILayer, types.DockerForeignLayer, types.OCIRestrictedLayer:
		return Gzip, true
	case types.OCILayerZStd:
		return Zstd, true
	case types.DockerUncompressedLayer, types.OCIUncompressedLayer, types.OCIUncompressedRestrictedLayer:
		return None, true
	}
	return "", false
}

// Suffix is the file name suffix of a layer compressed with c: ".tar.gz",
// ".tar.zst", or ".tar" for none (and for an unknown compression).
func (c Compression) Suffix() string {
	switch c {
	case Gzip:
		return ".tar.gz"
	case Zstd:
		return ".tar.zst"
	}
	return ".tar"
}
