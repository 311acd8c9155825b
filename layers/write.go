package layers

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"fmt"
	"hash"
	"io"
	"os"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/nixlayer/nixlayer/internal/regularfile"
)

// Writer writes entries as a deterministic tar stream. It mirrors
// archive/tar: NewWriter, WriteEntry for each entry, Close.
type Writer struct {
	tw    *tar.Writer
	mtime time.Time
	buf   []byte
	// ctx, when set, stops WriteEntry between entries and between the
	// chunks of a file (see WriteFunc).
	ctx context.Context
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
	case tar.TypeSymlink, tar.TypeLink:
		h.Linkname = e.Linkname
	case tar.TypeReg:
		h.Size = e.Size
	case tar.TypeChar, tar.TypeBlock:
		h.Devmajor, h.Devminor = e.Devmajor, e.Devminor
	}
	return h
}

// WriteEntry writes one entry and, for a regular file, its content.
func (w *Writer) WriteEntry(e Entry) error {
	if err := w.err(); err != nil {
		return err
	}
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
	f, err := openSource(e)
	if err != nil {
		return err
	}
	defer f.Close()
	if w.buf == nil {
		w.buf = make([]byte, 256<<10)
	}
	var src io.Reader = io.LimitReader(f, e.Size)
	if w.ctx != nil {
		src = ctxReader{w.ctx, src}
	}
	n, err := io.CopyBuffer(w.tw, src, w.buf)
	if err != nil {
		return fmt.Errorf("copying %s into the layer: %w", e.Source, err)
	}
	if n != e.Size {
		return fmt.Errorf("%s changed while the layer was written: %d bytes read, %d expected", e.Source, n, e.Size)
	}
	return nil
}

// openSource opens the file of e's content: a regular file, not through a
// symlink at Source, whose size is e's. A file that changed since its
// entry was made (a root script's tree, a store path) is an error rather
// than a layer whose bytes differ from what was planned.
func openSource(e Entry) (*os.File, error) {
	f, err := regularfile.Open(e.Source, true)
	if err != nil {
		return nil, fmt.Errorf("reading %s for /%s: %w", e.Source, e.Name, err)
	}
	fi, err := f.Stat()
	if err == nil && fi.Size() != e.Size {
		err = fmt.Errorf("it is %d bytes, not the %d it had when the layer was planned: it changed", fi.Size(), e.Size)
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("reading %s for /%s: %w", e.Source, e.Name, err)
	}
	return f, nil
}

// err is the context's error, if it is done.
func (w *Writer) err() error {
	if w.ctx == nil {
		return nil
	}
	return w.ctx.Err()
}

// ctxReader fails with the context's error once it is done, checked before
// every read: once per chunk of a file copied into a layer.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
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

// Options says how a layer is written: the mtime of every entry and the
// compression of the blob. The zero value is invalid (Compression "").
type Options struct {
	// MTime stamps every entry.
	MTime time.Time
	// Compression compresses the blob.
	Compression Compression
}

// Gen produces the entries of a layer, in write order, giving each to emit.
type Gen func(emit func(Entry) error) error

// Entries returns a Gen that produces entries.
func Entries(entries []Entry) Gen {
	return func(emit func(Entry) error) error {
		for _, e := range entries {
			if err := emit(e); err != nil {
				return err
			}
		}
		return nil
	}
}

// Write writes entries as a tar stream compressed with c to dst, computing
// the diffID and the blob digest in the same pass.
func Write(dst io.Writer, entries []Entry, mtime time.Time, c Compression) (Descriptor, error) {
	return WriteFunc(context.Background(), dst, Entries(entries), Options{MTime: mtime, Compression: c})
}

// WriteFunc writes the entries gen produces one by one, in write order, as
// a tar stream compressed as opts says, to dst, computing the diffID and
// the blob digest in the same pass; a large layer is never held in memory.
// It stops with ctx's error when ctx is done, checked before every entry
// and every chunk of a file read.
func WriteFunc(ctx context.Context, dst io.Writer, gen Gen, opts Options) (Descriptor, error) {
	return write(ctx, dst, gen, opts, true)
}

// WriteBlob is WriteFunc without the digests, for a caller that checks the
// blob's bytes itself: it returns only the sizes.
func WriteBlob(ctx context.Context, dst io.Writer, gen Gen, opts Options) (Descriptor, error) {
	return write(ctx, dst, gen, opts, false)
}

func write(ctx context.Context, dst io.Writer, gen Gen, opts Options, hash bool) (Descriptor, error) {
	c := opts.Compression
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
	tw := NewWriter(tarBytes, opts.MTime)
	tw.ctx = ctx
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
