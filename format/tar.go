package format

import (
	"archive/tar"
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/nixlayer/nixlayer/layers"
)

const block = 512

// maxUSTARSize is the largest size a USTAR header holds (8 GiB - 1).
const maxUSTARSize = 1<<33 - 1

// tarWriter writes an archive's outer tar: entries one after another, each
// a one-block header, its bytes and zero padding. With a file under it, it
// can also write an entry whose size is known only after its bytes (see
// produce).
type tarWriter struct {
	bw  *bufio.Writer
	out *os.File // nil when the output is not seekable
	off int64    // bytes written so far
	hw  *layers.Writer
}

func newTarWriter(w io.Writer, mtime time.Time) *tarWriter {
	t := &tarWriter{bw: bufio.NewWriterSize(w, 1<<20), hw: layers.NewWriter(nil, mtime)}
	t.out, _ = w.(*os.File)
	return t
}

// header renders the header of an entry: a directory when size < 0, else a
// file of size bytes. It is always one block (USTAR, GNU above 8 GiB).
func (t *tarWriter) header(name string, size int64) ([]byte, error) {
	e := layers.Dir(name, 0o755)
	if size >= 0 {
		e = layers.File(name, 0o644, nil)
		e.Size = size
	}
	h := t.hw.Header(e)
	if size > maxUSTARSize {
		h.Format = tar.FormatGNU
	}
	var buf bytes.Buffer
	if err := tar.NewWriter(&buf).WriteHeader(h); err != nil {
		return nil, fmt.Errorf("writing tar header for %s: %w", name, err)
	}
	if buf.Len() != block {
		return nil, fmt.Errorf("writing tar header for %s: %d bytes, not one block", name, buf.Len())
	}
	return buf.Bytes(), nil
}

func (t *tarWriter) write(p []byte) error {
	n, err := t.bw.Write(p)
	t.off += int64(n)
	return err
}

func (t *tarWriter) pad() error {
	if r := t.off % block; r != 0 {
		return t.write(make([]byte, block-r))
	}
	return nil
}

// dir writes a directory entry.
func (t *tarWriter) dir(name string) error {
	h, err := t.header(name, -1)
	if err != nil {
		return err
	}
	return t.write(h)
}

// file writes a file entry of size bytes read from r.
func (t *tarWriter) file(name string, size int64, r io.Reader) error {
	h, err := t.header(name, size)
	if err != nil {
		return err
	}
	if err := t.write(h); err != nil {
		return err
	}
	n, err := io.Copy(t.bw, io.LimitReader(r, size))
	t.off += n
	if err != nil {
		return fmt.Errorf("writing %s: %w", name, err)
	}
	if err := atEnd(r, n, size); err != nil {
		return fmt.Errorf("writing %s: %w", name, err)
	}
	return t.pad()
}

// produce writes a file entry whose bytes write writes and whose name is
// known once they are written: a placeholder header, the bytes, then the
// real header over the placeholder. When name returns "" (the blob is
// already in the archive) the entry is cut off again.
func (t *tarWriter) produce(write func(io.Writer) (layers.Descriptor, error), name func(layers.Descriptor) string) (layers.Descriptor, error) {
	if t.out == nil {
		return layers.Descriptor{}, fmt.Errorf("writing a layer into an archive that is not a file: its size must be known first")
	}
	start := t.off
	if err := t.write(make([]byte, block)); err != nil {
		return layers.Descriptor{}, err
	}
	cw := &countWriter{t: t}
	d, err := write(cw)
	if err != nil {
		return d, err
	}
	if cw.n != d.Size {
		return d, fmt.Errorf("writing layer %s: %d bytes written, %d described", d.Digest, cw.n, d.Size)
	}
	n := name(d)
	if err := t.bw.Flush(); err != nil {
		return d, err
	}
	if n == "" {
		t.off = start
		if err := t.out.Truncate(start); err != nil {
			return d, err
		}
		_, err := t.out.Seek(start, io.SeekStart)
		return d, err
	}
	h, err := t.header(n, d.Size)
	if err != nil {
		return d, err
	}
	if _, err := t.out.WriteAt(h, start); err != nil {
		return d, fmt.Errorf("writing tar header for %s: %w", n, err)
	}
	return d, t.pad()
}

// close writes the trailer (two zero blocks) and flushes.
func (t *tarWriter) close() error {
	if err := t.write(make([]byte, 2*block)); err != nil {
		return err
	}
	return t.bw.Flush()
}

type countWriter struct {
	t *tarWriter
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.t.bw.Write(p)
	c.n += int64(n)
	c.t.off += int64(n)
	return n, err
}

// atEnd checks that r, of which n bytes were read, held exactly size bytes
// and ends without an error: a verifying reader reports a digest mismatch
// only at its end.
func atEnd(r io.Reader, n, size int64) error {
	if n != size {
		return fmt.Errorf("%d bytes, %d expected", n, size)
	}
	var b [1]byte
	for {
		m, err := r.Read(b[:])
		if m > 0 {
			return fmt.Errorf("more than the %d bytes expected", size)
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}
