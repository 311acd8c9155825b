package wire

import (
	"bytes"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/nixlayer/nixlayer/internal/regularfile"
)

// Version is the wire version this nixlayer writes and reads. It changes
// whenever a type of this package changes shape: a field added, removed,
// renamed or given another meaning. Version 1 was the in-memory types of
// image, layers and customize serialised as they were; version 3 added
// Layer.File (a layer built earlier, streamed from its blob file) and made
// LayerFile the document of a cached layer derivation.
const Version = 3

// Script is a stream script's body: the image's reference, config and
// settings, and each layer's recipe with its descriptor. The layers are
// written as docker-archive when the script runs.
type Script struct {
	Version int    `json:"version"`
	Ref     string `json:"ref"`
	// Config is the user's OCI image config, as the OCI image spec writes
	// it (before merging a base image's).
	Config   json.RawMessage `json:"config"`
	Platform Platform        `json:"platform"`
	// Created is the image's creation date, RFC 3339.
	Created string `json:"created"`
	// MTime stamps every entry, in seconds since the epoch.
	MTime int64 `json:"mtime"`
	// Compression is "gzip", "zstd" or "none".
	Compression string  `json:"compression"`
	Base        *Base   `json:"base,omitempty"`
	Layers      []Layer `json:"layers"`
	// Annotations, when set, are the image manifest's annotations; its
	// layers that hold store paths only then carry nix-snapshotter's.
	// Added within version 3: absent, the manifest has none.
	Annotations map[string]string `json:"annotations,omitempty"`
	// Provenance is the image's provenance statement (package provenance),
	// its JSON bytes as a string so that they come back exactly; absent,
	// the image has none. Added within version 3.
	Provenance string `json:"provenance,omitempty"`
}

// DockerAnnotations are an image manifest's annotations, which a
// docker-archive's manifest.json cannot hold: the archive holds them as
// the member "<config hex>" + AnnotationsMemberSuffix beside the config
// "<config hex>.json", and the manifest push makes of the archive carries
// them, so that it is the manifest the build made.
type DockerAnnotations struct {
	Manifest map[string]string `json:"manifest,omitempty"`
	// Layers are each layer's, bottom first (nil for none), or empty.
	Layers []map[string]string `json:"layers,omitempty"`
}

// AnnotationsMemberSuffix ends the name of a docker-archive's
// DockerAnnotations member.
const AnnotationsMemberSuffix = ".annotations.json"

// How the archives nixlayer writes carry an image's provenance statement
// (package provenance), beside the image and outside what docker, podman
// and skopeo load.
const (
	// ProvenanceMemberSuffix: a docker-archive holds the statement of the
	// image whose config is the member "<hex>.json" as the member
	// "<hex>" + ProvenanceMemberSuffix.
	ProvenanceMemberSuffix = ".intoto.json"
	// ProvenanceAnnotation, on an image's entry in the index.json of an
	// OCI layout or oci-archive, is the digest of an OCI 1.1 artifact
	// manifest (artifactType application/vnd.in-toto+json) whose subject
	// is the image's manifest and whose one layer is the statement.
	ProvenanceAnnotation = "dev.nixlayer.provenance"
)

// IndexProvenanceAnnotation is the annotation, on the entry of index.json
// that is a multi-platform index, naming the provenance artifact (as
// ProvenanceAnnotation does) of its image whose manifest digest is
// manifest ("sha256:<hex>").
func IndexProvenanceAnnotation(manifest string) string {
	return ProvenanceAnnotation + "." + strings.ReplaceAll(manifest, ":", "-")
}

// Platform is an OCI platform.
type Platform struct {
	Architecture string `json:"architecture"`
	Variant      string `json:"variant,omitempty"`
	OS           string `json:"os"`
}

// PlatformOf returns the wire form of p (architecture, variant and OS).
func PlatformOf(p v1.Platform) Platform {
	return Platform{Architecture: p.Architecture, Variant: p.Variant, OS: p.OS}
}

// V1 returns p as a v1.Platform.
func (p Platform) V1() v1.Platform {
	return v1.Platform{Architecture: p.Architecture, Variant: p.Variant, OS: p.OS}
}

// Base names a base image file and the image in it.
type Base struct {
	Path string `json:"path"`
	Name string `json:"name,omitempty"`
	Tag  string `json:"tag,omitempty"`
}

// Layer is a layer's recipe and its descriptor: the store paths (in the
// descriptor) and the extra entries it holds, the owner and permission
// rules its entries get.
type Layer struct {
	Descriptor Descriptor `json:"descriptor"`
	Extra      []Entry    `json:"extra,omitempty"`
	Uid        int        `json:"uid,omitempty"`
	Gid        int        `json:"gid,omitempty"`
	Rules      []Rule     `json:"rules,omitempty"`
	// Size estimates the bytes of the store paths, to write the heaviest
	// layers first.
	Size int64 `json:"size,omitempty"`
	// File, when set, is the file holding the layer's blob as it was built
	// (by nl.buildLayer): it is copied as it is, the layer has no recipe
	// (no Extra, owner or rules), and Descriptor says what the file holds.
	File string `json:"file,omitempty"`
}

// Descriptor identifies a written layer blob and says what it holds: what a
// stream script checks a layer against, and what a cached layer derivation
// stores beside its blob.
type Descriptor struct {
	// Digest is the blob's "sha256:<hex>", DiffID its tar's.
	Digest string `json:"digest"`
	DiffID string `json:"diffID"`
	// Size is the blob's size, UncompressedSize its tar's.
	Size             int64 `json:"size"`
	UncompressedSize int64 `json:"uncompressedSize"`
	// MediaType is the blob's media type in the image it was made for.
	MediaType   string `json:"mediaType"`
	Compression string `json:"compression"`
	// StorePaths are the store paths the layer holds, sorted.
	StorePaths []string `json:"storePaths,omitempty"`
	// Comment is the layer's history comment; CreatedBy and Author, when
	// set (nl.buildLayer's metadata, added within version 3: absent, the
	// history says created_by "nixlayer" and no author), its history's
	// created_by and author.
	Comment   string `json:"comment"`
	CreatedBy string `json:"createdBy,omitempty"`
	Author    string `json:"author,omitempty"`
}

// Entry is a file, directory or symlink of a layer besides its store paths.
type Entry struct {
	Name string `json:"name"`
	// Type is "dir", "file", "symlink", or for what a root script made
	// "hardlink" (to Linkname), "char", "block" (Devmajor, Devminor) or
	// "fifo". The four later types and the device numbers were added
	// within version 3: absent, they leave its documents as they were.
	Type     string `json:"type"`
	Mode     int64  `json:"mode"`
	Uid      int    `json:"uid,omitempty"`
	Gid      int    `json:"gid,omitempty"`
	Uname    string `json:"uname,omitempty"`
	Gname    string `json:"gname,omitempty"`
	Linkname string `json:"linkname,omitempty"`
	Size     int64  `json:"size,omitempty"`
	// Source is the file on disk holding a file's content; without it the
	// content is Data.
	Source   string `json:"source,omitempty"`
	Data     []byte `json:"data,omitempty"`
	Devmajor int64  `json:"devmajor,omitempty"`
	Devminor int64  `json:"devminor,omitempty"`
}

// Rule is a resolved permission rule.
type Rule struct {
	Path   string  `json:"path"`
	Regex  string  `json:"regex,omitempty"`
	Mode   *int64  `json:"mode,omitempty"`
	Uid    *int    `json:"uid,omitempty"`
	Gid    *int    `json:"gid,omitempty"`
	Uname  *string `json:"uname,omitempty"`
	Gname  *string `json:"gname,omitempty"`
	Source string  `json:"source,omitempty"`
}

// LayerFile is the document a cached layer derivation (nl.buildLayer)
// writes beside its blobs (see LayerFileName and BlobPath): the platform
// its store paths were built for and each layer's descriptor, bottom first.
type LayerFile struct {
	Version  int          `json:"version"`
	Platform Platform     `json:"platform"`
	Layers   []Descriptor `json:"layers"`
}

// LayerFileName is the name of the LayerFile in a cached layer
// derivation's output.
const LayerFileName = "layer.json"

// BlobPath returns the name, in a cached layer derivation's output, of the
// blob whose digest is "<algorithm>:<hex>": blobs/<algorithm>/<hex>, as in
// an OCI layout.
func BlobPath(digest string) string {
	alg, hex, _ := strings.Cut(digest, ":")
	return "blobs/" + alg + "/" + hex
}

// EncodeScript returns s as JSON, with Version set.
func EncodeScript(s *Script) ([]byte, error) {
	s.Version = Version
	return json.Marshal(s)
}

// DecodeScript reads a script written by EncodeScript; what names it in
// errors ("stream script /nix/store/…").
func DecodeScript(data []byte, what string) (*Script, error) {
	var s Script
	if err := decode(data, what, &s); err != nil {
		return nil, err
	}
	return &s, nil
}

// ReadLayerFile reads the LayerFile of the cached layer derivation output
// out, a regular file (never a symlink) of at most MaxLayerFileBytes; an
// error reading the file wraps the os error (fs.ErrNotExist for an output
// that is not one).
func ReadLayerFile(out string) (*LayerFile, error) {
	doc := filepath.Join(out, LayerFileName)
	data, err := regularfile.ReadAllInside(out, LayerFileName, MaxLayerFileBytes)
	if err != nil {
		return nil, fmt.Errorf("reading layer descriptor: %w", err)
	}
	return DecodeLayerFile(data, "layer descriptor "+doc)
}

// EncodeLayerFile returns f as JSON, with Version set.
func EncodeLayerFile(f *LayerFile) ([]byte, error) {
	f.Version = Version
	return json.Marshal(f)
}

// DecodeLayerFile reads a document written by EncodeLayerFile; what names
// it in errors ("layer /nix/store/…").
func DecodeLayerFile(data []byte, what string) (*LayerFile, error) {
	var f LayerFile
	if err := decode(data, what, &f); err != nil {
		return nil, err
	}
	return &f, nil
}

// decode checks the document's version, then decodes it strictly: a field
// this nixlayer does not know is an error, not silently dropped.
func decode(data []byte, what string, v any) error {
	var head struct {
		Version *int `json:"version"`
	}
	if err := json.Unmarshal(data, &head); err != nil {
		return fmt.Errorf("reading %s: %w", what, err)
	}
	if err := CheckVersion(head.Version, what); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("reading %s (wire version %d): %w", what, Version, err)
	}
	return nil
}

// CheckVersion checks a document's version: nil (none) or another
// version than Version is an error saying which nixlayer wrote it.
func CheckVersion(v *int, what string) error {
	switch {
	case v == nil:
		return fmt.Errorf("%s has no version: it was not written by nixlayer, or is damaged", what)
	case *v > Version:
		return fmt.Errorf("%s has version %d; this nixlayer reads version %d: rebuild it with this one (it was written by a newer nixlayer)", what, *v, Version)
	case *v < Version:
		return fmt.Errorf("%s has version %d; this nixlayer reads version %d: rebuild it with this one (it was written by an older nixlayer)", what, *v, Version)
	}
	return nil
}
