package registry

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// FetchBlob downloads the blob d of repo to the file out, verifying its
// digest and size, trying again after a transient failure; nothing is
// left at out on failure. It is what one fixed-output derivation of
// pullImageFromLock does.
func FetchBlob(ctx context.Context, repo name.Repository, d v1.Descriptor, out string, o Options) error {
	dir, err := os.MkdirTemp(filepath.Dir(out), ".nixlayer-blob-")
	if err != nil {
		return fmt.Errorf("creating a directory for blob %s: %w", d.Digest, err)
	}
	defer os.RemoveAll(dir)
	f := &fetched{ref: repo.Digest(d.Digest.String()), dir: dir}
	if err := f.download(ctx, d, o.o); err != nil {
		return err
	}
	return os.Rename(f.blobPath(d.Digest), out)
}

// FetchBlobBytes is FetchBlob into memory, for a small blob (a config):
// d.Size must be within MaxConfigBytes.
func FetchBlobBytes(ctx context.Context, repo name.Repository, d v1.Descriptor, o Options) ([]byte, error) {
	if d.Size < 0 || d.Size > MaxConfigBytes {
		return nil, fmt.Errorf("blob %s of %q is %d bytes, over the %d byte limit for documents read into memory", d.Digest, repo.String(), d.Size, MaxConfigBytes)
	}
	dir, err := os.MkdirTemp(o.o.tempDir, "nixlayer-blob-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	out := filepath.Join(dir, "blob")
	if err := FetchBlob(ctx, repo, d, out, o); err != nil {
		return nil, err
	}
	return os.ReadFile(out)
}

// FetchManifest fetches the manifest (or index) ref names by digest and
// returns its bytes, checked against the digest.
func FetchManifest(ctx context.Context, ref name.Digest, o Options) ([]byte, error) {
	ropts, err := o.RemoteOptions(ctx)
	if err != nil {
		return nil, err
	}
	desc, err := getManifest(ctx, ref, o.o, ropts)
	if err != nil {
		return nil, fmt.Errorf("fetching manifest %q: %w", ref.String(), err)
	}
	sum := sha256.Sum256(desc.Manifest)
	if got := "sha256:" + hex.EncodeToString(sum[:]); got != ref.DigestStr() {
		return nil, fmt.Errorf("fetching manifest %q: the registry sent a manifest of digest %s: %w", ref.String(), got, errDigest)
	}
	return desc.Manifest, nil
}
