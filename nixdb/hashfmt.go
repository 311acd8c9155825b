package nixdb

import (
	"github.com/nixlayer/nixlayer/registration"
)

// dbHash returns a narHash in the form the database stores:
// "sha256:<base16>".
func dbHash(h string) (string, error) {
	return registration.NarHashBase16(h)
}

// sameHash reports whether two narHashes, in any encoding Nix accepts, name
// the same digest.
func sameHash(a, b string) (bool, error) {
	x, err := dbHash(a)
	if err != nil {
		return false, err
	}
	y, err := dbHash(b)
	if err != nil {
		return false, err
	}
	return x == y, nil
}
