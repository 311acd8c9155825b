package layers

import (
	"archive/tar"
	"crypto/sha256"
	"fmt"
	"hash"
	"io"
	"os"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// Writer writes entries as a deterministic tar stream. It mirrors
// archive/tar: NewWriter, WriteEntry for each entry, Close.
type Writer struct {
	tw    *tar.Writer
	mtime time.Time
	buf   []byte
}

// NewWriter returns a Writer that stamps every entry with mtime.
func NewWriter(w io.Writer, mtime time.Time) *Writer {
	return &Writer{tw: tar.NewWriter(w), mtime: mtime.UTC().Truncate(time.Second)}
}

// Header returns the tar header written for e: fixed time, explicit owner,
// no access or change time, format chosen by archive/tar (USTAR, or PAX
// when a name or size needs it).
func (w *Writer) Header(e Entry) *tar.Header {
	h := &tar.Header{
		Typeflag: e.Type,
		Name:     e.Name,
		Mode:     e.Mode,
		Uid:      e.Uid,
		Gid:      e.Gid,
		Uname:    e.Uname,
		Gname:    e.Gname,
		ModTime:  w.mtime,
	}
	switch e.Type {
	case tar.TypeDir:
		h.Name += "/"
	case tar.TypeSymlink:
		h.Linkname = e.Linkname
	case tar.TypeReg:
		h.Size = e.Size
	}
	return h
}

// WriteEntry writes one entry and, for a regular file, its content.
func (w *Writer) WriteEntry(e Entry) error {
	if err := w.tw.WriteHeader(w.Header(e)); err != nil {
		return fmt.Errorf("writing tar header for /%s: %w", e.Name, err)
	}
	if e.Type != tar.TypeReg {
		return nil
	}
	if e.Source == "" {
		if int64(len(e.Data)) != e.Size {
			return fmt.Errorf("writing /%s: %d bytes of data for a size of %d", e.Name, len(e.Data), e.Size)
		}
		_, err := w.tw.Write(e.Data)
		return err
	}
	f, err := os.Open(e.Source)
	if err != nil {
		return fmt.Errorf("reading %s for /%s: %w", e.Source, e.Name, err)
	}
	defer f.Close()
	if w.buf == nil {
		w.buf = make([]byte, 256<<10)
	}
	n, err := io.CopyBuffer(w.tw, io.LimitReader(f, e.Size), w.buf)
	if err != nil {
		return fmt.Errorf("copying %s into the layer: %w", e.Source, err)
	}
	if n != e.Size {
		return fmt.Errorf("%s changed while the layer was written: %d bytes read, %d expected", e.Source, n, e.Size)
	}
	return nil
}

// Close writes the tar trailer. It does not close the underlying writer.
func (w *Writer) Close() error { return w.tw.Close() }

// Descriptor identifies a written layer.
type Descriptor struct {
	DiffID           v1.Hash // sha256 of the uncompressed tar
	Digest           v1.Hash // sha256 of the blob as stored (compressed)
	Size             int64   // size of the blob as stored
	UncompressedSize int64   // size of the tar
}

// Write writes entries as a tar stream compressed with c to dst, computing
// the diffID and the blob digest in the same pass.
func Write(dst io.Writer, entries []Entry, mtime time.Time, c Compression) (Descriptor, error) {
	return WriteFunc(dst, func(emit func(Entry) error) error {
		for _, e := range entries {
			if err := emit(e); err != nil {
				return err
			}
		}
		return nil
	}, mtime, c)
}

// WriteFunc is Write for entries that gen produces one by one, in write
// order, so that a large layer need not be held in memory.
func WriteFunc(dst io.Writer, gen func(emit func(Entry) error) error, mtime time.Time, c Compression) (Descriptor, error) {
	return write(dst, gen, mtime, c, true)
}

// WriteBlob is WriteFunc without the digests, for a caller that checks the
// blob's bytes itself: it returns only the sizes.
func WriteBlob(dst io.Writer, gen func(emit func(Entry) error) error, mtime time.Time, c Compression) (Descriptor, error) {
	return write(dst, gen, mtime, c, false)
}

func write(dst io.Writer, gen func(emit func(Entry) error) error, mtime time.Time, c Compression, hash bool) (Descriptor, error) {
	blob := newCounter(dst, hash)
	zw, err := c.NewWriter(blob)
	if err != nil {
		return Descriptor{}, err
	}
	defer zw.Close() // frees the compressor's buffers when gen fails; a second Close is harmless
	tarBytes := newCounter(zw, hash)
	if c == None {
		// The blob is the tar: hash it once.
		tarBytes = blob
	}
	tw := NewWriter(tarBytes, mtime)
	if err := gen(tw.WriteEntry); err != nil {
		return Descriptor{}, err
	}
	if err := tw.Close(); err != nil {
		return Descriptor{}, fmt.Errorf("finishing layer tar: %w", err)
	}
	if err := zw.Close(); err != nil {
		return Descriptor{}, fmt.Errorf("finishing %s compression: %w", c, err)
	}
	d := Descriptor{
		DiffID:           tarBytes.sum(),
		Digest:           blob.sum(),
		Size:             blob.n,
		UncompressedSize: tarBytes.n,
	}
	return d, nil
}

// counter counts the bytes written through it and, when it has a hash,
// hashes them.
type counter struct {
	w io.Writer
	h hash.Hash
	n int64
}

func newCounter(w io.Writer, hashed bool) *counter {
	c := &counter{w: w}
	if hashed {
		c.h = sha256.New()
	}
	return c
}

func (c *counter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	if c.h != nil {
		c.h.Write(p[:n])
	}
	c.n += int64(n)
	return n, err
}

// sum is the sha256 of the bytes, or the zero Hash without one.
func (c *counter) sum() v1.Hash {
	if c.h == nil {
		return v1.Hash{}
	}
	return v1.Hash{Algorithm: "sha256", Hex: fmt.Sprintf("%x", c.h.Sum(nil))}
}
