package spec

import (
	"fmt"
	"maps"
	"time"
)

// The OCI annotations nixlayer fills in from the build's arguments when
// the image has annotations (the annotations argument is given).
const (
	AnnotationCreated    = "org.opencontainers.image.created"
	AnnotationVersion    = "org.opencontainers.image.version"
	AnnotationBaseDigest = "org.opencontainers.image.base.digest"
	AnnotationBaseName   = "org.opencontainers.image.base.name"
)

// resolveAnnotations reads the annotations field: nil when it is absent
// (the manifest has none, as before annotations existed), else the user's
// over the defaults: the creation date, and the tag as the version when
// a tag is given. The base image's are added by the builder, which opens
// the base (image.Build).
func resolveAnnotations(s *Spec, set *Settings) (map[string]string, error) {
	if s.Annotations == nil {
		return nil, nil
	}
	a := map[string]string{AnnotationCreated: set.Created.UTC().Format(time.RFC3339)}
	if s.Tag != nil && *s.Tag != "" {
		a[AnnotationVersion] = set.Ref.TagStr()
	}
	for k := range s.Annotations {
		if k == "" {
			return nil, fmt.Errorf("annotations: an annotation has an empty name")
		}
	}
	maps.Copy(a, s.Annotations)
	return a, nil
}
