package format

import (
	"fmt"

	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/nixlayer/nixlayer/compression"
)

// Format is an output format.
type Format string

// The output formats.
const (
	DockerArchive Format = "docker-archive"
	OCILayout     Format = "oci-layout"
	OCIArchive    Format = "oci-archive"
)

// Parse checks a format name; empty means docker-archive.
func Parse(s string) (Format, error) {
	switch f := Format(s); f {
	case "":
		return DockerArchive, nil
	case DockerArchive, OCILayout, OCIArchive:
		return f, nil
	}
	return "", fmt.Errorf("unknown format %q: use docker-archive, oci-layout or oci-archive", s)
}

// OCI reports whether the format uses OCI media types.
func (f Format) OCI() bool { return f != DockerArchive }

// Dir reports whether the format is a directory rather than a file.
func (f Format) Dir() bool { return f == OCILayout }

// ociMediaTypes maps Docker media types to their OCI equivalents.
var ociMediaTypes = map[types.MediaType]types.MediaType{
	types.DockerManifestSchema2:   types.OCIManifestSchema1,
	types.DockerConfigJSON:        types.OCIConfigJSON,
	types.DockerLayer:             types.OCILayer,
	types.DockerUncompressedLayer: types.OCIUncompressedLayer,
	types.DockerForeignLayer:      types.OCIRestrictedLayer,
}

// dockerMediaTypes maps OCI media types to their Docker equivalents.
var dockerMediaTypes = map[types.MediaType]types.MediaType{}

func init() {
	for d, o := range ociMediaTypes {
		dockerMediaTypes[o] = d
	}
}

// MediaType returns mt in the flavour of format f: a Docker media type for
// docker-archive, an OCI one otherwise; a type with no equivalent (zstd
// layers are OCI only) is returned unchanged.
func (f Format) MediaType(mt types.MediaType) types.MediaType {
	m := dockerMediaTypes
	if f.OCI() {
		m = ociMediaTypes
	}
	if c, ok := m[mt]; ok {
		return c
	}
	return mt
}

// layerSuffix names a layer file of a docker-archive after its media type.
func layerSuffix(mt types.MediaType) string {
	c, _ := compression.FromMediaType(mt)
	return c.Suffix()
}
