package index

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"

	"github.com/nixlayer/nixlayer/spec"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/nixlayer/nixlayer/format"
)

// Spec is the "nixlayer" attribute of a buildImageIndex derivation (see
// nix/index.nix): what the user wrote.
type Spec struct {
	// Name and Tag name the index; Tag goes into index.json's ref.name
	// annotation (default: the output's hash, as for images).
	Name string `json:"name"`
	Tag  string `json:"tag"`
	// Format is oci-layout (the default) or oci-archive.
	Format string `json:"format"`
	// Images are the entries: nixlayer image outputs (OCI layout,
	// oci-archive, docker-archive or stream script), one per platform.
	Images []string `json:"images"`
	// Annotations are the index's OCI annotations (none when absent).
	Annotations map[string]string `json:"annotations"`
}

// Settings is a Spec checked and defaulted.
type Settings struct {
	Ref    name.Tag
	Format format.Format
	Images []string
	// Annotations are the index's, or nil.
	Annotations map[string]string
	// MTime stamps the entries of an oci-archive.
	MTime time.Time
}

// ParseSpec decodes a Spec strictly (an unknown field is an error); file
// names its origin in errors.
func ParseSpec(data []byte, file string) (*Spec, error) {
	var s Spec
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		return nil, fmt.Errorf("nixlayer.buildImageIndex: reading the arguments in %s: %w", file, err)
	}
	return &s, nil
}

// Resolve checks s; defaultTag is the tag when s has none, and
// sourceDateEpoch ($SOURCE_DATE_EPOCH, or "") the archive entries' mtime
// (else 1). An error names the field and the function.
func (s *Spec) Resolve(defaultTag, sourceDateEpoch string) (*Settings, error) {
	set, err := s.resolve(defaultTag)
	if err == nil {
		set.MTime, err = (&spec.Spec{}).LayerTime(sourceDateEpoch)
	}
	if err != nil {
		return nil, fmt.Errorf("nixlayer.buildImageIndex: %w", err)
	}
	return set, nil
}

func (s *Spec) resolve(defaultTag string) (*Settings, error) {
	if s.Name == "" {
		return nil, fmt.Errorf("name is missing")
	}
	tag := s.Tag
	if tag == "" {
		tag = defaultTag
	}
	ref, err := name.NewTag(s.Name+":"+tag, name.WeakValidation)
	if err != nil {
		return nil, fmt.Errorf("name %q and tag %q: %w", s.Name, tag, err)
	}
	set := &Settings{Ref: ref, Format: format.OCILayout, Images: s.Images, Annotations: s.Annotations}
	f, err := format.Parse(s.Format)
	switch {
	case err != nil:
		return nil, fmt.Errorf("format: %w", err)
	case f == format.DockerArchive && s.Format != "":
		return nil, fmt.Errorf("format %q: %w", s.Format, format.ErrDockerIndex)
	case f.OCI():
		set.Format = f
	}
	if len(s.Images) == 0 {
		return nil, fmt.Errorf("images is empty: give one image per platform")
	}
	if _, ok := s.Annotations[""]; ok {
		return nil, fmt.Errorf("annotations: an annotation has an empty name")
	}
	return set, nil
}
