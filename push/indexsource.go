package push

import (
	"fmt"
	"runtime"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/nixlayer/nixlayer/registry"
	"github.com/nixlayer/nixlayer/source"
)

// hostPlatform is this machine's platform: what `docker load` of a
// multi-platform index loads (the daemon's platform when it runs here).
func hostPlatform() v1.Platform { return v1.Platform{OS: "linux", Architecture: runtime.GOARCH} }

// imageFor returns the source's image or, from an index, the image for p
// (an error lists the platforms the index has).
func imageFor(s *source.Source, p v1.Platform) (v1.Image, error) {
	if s.Image != nil {
		return s.Image, nil
	}
	im, err := s.Index.IndexManifest()
	if err != nil {
		return nil, err
	}
	d, err := registry.ChoosePlatform(im, p)
	if err != nil {
		if len(im.Manifests) > 1 && im.Manifests[0].Platform == nil {
			return nil, fmt.Errorf("it holds several images: docker load takes one")
		}
		return nil, err
	}
	return s.Index.Image(d.Digest)
}
