package pull

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/nixlayer/nixlayer/internal/regularfile"
	"github.com/nixlayer/nixlayer/registry"
)

// LockVersion is the version of the lock files MakeLock writes and
// ReadLock reads.
const LockVersion = 1

// Bounds of a lock file: its size, and the layers it may list (Docker and
// containerd refuse more than 127; a registry may hold more).
const (
	MaxLockBytes  = 1 << 20
	MaxLockLayers = 1000
)

// Lock is a lock file (`nixlayer pin --lock FILE`): an image pinned blob by
// blob, so that pullImageFromLock (nix/pull.nix) fetches each blob as a
// fixed-output derivation of its own and a new version of a base image
// refetches only the layers that changed.
type Lock struct {
	Version int `json:"version"`
	// ImageName is the repository; ImageDigest the digest pinned (of an
	// index, when the reference named one, or of the manifest).
	ImageName   string `json:"imageName"`
	ImageDigest string `json:"imageDigest"`
	// FinalImageName and FinalImageTag name the image that
	// pullImageFromLock writes (defaults for its arguments).
	FinalImageName string `json:"finalImageName"`
	FinalImageTag  string `json:"finalImageTag"`
	// Platform is the image's platform (chosen from the index, if any).
	Platform LockPlatform `json:"platform"`
	// Manifest, Config and Layers are the image manifest and its blobs,
	// as in the manifest.
	Manifest LockBlob   `json:"manifest"`
	Config   LockBlob   `json:"config"`
	Layers   []LockBlob `json:"layers"`
}

// LockPlatform is the platform of a locked image.
type LockPlatform struct {
	OS           string `json:"os"`
	Architecture string `json:"architecture"`
	Variant      string `json:"variant,omitempty"`
}

// LockBlob is a locked blob: what a fixed-output derivation fetches.
type LockBlob struct {
	Digest    string `json:"digest"`
	Size      int64  `json:"size"`
	MediaType string `json:"mediaType"`
}

// MakeLock resolves ref (NAME[:TAG] or NAME@DIGEST) and returns the lock
// of its image (from an index, the image for the platform of opts).
func MakeLock(ctx context.Context, ref string, opts ...registry.Option) (*Lock, error) {
	o := registry.NewOptions(opts...)
	parsed, err := name.ParseReference(ref, o.NameOptions()...)
	if err != nil {
		return nil, fmt.Errorf("reading image reference %q: %w", ref, err)
	}
	ropts, err := o.RemoteOptions(ctx)
	if err != nil {
		return nil, err
	}
	top, err := registry.GetManifest(ctx, parsed, o, ropts)
	if err != nil {
		return nil, fmt.Errorf("fetching manifest of %q: %w", ref, err)
	}
	desc := top
	if top.MediaType.IsIndex() {
		idx, err := v1.ParseIndexManifest(bytes.NewReader(top.Manifest))
		if err != nil {
			return nil, fmt.Errorf("reading index of %q: %w", ref, err)
		}
		child, err := registry.ChoosePlatform(idx, o.Platform())
		if err != nil {
			return nil, fmt.Errorf("choosing the image of %q: %w", ref, err)
		}
		if desc, err = registry.GetManifest(ctx, parsed.Context().Digest(child.Digest.String()), o, ropts); err != nil {
			return nil, fmt.Errorf("fetching manifest %s of %q: %w", child.Digest, ref, err)
		}
	}
	if !desc.MediaType.IsImage() {
		return nil, fmt.Errorf("reading %q: media type %q is not an image manifest", ref, desc.MediaType)
	}
	m, err := v1.ParseManifest(bytes.NewReader(desc.Manifest))
	if err != nil {
		return nil, fmt.Errorf("reading manifest of %q: %w", ref, err)
	}
	repo, tag := registry.SplitReference(ref)
	l := &Lock{
		Version: LockVersion, ImageName: repo, ImageDigest: top.Digest.String(), FinalImageName: repo, FinalImageTag: tag,
		Manifest: LockBlob{Digest: desc.Digest.String(), Size: int64(len(desc.Manifest)), MediaType: string(desc.MediaType)},
		Config:   lockBlob(m.Config),
	}
	if l.Platform, err = platformOf(ctx, parsed, m.Config, o); err != nil {
		return nil, err
	}
	if l.Platform.OS == "" || l.Platform.Architecture == "" {
		// A config that does not say: the platform asked for.
		p := o.Platform()
		l.Platform = LockPlatform{OS: p.OS, Architecture: p.Architecture, Variant: p.Variant}
	}
	for _, d := range m.Layers {
		l.Layers = append(l.Layers, lockBlob(d))
	}
	return l, l.check()
}

func lockBlob(d v1.Descriptor) LockBlob {
	return LockBlob{Digest: d.Digest.String(), Size: d.Size, MediaType: string(d.MediaType)}
}

// platformOf reads the platform of an image from its config.
func platformOf(ctx context.Context, ref name.Reference, cfg v1.Descriptor, o registry.Options) (LockPlatform, error) {
	if cfg.Size > registry.MaxConfigBytes {
		return LockPlatform{}, fmt.Errorf("config %s is %d bytes, over the %d byte limit", cfg.Digest, cfg.Size, registry.MaxConfigBytes)
	}
	data, err := registry.FetchBlobBytes(ctx, ref.Context(), cfg, o)
	if err != nil {
		return LockPlatform{}, err
	}
	var c struct {
		OS           string `json:"os"`
		Architecture string `json:"architecture"`
		Variant      string `json:"variant"`
	}
	if err := json.Unmarshal(data, &c); err != nil {
		return LockPlatform{}, fmt.Errorf("reading config %s of %q: %w", cfg.Digest, ref.String(), err)
	}
	return LockPlatform{OS: c.OS, Architecture: c.Architecture, Variant: c.Variant}, nil
}

// Marshal is the lock file's text: indented JSON, a newline at the end.
func (l *Lock) Marshal() ([]byte, error) {
	data, err := json.MarshalIndent(l, "", "  ")
	return append(data, '\n'), err
}

// ReadLock reads and checks the lock file p: a regular file of at most
// MaxLockBytes, every field known and present, every digest a sha256.
func ReadLock(p string) (*Lock, error) {
	data, err := regularfile.ReadAll(p, MaxLockBytes, false)
	if err != nil {
		return nil, fmt.Errorf("reading lock file %s: %w", p, err)
	}
	return ParseLock(data, p)
}

// ParseLock decodes and checks a lock file's data; file names it in
// errors.
func ParseLock(data []byte, file string) (*Lock, error) {
	var l Lock
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&l); err != nil {
		return nil, fmt.Errorf("reading lock file %s: %w", file, err)
	}
	if err := l.check(); err != nil {
		return nil, fmt.Errorf("reading lock file %s: %w", file, err)
	}
	return &l, nil
}

// sha256RE is the one digest form a lock file takes.
var sha256RE = regexp.MustCompile(`^sha256:[0-9a-f]{64}$`)

// check checks every field of l, naming the first that is wrong.
func (l *Lock) check() error {
	if l.Version != LockVersion {
		return fmt.Errorf("version is %d; this nixlayer reads version %d (write the lock again with nixlayer pin --lock)", l.Version, LockVersion)
	}
	for _, f := range []struct{ name, value string }{{"imageName", l.ImageName}, {"imageDigest", l.ImageDigest}, {"finalImageName", l.FinalImageName}, {"finalImageTag", l.FinalImageTag}, {"platform.os", l.Platform.OS}, {"platform.architecture", l.Platform.Architecture}} {
		if f.value == "" {
			return fmt.Errorf("%s is missing", f.name)
		}
	}
	if !sha256RE.MatchString(l.ImageDigest) {
		return fmt.Errorf("imageDigest %q is not sha256:<64 hex digits>", l.ImageDigest)
	}
	if _, err := name.NewRepository(l.ImageName, name.WeakValidation); err != nil {
		return fmt.Errorf("imageName %q: %w", l.ImageName, err)
	}
	if _, err := name.NewTag(l.FinalImageName+":"+l.FinalImageTag, name.WeakValidation); err != nil {
		return fmt.Errorf("finalImageName:finalImageTag %q: %w", l.FinalImageName+":"+l.FinalImageTag, err)
	}
	if len(l.Layers) > MaxLockLayers {
		return fmt.Errorf("layers lists %d layers, over the limit of %d", len(l.Layers), MaxLockLayers)
	}
	if err := l.Manifest.check("manifest", registry.MaxDocumentBytes); err != nil {
		return err
	}
	if err := l.Config.check("config", registry.MaxConfigBytes); err != nil {
		return err
	}
	for i, b := range l.Layers {
		if err := b.check(fmt.Sprintf("layers[%d]", i), -1); err != nil {
			return err
		}
	}
	return nil
}

// check checks a blob of a lock file, field, of at most max bytes (-1:
// any size).
func (b LockBlob) check(field string, max int64) error {
	switch {
	case !sha256RE.MatchString(b.Digest):
		return fmt.Errorf("%s.digest %q is not sha256:<64 hex digits>", field, b.Digest)
	case b.Size <= 0:
		return fmt.Errorf("%s.size is %d: it must be the blob's size in bytes", field, b.Size)
	case max >= 0 && b.Size > max:
		return fmt.Errorf("%s.size is %d, over the %d byte limit", field, b.Size, max)
	case b.MediaType == "" || strings.ContainsAny(b.MediaType, " \n\"'"):
		return fmt.Errorf("%s.mediaType %q is not a media type", field, b.MediaType)
	}
	return nil
}
