package push

import (
	"fmt"
	"io"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/nixlayer/nixlayer/format"
	"github.com/nixlayer/nixlayer/registry"
)

// archiveTime stamps every entry of the docker-archive that docker load
// reads, as pull stamps the archives it writes.
var archiveTime = time.Unix(1, 0)

// writeV1 writes img as a docker-archive tagged ref ("name:tag") to w.
func writeV1(w io.Writer, img v1.Image, ref string) error {
	cfg, err := img.RawConfigFile()
	if err != nil {
		return err
	}
	man, err := img.RawManifest()
	if err != nil {
		return err
	}
	ls, err := img.Layers()
	if err != nil {
		return err
	}
	repo, tag := registry.SplitReference(ref)
	return format.Stream(w, format.DockerArchive, archiveTime, func(fw format.Writer) error {
		for i, l := range ls {
			d, err := partialDescriptor(l)
			if err != nil {
				return fmt.Errorf("layer %d: %w", i+1, err)
			}
			if err := fw.Blob(format.Blob{Desc: d, Open: l.Compressed}); err != nil {
				return fmt.Errorf("layer %d: %w", i+1, err)
			}
		}
		return fw.Image(format.Image{Config: cfg, Manifest: man, Name: repo, Tag: tag})
	})
}

// partialDescriptor is the descriptor of layer l.
func partialDescriptor(l v1.Layer) (v1.Descriptor, error) {
	var d v1.Descriptor
	var err error
	if d.MediaType, err = l.MediaType(); err != nil {
		return d, err
	}
	if d.Digest, err = l.Digest(); err != nil {
		return d, err
	}
	d.Size, err = l.Size()
	return d, err
}
