package registry

import (
	"context"
	"io"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// Options is what a list of Option sets, read by the packages that move
// images (pull and push) through the accessors below.
type Options struct{ o *options }

// NewOptions applies opts over the defaults.
func NewOptions(opts ...Option) Options { return Options{makeOptions(opts)} }

// Platform is the platform chosen from an index (WithPlatform).
func (o Options) Platform() v1.Platform { return o.o.platform }

// Insecure reports whether plain HTTP and unverified TLS are allowed
// (WithInsecure).
func (o Options) Insecure() bool { return o.o.insecure }

// Timeouts are the network timeouts WithTimeouts set (zero fields: the
// defaults, see DefaultTimeouts).
func (o Options) Timeouts() Timeouts { return o.o.timeouts }

// TempDir is where temporary files go (WithTempDir; "" is $TMPDIR).
func (o Options) TempDir() string { return o.o.tempDir }

// Progress is where progress is reported (WithProgress), or nil.
func (o Options) Progress() io.Writer { return o.o.progress }

// NameOptions are the options for parsing references.
func (o Options) NameOptions() []name.Option { return o.o.nameOptions() }

// RemoteOptions are the go-containerregistry options of one operation
// under ctx: transport with its timeouts, auth, platform, jobs and retry.
func (o Options) RemoteOptions(ctx context.Context) ([]remote.Option, error) {
	return o.o.remoteOptions(remote.WithContext(ctx))
}

// GetManifest fetches the manifest ref names with ropts (o.RemoteOptions),
// trying again when its body fails transiently (cut, stalled, trickling),
// as Fetch does: go-containerregistry retries requests, not bodies.
func GetManifest(ctx context.Context, ref name.Reference, o Options, ropts []remote.Option) (*remote.Descriptor, error) {
	return getManifest(ctx, ref, o.o, ropts)
}

// Fetched is an image manifest and its blobs, downloaded by Fetch and
// verified into a temporary directory that Close removes.
type Fetched struct{ f *fetched }

// Fetch downloads the image ref names (choosing from an index by the
// platform of o) and every blob of it, verifying each blob's digest and
// size, within the limits of limits.go.
func Fetch(ctx context.Context, ref name.Reference, o Options) (*Fetched, error) {
	f, err := fetch(ctx, ref, o.o)
	if err != nil {
		return nil, err
	}
	return &Fetched{f}, nil
}

// Manifest is the image manifest, parsed.
func (f *Fetched) Manifest() *v1.Manifest { return f.f.manifest }

// RawManifest is the image manifest, bytes as in the registry.
func (f *Fetched) RawManifest() []byte { return f.f.rawManifest }

// Blobs are the config and the layers, each once, in manifest order.
func (f *Fetched) Blobs() []v1.Descriptor {
	return uniqueBlobs(append([]v1.Descriptor{f.f.manifest.Config}, f.f.manifest.Layers...))
}

// BlobPath is the file holding the blob of digest h.
func (f *Fetched) BlobPath(h v1.Hash) string { return f.f.blobPath(h) }

// Close removes the downloaded blobs.
func (f *Fetched) Close() { f.f.close() }

// ChoosePlatform returns the image of idx for want; an empty variant in
// want matches any. The error lists the platforms idx has, within
// maxPlatformsListed.
func ChoosePlatform(idx *v1.IndexManifest, want v1.Platform) (v1.Descriptor, error) {
	return choosePlatform(idx, want)
}

// HumanSize renders n bytes as progress reports do ("1.5 MiB").
func HumanSize(n int64) string { return humanSize(n) }

// UniqueBlobs keeps the first descriptor of each digest, in order.
func UniqueBlobs(ds []v1.Descriptor) []v1.Descriptor { return uniqueBlobs(ds) }
