package image

import (
	"fmt"
	"maps"
	"slices"

	"github.com/google/go-containerregistry/pkg/v1/partial"

	"github.com/nixlayer/nixlayer/image/base"
	"github.com/nixlayer/nixlayer/spec"
)

// annotations returns the manifest's annotations: the settings' and, for
// an image on a base, the base's manifest digest and reference (unless
// the user gave them or removed them); nil when the image has none
// (annotations = false).
func annotations(set *spec.Settings, from *base.Image) (map[string]string, error) {
	if set.Annotations == nil || from == nil {
		return set.Annotations, nil
	}
	d, err := partial.Descriptor(from.V1())
	if err != nil {
		return nil, fmt.Errorf("the digest of base image %s: %w", set.Base.Path, err)
	}
	a := map[string]string{spec.AnnotationBaseDigest: d.Digest.String()}
	if ref := from.Ref(); ref != "" {
		a[spec.AnnotationBaseName] = ref
	}
	maps.DeleteFunc(a, func(k, _ string) bool { return slices.Contains(set.AnnotationsRemoved, k) })
	maps.Copy(a, set.Annotations)
	return a, nil
}
