package base

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strings"

	"github.com/nixlayer/nixlayer/internal/regularfile"
)

// store is the set of files of an image archive: the entries of a tar file
// or the files under a directory.
type store interface {
	// open returns the content and size of the regular file name, a clean
	// slash-separated path relative to the archive root.
	open(name string) (io.ReadCloser, int64, error)
	// has reports whether name exists.
	has(name string) bool
	// String names the archive in errors.
	String() string
	close() error
}

// archiveName cleans a name found in an archive or in one of its JSON
// documents. It reports false for names that are absolute or leave the root.
func archiveName(name string) (string, bool) {
	c, err := cleanEntryName(name)
	return c, err == nil && c != ""
}

// tarEntry is a file of a tar store.
type tarEntry struct {
	off, size int64
	typ       byte
	link      string
}

// tarStore is an uncompressed tar file indexed by entry name.
type tarStore struct {
	f       *os.File
	name    string
	entries map[string]*tarEntry
}

// newTarStore indexes the tar file f. Entries whose names leave the root are
// ignored (nothing can refer to them); directories are not kept; a name
// that occurs twice is an error, since readers disagree on which one wins.
func newTarStore(f *os.File, name string, lim Limits) (*tarStore, error) {
	s := &tarStore{f: f, name: name, entries: map[string]*tarEntry{}}
	tr := tar.NewReader(f)
	var names int64
	for n := 0; ; n++ {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("reading archive %q: %w", name, err)
		}
		if n >= lim.MaxEntries {
			return nil, fmt.Errorf("reading archive %q: more than %d entries: %w", name, lim.MaxEntries, ErrLimit)
		}
		clean, ok := archiveName(hdr.Name)
		if !ok || hdr.Typeflag == tar.TypeDir {
			continue
		}
		if names += int64(len(clean) + len(hdr.Linkname)); names > lim.MaxNameBytes {
			return nil, fmt.Errorf("reading archive %q: names exceed %d bytes: %w", name, lim.MaxNameBytes, ErrLimit)
		}
		if _, dup := s.entries[clean]; dup {
			return nil, fmt.Errorf("reading archive %q: entry %q occurs twice: %w", name, clean, ErrUnsafe)
		}
		e := &tarEntry{typ: hdr.Typeflag, size: hdr.Size, link: hdr.Linkname}
		switch hdr.Typeflag {
		case tar.TypeReg, tar.TypeRegA:
			if isSparse(hdr) {
				return nil, fmt.Errorf("reading archive %q: entry %q is sparse: %w", name, clean, ErrFormat)
			}
			if e.off, err = f.Seek(0, io.SeekCurrent); err != nil {
				return nil, fmt.Errorf("reading archive %q: %w", name, err)
			}
			e.typ = tar.TypeReg
		case tar.TypeSymlink, tar.TypeLink:
		default:
			continue
		}
		s.entries[clean] = e
	}
	return s, nil
}

// isSparse reports whether hdr is a GNU sparse file (old GNU or PAX).
func isSparse(hdr *tar.Header) bool {
	if hdr.Typeflag == tar.TypeGNUSparse {
		return true
	}
	for k := range hdr.PAXRecords {
		if strings.HasPrefix(k, "GNU.sparse.") {
			return true
		}
	}
	return false
}

// resolve follows symlinks and hard links from name to a regular file,
// staying inside the archive.
func (s *tarStore) resolve(name string) (*tarEntry, error) {
	orig := name
	for hops := 0; hops <= maxSymlinks; hops++ {
		e, ok := s.entries[name]
		if !ok {
			return nil, fmt.Errorf("archive %q has no file %q: %w", s.name, orig, ErrMissing)
		}
		var next string
		switch e.typ {
		case tar.TypeReg:
			return e, nil
		case tar.TypeSymlink:
			next = path.Clean(path.Dir(name) + "/" + e.link)
			if strings.HasPrefix(e.link, "/") || next == ".." || strings.HasPrefix(next, "../") {
				return nil, fmt.Errorf("archive %q: %q is a symlink to %q, outside the archive: %w", s.name, name, e.link, ErrUnsafe)
			}
		case tar.TypeLink:
			var ok bool
			if next, ok = archiveName(e.link); !ok {
				return nil, fmt.Errorf("archive %q: %q is a hard link to %q, outside the archive: %w", s.name, name, e.link, ErrUnsafe)
			}
		}
		name = next
	}
	return nil, fmt.Errorf("archive %q: %q: too many links: %w", s.name, orig, ErrUnsafe)
}

func (s *tarStore) open(name string) (io.ReadCloser, int64, error) {
	e, err := s.resolve(name)
	if err != nil {
		return nil, 0, err
	}
	return io.NopCloser(io.NewSectionReader(s.f, e.off, e.size)), e.size, nil
}

func (s *tarStore) has(name string) bool { _, err := s.resolve(name); return err == nil }
func (s *tarStore) String() string       { return fmt.Sprintf("%q", s.name) }
func (s *tarStore) close() error         { return nil }

// dirStore is an OCI layout directory. os.Root keeps every open inside it,
// symlinks included.
type dirStore struct {
	root *os.Root
	name string
}

func newDirStore(dir string) (*dirStore, error) {
	r, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("opening image directory %q: %w", dir, err)
	}
	return &dirStore{root: r, name: dir}, nil
}

func (s *dirStore) open(name string) (io.ReadCloser, int64, error) {
	// Stat first, then open without blocking: a FIFO or device named as a
	// blob is refused before anything waits on it.
	if fi, err := s.root.Stat(name); err == nil && !fi.Mode().IsRegular() {
		return nil, 0, fmt.Errorf("%q in image directory %q is a %s, not a regular file: %w", name, s.name, regularfile.Kind(fi.Mode()), ErrFormat)
	}
	f, err := openRegular(func(flag int) (*os.File, error) { return s.root.OpenFile(name, flag, 0) })
	if err != nil {
		if os.IsNotExist(err) {
			return nil, 0, fmt.Errorf("image directory %q has no file %q: %w", s.name, name, ErrMissing)
		}
		return nil, 0, fmt.Errorf("opening %q in image directory %q: %w", name, s.name, err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, fmt.Errorf("opening %q in image directory %q: %w", name, s.name, err)
	}
	return f, fi.Size(), nil
}

func (s *dirStore) has(name string) bool {
	fi, err := s.root.Stat(name)
	return err == nil && fi.Mode().IsRegular()
}
func (s *dirStore) String() string { return fmt.Sprintf("%q", s.name) }
func (s *dirStore) close() error   { return s.root.Close() }

// openRegular opens a file with open(flag) (see regularfile.OpenWith); a
// file that is not a regular one is an ErrFormat error saying what it is.
func openRegular(open func(flag int) (*os.File, error)) (*os.File, error) {
	f, err := regularfile.OpenWith(open)
	if errors.Is(err, regularfile.ErrNotRegular) {
		return nil, fmt.Errorf("%w: %w", err, ErrFormat)
	}
	return f, err
}
