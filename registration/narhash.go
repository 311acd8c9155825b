package registration

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"

	"github.com/nix-community/go-nix/pkg/nixhash"
)

// ParseNarHash parses a NAR hash in any form Nix writes one: "sha256:" or
// "sha256-" (SRI) followed by nix32, base16 or base64, or a bare nix32 or
// base16 digest (as `nix-store --dump-db` prints it). Only sha256 is
// accepted, since that is the only algorithm Nix uses for NAR hashes.
func ParseNarHash(s string) (*nixhash.Hash, error) {
	algo := nixhash.SHA256
	h, err := nixhash.ParseAny(s, &algo)
	if err != nil {
		return nil, fmt.Errorf("parsing NAR hash %q: %w", s, err)
	}
	if n := len(h.Digest()); n != sha256.Size {
		return nil, fmt.Errorf("parsing NAR hash %q: digest has %d bytes, want %d", s, n, sha256.Size)
	}
	return &h.Hash, nil
}

// NarHashBase16 returns the NAR hash s as "sha256:<base16>", the form the
// Nix database stores in ValidPaths.hash.
func NarHashBase16(s string) (string, error) {
	h, err := ParseNarHash(s)
	if err != nil {
		return "", err
	}
	return "sha256:" + hex.EncodeToString(h.Digest()), nil
}

// NarHashNix32 returns the NAR hash s as "sha256:<nix32>", the form Nix
// writes in structured-attrs closures and closureInfo's registration file.
func NarHashNix32(s string) (string, error) {
	h, err := ParseNarHash(s)
	if err != nil {
		return "", err
	}
	return h.Format(nixhash.NixBase32, true), nil
}
