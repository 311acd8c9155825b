package image

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/nixlayer/nixlayer/internal/atomicfile"
	"github.com/nixlayer/nixlayer/layers"
)

// Format is an output format.
type Format string

// The output formats.
const (
	DockerArchive Format = "docker-archive"
	OCILayout     Format = "oci-layout"
	OCIArchive    Format = "oci-archive"
)

// ParseFormat checks a format name; empty means docker-archive.
func ParseFormat(s string) (Format, error) {
	switch f := Format(s); f {
	case "":
		return DockerArchive, nil
	case DockerArchive, OCILayout, OCIArchive:
		return f, nil
	}
	return "", fmt.Errorf("unknown format %q: use docker-archive, oci-layout or oci-archive", s)
}

// OCI reports whether the format uses OCI media types.
func (f Format) OCI() bool { return f != DockerArchive }

// refNameAnnotation names an image inside an OCI layout's index.
const refNameAnnotation = "org.opencontainers.image.ref.name"

// Write writes img in format f to out, tagged ref. It writes to a temporary
// name next to out and renames it, so a failure leaves nothing at out.
// mtime stamps the entries of an oci-archive.
func (f Format) Write(out string, ref name.Tag, img v1.Image, mtime time.Time) error {
	switch f {
	case DockerArchive:
		return atomicfile.File(out, func(file *os.File) error {
			if err := tarball.Write(ref, img, file); err != nil {
				return fmt.Errorf("writing docker-archive: %w", err)
			}
			return nil
		})
	case OCILayout:
		return atomicfile.Dir(out, func(dir string) error { return writeLayout(dir, ref, img) })
	case OCIArchive:
		tmp, err := os.MkdirTemp(atomicfile.TempDir(out), ".nixlayer-oci-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		if err := writeLayout(tmp, ref, img); err != nil {
			return err
		}
		return atomicfile.File(out, func(file *os.File) error { return tarDir(file, tmp, mtime) })
	}
	return fmt.Errorf("unknown format %q", f)
}

func writeLayout(dir string, ref name.Tag, img v1.Image) error {
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		return fmt.Errorf("writing OCI layout %s: %w", dir, err)
	}
	if err := linkBlobs(dir, img); err != nil {
		return err
	}
	if err := p.AppendImage(img, layout.WithAnnotations(map[string]string{refNameAnnotation: ref.TagStr()})); err != nil {
		return fmt.Errorf("writing image into OCI layout %s: %w", dir, err)
	}
	return nil
}

// linkBlobs hard-links the layers of img that are files into the layout,
// where AppendImage finds them and copies nothing. A layer that cannot be
// linked (another file system, say) is left for AppendImage to copy.
func linkBlobs(dir string, img v1.Image) error {
	ls, err := img.Layers()
	if err != nil {
		return err
	}
	for _, l := range ls {
		b, ok := l.(*Blob)
		if !ok || b.Path == "" {
			continue
		}
		blobs := filepath.Join(dir, "blobs", b.Desc.Digest.Algorithm)
		if err := os.MkdirAll(blobs, 0o755); err != nil {
			return fmt.Errorf("writing OCI layout %s: %w", dir, err)
		}
		_ = os.Link(b.Path, filepath.Join(blobs, b.Desc.Digest.Hex)) // on failure AppendImage copies it
	}
	return nil
}

// tarDir writes the files below dir as a deterministic tar (sorted, fixed
// owner and time), as an oci-archive is a tar of an OCI layout.
func tarDir(file *os.File, dir string, mtime time.Time) error {
	var entries []layers.Entry
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == dir {
			return err
		}
		rel := filepath.ToSlash(strings.TrimPrefix(p, dir+"/"))
		if d.IsDir() {
			entries = append(entries, layers.Dir(rel, 0o755))
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		e := layers.File(rel, 0o644, nil)
		e.Size, e.Source = fi.Size(), p
		entries = append(entries, e)
		return nil
	})
	if err != nil {
		return fmt.Errorf("reading OCI layout %s: %w", dir, err)
	}
	layers.Sort(entries)
	_, err = layers.Write(file, entries, mtime, layers.None)
	return err
}
