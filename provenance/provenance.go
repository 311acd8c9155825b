package provenance

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	slsa "github.com/in-toto/attestation/go/predicates/provenance/v1"
	intoto "github.com/in-toto/attestation/go/v1"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/nixlayer/nixlayer/registration"
)

// The URIs and media type of a statement.
const (
	// StatementType is the in-toto statement's _type.
	StatementType = intoto.StatementTypeUri
	// PredicateType is the SLSA v1 provenance predicate's type.
	PredicateType = "https://slsa.dev/provenance/v1"
	// BuildType names how nixlayer builds an image: the parameters and
	// dependencies it records, as the README's "Provenance" section says.
	BuildType = "https://github.com/nixlayer/nixlayer/blob/main/README.md#provenance"
	// BuilderID is the builder's id (runDetails.builder.id); the version
	// is in builder.version.nixlayer.
	BuilderID = "https://github.com/nixlayer/nixlayer"
	// MediaType is the media type of a statement (an in-toto attestation).
	MediaType = "application/vnd.in-toto+json"
)

// MaxSize bounds a statement read from an image: a statement lists each
// store path in about 120 bytes, so this allows closures of over 100,000
// store paths.
const MaxSize = 16 << 20

// ErrNoProvenance means an image carries no provenance statement: it was
// built with provenance = false, or not by nixlayer.
var ErrNoProvenance = errors.New("no provenance statement")

// Statement is an in-toto Statement v1 as an image carries it.
type Statement struct {
	// PredicateType is the statement's predicate type (PredicateType for
	// the ones nixlayer makes).
	PredicateType string
	// JSON is the statement, compact JSON with sorted keys.
	JSON []byte
}

// StorePath is a store path the image was built from, with its NAR hash as
// Nix prints it ("sha256:<nix32>", base16 or SRI).
type StorePath struct {
	Path    string
	NarHash string
}

// Base is the image's base image (fromImage).
type Base struct {
	// Path is the base image's file or directory (a store path).
	Path string
	// Ref is the name:tag the base was picked by, or "".
	Ref string
	// Manifest is the digest of the base's manifest, MediaType its media
	// type.
	Manifest  v1.Hash
	MediaType string
}

// Input is what a statement says.
type Input struct {
	// Name is the image's name, without its tag: the subject's name.
	Name string
	// Manifest is the digest of the image's manifest: the subject.
	Manifest v1.Hash
	// Parameters are the nixlayer arguments as the builder got them (a
	// JSON object): the externalParameters.
	Parameters json.RawMessage
	// StorePaths are the store paths of the closure and of cached layers,
	// the resolvedDependencies with Base.
	StorePaths []StorePath
	// Base is the base image, or nil.
	Base *Base
	// Version is nixlayer's version.
	Version string
}

// Make returns the statement in describes, checked by the in-toto and SLSA
// validators. Its bytes depend on nothing but in.
func Make(in Input) (*Statement, error) {
	if in.Manifest.Algorithm == "" || in.Manifest.Hex == "" {
		return nil, fmt.Errorf("making the provenance of image %s: no manifest digest", in.Name)
	}
	params := &structpb.Struct{}
	if len(in.Parameters) > 0 {
		if err := protojson.Unmarshal(in.Parameters, params); err != nil {
			return nil, fmt.Errorf("making the provenance: the parameters are not a JSON object: %w", err)
		}
	}
	deps, err := dependencies(in)
	if err != nil {
		return nil, err
	}
	pred := &slsa.Provenance{
		BuildDefinition: &slsa.BuildDefinition{BuildType: BuildType, ExternalParameters: params, ResolvedDependencies: deps},
		RunDetails:      &slsa.RunDetails{Builder: &slsa.Builder{Id: BuilderID, Version: map[string]string{"nixlayer": in.Version}}},
	}
	subject := &intoto.ResourceDescriptor{Name: in.Name, Digest: map[string]string{in.Manifest.Algorithm: in.Manifest.Hex}}
	return fromProto(subject, pred)
}

// dependencies are the resolved dependencies of in: every store path with
// its NAR hash, then the base image by its manifest digest.
func dependencies(in Input) ([]*intoto.ResourceDescriptor, error) {
	var deps []*intoto.ResourceDescriptor
	for _, p := range in.StorePaths {
		d, err := storePathDigest(p)
		if err != nil {
			return nil, err
		}
		deps = append(deps, &intoto.ResourceDescriptor{Name: p.Path, Digest: d})
	}
	if b := in.Base; b != nil {
		rd := &intoto.ResourceDescriptor{Name: b.Path, Digest: map[string]string{b.Manifest.Algorithm: b.Manifest.Hex},
			MediaType: b.MediaType, Annotations: mustStruct(map[string]any{"role": "fromImage"})}
		if b.Ref != "" {
			rd.Annotations = mustStruct(map[string]any{"role": "fromImage", "ref": b.Ref})
		}
		deps = append(deps, rd)
	}
	return deps, nil
}

// storePathDigest is p's NAR hash as an in-toto digest (sha256, hex).
func storePathDigest(p StorePath) (map[string]string, error) {
	if p.NarHash == "" {
		return nil, fmt.Errorf("making the provenance: store path %s has no NAR hash", p.Path)
	}
	h, err := registration.NarHashBase16(p.NarHash)
	if err != nil {
		return nil, fmt.Errorf("making the provenance: store path %s: %w", p.Path, err)
	}
	hex, ok := strings.CutPrefix(h, "sha256:")
	if !ok {
		return nil, fmt.Errorf("making the provenance: store path %s: NAR hash %q is not sha256", p.Path, p.NarHash)
	}
	return map[string]string{"sha256": hex}, nil
}

// mustStruct is m (of JSON values) as a structpb.Struct.
func mustStruct(m map[string]any) *structpb.Struct {
	s, err := structpb.NewStruct(m)
	if err != nil {
		panic(err)
	}
	return s
}

// fromProto validates the statement of subject and pred and encodes it.
func fromProto(subject *intoto.ResourceDescriptor, pred *slsa.Provenance) (*Statement, error) {
	if err := pred.Validate(); err != nil {
		return nil, fmt.Errorf("making the provenance: %w", err)
	}
	predStruct, err := toStruct(pred)
	if err != nil {
		return nil, err
	}
	st := &intoto.Statement{Type: StatementType, Subject: []*intoto.ResourceDescriptor{subject}, PredicateType: PredicateType, Predicate: predStruct}
	if err := st.Validate(); err != nil {
		return nil, fmt.Errorf("making the provenance: %w", err)
	}
	data, err := canonical(st)
	if err != nil {
		return nil, err
	}
	return &Statement{PredicateType: PredicateType, JSON: data}, nil
}

// toStruct is m as a structpb.Struct (its JSON form).
func toStruct(m proto.Message) (*structpb.Struct, error) {
	data, err := protojson.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("encoding the provenance: %w", err)
	}
	s := &structpb.Struct{}
	if err := protojson.Unmarshal(data, s); err != nil {
		return nil, fmt.Errorf("encoding the provenance: %w", err)
	}
	return s, nil
}

// canonical encodes m as compact JSON with sorted keys: protojson's own
// output varies its spacing on purpose, so it is decoded and encoded
// again by encoding/json, numbers kept as written.
func canonical(m proto.Message) ([]byte, error) {
	data, err := protojson.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("encoding the provenance: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("encoding the provenance: %w", err)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("encoding the provenance: %w", err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// Parse reads a statement strictly: an in-toto Statement v1 (no unknown
// field, a subject with a digest) whose predicate, when its type is
// PredicateType, is a valid SLSA v1 provenance. what names the input in
// errors.
func Parse(data []byte, what string) (*Statement, error) {
	st, err := parseProto(data, what)
	if err != nil {
		return nil, err
	}
	return &Statement{PredicateType: st.GetPredicateType(), JSON: data}, nil
}

// parseProto decodes and validates the statement data and its predicate.
func parseProto(data []byte, what string) (*intoto.Statement, error) {
	st := &intoto.Statement{}
	if err := protojson.Unmarshal(data, st); err != nil {
		return nil, fmt.Errorf("%s: not an in-toto statement: %w", what, err)
	}
	if err := st.Validate(); err != nil {
		return nil, fmt.Errorf("%s: invalid in-toto statement: %w", what, err)
	}
	if st.GetPredicateType() != PredicateType {
		return st, nil
	}
	if _, err := predicate(st, what); err != nil {
		return nil, err
	}
	return st, nil
}

// predicate decodes and validates st's SLSA provenance predicate.
func predicate(st *intoto.Statement, what string) (*slsa.Provenance, error) {
	raw, err := protojson.Marshal(st.GetPredicate())
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	pred := &slsa.Provenance{}
	if err := protojson.Unmarshal(raw, pred); err != nil {
		return nil, fmt.Errorf("%s: not a SLSA v1 provenance: %w", what, err)
	}
	if err := pred.Validate(); err != nil {
		return nil, fmt.Errorf("%s: invalid SLSA v1 provenance: %w", what, err)
	}
	return pred, nil
}
