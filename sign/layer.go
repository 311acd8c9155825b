package sign

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/sigstore/sigstore/pkg/signature/dsse"
	sigpayload "github.com/sigstore/sigstore/pkg/signature/payload"
)

// Media types, annotations and tag suffixes of cosign's signatures and
// attestations.
const (
	// SimpleSigningMediaType is a signature layer's: the simple-signing
	// payload that names the signed manifest digest.
	SimpleSigningMediaType types.MediaType = "application/vnd.dev.cosign.simplesigning.v1+json"
	// DSSEMediaType is an attestation layer's: a DSSE envelope.
	DSSEMediaType types.MediaType = "application/vnd.dsse.envelope.v1+json"
	// InTotoPayloadType is the DSSE payload type of an in-toto statement,
	// and the artifact type of attestations as OCI 1.1 referrers.
	InTotoPayloadType = "application/vnd.in-toto+json"
	// SignatureArtifactType is the artifact type of a signature as an
	// OCI 1.1 referrer (what cosign verify --experimental-oci11 lists).
	SignatureArtifactType = "application/vnd.dev.cosign.artifact.sig.v1+json"
	// SignatureAnnotation holds a layer's base64 signature (empty for an
	// attestation, whose signature is inside its envelope).
	SignatureAnnotation = "dev.cosignproject.cosign/signature"
	// PredicateTypeAnnotation holds an attestation's predicate type.
	PredicateTypeAnnotation = "predicateType"
	// SLSAProvenanceV1 is the predicate type of SLSA v1 provenance
	// (cosign's --type slsaprovenance1).
	SLSAProvenanceV1 = "https://slsa.dev/provenance/v1"
)

// MaxStatementBytes bounds an in-toto statement to attest: its envelope,
// a third larger, is one blob that cosign reads into memory.
const MaxStatementBytes = 16 << 20

// Layer is one signature or attestation: a layer of the image under a
// cosign tag, or of an OCI 1.1 referrer.
type Layer struct {
	MediaType   types.MediaType
	Data        []byte
	Annotations map[string]string
}

// SignManifest signs the manifest ref names in cosign's form: the
// simple-signing payload (docker-reference: ref's repository,
// docker-manifest-digest: its digest), signed, the signature in the
// layer's annotation.
func (k *Key) SignManifest(ref name.Digest) (Layer, error) {
	payload, err := sigpayload.Cosign{Image: ref}.MarshalJSON()
	if err != nil {
		return Layer{}, err
	}
	sig, err := k.sv.SignMessage(bytes.NewReader(payload))
	if err != nil {
		return Layer{}, fmt.Errorf("signing %s with %s: %w", ref, k.path, err)
	}
	return Layer{
		MediaType:   SimpleSigningMediaType,
		Data:        payload,
		Annotations: map[string]string{SignatureAnnotation: base64.StdEncoding.EncodeToString(sig)},
	}, nil
}

// Statement is the part of an in-toto statement (v0.1 or v1) that is checked.
type Statement struct {
	Type          string `json:"_type"`
	PredicateType string `json:"predicateType"`
	Subject       []struct {
		Name   string            `json:"name"`
		Digest map[string]string `json:"digest"`
	} `json:"subject"`
}

// ParseStatement reads an in-toto statement: at most MaxStatementBytes,
// an in-toto Statement type, a predicate type, a subject.
func ParseStatement(data []byte) (*Statement, error) {
	if len(data) > MaxStatementBytes {
		return nil, fmt.Errorf("the in-toto statement is %d bytes, over the %d byte limit of an attestation", len(data), MaxStatementBytes)
	}
	var s Statement
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, fmt.Errorf("reading the in-toto statement: %w", err)
	}
	switch s.Type {
	case "https://in-toto.io/Statement/v1", "https://in-toto.io/Statement/v0.1":
	default:
		return nil, fmt.Errorf("the in-toto statement has _type %q, not an in-toto Statement", s.Type)
	}
	if s.PredicateType == "" || len(s.Subject) == 0 {
		return nil, errors.New("the in-toto statement has no predicateType or no subject")
	}
	return &s, nil
}

// Names reports whether the statement's subject includes digest.
func (s *Statement) Names(digest v1.Hash) bool {
	for _, sub := range s.Subject {
		if sub.Digest[digest.Algorithm] == digest.Hex {
			return true
		}
	}
	return false
}

// Attest signs an in-toto statement (see ParseStatement) as a DSSE
// envelope, in cosign's attestation layer: the envelope, its predicate
// type in an annotation.
func (k *Key) Attest(statement []byte) (Layer, error) {
	s, err := ParseStatement(statement)
	if err != nil {
		return Layer{}, err
	}
	env, err := dsse.WrapSigner(k.sv, InTotoPayloadType).SignMessage(bytes.NewReader(statement))
	if err != nil {
		return Layer{}, fmt.Errorf("signing the %s statement with %s: %w", s.PredicateType, k.path, err)
	}
	return Layer{
		MediaType:   DSSEMediaType,
		Data:        env,
		Annotations: map[string]string{SignatureAnnotation: "", PredicateTypeAnnotation: s.PredicateType},
	}, nil
}
