package spec

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/nixlayer/nixlayer/customize"
	"github.com/nixlayer/nixlayer/sbom"
)

// Spec is everything a build needs besides the closure, as the user wrote
// it: an absent or null field means the default, which Resolve applies (and
// nothing else does). Nix passes it as the "nixlayer" attribute of a
// structured-attrs derivation; outside Nix it is a JSON file overlaid with
// command-line flags, one flag per field. Field names follow dockerTools.
type Spec struct {
	// Function is the Nix function that made the spec ("buildImage",
	// "buildLayeredImage", "streamLayeredImage"), named in errors and
	// nothing else. Empty on the command line.
	Function string `json:"function"`
	// Layered is true for the layered builders (buildLayeredImage,
	// streamLayeredImage and their Nix DB variants), false for buildImage,
	// and absent on the command line: it chooses the default layering
	// (popularity, or one layer) and which root script the builder takes
	// (fakeRootCommands, or runAsRoot; the command line takes either).
	Layered  *bool           `json:"layered"`
	Name     string          `json:"name"`
	Tag      *string         `json:"tag"`
	Contents []string        `json:"contents"`
	Config   json.RawMessage `json:"config"`
	Created  string          `json:"created"`
	// MTime is seconds since the epoch (a number or a string of digits),
	// an ISO-8601 date, or "now" (dockerTools' forms).
	MTime        *Timestamp `json:"mtime"`
	Uid          int        `json:"uid"`
	Gid          int        `json:"gid"`
	Architecture string     `json:"architecture"`
	System       string     `json:"system"`
	Format       string     `json:"format"`
	Compression  string     `json:"compression"`
	// Layering is "none" (one layer, buildImage), "popularity", "auto", "size",
	// "pipeline" (with LayeringPipeline) or another registered
	// layering.Strategy.
	Layering  string `json:"layering"`
	MaxLayers *int   `json:"maxLayers"`
	// LayeringPipeline is nixpkgs' layeringPipeline: a list of steps over
	// the closure graph (layering.ParsePipeline), or a string naming a
	// JSON file holding one. It makes the layering "pipeline".
	LayeringPipeline json.RawMessage `json:"layeringPipeline"`
	// IncludeNixDB adds a top layer with the Nix database registering
	// every store path of the image; NixUid and friends own the Nix state.
	IncludeNixDB bool   `json:"includeNixDB"`
	NixUid       int    `json:"nixUid"`
	NixGid       int    `json:"nixGid"`
	NixUname     string `json:"nixUname"`
	NixGname     string `json:"nixGname"`
	// FromImage is a base image file or OCI layout; FromImageName and
	// FromImageTag pick one image of an archive that holds several.
	FromImage     string `json:"fromImage"`
	FromImageName string `json:"fromImageName"`
	FromImageTag  string `json:"fromImageTag"`
	// Stream makes the output a stream script (streamLayeredImage).
	Stream bool `json:"stream"`
	// Compressor is dockerTools' name for the compression: "gz", "zstd"
	// or "none" (and ours, "gzip"); it may not contradict Compression.
	Compressor string `json:"compressor"`
	// Uname and Gname name the owner of every entry in the tar headers
	// (dockerTools' uname/gname; default: the names uid/gid have, root).
	Uname *string `json:"uname"`
	Gname *string `json:"gname"`
	// Variant overrides the platform's variant ("v7", "v8").
	Variant string `json:"variant"`
	// IncludeStorePaths false leaves the store out of the image: no
	// store-path layers (dockerTools' includeStorePaths); default true.
	IncludeStorePaths *bool `json:"includeStorePaths"`
	// References is a store path whose references are the store paths the
	// other arguments name (config, symlinks, files, ...): its closure is
	// in the closure graph so that theirs is in the image, and the path
	// itself is left out (nix/default.nix makes it).
	References string `json:"references"`
	// ScriptReferences is, like References, a store path whose references
	// are the store paths extraCommands, runAsRoot and fakeRootCommands
	// name: inputs of the scripts, but in the image only when what the
	// scripts leave refers to them (by hash part, as Nix scans outputs),
	// with their closures, as dockerTools has them.
	ScriptReferences string `json:"scriptReferences"`
	// KeepContentsDirlinks, for contents that are copied (buildImage),
	// keeps a content's symlink to a directory and puts what later
	// contents have under that name into the directory (rsync -K); without
	// it such a symlink is copied as the directory (rsync -k), as
	// dockerTools does.
	KeepContentsDirlinks bool `json:"keepContentsDirlinks"`
	// Layers are nl.buildLayer outputs, bottom first: layers built
	// earlier that the image takes as they are (see cached.go).
	Layers []string `json:"layers"`
	// SBOM is the sbom argument: absent, null or true for the documents
	// (the default), false for none, or a list of entries (sbom.Meta
	// fields): one with a "path" (a store path) overrides, field by field,
	// what the closure and SBOMMeta say of it; one without adds a package
	// that is not a store path (it needs a name).
	SBOM json.RawMessage `json:"sbom"`
	// SBOMMeta is the meta (license, homepage, description) of the
	// derivations named in contents, by store path, from nix/sbom.nix.
	SBOMMeta map[string]sbom.Meta `json:"sbomMeta"`
	// Annotations is the annotations argument: absent, null or true for
	// the default OCI annotations of the manifest (resolveAnnotations),
	// false for none, or an object whose strings set annotations over the
	// defaults and whose nulls remove defaults. nix/default.nix adds those
	// of the builder's meta.
	Annotations json.RawMessage `json:"annotations"`
	// Provenance false leaves the provenance statement out (package
	// provenance); absent, null or true, the image carries one.
	Provenance *bool `json:"provenance"`

	// RunAsRoot (buildImage) is a script run as root with the image's
	// whole root filesystem as / (the base image's files, the contents,
	// the closure); what it changes is the image's own layer.
	// FakeRootCommands (the layered builders) runs as root in the
	// customisation layer's directory, or, with EnableFakechroot, with the
	// image's root as /. Both need Shell unless they start with "#!"
	// (package rootscript).
	RunAsRoot        string `json:"runAsRoot"`
	FakeRootCommands string `json:"fakeRootCommands"`
	EnableFakechroot bool   `json:"enableFakechroot"`

	// ImageSet makes the image a member of a set (nl.buildImageSet): the
	// closure graph is the union of the set's, and the layers are planned
	// over it (imageset.go).
	ImageSet *ImageSet `json:"imageSet"`

	// Users, groups, files, symlinks, permission rules: see package customize.
	customize.Spec
}

// DefaultCreated is dockerTools' default image creation date: one second
// after the epoch, so that tools do not take it for "unset".
const DefaultCreated = "1970-01-01T00:00:01Z"

// ParseSpec decodes a spec, rejecting unknown fields so that a typo in an
// argument name is an error rather than a silent default. source names the
// input in errors.
func ParseSpec(data []byte, source string) (*Spec, error) {
	var s Spec
	if err := decodeStrict(data, &s); err != nil {
		return nil, fmt.Errorf("reading image spec %s: %w", source, err)
	}
	return &s, nil
}

// decodeStrict decodes the JSON data into v, an unknown field being an
// error.
func decodeStrict(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

// Reference returns the image reference: name and tag lowercased as
// dockerTools does, the tag defaulting to defaultTag. A reference that is
// still invalid is an error naming it.
func (s *Spec) Reference(defaultTag string) (name.Tag, error) {
	if s.Name == "" {
		return name.Tag{}, fmt.Errorf("the image needs a name")
	}
	tag := defaultTag
	if s.Tag != nil && *s.Tag != "" {
		tag = *s.Tag
	}
	ref := strings.ToLower(s.Name) + ":" + strings.ToLower(tag)
	t, err := name.NewTag(ref, name.WeakValidation)
	if err != nil {
		return name.Tag{}, fmt.Errorf("invalid image reference %q (from name %q and tag %q): %w", ref, s.Name, tag, err)
	}
	return t, nil
}

// ImageConfig decodes the user's config strictly: it must be a JSON object
// whose fields have the types of the OCI image config (Cmd a list of
// strings, Env a list of "NAME=value", ...).
func (s *Spec) ImageConfig() (v1.Config, error) {
	var c v1.Config
	raw := bytes.TrimSpace(s.Config)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return c, nil
	}
	if raw[0] != '{' {
		return c, fmt.Errorf("config must be an attribute set (a JSON object), not %s", raw)
	}
	if err := decodeStrict(raw, &c); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return c, fmt.Errorf("config.%s must be %s, not a JSON %s", te.Field, goTypeName(te.Type.String()), te.Value)
		}
		return c, fmt.Errorf("reading config: %w", err)
	}
	for i, e := range c.Env {
		if !strings.Contains(e, "=") {
			return c, fmt.Errorf("config.Env[%d] = %q is not of the form NAME=value", i, e)
		}
	}
	return c, nil
}

func goTypeName(t string) string {
	switch t {
	case "[]string":
		return "a list of strings"
	case "string":
		return "a string"
	case "bool":
		return "a boolean"
	case "map[string]string":
		return "an attribute set of strings"
	case "map[string]struct {}":
		return "an attribute set (of empty sets)"
	}
	return t
}

// CreatedTime parses the created argument: an RFC 3339 date, "now", or
// empty for DefaultCreated. "now" makes the image irreproducible, as in
// dockerTools.
func (s *Spec) CreatedTime(now func() time.Time) (time.Time, error) {
	c := s.Created
	switch c {
	case "":
		c = DefaultCreated
	case "now":
		return now().UTC().Truncate(time.Second), nil
	}
	t, err := time.Parse(time.RFC3339, c)
	if err != nil {
		return time.Time{}, fmt.Errorf("created = %q is not an RFC 3339 date (like %s) or \"now\"", s.Created, DefaultCreated)
	}
	return t.UTC(), nil
}

// LayerTime returns the mtime of every entry: SOURCE_DATE_EPOCH when set,
// else the mtime option, else 1. mtime = "now" reads the clock (time.Now).
func (s *Spec) LayerTime(sourceDateEpoch string) (time.Time, error) {
	return s.LayerTimeAt(sourceDateEpoch, time.Now)
}

// LayerTimeAt is LayerTime with the clock for mtime = "now".
func (s *Spec) LayerTimeAt(sourceDateEpoch string, now func() time.Time) (time.Time, error) {
	if sourceDateEpoch != "" {
		sec, err := strconv.ParseInt(sourceDateEpoch, 10, 64)
		if err != nil || sec < 0 {
			return time.Time{}, fmt.Errorf("SOURCE_DATE_EPOCH = %q is not a number of seconds", sourceDateEpoch)
		}
		return time.Unix(sec, 0).UTC(), nil
	}
	if s.MTime == nil {
		return time.Unix(1, 0).UTC(), nil
	}
	return s.MTime.Time(now)
}
