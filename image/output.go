package image

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/nixlayer/nixlayer/spec"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"

	"github.com/nixlayer/nixlayer/format"
	"github.com/nixlayer/nixlayer/image/base"
	"github.com/nixlayer/nixlayer/layers"
)

// The image is written through package format, which holds the output
// formats: this file only turns a plan, its layers and a base image into
// the blobs and the image a format.Writer takes.

// writeBase gives w the base image's layers (from may be nil), in the media
// types of format f.
func writeBase(w format.Writer, from *base.Image, f format.Format) error {
	if from == nil {
		return nil
	}
	for i, l := range from.Layers() {
		d, err := layerDescriptor(l, f)
		if err != nil {
			return fmt.Errorf("base image layer %d: %w", i+1, err)
		}
		if err := w.Blob(format.Blob{Desc: d, Open: l.Compressed}); err != nil {
			return fmt.Errorf("copying base image layer %d: %w", i+1, err)
		}
	}
	return nil
}

// layerDescriptor is l's descriptor (partial.Descriptor) in the media
// types of format f.
func layerDescriptor(l v1.Layer, f format.Format) (v1.Descriptor, error) {
	d, err := partial.Descriptor(l)
	if err != nil {
		return v1.Descriptor{}, err
	}
	d.MediaType = f.MediaType(d.MediaType)
	return *d, nil
}

// produceLayers writes each planned layer straight into w, one after
// another (each layer compresses on every core), and returns them as blobs.
func produceLayers(ctx context.Context, w format.Writer, plan []Layer, set *spec.Settings) ([]*Blob, error) {
	blobs := make([]*Blob, len(plan))
	mt := set.Compression.MediaType(set.Format.OCI())
	for i := range plan {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if blobs[i] = plan[i].cachedBlob(set.Format.OCI()); blobs[i] != nil {
			if err := w.Blob(blobs[i].formatBlob()); err != nil {
				return nil, fmt.Errorf("copying layer %d (%s): %w", i+1, short(plan[i].Comment), err)
			}
			continue
		}
		d, err := w.Produce(mt, func(dst io.Writer) (layers.Descriptor, error) {
			return plan[i].Write(ctx, dst, set.LayerOptions())
		})
		if err != nil {
			return nil, fmt.Errorf("writing layer %d (%s): %w", i+1, short(plan[i].Comment), err)
		}
		blobs[i] = &Blob{Desc: d, Compression: set.Compression, Type: mt}
	}
	return blobs, nil
}

// addImage gives w the image: config and manifest made by Assemble from
// the blobs (already written) over the base's layers, tagged set.Ref.
func addImage(w format.Writer, blobs []*Blob, plan []Layer, set *spec.Settings, from *base.Image) error {
	ref := set.Ref
	img, err := Assemble(blobs, plan, set, from)
	if err != nil {
		return err
	}
	cfg, err := img.RawConfigFile()
	if err != nil {
		return fmt.Errorf("making image config: %w", err)
	}
	man, err := img.RawManifest()
	if err != nil {
		return fmt.Errorf("making image manifest: %w", err)
	}
	return w.Image(format.Image{Config: cfg, Manifest: man, Name: strings.TrimSuffix(ref.String(), ":"+ref.TagStr()), Tag: ref.TagStr()})
}

// formatBlob is b as package format takes it.
func (b *Blob) formatBlob() format.Blob {
	return format.Blob{
		Desc: v1.Descriptor{MediaType: b.Type, Digest: b.Desc.Digest, Size: b.Desc.Size},
		Open: b.Open,
		Path: b.Path,
	}
}
