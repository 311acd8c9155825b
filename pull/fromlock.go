package pull

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/nixlayer/nixlayer/format"
	"github.com/nixlayer/nixlayer/internal/atomicfile"
	"github.com/nixlayer/nixlayer/internal/regularfile"
	"github.com/nixlayer/nixlayer/registry"
)

// BlobSpec is the "nixlayer" attribute of one fixed-output derivation of
// pullImageFromLock (nix/pull.nix): a blob of a lock file, and how to
// reach the registry (pullImage's arguments; imageDigest is the lock's).
type BlobSpec struct {
	Spec
	// Blob is the blob to fetch; Manifest says it is the image manifest,
	// fetched as a manifest rather than a blob.
	Blob     LockBlob `json:"blob"`
	Manifest bool     `json:"manifest"`
}

// ParseBlobSpec decodes and checks a BlobSpec; file names its origin in
// errors.
func ParseBlobSpec(data []byte, file string) (*BlobSpec, error) {
	var s BlobSpec
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		return nil, fmt.Errorf("reading pullImageFromLock blob arguments in %s: %w", file, err)
	}
	if err := s.Blob.check("blob", -1); err != nil {
		return nil, fmt.Errorf("reading pullImageFromLock blob arguments in %s: %w", file, err)
	}
	if _, err := name.NewRepository(s.ImageName, name.WeakValidation); err != nil {
		return nil, fmt.Errorf("reading imageName %q in %s: %w", s.ImageName, file, err)
	}
	if _, err := s.timeouts(); err != nil {
		return nil, fmt.Errorf("reading pullImageFromLock blob arguments in %s: %w", file, err)
	}
	return &s, nil
}

// FetchLockedBlob fetches the blob s names to the file out, verified
// against its digest and size.
func FetchLockedBlob(ctx context.Context, s *BlobSpec, out string, opts ...registry.Option) error {
	o := registry.NewOptions(append(s.Options(), opts...)...)
	repo, err := name.NewRepository(s.ImageName, o.NameOptions()...)
	if err != nil {
		return fmt.Errorf("reading imageName %q: %w", s.ImageName, err)
	}
	h, err := v1.NewHash(s.Blob.Digest)
	if err != nil {
		return err
	}
	if !s.Manifest {
		return registry.FetchBlob(ctx, repo, v1.Descriptor{Digest: h, Size: s.Blob.Size}, out, o)
	}
	data, err := registry.FetchManifest(ctx, repo.Digest(h.String()), o)
	if err != nil {
		return err
	}
	return atomicfile.File(out, func(f *os.File) error {
		_, err := f.Write(data)
		return err
	})
}

// AssembleSpec is the "nixlayer" attribute of the last derivation of
// pullImageFromLock: the files its fixed-output derivations fetched, and
// how to write them (pullImage's finalImageName, finalImageTag, format).
type AssembleSpec struct {
	// LockFile names the lock file in errors.
	LockFile string `json:"lockFile"`
	// Manifest is the digest of the image manifest; Blobs maps it and
	// every blob's digest to the file that holds it.
	Manifest       string            `json:"manifest"`
	Blobs          map[string]string `json:"blobs"`
	FinalImageName string            `json:"finalImageName"`
	FinalImageTag  string            `json:"finalImageTag"`
	Format         string            `json:"format"`
}

// ParseAssembleSpec decodes an AssembleSpec; file names its origin in
// errors.
func ParseAssembleSpec(data []byte, file string) (*AssembleSpec, error) {
	var s AssembleSpec
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		return nil, fmt.Errorf("reading pullImageFromLock arguments in %s: %w", file, err)
	}
	if _, err := format.Parse(s.Format); err != nil {
		return nil, fmt.Errorf("reading format in %s: %w", file, err)
	}
	return &s, nil
}

// Assemble writes the image of the files s lists to out, as Pull writes
// the same image pulled by digest: the same bytes for the same format,
// final name and tag. The manifest file is checked against its digest,
// and every blob it lists must be among the files, at its size (each
// file's content was checked by Nix against the blob's sha256). Nothing
// is left at out on failure.
func Assemble(s *AssembleSpec, out string) error {
	f, err := s.locked()
	if err != nil {
		return fmt.Errorf("assembling the image of lock file %s: %w", s.LockFile, err)
	}
	fm, _ := format.Parse(s.Format)
	r := Request{ImageName: s.FinalImageName, ImageDigest: s.Manifest, FinalImageName: s.FinalImageName, FinalImageTag: s.FinalImageTag, Format: fm}
	if _, err := r.reference(registry.NewOptions()); err != nil {
		return fmt.Errorf("assembling the image of lock file %s: %w", s.LockFile, err)
	}
	a, err := newArchive(f, r)
	if err != nil {
		return err
	}
	return a.create(out)
}

// locked is an image whose blobs are files fetched one by one.
type locked struct {
	raw      []byte
	manifest *v1.Manifest
	paths    map[v1.Hash]string
}

func (l *locked) Manifest() *v1.Manifest    { return l.manifest }
func (l *locked) RawManifest() []byte       { return l.raw }
func (l *locked) BlobPath(h v1.Hash) string { return l.paths[h] }
func (l *locked) Blobs() []v1.Descriptor {
	return registry.UniqueBlobs(append([]v1.Descriptor{l.manifest.Config}, l.manifest.Layers...))
}

// locked reads the manifest file and checks that every blob it lists is
// there, at its size.
func (s *AssembleSpec) locked() (*locked, error) {
	mpath, ok := s.Blobs[s.Manifest]
	if !ok {
		return nil, fmt.Errorf("no file for the manifest %s", s.Manifest)
	}
	raw, err := regularfile.ReadAll(mpath, registry.MaxDocumentBytes, false)
	if err != nil {
		return nil, fmt.Errorf("reading manifest %s: %w", s.Manifest, err)
	}
	sum := sha256.Sum256(raw)
	if got := "sha256:" + hex.EncodeToString(sum[:]); got != s.Manifest {
		return nil, fmt.Errorf("manifest file %s has digest %s, not %s", mpath, got, s.Manifest)
	}
	m, err := v1.ParseManifest(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("reading manifest %s: %w", s.Manifest, err)
	}
	if m.Config.Size > registry.MaxConfigBytes {
		return nil, fmt.Errorf("config %s is %d bytes, over the %d byte limit for image configs", m.Config.Digest, m.Config.Size, registry.MaxConfigBytes)
	}
	l := &locked{raw: raw, manifest: m, paths: map[v1.Hash]string{}}
	for _, d := range l.Blobs() {
		p, ok := s.Blobs[d.Digest.String()]
		if !ok {
			return nil, fmt.Errorf("the manifest lists blob %s, which the lock file does not: write it again with nixlayer pin --lock", d.Digest)
		}
		fi, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("blob %s: %w", d.Digest, err)
		}
		if !fi.Mode().IsRegular() || fi.Size() != d.Size {
			return nil, fmt.Errorf("blob %s: %s is not a regular file of the manifest's %d bytes", d.Digest, p, d.Size)
		}
		l.paths[d.Digest] = p
	}
	return l, nil
}
