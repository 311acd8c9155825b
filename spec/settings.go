package spec

import (
	"fmt"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/nixlayer/nixlayer/compression"
	"github.com/nixlayer/nixlayer/customize"
	"github.com/nixlayer/nixlayer/format"
	"github.com/nixlayer/nixlayer/layering"
	"github.com/nixlayer/nixlayer/layers"
)

// Settings is a Spec after Resolve: every option checked, typed and
// defaulted, so that planning and writing read no Spec field and apply no
// default. A Settings value is complete when Resolve returns it; nothing is
// added to it later.
type Settings struct {
	// Ref is the image's name and tag, lowercased.
	Ref name.Tag
	// Config is the user's OCI image config (before merging a base's).
	Config v1.Config
	// Platform is the image's architecture, variant and OS.
	Platform v1.Platform
	// Created is the image's creation date.
	Created time.Time
	// MTime stamps every entry of every layer.
	MTime time.Time
	// Format is the output format; a stream is always DockerArchive.
	Format format.Format
	// Compression compresses every layer blob.
	Compression layers.Compression
	// Stream makes the output a stream script (streamLayeredImage).
	Stream bool
	// Uid and Gid own every entry nixlayer writes (0: root).
	Uid, Gid int
	// Contents are the store paths whose files go at the image root.
	Contents []string
	// ContentsMode says how they get there: copied into the store layer
	// (layering "none", buildImage) or linked from a layer of their own.
	ContentsMode layers.ContentsMode
	// Layering is a registered layering.Strategy name; MaxLayers (2 to
	// layering.MaxImageLayers) bounds the image's layers, the base's
	// included.
	Layering  string
	MaxLayers int
	// Pipeline is the layeringPipeline, parsed; nil unless Layering is
	// layering.PipelineStrategy.
	Pipeline *layering.Pipeline
	// ImageSet, when not nil, is the set the image is a member of
	// (imageset.go); the closure graph is then the set's union.
	ImageSet *ImageSet
	// NixDB, when not nil, adds the Nix database layer.
	NixDB *NixDB
	// Base is the base image (fromImage), or nil.
	Base *BaseRef
	// Layers are the nl.buildLayer outputs whose layers go first, as they
	// were built (see cached.go); Plan reads them.
	Layers []string
	// SBOM, when not nil, puts the SBOM documents in the customisation
	// layer (see sbom.go).
	SBOM *SBOM
	// Customize is the customisation (users, files, perms...).
	Customize customize.Spec
	// TempDir holds what a build extracts or writes before the output.
	TempDir string
	// Uname and Gname, when not nil, name the owner of every entry.
	Uname, Gname *string
	// IncludeStorePaths false leaves the store-path layers out.
	IncludeStorePaths bool
	// References is the store path whose references are the store paths
	// the arguments name; it is left out of the image (or empty).
	References string
	// ScriptReferences is the store path whose references are the store
	// paths the scripts name; it is left out of the image, and so are
	// they unless what the scripts leave refers to them (or empty).
	ScriptReferences string
	// Script, when not nil, is the root script run over the image's root
	// (rootscript.go).
	Script *RootScript
	// Provenance, when not nil, makes the image's provenance statement
	// (provenance.go).
	Provenance *Provenance
	// Annotations, when not nil, are the manifest's annotations
	// (annotations.go); the store-path layers then carry nix-snapshotter's.
	// nil when the annotations argument is false.
	Annotations map[string]string
	// AnnotationsRemoved are the default annotations the user removed
	// (given as null), sorted: the builder adds no default of these names.
	AnnotationsRemoved []string
}

// BaseRef names the base image of a build (fromImage, fromImageName,
// fromImageTag), so that a stream script can open it again.
type BaseRef struct {
	Path string `json:"path"`
	Name string `json:"name,omitempty"`
	Tag  string `json:"tag,omitempty"`
}

// RootScript is runAsRoot or fakeRootCommands, resolved.
type RootScript struct {
	Name   string // the argument it came from
	Script string
	Shell  string // runs a script without a #! line
	// Chroot makes the image's root the script's / (runAsRoot,
	// enableFakechroot); OverBase puts the base image's files under it
	// and keeps only what the script changes of them (runAsRoot).
	Chroot, OverBase bool
}

// NixDB is how the Nix database layer is owned: by Uid/Gid with the names
// Uname/Gname, all defaulted.
type NixDB struct {
	Uid, Gid     int
	Uname, Gname string
}

// Env is what a build takes from its environment rather than the spec.
type Env struct {
	// DefaultTag is the tag when the spec has none (the output hash under
	// Nix, as dockerTools does).
	DefaultTag string
	// SourceDateEpoch is $SOURCE_DATE_EPOCH, or empty.
	SourceDateEpoch string
	// Now is the clock for created = "now"; nil means time.Now.
	Now func() time.Time
	// TempDir holds temporary files; empty means os.TempDir's default.
	TempDir string
	// Version is nixlayer's version, which the provenance names.
	Version string
}

// LayerOptions returns how the image's layers are written.
func (s *Settings) LayerOptions() layers.Options {
	return layers.Options{MTime: s.MTime, Compression: s.Compression}
}

// Resolve checks spec and returns its Settings, with every default applied
// here and nowhere else. It reads nothing but spec and env. An error names
// the field; with spec.Function set, it also names the Nix function
// ("nixlayer.buildLayeredImage: ...").
func Resolve(spec *Spec, env Env) (*Settings, error) {
	set, err := resolve(spec, env)
	if err != nil && spec.Function != "" {
		return nil, fmt.Errorf("nixlayer.%s: %w", spec.Function, err)
	}
	return set, err
}

func resolve(s *Spec, env Env) (*Settings, error) {
	set := &Settings{Stream: s.Stream, Contents: s.Contents, Customize: s.Spec, TempDir: env.TempDir,
		Uname: s.Uname, Gname: s.Gname, IncludeStorePaths: s.IncludeStorePaths == nil || *s.IncludeStorePaths, References: s.References, ScriptReferences: s.ScriptReferences}
	var err error
	if set.Ref, err = s.Reference(env.DefaultTag); err != nil {
		return nil, err
	}
	if set.Config, err = s.ImageConfig(); err != nil {
		return nil, err
	}
	if set.Platform, err = ResolvePlatform(s.Architecture, s.System); err != nil {
		return nil, err
	}
	if s.Variant != "" {
		set.Platform.Variant = s.Variant
	}
	now := env.Now
	if now == nil {
		now = time.Now
	}
	if set.Created, err = s.CreatedTime(now); err != nil {
		return nil, err
	}
	if set.MTime, err = s.LayerTimeAt(env.SourceDateEpoch, now); err != nil {
		return nil, err
	}
	if err := resolveOutput(s, set); err != nil {
		return nil, err
	}
	if err := resolveLayering(s, set); err != nil {
		return nil, err
	}
	if s.Uid < 0 || s.Gid < 0 {
		return nil, fmt.Errorf("uid %d / gid %d must not be negative", s.Uid, s.Gid)
	}
	set.Uid, set.Gid = s.Uid, s.Gid
	if set.NixDB, err = resolveNixDB(s); err != nil {
		return nil, err
	}
	if set.Layers, err = resolveLayers(s.Layers); err != nil {
		return nil, err
	}
	if set.SBOM, err = resolveSBOM(s); err != nil {
		return nil, err
	}
	if set.Script, err = resolveScript(s); err != nil {
		return nil, err
	}
	if set.Provenance, err = resolveProvenance(s, env); err != nil {
		return nil, err
	}
	if set.Annotations, set.AnnotationsRemoved, err = resolveAnnotations(s, set); err != nil {
		return nil, err
	}
	if s.FromImage != "" {
		set.Base = &BaseRef{Path: s.FromImage, Name: s.FromImageName, Tag: s.FromImageTag}
	} else if s.FromImageName != "" || s.FromImageTag != "" {
		return nil, fmt.Errorf("fromImageName/fromImageTag given without fromImage")
	}
	return set, nil
}

// resolveScript is the root script of the spec, if any: runAsRoot for
// buildImage, fakeRootCommands (with enableFakechroot) for the layered
// builders.
func resolveScript(s *Spec) (*RootScript, error) {
	shell := ""
	if s.Shell != nil {
		shell = *s.Shell
	}
	layered := s.Layered != nil && *s.Layered
	switch {
	case s.RunAsRoot != "" && s.FakeRootCommands != "":
		return nil, fmt.Errorf("runAsRoot and fakeRootCommands are both given: runAsRoot is buildImage's, fakeRootCommands the layered builders'")
	case s.RunAsRoot != "" && layered:
		return nil, fmt.Errorf("runAsRoot is buildImage's; the layered builders take fakeRootCommands (with enableFakechroot = true to see the image's root as /)")
	case s.RunAsRoot != "":
		return &RootScript{Name: "runAsRoot", Script: s.RunAsRoot, Shell: shell, Chroot: true, OverBase: true}, nil
	case s.FakeRootCommands != "" && s.Layered != nil && !*s.Layered:
		return nil, fmt.Errorf("fakeRootCommands is the layered builders'; buildImage takes runAsRoot")
	case s.FakeRootCommands != "":
		return &RootScript{Name: "fakeRootCommands", Script: s.FakeRootCommands, Shell: shell, Chroot: s.EnableFakechroot}, nil
	}
	return nil, nil
}

// resolveOutput sets the format and the compression: docker-archive, and
// gzip ("none" for a stream, which is compressed, if at all, on its way).
func resolveOutput(s *Spec, set *Settings) error {
	var err error
	if set.Format, err = format.Parse(s.Format); err != nil { // "" is docker-archive
		return err
	}
	if s.Stream && set.Format != format.DockerArchive {
		return fmt.Errorf("a streamed image is a docker-archive; format %q cannot be streamed", s.Format)
	}
	c, cerr := compressionName(s.Compression, s.Compressor)
	if cerr != nil {
		return cerr
	}
	if c == "" {
		c = string(DefaultCompression(s.Stream))
	}
	set.Compression, err = compression.Parse(c)
	return err
}

// compressorNames maps dockerTools' compressor names to ours.
var compressorNames = map[string]string{"gz": "gzip", "gzip": "gzip", "zstd": "zstd", "none": "none"}

// compressionName returns the compression that compression (ours) and
// compressor (dockerTools' "gz", "zstd", "none") name; both given must
// agree. Empty means the default.
func compressionName(compression, compressor string) (string, error) {
	if compressor == "" {
		return compression, nil
	}
	c, ok := compressorNames[compressor]
	if !ok {
		return "", fmt.Errorf("unknown compressor %q: use gz, zstd or none (or compression = \"gzip\", \"zstd\" or \"none\")", compressor)
	}
	if compression != "" && compression != c {
		return "", fmt.Errorf("compression = %q and compressor = %q disagree: give one", compression, compressor)
	}
	return c, nil
}

// DefaultCompression is the compression of an image whose spec names none:
// gzip, which loads everywhere, or none for a stream.
func DefaultCompression(stream bool) layers.Compression {
	if stream {
		return layers.None
	}
	return layers.Gzip
}

// resolveLayering sets the strategy, the layer budget and how the contents
// reach the root. The layered builders (and a spec that names a strategy)
// default to layering.DefaultStrategy; buildImage and the command line,
// which builds as buildImage does, to one layer.
func resolveLayering(s *Spec, set *Settings) error {
	set.Layering = s.Layering
	if err := resolvePipeline(s, set); err != nil {
		return err
	}
	if set.Layering == "" && s.ImageSet != nil {
		set.Layering = layering.SetStrategy
	}
	if set.Layering == "" {
		set.Layering = layering.NoLayering
		if s.Layered != nil && *s.Layered {
			set.Layering = layering.DefaultStrategy
		}
	}
	if _, err := layering.Lookup(set.Layering); err != nil {
		return err
	}
	set.ContentsMode = layers.Link
	switch {
	case set.Layering == layering.NoLayering && s.KeepContentsDirlinks:
		set.ContentsMode = layers.CopyKeepDirlinks
	case set.Layering == layering.NoLayering:
		set.ContentsMode = layers.CopyFollowDirlinks
	case s.KeepContentsDirlinks:
		return fmt.Errorf("keepContentsDirlinks = true: the contents are linked, not copied, with layering = %q (it applies to buildImage, or layering = \"none\")", set.Layering)
	}
	set.MaxLayers = layering.DefaultMaxLayers
	if s.MaxLayers != nil {
		set.MaxLayers = *s.MaxLayers
	}
	if err := layering.CheckMaxLayers(set.MaxLayers); err != nil {
		return fmt.Errorf("maxLayers = %d: it must be between 2 and %d: %w", set.MaxLayers, layering.MaxImageLayers, err)
	}
	return resolveImageSet(s, set)
}

// resolveNixDB returns the Nix database options, or nil without one. The
// Nix state's user is "nix" when nixUid is not 0 and unnamed, else root;
// its group is named after the user unless nixGid is 0.
func resolveNixDB(s *Spec) (*NixDB, error) {
	if !s.IncludeNixDB {
		return nil, nil
	}
	if s.NixUid < 0 || s.NixGid < 0 {
		return nil, fmt.Errorf("nixUid %d / nixGid %d must not be negative", s.NixUid, s.NixGid)
	}
	db := &NixDB{Uid: s.NixUid, Gid: s.NixGid, Uname: s.NixUname, Gname: s.NixGname}
	if db.Uname == "" {
		db.Uname = "root"
		if db.Uid != 0 {
			db.Uname = "nix"
		}
	}
	if db.Gname == "" {
		db.Gname = "root"
		if db.Gid != 0 {
			db.Gname = db.Uname
		}
	}
	return db, nil
}
