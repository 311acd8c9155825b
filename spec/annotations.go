package spec

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"
)

// The OCI annotations nixlayer fills in from the build's arguments, unless
// the annotations argument is false.
const (
	AnnotationTitle      = "org.opencontainers.image.title"
	AnnotationCreated    = "org.opencontainers.image.created"
	AnnotationVersion    = "org.opencontainers.image.version"
	AnnotationBaseDigest = "org.opencontainers.image.base.digest"
	AnnotationBaseName   = "org.opencontainers.image.base.name"
)

// resolveAnnotations reads the annotations field. false gives nil: the
// manifest has none (and the layers none of nix-snapshotter's), as before
// annotations existed. Absent, null, true or an object, the defaults come
// first: the title (the image's name), the creation date, and the tag as
// the version when a tag is given (never the default tag, the output's
// hash); then the object's, where a string sets an annotation and null
// removes a default one. It returns the annotations and the names null
// removed (the base image's defaults, added by image.Build, heed them).
func resolveAnnotations(s *Spec, set *Settings) (map[string]string, []string, error) {
	raw := bytes.TrimSpace(s.Annotations)
	switch string(raw) {
	case "false":
		return nil, nil, nil
	case "", "null", "true":
		raw = nil
	}
	var user map[string]*string
	if raw != nil {
		if raw[0] != '{' {
			return nil, nil, fmt.Errorf("annotations must be false, true or an attribute set of strings (null removes a default), not %s", raw)
		}
		if err := json.Unmarshal(raw, &user); err != nil {
			return nil, nil, fmt.Errorf("reading annotations (an attribute set of strings, or null to remove a default): %w", err)
		}
	}
	a := map[string]string{AnnotationCreated: set.Created.UTC().Format(time.RFC3339)}
	if s.Name != "" {
		a[AnnotationTitle] = strings.ToLower(s.Name)
	}
	if s.Tag != nil && *s.Tag != "" {
		a[AnnotationVersion] = set.Ref.TagStr()
	}
	var removed []string
	for k, v := range user {
		switch {
		case k == "":
			return nil, nil, fmt.Errorf("annotations: an annotation has an empty name")
		case v == nil:
			delete(a, k)
			removed = append(removed, k)
		default:
			a[k] = *v
		}
	}
	sort.Strings(removed)
	return a, removed, nil
}
