package format

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/nixlayer/nixlayer/internal/atomicfile"
	"github.com/nixlayer/nixlayer/layers"
)

// Blob is a blob whose descriptor is known before it is written.
type Blob struct {
	// Desc gives the blob's media type, digest and size.
	Desc v1.Descriptor
	// Open returns the blob's bytes; when nil, the file at Path is read.
	Open func() (io.ReadCloser, error)
	// Path is a file that holds the blob, or "": an OCI layout hard-links it.
	Path string
}

func (b Blob) open() (io.ReadCloser, error) {
	if b.Open != nil {
		return b.Open()
	}
	if b.Path == "" {
		return nil, fmt.Errorf("blob %s has neither a reader nor a file", b.Desc.Digest)
	}
	return os.Open(b.Path)
}

// Image is one image of an output: its config and manifest. The manifest
// (Docker schema 2 or OCI) names the config and the layers by digest; the
// layers must have been given to the Writer (Blob or Produce) first.
type Image struct {
	Config   []byte
	Manifest []byte
	// Name and Tag name the image: RepoTags "Name:Tag" in a docker-archive,
	// the ref.name annotation (Tag) in an OCI index. Tag may be empty for
	// an untagged image.
	Name, Tag string
	// IndexName, when set, is the io.containerd.image.name annotation in
	// an OCI index: containerd imports the image under exactly this name
	// (pullImage sets it; builds leave it out, as dockerTools does, and
	// containerd takes the tag with --base-name).
	IndexName string
	// Platform, when set, goes on the image's entry in an OCI index.json,
	// so that several images of one layout form a multi-platform index. A
	// docker-archive does not record it. Every image of an Index has one.
	Platform *v1.Platform
	// Layers, when set, are written (as by Writer.Blob) just before the
	// config; a layer of the manifest that they leave out must have been
	// written already.
	Layers []Blob
	// Provenance, when set, returns the image's provenance statement for
	// its manifest as the output holds it (an OCI layout rewrites a Docker
	// manifest with OCI media types), and the writer stores it beside the
	// image (provenance.go); in an Index, it is named on index.json's entry.
	Provenance func(manifest v1.Descriptor) ([]byte, error)
	// Elsewhere lists layers of the manifest that an OCI archive leaves
	// out because the place that imports it has them already (push to
	// containerd); nil for a complete archive. A docker-archive ignores it.
	Elsewhere map[v1.Hash]bool
}

// Writer writes the blobs and images of one output. Blobs are written in
// the order given; a blob given twice is written once.
type Writer interface {
	// Blob writes a blob whose descriptor is known.
	Blob(b Blob) error
	// Produce writes a blob of media type mt that write writes, and
	// returns the descriptor write returns (its size must match the bytes
	// written). Into an archive, the bytes go straight after a header that
	// is completed afterwards.
	Produce(mt types.MediaType, write func(io.Writer) (layers.Descriptor, error)) (layers.Descriptor, error)
	// Image adds an image whose layers were written; it writes the config
	// (and, for OCI, the manifest) blob.
	Image(img Image) error
	// Index adds a multi-platform index of ix.Images: it writes each
	// image's layers, config and manifest, then the index (OCI formats
	// only; a docker-archive returns ErrDockerIndex).
	Index(ix Index) error
	// close writes the list of images and the trailer.
	close() error
}

// Create writes out in format f, stamping archive entries with mtime: fill
// gives the Writer its blobs and images. It writes to a temporary name next
// to out and renames it, so an error leaves nothing at out.
func Create(out string, f Format, mtime time.Time, fill func(Writer) error) error {
	run := func(w Writer) error {
		if err := fill(w); err != nil {
			return err
		}
		return w.close()
	}
	switch f {
	case DockerArchive:
		return atomicfile.File(out, func(file *os.File) error { return run(newDocker(newTarWriter(file, mtime))) })
	case OCIArchive:
		return atomicfile.File(out, func(file *os.File) error {
			w, err := newOCI(&tarBlobs{t: newTarWriter(file, mtime)})
			if err != nil {
				return err
			}
			return run(w)
		})
	case OCILayout:
		return atomicfile.Dir(out, func(dir string) error {
			w, err := newOCI(&dirBlobs{dir: dir})
			if err != nil {
				return err
			}
			return run(w)
		})
	}
	return fmt.Errorf("unknown format %q", f)
}

// Stream writes an archive (docker-archive or oci-archive) to w, which
// need not be seekable: every blob must be given with its descriptor
// (Produce fails).
func Stream(w io.Writer, f Format, mtime time.Time, fill func(Writer) error) error {
	t := newTarWriter(w, mtime)
	t.out = nil
	var fw Writer
	switch f {
	case DockerArchive:
		fw = newDocker(t)
	case OCIArchive:
		var err error
		if fw, err = newOCI(&tarBlobs{t: t}); err != nil {
			return err
		}
	default:
		return fmt.Errorf("format %q is not an archive that can be streamed", f)
	}
	if err := fill(fw); err != nil {
		return err
	}
	return fw.close()
}

// sha256Hash returns the sha256 of data as a v1.Hash.
func sha256Hash(data []byte) v1.Hash {
	sum := sha256.Sum256(data)
	return v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(sum[:])}
}

// parseManifest reads an image manifest and checks that config is its
// config blob.
func parseManifest(img Image) (*v1.Manifest, error) {
	m, err := v1.ParseManifest(bytes.NewReader(img.Manifest))
	if err != nil {
		return nil, fmt.Errorf("reading the manifest of %s:%s: %w", img.Name, img.Tag, err)
	}
	if h := sha256Hash(img.Config); h != m.Config.Digest || int64(len(img.Config)) != m.Config.Size {
		return nil, fmt.Errorf("the manifest of %s:%s names config %s, not the given config %s", img.Name, img.Tag, m.Config.Digest, h)
	}
	return m, nil
}

// writeLayers writes img.Layers to w in order.
func writeLayers(w Writer, img Image) error {
	for _, l := range img.Layers {
		if err := w.Blob(l); err != nil {
			return err
		}
	}
	return nil
}

// repoTag is the "name:tag" an image is known by, or "".
func (img Image) repoTag() string {
	if img.Name == "" || img.Tag == "" {
		return img.Name
	}
	return img.Name + ":" + img.Tag
}
