package recipe

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/nixlayer/nixlayer/spec"

	"github.com/nixlayer/nixlayer/internal/regularfile"
	"github.com/nixlayer/nixlayer/internal/verify"
	"github.com/nixlayer/nixlayer/layers"
	"github.com/nixlayer/nixlayer/wire"
)

// Cached layers are layers built earlier, by nl.buildLayer (BuildLayer):
// the output of such a derivation holds each layer's blob and a
// wire.LayerFile describing them. An image that takes them (spec field
// "layers") puts them at the bottom of its own layers as they are: their
// blobs are never read to be hashed or compressed again, their store paths
// are left out of the image's own layering (they stay in its closure and
// its Nix database), and they count toward maxLayers.

// Cached is a layer built earlier: its blob file and its descriptor.
type Cached struct {
	// Output is the buildLayer output that holds the layer.
	Output string
	// File is the blob, as it was built: Output/blobs/<algorithm>/<hex>.
	File        string
	Desc        layers.Descriptor
	Compression layers.Compression
	// fromScript marks a layer read from a stream script: its blob is
	// always read (and so verified), never hard-linked into an OCI layout.
	fromScript bool
}

// blob returns the cached layer as a blob of an image in the OCI or the
// Docker flavour of media types: its own compression's, whatever the
// image's compression is. Its bytes are read from the layer output's
// regular file, never through a symlink, and checked against the digest.
func (c *Cached) blob(oci bool) *Blob {
	b := &Blob{Desc: c.Desc, Compression: c.Compression, Type: c.Compression.MediaType(oci), Open: c.open}
	if !c.fromScript {
		b.Path = c.File // checked to be a regular file inside Output by ReadLayerOutput
	}
	return b
}

// open opens the blob file (see openBlob) and reads it through a reader
// that fails at its end unless the bytes have the descriptor's digest.
func (c *Cached) open() (io.ReadCloser, error) {
	doc, err := regularfile.OpenInside(c.Output, wire.LayerFileName)
	if err != nil {
		return nil, fmt.Errorf("cached layer %s is not in a layer built by nl.buildLayer: %w", c.File, err)
	}
	doc.Close()
	f, err := openBlob(c.Output, c.Desc)
	if err != nil {
		return nil, fmt.Errorf("reading a cached layer: %w", err)
	}
	v, err := verify.NewReader(f, c.Desc.Digest, c.Desc.Size, "cached layer "+c.File)
	if err != nil {
		f.Close()
		return nil, err
	}
	return readCloser{v, f}, nil
}

// openBlob opens the blob of descriptor d in the buildLayer output out:
// a regular file inside out, reached without following a symlink, of
// exactly the descriptor's size. Errors name the file.
func openBlob(out string, d layers.Descriptor) (*os.File, error) {
	file := filepath.Join(out, wire.BlobPath(d.Digest.String()))
	f, err := regularfile.OpenInside(out, wire.BlobPath(d.Digest.String()))
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err == nil && fi.Size() != d.Size {
		err = fmt.Errorf("blob %s has %d bytes, its descriptor says %d", file, fi.Size(), d.Size)
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// CachedBlob is layer l's blob when l is a cached layer, else nil.
func (l *Layer) CachedBlob(oci bool) *Blob {
	if l.Cached == nil {
		return nil
	}
	return l.Cached.blob(oci)
}

// CachedFile is the blob file of layer l when it is a cached layer.
func (l *Layer) CachedFile() []string {
	if l.Cached == nil {
		return nil
	}
	return []string{l.Cached.File}
}

// ReadLayerOutput reads the layers of a buildLayer output: its
// wire.LayerFile, and each blob file, checked to be a regular file inside
// the output (no symlink on the way) with the size the descriptor gives. what names the output in errors ("layers[0]").
func ReadLayerOutput(out, what string) (v1.Platform, []Layer, error) {
	f, err := wire.ReadLayerFile(out)
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
		return v1.Platform{}, nil, fmt.Errorf("%s = %s is not a layer built by nl.buildLayer (it has no %s): give layers only what buildLayer returns", what, out, wire.LayerFileName)
	}
	if err != nil {
		return v1.Platform{}, nil, fmt.Errorf("%s = %s: %w", what, out, err)
	}
	doc := filepath.Join(out, wire.LayerFileName)
	p := f.Platform.V1()
	var plan []Layer
	for _, w := range f.Layers {
		d, c, err := FromDescriptor(w, doc)
		if err != nil {
			return v1.Platform{}, nil, err
		}
		blob, err := openBlob(out, d)
		if err != nil {
			return v1.Platform{}, nil, fmt.Errorf("%s = %s is damaged: %w", what, out, err)
		}
		blob.Close()
		file := filepath.Join(out, wire.BlobPath(w.Digest))
		plan = append(plan, Layer{StorePaths: w.StorePaths, Comment: w.Comment, CreatedBy: w.CreatedBy, Author: w.Author,
			Cached: &Cached{Output: out, File: file, Desc: d, Compression: c}})
	}
	return p, plan, nil
}

// ReadCached reads the buildLayer outputs outs, bottom first, for an image
// (or a layer) for platform p: a layer built for another platform is
// refused, naming both.
func ReadCached(outs []string, p v1.Platform) ([]Layer, error) {
	var plan []Layer
	for i, out := range outs {
		what := fmt.Sprintf("layers[%d]", i)
		lp, ls, err := ReadLayerOutput(out, what)
		if err != nil {
			return nil, err
		}
		if !lp.Equals(p) {
			return nil, fmt.Errorf("%s = %s was built for %s, the image is for %s: build the layer with the image's system (or architecture)", what, out, spec.PlatformString(lp), spec.PlatformString(p))
		}
		plan = append(plan, ls...)
	}
	return plan, nil
}

// cachedToWire returns the wire form of cached layer l in a stream script:
// its descriptor and its blob file, no recipe.
func cachedToWire(l *Layer) wire.Layer {
	c := l.Cached
	return wire.Layer{Descriptor: LayerDescriptor(l, c.Desc, c.Compression, c.Compression.MediaType(false)), File: c.File}
}

// cachedFromWire returns the cached layer a stream script's layer w with
// File set describes: File must be the blob of a buildLayer output,
// <output>/blobs/<algorithm>/<hex> of the layer's digest. what names the
// script, i the layer.
func cachedFromWire(w wire.Layer, d layers.Descriptor, c layers.Compression, what string, i int) (Layer, error) {
	out := filepath.Dir(filepath.Dir(filepath.Dir(w.File)))
	if !filepath.IsAbs(w.File) || filepath.Join(out, wire.BlobPath(d.Digest.String())) != w.File {
		return Layer{}, fmt.Errorf("%s is damaged: layer %d: file %q is not the blob of a layer built by nl.buildLayer (<output>/%s)", what, i+1, w.File, wire.BlobPath(d.Digest.String()))
	}
	return Layer{StorePaths: w.Descriptor.StorePaths, Comment: w.Descriptor.Comment, CreatedBy: w.Descriptor.CreatedBy, Author: w.Descriptor.Author,
		Cached: &Cached{Output: out, File: w.File, Desc: d, Compression: c, fromScript: true}}, nil
}
