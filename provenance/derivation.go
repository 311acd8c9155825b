package provenance

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	intoto "github.com/in-toto/attestation/go/v1"
	"google.golang.org/protobuf/types/known/structpb"
)

// WithDerivation returns st with the image derivation's .drv path, which
// its builder cannot see, as externalParameters.derivation and, with its
// NAR hash (as Nix prints it), among the resolved dependencies. A
// statement that already names a derivation is returned as it is.
func WithDerivation(st *Statement, drv, narHash string) (*Statement, error) {
	what := "adding the derivation to the provenance"
	s, err := parseProto(st.JSON, what)
	if err != nil {
		return nil, err
	}
	pred, err := predicate(s, what)
	if err != nil {
		return nil, err
	}
	def := pred.GetBuildDefinition()
	params := def.GetExternalParameters()
	if params == nil {
		params = &structpb.Struct{Fields: map[string]*structpb.Value{}}
		def.ExternalParameters = params
	}
	if _, ok := params.Fields["derivation"]; ok {
		return st, nil
	}
	params.Fields["derivation"] = structpb.NewStringValue(drv)
	d, err := storePathDigest(StorePath{Path: drv, NarHash: narHash})
	if err != nil {
		return nil, err
	}
	def.ResolvedDependencies = append([]*intoto.ResourceDescriptor{{Name: drv, Digest: d,
		Annotations: mustStruct(map[string]any{"role": "derivation"})}}, def.ResolvedDependencies...)
	return fromProto(s.GetSubject()[0], pred)
}

// Deriver returns the derivation that made the store path p and the
// derivation's NAR hash, as `nix-store --query --deriver` and `nix-store
// --query --hash` tell; "" when Nix does not know it (a path copied from
// a cache without its deriver, or not in the store).
func Deriver(ctx context.Context, p string) (drv, narHash string, err error) {
	out, err := exec.CommandContext(ctx, "nix-store", "--query", "--deriver", p).Output()
	if err != nil {
		return "", "", fmt.Errorf("finding the derivation of %s (nix-store --query --deriver): %w", p, err)
	}
	drv = strings.TrimSpace(string(out))
	if drv == "" || drv == "unknown-deriver" {
		return "", "", nil
	}
	out, err = exec.CommandContext(ctx, "nix-store", "--query", "--hash", drv).Output()
	if err != nil {
		// The deriver is recorded but the .drv is gone (garbage-collected).
		return "", "", nil
	}
	return drv, strings.TrimSpace(string(out)), nil
}

// Print returns the statement of the image at path (Of) and, when
// withDerivation is set and path is a store path whose deriver Nix knows,
// with that derivation (WithDerivation): what `nixlayer provenance`
// prints.
func Print(ctx context.Context, path string, withDerivation bool) (*Statement, error) {
	st, err := Of(path)
	if err != nil || !withDerivation || !inStore(path) {
		return st, err
	}
	drv, narHash, err := Deriver(ctx, path)
	if err != nil || drv == "" {
		return st, nil // no Nix, or no deriver: the statement as stored
	}
	return WithDerivation(st, drv, narHash)
}

// inStore reports whether p is in a Nix store: a path under $NIX_STORE,
// or /nix/store.
func inStore(p string) bool {
	dir := os.Getenv("NIX_STORE")
	if dir == "" {
		dir = "/nix/store"
	}
	abs, err := filepath.Abs(p)
	if err != nil {
		return false
	}
	if resolved, err := filepath.EvalSymlinks(abs); err == nil {
		abs = resolved
	}
	return strings.HasPrefix(abs, strings.TrimSuffix(dir, "/")+"/")
}

// WithSubject returns st about the manifest m instead: the same image
// in another manifest, as buildImageIndex writes a Docker image's manifest
// with OCI media types (same config and layers). A statement already about
// m is returned as it is.
func WithSubject(st *Statement, m v1.Hash) (*Statement, error) {
	what := "moving the provenance to manifest " + m.String()
	s, err := parseProto(st.JSON, what)
	if err != nil {
		return nil, err
	}
	subject := s.GetSubject()[0]
	if subject.GetDigest()[m.Algorithm] == m.Hex && len(subject.GetDigest()) == 1 {
		return st, nil
	}
	pred, err := predicate(s, what)
	if err != nil {
		return nil, err
	}
	subject.Digest = map[string]string{m.Algorithm: m.Hex}
	return fromProto(subject, pred)
}
