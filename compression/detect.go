package compression

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"github.com/klauspost/compress/gzip"
	"io"

	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"
)

// The readers here are for foreign blobs (base images, pushed archives):
// compression found by magic bytes, bounded decoder memory. Callers bound
// the decompressed size themselves (image/base's budgets).

// Errors of the hardened readers.
var (
	// ErrLimit: a stream asks for more memory than allowed.
	ErrLimit = errors.New("limit exceeded")
	// ErrUnsupported: a compression this reader does not take.
	ErrUnsupported = errors.New("unsupported compression")
)

var (
	gzipMagic = []byte{0x1f, 0x8b}
	zstdMagic = []byte{0x28, 0xb5, 0x2f, 0xfd}
	xzMagic   = []byte{0xfd, '7', 'z', 'X', 'Z', 0x00}
)

// MagicLen is how many leading bytes Sniff needs.
const MagicLen = 6

// Label names the compression of a stream as reports show it:
// "uncompressed", "gzip", "zstd" or "xz".
func (c Compression) Label() string {
	if c == None || c == "" {
		return "uncompressed"
	}
	return string(c)
}

// Sniff returns the compression whose magic starts b.
func Sniff(b []byte) Compression {
	switch {
	case bytes.HasPrefix(b, gzipMagic):
		return Gzip
	case bytes.HasPrefix(b, zstdMagic):
		return Zstd
	case bytes.HasPrefix(b, xzMagic):
		return Xz
	}
	return None
}

// Peek finds the compression of r and returns a reader that still yields
// all of r.
func Peek(r io.Reader) (Compression, io.Reader, error) {
	br := bufio.NewReader(r)
	b, err := br.Peek(len(xzMagic))
	if err != nil && err != io.EOF {
		return "", nil, err
	}
	return Sniff(b), br, nil
}

// Decompress returns the decompressed stream of r, which is compressed
// with c, for input that may be hostile: one zstd decoder goroutine in low
// memory mode with a window of at most maxZstdWindow bytes. xz streams are
// not accepted here (ErrUnsupported): they need a seekable input to check
// their dictionary size first (NewXzReader).
func Decompress(r io.Reader, c Compression, maxZstdWindow uint64) (io.ReadCloser, error) {
	switch c {
	case Gzip:
		z, err := gzip.NewReader(r)
		if err != nil {
			return nil, err // not a typed nil in the interface
		}
		return z, nil
	case Zstd:
		d, err := zstd.NewReader(r, zstd.WithDecoderConcurrency(1), zstd.WithDecoderLowmem(true),
			zstd.WithDecoderMaxWindow(maxZstdWindow))
		if err != nil {
			return nil, err
		}
		return d.IOReadCloser(), nil
	case None:
		return io.NopCloser(r), nil
	}
	return nil, fmt.Errorf("%s compression is not supported here: %w", c, ErrUnsupported)
}

// NewXzReader checks every block's dictionary size in the xz file ra (of
// the given size) against maxXzDict, then returns its decompressed stream.
// The xz library allocates the dictionary a block header asks for, so an
// unchecked header could ask for 4 GiB.
func NewXzReader(ra io.ReaderAt, size, maxXzDict int64) (io.Reader, error) {
	if err := checkXzDicts(ra, size, maxXzDict); err != nil {
		return nil, err
	}
	return xz.NewReader(io.NewSectionReader(ra, 0, size))
}

// checkXzDicts walks the xz streams of ra backwards, from each stream
// footer to its index and from the index to each block header (the xz file
// format, sections 2 and 3), and checks every LZMA2 dictionary size.
func checkXzDicts(ra io.ReaderAt, size, maxXzDict int64) error {
	corrupt := func(what string) error { return fmt.Errorf("corrupt xz stream: %s", what) }
	read := func(off, n int64) ([]byte, error) {
		if off < 0 || n < 0 || off+n > size {
			return nil, corrupt("offset out of range")
		}
		b := make([]byte, n)
		if _, err := ra.ReadAt(b, off); err != nil {
			return nil, err
		}
		return b, nil
	}
	pos := size
	for pos > 0 {
		if b, err := read(pos-4, 4); err == nil && bytes.Equal(b, []byte{0, 0, 0, 0}) {
			pos -= 4 // stream padding
			continue
		}
		footer, err := read(pos-12, 12)
		if err != nil {
			return err
		}
		if footer[10] != 'Y' || footer[11] != 'Z' {
			return corrupt("bad stream footer")
		}
		indexSize := (int64(binary.LittleEndian.Uint32(footer[4:8])) + 1) * 4
		indexStart := pos - 12 - indexSize
		index, err := read(indexStart, indexSize)
		if err != nil {
			return err
		}
		if index[0] != 0 {
			return corrupt("bad index indicator")
		}
		ix := bytes.NewReader(index[1:])
		n, err := binary.ReadUvarint(ix)
		if err != nil {
			return corrupt("bad index")
		}
		var blocks []int64 // padded sizes
		var total int64
		for i := uint64(0); i < n; i++ {
			unpadded, err1 := binary.ReadUvarint(ix)
			_, err2 := binary.ReadUvarint(ix)
			if err1 != nil || err2 != nil || unpadded > uint64(size) {
				return corrupt("bad index record")
			}
			padded := (int64(unpadded) + 3) &^ 3
			blocks = append(blocks, padded)
			total += padded
			if total > size {
				return corrupt("index larger than file")
			}
		}
		streamStart := indexStart - total - 12
		if _, err := read(streamStart, 12); err != nil {
			return err
		}
		off := streamStart + 12
		for _, padded := range blocks {
			if err := checkXzBlockHeader(read, off, maxXzDict); err != nil {
				return err
			}
			off += padded
		}
		pos = streamStart
	}
	return nil
}

// checkXzBlockHeader checks the LZMA2 dictionary sizes of the block header
// at off.
func checkXzBlockHeader(read func(off, n int64) ([]byte, error), off, maxXzDict int64) error {
	first, err := read(off, 1)
	if err != nil {
		return err
	}
	h, err := read(off, (int64(first[0])+1)*4)
	if err != nil {
		return err
	}
	r := bytes.NewReader(h[2:])
	flags := h[1]
	if flags&0x40 != 0 {
		if _, err := binary.ReadUvarint(r); err != nil {
			return fmt.Errorf("corrupt xz block header")
		}
	}
	if flags&0x80 != 0 {
		if _, err := binary.ReadUvarint(r); err != nil {
			return fmt.Errorf("corrupt xz block header")
		}
	}
	for f := 0; f <= int(flags&3); f++ {
		id, err1 := binary.ReadUvarint(r)
		psize, err2 := binary.ReadUvarint(r)
		if err1 != nil || err2 != nil || psize > uint64(r.Len()) {
			return fmt.Errorf("corrupt xz block header")
		}
		props := make([]byte, psize)
		_, _ = io.ReadFull(r, props)
		if id == 0x21 && psize == 1 {
			code := props[0] & 0x3f
			dict := int64(1<<32 - 1)
			if code < 40 {
				dict = int64(2|code&1) << (code/2 + 11)
			}
			if dict > maxXzDict {
				return fmt.Errorf("xz dictionary of %d bytes is over the %d byte limit: %w", dict, maxXzDict, ErrLimit)
			}
		}
	}
	return nil
}
