package push

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/nixlayer/nixlayer/registry"
	"github.com/nixlayer/nixlayer/sign"
)

// Sign signs the manifest Push put (pushed) and, for an index, each of
// its images, with key in the forms cosign reads, and attests each
// in-toto statement (see sign.ParseStatement) to every one of those
// manifests its subject names (a statement naming none is an error).
// Each signature goes under cosign's tag "sha256-<hex>.sig", each
// attestation (a DSSE envelope) under "sha256-<hex>.att" (cosign verify
// and verify-attestation read these by default, on any registry), and
// both again as OCI 1.1 referrers of the manifest (see Attach; what
// cosign --experimental-oci11 reads first). With key nil the statements
// are attached unsigned, as referrers only. opts are the push's options.
//
// Signing goes on past a failure: it returns what was attached, and an
// error that names each signature or attestation that was not.
func Sign(ctx context.Context, pushed *Pushed, key *sign.Key, statements [][]byte, opts ...registry.Option) ([]string, error) {
	set, err := resolvePushed(ctx, pushed, "signing", opts)
	if err != nil {
		return nil, err
	}
	parsed := make([]*sign.Statement, len(statements))
	for i, s := range statements {
		if parsed[i], err = sign.ParseStatement(s); err != nil {
			return nil, fmt.Errorf("attestation %d: %w", i+1, err)
		}
	}
	targets := set.manifests()
	s := signer{ctx: ctx, repo: set.ref.Context(), key: key, ropts: set.ropts}
	used := make([]bool, len(parsed))
	for _, t := range targets {
		if key != nil {
			s.signature(t)
		}
		for i, st := range parsed {
			if st.Names(t.Digest) {
				s.attestation(t, statements[i], st.PredicateType)
				used[i] = true
			}
		}
	}
	for i, st := range parsed {
		if !used[i] {
			s.fail(fmt.Errorf("attestation %d (%s): its subject names none of the pushed manifests (%s)", i+1, st.PredicateType, describe(targets)))
		}
	}
	return s.done, errors.Join(s.errs...)
}

func describe(ds []v1.Descriptor) string {
	s := ""
	for i, d := range ds {
		if i > 0 {
			s += ", "
		}
		s += d.Digest.String()
	}
	return s
}

// signer attaches signatures and attestations, keeping what it did and
// what failed.
type signer struct {
	ctx   context.Context
	repo  name.Repository
	key   *sign.Key
	ropts []remote.Option
	done  []string
	errs  []error
}

func (s *signer) fail(err error) { s.errs = append(s.errs, err) }

// signature signs the manifest t: under cosign's tag, and as a referrer.
func (s *signer) signature(t v1.Descriptor) {
	what := "the signature of " + s.repo.Digest(t.Digest.String()).String()
	l, err := s.key.SignManifest(s.repo.Digest(t.Digest.String()))
	if err != nil {
		s.fail(fmt.Errorf("%s: %w", what, err))
		return
	}
	s.put(what, t, sign.SignatureTag(t.Digest), l, sign.SignatureArtifactType)
}

// attestation attests statement to t: signed (under cosign's tag and as
// a referrer) with a key, else unsigned as a referrer.
func (s *signer) attestation(t v1.Descriptor, statement []byte, predicateType string) {
	what := fmt.Sprintf("the %s attestation of %s", predicateType, s.repo.Digest(t.Digest.String()))
	if s.key == nil {
		a := Artifact{ArtifactType: sign.InTotoPayloadType, Annotations: map[string]string{sign.PredicateTypeAnnotation: predicateType}, Data: statement}
		if _, err := Attach(s.ctx, s.repo, t, []Artifact{a}, s.ropts...); err != nil {
			s.fail(fmt.Errorf("%s (unsigned, as a referrer): %w", what, err))
			return
		}
		s.done = append(s.done, what+" (unsigned) as a referrer")
		return
	}
	l, err := s.key.Attest(statement)
	if err != nil {
		s.fail(fmt.Errorf("%s: %w", what, err))
		return
	}
	s.put(what, t, sign.AttestationTag(t.Digest), l, sign.InTotoPayloadType)
}

// put adds l to the cosign image under tag and attaches it to t as a
// referrer of artifactType.
func (s *signer) put(what string, t v1.Descriptor, tag string, l sign.Layer, artifactType string) {
	if err := s.putTag(tag, l); err != nil {
		s.fail(fmt.Errorf("%s under the tag %s: %w", what, tag, err))
	} else {
		s.done = append(s.done, what+" as "+s.repo.Tag(tag).String())
	}
	a := Artifact{ArtifactType: artifactType, ConfigMediaType: types.MediaType(artifactType), MediaType: l.MediaType, Annotations: l.Annotations, Data: l.Data}
	if _, err := Attach(s.ctx, s.repo, t, []Artifact{a}, s.ropts...); err != nil {
		s.fail(fmt.Errorf("%s as a referrer: %w", what, err))
		return
	}
	s.done = append(s.done, what+" as a referrer")
}

// putTag writes the cosign image under tag: the layers it holds, and l
// unless it holds l already.
func (s *signer) putTag(tag string, l sign.Layer) error {
	t := s.repo.Tag(tag)
	var old []sign.Layer
	img, err := remote.Image(t, s.ropts...)
	switch {
	case registry.IsNotFound(err):
	case err != nil:
		return fmt.Errorf("reading what the tag holds: %w", err)
	default:
		if old, err = sign.Layers(img); err != nil {
			return fmt.Errorf("reading what the tag holds: %w", err)
		}
	}
	img, err = sign.Image(sign.Merge(old, []sign.Layer{l}, s.key.Verifier()))
	if err != nil {
		return err
	}
	return remote.Write(t, img, s.ropts...)
}
