package verify

import (
	"bytes"
	"context"
	"fmt"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/nixlayer/nixlayer/image/base"
	"github.com/nixlayer/nixlayer/provenance"
	"github.com/nixlayer/nixlayer/registry"
	"github.com/nixlayer/nixlayer/sign"
	"github.com/nixlayer/nixlayer/source"
)

// Result is what Verify found.
type Result struct {
	// Reference is the registry's manifest (or index) by digest.
	Reference string
	// Checked says what agrees, a line each.
	Checked []string
	// Differences says what does not, a line each: the manifest, the
	// config, a layer by its index with both digests, a missing or bad
	// signature or attestation.
	Differences []string
}

// OK reports whether nothing differs.
func (r *Result) OK() bool { return len(r.Differences) == 0 }

func (r *Result) ok(format string, a ...any) {
	r.Checked = append(r.Checked, fmt.Sprintf(format, a...))
}
func (r *Result) differ(format string, a ...any) {
	r.Differences = append(r.Differences, fmt.Sprintf(format, a...))
}

// Verify compares the image ref names in a registry (NAME:TAG or
// NAME@DIGEST) with the local build at image (anything push takes: a
// docker-archive, an OCI layout or archive, a stream script, a
// multi-platform index). With key it also checks the signatures and the
// SLSA provenance attestations (see package doc). An error means the
// comparison could not be made (an unreadable image, a registry that
// fails); what differs is in the Result.
func Verify(ctx context.Context, ref, image string, key *sign.Verifier, opts ...registry.Option) (*Result, error) {
	o := registry.NewOptions(opts...)
	r, err := name.ParseReference(ref, o.NameOptions()...)
	if err != nil {
		return nil, fmt.Errorf("reading the reference %q: %w", ref, err)
	}
	s, err := source.Open(ctx, image, source.WithTempDir(o.TempDir()))
	if err != nil {
		return nil, err
	}
	defer s.Close()
	ropts, err := o.RemoteOptions(ctx)
	if err != nil {
		return nil, err
	}
	got, err := remote.Get(r, ropts...)
	if err != nil {
		return nil, fmt.Errorf("reading %s from the registry: %w", ref, err)
	}
	c := &checker{src: image, repo: r.Context(), ropts: ropts, key: key, res: &Result{Reference: r.Context().Digest(got.Digest.String()).String()}}
	if s.Image != nil {
		if err := c.image("the image", s.Image, got.Descriptor, nil); err != nil {
			return nil, err
		}
	} else if err := c.index(s.Index, got.Descriptor); err != nil {
		return nil, err
	}
	return c.res, nil
}

// checker compares manifests of one repository.
type checker struct {
	src   string // the local build
	repo  name.Repository
	ropts []remote.Option
	key   *sign.Verifier
	res   *Result
}

// image compares the local image with the registry's manifest d.
func (c *checker) image(what string, local v1.Image, d v1.Descriptor, bopts []base.Option) error {
	ld, err := partial.Descriptor(local)
	if err != nil {
		return fmt.Errorf("reading the local build's %s: %w", what, err)
	}
	if ld.Digest == d.Digest {
		c.res.ok("%s: manifest %s, the same in the registry and the local build", what, d.Digest)
	} else {
		if err := c.layers(what, local, ld.Digest, d); err != nil {
			return err
		}
	}
	if c.key != nil {
		c.signature(what, d.Digest)
		c.provenance(what, d.Digest, bopts)
	}
	return nil
}

// layers says how the local image and the registry's manifest d differ.
func (c *checker) layers(what string, local v1.Image, localDigest v1.Hash, d v1.Descriptor) error {
	c.res.differ("%s: the registry's manifest is %s, the local build's %s", what, d.Digest, localDigest)
	lm, err := local.Manifest()
	if err != nil {
		return fmt.Errorf("reading the local build's %s: %w", what, err)
	}
	if d.MediaType.IsIndex() {
		c.res.differ("%s: the registry holds an index (%s), the local build an image", what, d.MediaType)
		return nil
	}
	img, err := remote.Image(c.repo.Digest(d.Digest.String()), c.ropts...)
	if err != nil {
		return fmt.Errorf("reading %s@%s: %w", c.repo, d.Digest, err)
	}
	rm, err := img.Manifest()
	if err != nil {
		return fmt.Errorf("reading %s@%s: %w", c.repo, d.Digest, err)
	}
	if rm.Config.Digest != lm.Config.Digest {
		c.res.differ("%s: config: the registry has %s, the local build %s", what, rm.Config.Digest, lm.Config.Digest)
	}
	if len(rm.Layers) != len(lm.Layers) {
		c.res.differ("%s: the registry's image has %d layers, the local build's %d", what, len(rm.Layers), len(lm.Layers))
	}
	same := 0
	for i := 0; i < len(rm.Layers) && i < len(lm.Layers); i++ {
		if rm.Layers[i].Digest != lm.Layers[i].Digest {
			c.res.differ("%s: layer %d of %d: the registry has %s, the local build %s", what, i+1, len(lm.Layers), rm.Layers[i].Digest, lm.Layers[i].Digest)
		} else {
			same++
		}
	}
	c.res.ok("%s: %d of %d layers the same", what, same, len(lm.Layers))
	if rm.Config.Digest == lm.Config.Digest && same == len(lm.Layers) && len(rm.Layers) == len(lm.Layers) {
		c.res.differ("%s: the config and every layer are the same: the manifests differ in media types or annotations", what)
	}
	return nil
}

// index compares the local index with the registry's manifest d, and
// each of its images with the registry's image at the same place.
func (c *checker) index(local v1.ImageIndex, d v1.Descriptor) error {
	ld, err := partial.Descriptor(local)
	if err != nil {
		return fmt.Errorf("reading the local build's index: %w", err)
	}
	if ld.Digest == d.Digest {
		c.res.ok("the index: %s, the same in the registry and the local build", d.Digest)
	} else {
		c.res.differ("the index: the registry's is %s, the local build's %s", d.Digest, ld.Digest)
	}
	if c.key != nil {
		c.signature("the index", d.Digest)
	}
	if !d.MediaType.IsIndex() {
		c.res.differ("the index: the registry holds an image (%s), the local build an index", d.MediaType)
		return nil
	}
	lim, err := local.IndexManifest()
	if err != nil {
		return fmt.Errorf("reading the local build's index: %w", err)
	}
	ridx, err := remote.Index(c.repo.Digest(d.Digest.String()), c.ropts...)
	if err != nil {
		return fmt.Errorf("reading %s@%s: %w", c.repo, d.Digest, err)
	}
	rim, err := ridx.IndexManifest()
	if err != nil {
		return fmt.Errorf("reading %s@%s: %w", c.repo, d.Digest, err)
	}
	if len(rim.Manifests) != len(lim.Manifests) {
		c.res.differ("the index: the registry's lists %d manifests, the local build's %d", len(rim.Manifests), len(lim.Manifests))
	}
	for i := 0; i < len(rim.Manifests) && i < len(lim.Manifests); i++ {
		what := fmt.Sprintf("image %d (%s)", i+1, platform(lim.Manifests[i].Platform))
		img, err := local.Image(lim.Manifests[i].Digest)
		if err != nil {
			return fmt.Errorf("reading the local build's %s: %w", what, err)
		}
		if err := c.image(what, img, rim.Manifests[i], []base.Option{base.WithManifest(lim.Manifests[i].Digest)}); err != nil {
			return err
		}
	}
	return nil
}

func platform(p *v1.Platform) string {
	if p == nil {
		return "no platform"
	}
	return p.String()
}

// cosignLayers reads the layers under a cosign tag; found false when the
// registry has no such tag.
func (c *checker) cosignLayers(tag string) (_ []sign.Layer, found bool, err error) {
	img, err := remote.Image(c.repo.Tag(tag), c.ropts...)
	if err != nil {
		if registry.IsNotFound(err) {
			return nil, false, nil
		}
		return nil, false, err
	}
	ls, err := sign.Layers(img)
	return ls, true, err
}

// signature checks that a signature of digest under its cosign tag
// verifies with the key.
func (c *checker) signature(what string, digest v1.Hash) {
	tag := sign.SignatureTag(digest)
	ls, found, err := c.cosignLayers(tag)
	switch {
	case err != nil:
		c.res.differ("%s: reading its signatures (%s:%s): %v", what, c.repo, tag, err)
		return
	case !found:
		c.res.differ("%s: no signature (the registry has no tag %s)", what, tag)
		return
	}
	var last error
	for _, l := range ls {
		if last = c.key.VerifySignature(l, digest); last == nil {
			c.res.ok("%s: signature of %s verifies with %s", what, digest, c.key.Path())
			return
		}
	}
	c.res.differ("%s: none of the %d signatures under %s verifies with %s (last: %v)", what, len(ls), tag, c.key.Path(), last)
}

// provenance checks that a SLSA v1 provenance attestation of digest
// under its cosign tag verifies with the key and, when the local build
// carries a provenance statement (package provenance; bopts pick the
// image), that one of those is that statement.
func (c *checker) provenance(what string, digest v1.Hash, bopts []base.Option) {
	tag := sign.AttestationTag(digest)
	ls, found, err := c.cosignLayers(tag)
	switch {
	case err != nil:
		c.res.differ("%s: reading its attestations (%s:%s): %v", what, c.repo, tag, err)
		return
	case !found:
		c.res.differ("%s: no attestation (the registry has no tag %s)", what, tag)
		return
	}
	var want []byte
	if st, err := provenance.Of(c.src, bopts...); err == nil {
		want = st.JSON
	}
	var last error = fmt.Errorf("no %s attestation", sign.SLSAProvenanceV1)
	verified := false
	for _, l := range ls {
		if l.Annotations[sign.PredicateTypeAnnotation] != sign.SLSAProvenanceV1 {
			continue
		}
		var s *sign.Statement
		var raw []byte
		if s, raw, last = c.key.VerifyAttestation(l, digest); last != nil || s.PredicateType != sign.SLSAProvenanceV1 {
			continue
		}
		verified = true
		if want == nil || bytes.Equal(raw, want) {
			c.res.ok("%s: SLSA provenance attestation verifies with %s%s", what, c.key.Path(), map[bool]string{true: ", and is the local build's statement", false: ""}[want != nil])
			return
		}
	}
	if verified {
		c.res.differ("%s: the SLSA provenance attestations under %s verify with %s, but none is the local build's provenance statement", what, tag, c.key.Path())
		return
	}
	c.res.differ("%s: no SLSA provenance attestation under %s verifies with %s (%v)", what, tag, c.key.Path(), last)
}
