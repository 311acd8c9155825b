package provenance

import (
	"context"
	"fmt"
	"os/exec"
	"strings"

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
