package compression

import (
	"fmt"
	"io"
	"runtime"
	"sync"
	"time"

	"github.com/klauspost/compress/zstd"
	"github.com/klauspost/pgzip"
)

// Compression is how a layer blob is compressed.
type Compression string

// The compressions a layer can have.
const (
	Gzip Compression = "gzip"
	Zstd Compression = "zstd"
	None Compression = "none"
	// Xz is only read (foreign images, pullImage inputs), never written.
	Xz Compression = "xz"
)

// Fixed levels: the same input gives the same bytes on every machine.
const (
	gzipLevel = 6
	zstdLevel = zstd.SpeedDefault // zstd level 3
)

// gzipBlock is the input each goroutine of a gzip writer deflates (pgzip,
// as pigz does: one gzip member whose blocks are deflated in parallel,
// each with the last 32 KiB of the previous block as its dictionary). The
// bytes depend on the block size, not on how many blocks are in flight.
const gzipBlock = 1 << 20

// Parse checks a compression name: gzip, zstd or none (a default is the
// caller's to choose, spec.DefaultCompression).
func Parse(s string) (Compression, error) {
	switch c := Compression(s); c {
	case Gzip, Zstd, None:
		return c, nil
	}
	return "", fmt.Errorf("unknown compression %q: use gzip, zstd or none", s)
}

// NewWriter returns a compressing writer over w. Close it to flush (also
// after an error: a zstd writer holds shared buffers until closed); it does
// not close w. Output depends only on the input: gzip has no name and mtime
// 0 and fixed blocks (see gzipBlock), zstd is a run of frames cut at fixed
// offsets (see zstdFrameSize) with no dictionary.
func (c Compression) NewWriter(w io.Writer) (io.WriteCloser, error) {
	switch c {
	case Gzip:
		return newGzipWriter(w)
	case Zstd:
		return newZstdWriter(w)
	case None:
		return nopCloser{w}, nil
	}
	return nil, fmt.Errorf("unknown compression %q", c)
}

// gzipWriters keeps pgzip writers for the next layer: their block buffers
// and deflate states are worth reusing.
var gzipWriters sync.Pool

// gzipWriter is a pooled pgzip writer that goes back to the pool on its
// first Close.
type gzipWriter struct {
	*pgzip.Writer
	closed bool
}

func newGzipWriter(w io.Writer) (io.WriteCloser, error) {
	gw, _ := gzipWriters.Get().(*pgzip.Writer)
	if gw == nil {
		var err error
		if gw, err = pgzip.NewWriterLevel(w, gzipLevel); err != nil {
			return nil, err
		}
	} else {
		gw.Reset(w)
	}
	gw.ModTime = time.Unix(0, 0) // pgzip writes the zero Time as a date in 2042
	if err := gw.SetConcurrency(gzipBlock, max(2, runtime.GOMAXPROCS(0))); err != nil {
		return nil, err
	}
	return &gzipWriter{Writer: gw}, nil
}

func (g *gzipWriter) Close() error {
	if g.closed {
		return nil
	}
	g.closed = true
	err := g.Writer.Close()
	gzipWriters.Put(g.Writer)
	return err
}

type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }
