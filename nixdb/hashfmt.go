package nixdb

import (
	"github.com/nixlayer/nixlayer/registration"
)

// sameHash reports whether two narHashes, in any encoding Nix accepts, name
// the same digest.
func sameHash(a, b string) (bool, error) {
	x, err := registration.NarHashBase16(a)
	if err != nil {
		return false, err
	}
	y, err := registration.NarHashBase16(b)
	if err != nil {
		return false, err
	}
	return x == y, nil
}
