package pull

import (
	"context"
	"fmt"
	"os"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/nixlayer/nixlayer/format"
	"github.com/nixlayer/nixlayer/registry"
)

// Request names the image Pull fetches and how it is written: the
// arguments of pullImage.
type Request struct {
	// ImageName is the repository, e.g. "docker.io/library/alpine" or
	// "127.0.0.1:5000/app".
	ImageName string
	// ImageDigest is the digest of an image manifest or of an index
	// ("sha256:<hex>"); from an index, the image for the platform is taken.
	ImageDigest string
	// FinalImageName and FinalImageTag tag the written image (RepoTags of
	// a docker-archive, the annotations of an OCI layout). FinalImageName
	// defaults to ImageName, FinalImageTag to "latest".
	FinalImageName string
	FinalImageTag  string
	// Format is docker-archive (default), oci-layout or oci-archive.
	Format format.Format
}

// reference checks r and returns the reference it pulls.
func (r *Request) reference(o registry.Options) (name.Digest, error) {
	if r.FinalImageName == "" {
		r.FinalImageName = r.ImageName
	}
	if r.FinalImageTag == "" {
		r.FinalImageTag = "latest"
	}
	if r.Format == "" {
		r.Format = format.DockerArchive
	}
	if _, err := format.Parse(string(r.Format)); err != nil {
		return name.Digest{}, err
	}
	if _, err := v1.NewHash(r.ImageDigest); err != nil {
		return name.Digest{}, fmt.Errorf("reading imageDigest %q of %q: %w", r.ImageDigest, r.ImageName, err)
	}
	ref, err := name.NewDigest(r.ImageName+"@"+r.ImageDigest, o.NameOptions()...)
	if err != nil {
		return name.Digest{}, fmt.Errorf("reading image reference %q: %w", r.ImageName+"@"+r.ImageDigest, err)
	}
	if _, err := name.NewTag(r.FinalImageName+":"+r.FinalImageTag, name.WeakValidation); err != nil {
		return name.Digest{}, fmt.Errorf("reading finalImageName:finalImageTag %q: %w", r.FinalImageName+":"+r.FinalImageTag, err)
	}
	return ref, nil
}

// Pull fetches the image r names by digest, verifies every blob, and
// writes it to out in r.Format: a file for docker-archive and oci-archive,
// a directory for oci-layout. The bytes depend only on the image, the
// format and the final name and tag. Nothing is left at out on failure.
func Pull(ctx context.Context, r Request, out string, opts ...registry.Option) error {
	o := registry.NewOptions(opts...)
	ref, err := r.reference(o)
	if err != nil {
		return err
	}
	if _, err := os.Lstat(out); err == nil {
		return fmt.Errorf("writing %s: it already exists", out)
	}
	f, err := registry.Fetch(ctx, ref, o)
	if err != nil {
		return err
	}
	defer f.Close()
	a, err := newArchive(f, r)
	if err != nil {
		return err
	}
	return a.create(out)
}
