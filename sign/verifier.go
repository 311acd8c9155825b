package sign

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/sigstore/sigstore/pkg/signature/dsse"
	sigpayload "github.com/sigstore/sigstore/pkg/signature/payload"
)

// Verifier checks signatures and attestations with a public key.
type Verifier struct {
	path string
	v    signature.Verifier
}

// Path is the file the key was read from.
func (v *Verifier) Path() string { return v.path }

// VerifySignature checks that l is a signature, by this key, of the
// manifest digest.
func (v *Verifier) VerifySignature(l Layer, digest v1.Hash) error {
	if l.MediaType != SimpleSigningMediaType {
		return fmt.Errorf("a %s layer, not a signature", l.MediaType)
	}
	if err := v.verifyRaw(l); err != nil {
		return err
	}
	var p sigpayload.SimpleContainerImage
	if err := json.Unmarshal(l.Data, &p); err != nil {
		return fmt.Errorf("reading the signed payload: %w", err)
	}
	if p.Critical.Type != sigpayload.CosignSignatureType || p.Critical.Image.DockerManifestDigest != digest.String() {
		return fmt.Errorf("the signature is of %q (%s), not of %s", p.Critical.Image.DockerManifestDigest, p.Critical.Type, digest)
	}
	return nil
}

// verifyRaw checks the signature in l's annotation over l's bytes.
func (v *Verifier) verifyRaw(l Layer) error {
	sig, err := base64.StdEncoding.DecodeString(l.Annotations[SignatureAnnotation])
	if err != nil || len(sig) == 0 {
		return fmt.Errorf("no signature in the %s annotation", SignatureAnnotation)
	}
	if err := v.v.VerifySignature(bytes.NewReader(sig), bytes.NewReader(l.Data)); err != nil {
		return fmt.Errorf("the signature does not verify with %s: %w", v.path, err)
	}
	return nil
}

// VerifyAttestation checks that l is an attestation, by this key, of an
// in-toto statement whose subject names digest, and returns the
// statement and its bytes.
func (v *Verifier) VerifyAttestation(l Layer, digest v1.Hash) (*Statement, []byte, error) {
	raw, err := v.envelopePayload(l)
	if err != nil {
		return nil, nil, err
	}
	s, err := ParseStatement(raw)
	if err != nil {
		return nil, nil, err
	}
	if !s.Names(digest) {
		return nil, nil, fmt.Errorf("the %s statement's subject does not name %s", s.PredicateType, digest)
	}
	return s, raw, nil
}

// envelopePayload checks that l is a DSSE envelope of an in-toto
// statement signed by this key, and returns the statement's bytes.
func (v *Verifier) envelopePayload(l Layer) ([]byte, error) {
	if l.MediaType != DSSEMediaType {
		return nil, fmt.Errorf("a %s layer, not an attestation", l.MediaType)
	}
	if err := dsse.WrapVerifier(v.v).VerifySignature(bytes.NewReader(l.Data), nil); err != nil {
		return nil, fmt.Errorf("the attestation does not verify with %s: %w", v.path, err)
	}
	return payloadOf(l)
}

// payloadOf returns the in-toto statement inside the envelope l, unchecked.
func payloadOf(l Layer) ([]byte, error) {
	var env struct {
		PayloadType string `json:"payloadType"`
		Payload     string `json:"payload"`
	}
	if err := json.Unmarshal(l.Data, &env); err != nil {
		return nil, fmt.Errorf("reading the envelope: %w", err)
	}
	if env.PayloadType != InTotoPayloadType {
		return nil, fmt.Errorf("the envelope holds %q, not an in-toto statement", env.PayloadType)
	}
	raw, err := base64.StdEncoding.DecodeString(env.Payload)
	if err != nil {
		return nil, fmt.Errorf("reading the envelope's payload: %w", err)
	}
	return raw, nil
}
