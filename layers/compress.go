package layers

import (
	"fmt"
	"io"

	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// Compression is how a layer blob is compressed.
type Compression string

// The compressions a layer can have.
const (
	Gzip Compression = "gzip"
	Zstd Compression = "zstd"
	None Compression = "none"
)

// Fixed levels: the same input gives the same bytes on every machine.
const (
	gzipLevel = 6
	zstdLevel = zstd.SpeedDefault // zstd level 3
)

// ParseCompression checks a compression name; empty means gzip.
func ParseCompression(s string) (Compression, error) {
	switch c := Compression(s); c {
	case "":
		return Gzip, nil
	case Gzip, Zstd, None:
		return c, nil
	}
	return "", fmt.Errorf("unknown compression %q: use gzip, zstd or none", s)
}

// NewWriter returns a compressing writer over w. Close it to flush (also
// after an error: a zstd writer holds shared buffers until closed); it does
// not close w. Output depends only on the input: gzip has no name and mtime
// 0, zstd is a run of frames cut at fixed offsets (see zstdFrameSize) with
// no dictionary.
func (c Compression) NewWriter(w io.Writer) (io.WriteCloser, error) {
	switch c {
	case Gzip:
		return gzip.NewWriterLevel(w, gzipLevel)
	case Zstd:
		return newZstdWriter(w)
	case None:
		return nopCloser{w}, nil
	}
	return nil, fmt.Errorf("unknown compression %q", c)
}

// MediaType returns the layer media type for c, in OCI or Docker flavour.
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

type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }
