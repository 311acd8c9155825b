package base

import (
	"errors"
	"fmt"
	"io"

	nlcompress "github.com/nixlayer/nixlayer/compression"
)

// The compression of foreign archives and blobs is detected and read by
// package compression's hardened readers; these names keep the reader's
// call sites, with the limits of this package and its errors.

// compression is the compression of a stream, found by its magic bytes.
type compression = nlcompress.Compression

const (
	uncompressed = nlcompress.None
	gzipped      = nlcompress.Gzip
	zstded       = nlcompress.Zstd
	xzed         = nlcompress.Xz
)

// xzMagic is only used for its length: the bytes sniff needs.
var xzMagic = make([]byte, nlcompress.MagicLen)

func sniff(b []byte) compression { return nlcompress.Sniff(b) }

func peek(r io.Reader) (compression, io.Reader, error) { return nlcompress.Peek(r) }

func decompress(r io.Reader, c compression) (io.ReadCloser, error) {
	rc, err := nlcompress.Decompress(r, c, maxZstdWindow)
	return rc, baseError(err)
}

func newXzReader(ra io.ReaderAt, size int64) (io.Reader, error) {
	r, err := nlcompress.NewXzReader(ra, size, maxXzDict)
	return r, baseError(err)
}

// baseError makes package compression's errors match this package's
// ErrLimit and ErrFormat too, keeping their text.
func baseError(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, nlcompress.ErrLimit):
		return alsoIs{err, ErrLimit}
	case errors.Is(err, nlcompress.ErrUnsupported):
		return alsoIs{err, ErrFormat}
	}
	return err
}

// alsoIs is err, which also matches target.
type alsoIs struct{ err, target error }

func (e alsoIs) Error() string   { return e.err.Error() }
func (e alsoIs) Unwrap() []error { return []error{e.err, e.target} }

// budget is a count of bytes left, shared by the readers that draw on it.
type budget struct {
	left int64
	max  int64
	what string
}

func newBudget(max int64, what string) *budget { return &budget{left: max, max: max, what: what} }

// take draws n bytes, failing with ErrLimit when fewer are left.
func (b *budget) take(n int64) error {
	if n > b.left {
		b.left = -1
		return fmt.Errorf("%s exceeds %d bytes: %w", b.what, b.max, ErrLimit)
	}
	b.left -= n
	return nil
}

// limitReader reads from r while its budget lasts, and fails after.
type limitReader struct {
	r io.Reader
	b *budget
}

func (l *limitReader) Read(p []byte) (int, error) {
	n, err := l.r.Read(p)
	if terr := l.b.take(int64(n)); terr != nil {
		return 0, terr
	}
	return n, err
}
