package compression

import (
	"fmt"
	"io"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// NewReader returns the decompressed stream of r, a blob written with c
// (nixlayer's own layers, whose digests the caller checks). Closing it does
// not close r. Foreign blobs go through Peek and Decompress instead.
func (c Compression) NewReader(r io.Reader) (io.ReadCloser, error) {
	switch c {
	case Gzip:
		zr, err := gzip.NewReader(r)
		if err != nil {
			return nil, err
		}
		return zr, nil
	case Zstd:
		zr, err := zstd.NewReader(r)
		if err != nil {
			return nil, err
		}
		return zr.IOReadCloser(), nil
	case None:
		return io.NopCloser(r), nil
	}
	return nil, fmt.Errorf("unknown compression %q", c)
}
