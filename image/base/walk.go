package base

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"fmt"
	"io"
	"path"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// WalkFunc is called by Walk for each entry of a layer. r yields the content
// of a regular file and nothing for other entries.
type WalkFunc func(layer int, hdr *tar.Header, r io.Reader) error

// walkState holds the budgets shared by all the layers of one walk.
type walkState struct {
	stream  *budget // decompressed bytes of all layers
	content *budget // sizes of all entries, 512 bytes per header included
	names   *budget // bytes of names and link targets
	entries int
	max     int
}

func (img *Image) newWalkState() *walkState {
	lim := img.opts.limits
	what := fmt.Sprintf("the layers of image %q", img.src)
	return &walkState{
		stream:  newBudget(lim.MaxBytes, "the decompressed size of "+what),
		content: newBudget(lim.MaxBytes, "the entry sizes of "+what),
		names:   newBudget(lim.MaxNameBytes, "the names in "+what),
		max:     lim.MaxEntries,
	}
}

// Walk calls fn for every entry of every layer, bottom layer first, each
// layer in the order of its tar stream. It reads every layer once, checking
// its blob against the manifest's digest and size and its tar stream
// against the config's diffID when the layer ends, and every limit.
//
// fn sees a cleaned header: Name (and a hard link's Linkname) relative to
// the image root, without "./", leading or trailing slashes; a name that is
// absolute or has a ".." component is an ErrUnsafe error; the root entry
// ("./") and PAX global headers are not passed; TypeRegA, TypeCont and
// sparse files are passed as TypeReg (sparse files expanded); whiteouts,
// devices and FIFOs are passed as they are; other types are an error.
//
// If Walk fails at the end of a layer, fn has already seen its entries:
// discard what fn built.
func (img *Image) Walk(fn WalkFunc) error {
	st := img.newWalkState()
	for _, l := range img.layers {
		if err := l.walk(st, fn); err != nil {
			return err
		}
	}
	return nil
}

// walk reads one layer for Walk.
func (l *layer) walk(st *walkState, fn WalkFunc) error {
	rc, _, err := l.img.store.open(l.blob)
	if err != nil {
		return err
	}
	defer rc.Close()
	blobHash := sha256.New()
	var blobSize int64
	src := io.TeeReader(rc, writerFunc(func(p []byte) (int, error) {
		blobSize += int64(len(p))
		return blobHash.Write(p)
	}))
	c, br, err := peek(src)
	if err != nil {
		return fmt.Errorf("reading %s: %w", l, err)
	}
	d, err := decompress(br, c)
	if err != nil {
		return fmt.Errorf("reading %s: %w", l, err)
	}
	defer d.Close()
	tarHash := sha256.New()
	stream := &limitReader{ctxReader{l.img.opts.ctx, io.TeeReader(d, tarHash)}, st.stream}
	tr := tar.NewReader(stream)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("reading %s: %w", l, err)
		}
		if err := l.img.opts.ctx.Err(); err != nil {
			return fmt.Errorf("reading %s: stopped: %w", l, err)
		}
		if st.entries++; st.entries > st.max {
			return fmt.Errorf("reading %s: more than %d entries in all layers: %w", l, st.max, ErrLimit)
		}
		skip, err := cleanHeader(hdr)
		if err != nil {
			return fmt.Errorf("reading %s: %w", l, err)
		}
		if skip {
			continue
		}
		if err := st.names.take(int64(len(hdr.Name) + len(hdr.Linkname))); err != nil {
			return fmt.Errorf("reading %s: %w", l, err)
		}
		var r io.Reader = bytes.NewReader(nil)
		if hdr.Typeflag == tar.TypeReg {
			r = tr
			if err := st.content.take(hdr.Size); err != nil {
				return fmt.Errorf("reading %s at %q: %w", l, hdr.Name, err)
			}
		}
		if err := st.content.take(512); err != nil {
			return fmt.Errorf("reading %s at %q: %w", l, hdr.Name, err)
		}
		if err := fn(l.idx, hdr, r); err != nil {
			return fmt.Errorf("reading %s at %q: %w", l, hdr.Name, err)
		}
	}
	// The rest of the stream (tar padding) counts toward the diffID; the
	// rest of the blob toward its digest.
	if _, err := io.Copy(io.Discard, stream); err != nil {
		return fmt.Errorf("reading %s: %w", l, err)
	}
	if _, err := io.Copy(io.Discard, src); err != nil {
		return fmt.Errorf("reading %s: %w", l, err)
	}
	if got := (v1.Hash{Algorithm: "sha256", Hex: fmt.Sprintf("%x", tarHash.Sum(nil))}); got != l.diffID {
		return fmt.Errorf("%s: uncompressed content has diffID %s, the config says %s: %w", l, got, l.diffID, ErrDigest)
	}
	got := v1.Hash{Algorithm: "sha256", Hex: fmt.Sprintf("%x", blobHash.Sum(nil))}
	l.mu.Lock()
	known, want := l.digestKnown, l.digest
	l.mu.Unlock()
	if known && (got != want || blobSize != l.size) {
		return fmt.Errorf("%s: blob has digest %s and %d bytes, the manifest says %s and %d: %w", l, got, blobSize, want, l.size, ErrDigest)
	}
	l.setChecked(got)
	return nil
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// cleanHeader cleans hdr's names and type in place (see Walk). It reports
// skip for entries Walk does not pass on.
func cleanHeader(hdr *tar.Header) (skip bool, err error) {
	switch hdr.Typeflag {
	case tar.TypeXGlobalHeader:
		return true, nil
	case tar.TypeReg, tar.TypeRegA, tar.TypeCont, tar.TypeGNUSparse:
		hdr.Typeflag = tar.TypeReg
	case tar.TypeDir, tar.TypeSymlink, tar.TypeLink, tar.TypeChar, tar.TypeBlock, tar.TypeFifo:
	default:
		return false, fmt.Errorf("entry %q has unsupported type %q: %w", hdr.Name, hdr.Typeflag, ErrFormat)
	}
	if len(hdr.Linkname) > maxNameLen {
		return false, fmt.Errorf("entry %q: link target of %d bytes is over %d: %w", hdr.Name, len(hdr.Linkname), maxNameLen, ErrLimit)
	}
	name, err := cleanEntryName(hdr.Name)
	if err != nil {
		return false, err
	}
	if name == "" {
		return true, nil // the root directory
	}
	hdr.Name = name
	if hdr.Typeflag == tar.TypeLink {
		if hdr.Linkname, err = cleanEntryName(hdr.Linkname); err != nil {
			return false, fmt.Errorf("hard link %q: %w", name, err)
		}
		if hdr.Linkname == "" {
			return false, fmt.Errorf("hard link %q points to the root: %w", name, ErrUnsafe)
		}
	}
	return false, nil
}

// cleanEntryName cleans a layer entry name: "" is the root.
func cleanEntryName(name string) (string, error) {
	if len(name) > maxNameLen {
		return "", fmt.Errorf("name of %d bytes is over %d: %w", len(name), maxNameLen, ErrLimit)
	}
	if strings.HasPrefix(name, "/") {
		return "", fmt.Errorf("name %q is absolute: %w", name, ErrUnsafe)
	}
	for _, part := range strings.Split(name, "/") {
		if part == ".." {
			return "", fmt.Errorf("name %q leaves the root: %w", name, ErrUnsafe)
		}
	}
	c := path.Clean(name)
	if c == "." {
		return "", nil
	}
	return c, nil
}

// entryContent writes the content of the entry e to w, at most max bytes,
// by reading its layer again to its end (so the layer is checked against
// its digests again: a blob changed since the first read is an error).
func (img *Image) entryContent(e entryRef, w io.Writer, max int64) error {
	if e.layer < 0 || e.layer >= len(img.layers) {
		return fmt.Errorf("layer %d does not exist: %w", e.layer, ErrMissing)
	}
	ord, found := 0, false
	err := img.layers[e.layer].walk(img.newWalkState(), func(_ int, hdr *tar.Header, r io.Reader) error {
		if ord++; ord != e.ord {
			return nil
		}
		found = true
		n, err := io.Copy(w, io.LimitReader(r, max+1))
		if err == nil && n > max {
			err = fmt.Errorf("more than %d bytes: %w", max, ErrLimit)
		}
		return err
	})
	if err == nil && !found {
		err = fmt.Errorf("entry %d of layer %d is gone: %w", e.ord, e.layer, ErrDigest)
	}
	return err
}
