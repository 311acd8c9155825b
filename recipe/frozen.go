package recipe

import (
	"bytes"
	"fmt"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// frozen is an assembled image whose config, manifest and layers are
// computed once. go-containerregistry's mutate image serialises its config
// again for every LayerByDigest (to tell the config blob apart), so that
// listing the layers of an image of n layers costs n serialisations of a
// config that grows with n: quadratic. frozen answers every layer lookup
// from maps.
type frozen struct {
	v1.Image
	rawConfig   []byte
	configName  v1.Hash
	rawManifest []byte
	digest      v1.Hash
	layers      []v1.Layer
	byDigest    map[v1.Hash]v1.Layer
	byDiffID    map[v1.Hash]v1.Layer
}

var _ v1.Image = (*frozen)(nil)

// freeze returns img, built by mutate from adds on an empty image, with its
// documents and layers computed once.
func freeze(img v1.Image, adds []mutate.Addendum) (v1.Image, error) {
	f := &frozen{Image: img, byDigest: map[v1.Hash]v1.Layer{}, byDiffID: map[v1.Hash]v1.Layer{}}
	var err error
	if f.rawConfig, err = img.RawConfigFile(); err != nil {
		return nil, err
	}
	if f.configName, _, err = v1.SHA256(bytes.NewReader(f.rawConfig)); err != nil {
		return nil, err
	}
	if f.rawManifest, err = img.RawManifest(); err != nil {
		return nil, err
	}
	if f.digest, _, err = v1.SHA256(bytes.NewReader(f.rawManifest)); err != nil {
		return nil, err
	}
	for i, a := range adds {
		l := a.Layer
		if a.MediaType != "" {
			l = typedLayer{l, a.MediaType}
		}
		d, err := l.Digest()
		if err != nil {
			return nil, fmt.Errorf("layer %d: %w", i+1, err)
		}
		diffID, err := l.DiffID()
		if err != nil {
			return nil, fmt.Errorf("layer %d: %w", i+1, err)
		}
		f.layers = append(f.layers, l)
		f.byDigest[d], f.byDiffID[diffID] = l, l
	}
	return f, nil
}

func (f *frozen) RawConfigFile() ([]byte, error) { return f.rawConfig, nil }
func (f *frozen) ConfigName() (v1.Hash, error)   { return f.configName, nil }
func (f *frozen) RawManifest() ([]byte, error)   { return f.rawManifest, nil }
func (f *frozen) Digest() (v1.Hash, error)       { return f.digest, nil }
func (f *frozen) Layers() ([]v1.Layer, error)    { return append([]v1.Layer(nil), f.layers...), nil }

func (f *frozen) LayerByDigest(h v1.Hash) (v1.Layer, error) {
	if h == f.configName {
		return partial.ConfigLayer(f)
	}
	if l, ok := f.byDigest[h]; ok {
		return l, nil
	}
	return nil, fmt.Errorf("image has no layer %s", h)
}

func (f *frozen) LayerByDiffID(h v1.Hash) (v1.Layer, error) {
	if l, ok := f.byDiffID[h]; ok {
		return l, nil
	}
	return nil, fmt.Errorf("image has no layer of diffID %s", h)
}

// typedLayer is a layer under the media type the image gives it.
type typedLayer struct {
	v1.Layer
	mt types.MediaType
}

func (l typedLayer) MediaType() (types.MediaType, error) { return l.mt, nil }
