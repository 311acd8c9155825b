package format

import (
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/nixlayer/nixlayer/layers"
)

// dirBlobs is the blobStore of an OCI layout directory. A blob that is a
// file is hard-linked (copied when it cannot be: another file system); a
// produced blob is written to a temporary file in blobs/sha256 and renamed.
type dirBlobs struct{ dir string }

func (s *dirBlobs) start() error {
	return os.MkdirAll(filepath.Join(s.dir, "blobs", "sha256"), 0o755)
}

func (s *dirBlobs) path(name string) string { return filepath.Join(s.dir, filepath.FromSlash(name)) }

func (s *dirBlobs) put(b Blob) error {
	dst := s.path(blobName(b.Desc.Digest))
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	if b.Path != "" && isRegular(b.Path) && os.Link(b.Path, dst) == nil {
		return nil // a linked file keeps its mode: a store file stays read-only
	}
	rc, err := b.open()
	if err != nil {
		return fmt.Errorf("reading blob %s: %w", b.Desc.Digest, err)
	}
	defer rc.Close()
	f, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	n, err := io.Copy(f, io.LimitReader(rc, b.Desc.Size))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = atEnd(rc, n, b.Desc.Size)
	}
	if err != nil {
		return fmt.Errorf("writing blob %s: %w", b.Desc.Digest, err)
	}
	return nil
}

// isRegular reports whether p is a regular file itself, not a symlink:
// link(2) would link a symlink, and a layout never holds one.
func isRegular(p string) bool {
	fi, err := os.Lstat(p)
	return err == nil && fi.Mode().IsRegular()
}

func (s *dirBlobs) produce(write func(io.Writer) (layers.Descriptor, error), name func(layers.Descriptor) string) (layers.Descriptor, error) {
	f, err := os.CreateTemp(s.path("blobs/sha256"), ".blob-")
	if err != nil {
		return layers.Descriptor{}, err
	}
	defer os.Remove(f.Name()) // after the rename, a no-op
	d, err := write(f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return d, err
	}
	if n := name(d); n != "" {
		if err := os.Rename(f.Name(), s.path(n)); err != nil {
			return d, err
		}
		return d, os.Chmod(s.path(n), 0o644)
	}
	return d, nil
}

func (s *dirBlobs) file(name string, data []byte) error {
	return os.WriteFile(s.path(name), data, 0o644)
}

func (s *dirBlobs) finish() error { return nil }
