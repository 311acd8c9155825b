package nixdb

import (
	"context"
	"fmt"
	"path"
	"strconv"

	"github.com/nixlayer/nixlayer/layers"
	"github.com/nixlayer/nixlayer/registration"
)

// Options says how the database layer is made.
type Options struct {
	// RegistrationTime is the registration time of every path, in seconds
	// since the epoch (SOURCE_DATE_EPOCH for a reproducible image).
	RegistrationTime int64
	// Roots are the store paths the image is made of (its contents). Each
	// gets a garbage collector root /nix/var/nix/gcroots/docker/<basename>
	// pointing at it, so `nix-collect-garbage` in the container keeps them.
	Roots []string
	// Uid, Gid, Uname and Gname own the Nix state (/nix/store itself and
	// everything under /nix/var), so that a non-root user can run Nix in
	// the container. The zero value means root; Uname "" means "root" and
	// is required when Uid is not 0.
	Uid, Gid     int
	Uname, Gname string
}

// Entries returns every entry of the image's Nix database layer: the
// directories /nix, /nix/store and /nix/var/nix/… that a fresh Nix creates
// (db, gcroots, gcroots/per-user/<user>, profiles, profiles/per-user/<user>,
// temproots), db/db.sqlite registering every path of g (see Encode),
// db/schema holding "10", and one gcroot symlink per root. Every root must
// be a path of g. Entries are sorted (layers.Sort).
func Entries(g *registration.Graph, opts Options) ([]layers.Entry, error) {
	uname, gname := opts.Uname, opts.Gname
	if uname == "" {
		if opts.Uid != 0 {
			return nil, fmt.Errorf("making the Nix database layer: Nix user %d needs a user name (Uname)", opts.Uid)
		}
		uname = "root"
	}
	if gname == "" {
		gname = uname
		if opts.Gid == 0 {
			gname = "root"
		}
	}
	for _, r := range opts.Roots {
		if _, ok := g.Lookup(r); !ok {
			return nil, fmt.Errorf("making the Nix database layer: gcroot %s is not a path of the closure", r)
		}
	}
	db, err := Encode(context.Background(), g, opts.RegistrationTime)
	if err != nil {
		return nil, err
	}
	own := func(e layers.Entry) layers.Entry {
		e.Uid, e.Gid, e.Uname, e.Gname = opts.Uid, opts.Gid, uname, gname
		return e
	}
	storeDir, err := layers.CleanName(g.StoreDir())
	if err != nil {
		return nil, fmt.Errorf("making the Nix database layer: store directory: %w", err)
	}
	const state = "nix/var/nix"
	entries := []layers.Entry{
		layers.Dir("nix", 0o755),
		own(layers.Dir(storeDir, 0o755)),
		own(layers.Dir("nix/var", 0o755)),
		own(layers.Dir(state, 0o755)),
		own(layers.Dir(state+"/db", 0o755)),
		own(layers.File(state+"/db/db.sqlite", 0o644, db)),
		own(layers.File(state+"/db/schema", 0o644, []byte(strconv.Itoa(SchemaVersion)))),
		own(layers.Dir(state+"/gcroots", 0o755)),
		own(layers.Dir(state+"/gcroots/docker", 0o755)),
		own(layers.Dir(state+"/gcroots/per-user", 0o755)),
		own(layers.Dir(state+"/gcroots/per-user/"+uname, 0o755)),
		own(layers.Symlink(state+"/gcroots/profiles", "/"+state+"/profiles")),
		own(layers.Dir(state+"/profiles", 0o755)),
		own(layers.Dir(state+"/profiles/per-user", 0o755)),
		own(layers.Dir(state+"/profiles/per-user/"+uname, 0o755)),
		own(layers.Dir(state+"/temproots", 0o755)),
	}
	for _, r := range opts.Roots {
		entries = append(entries, own(layers.Symlink(state+"/gcroots/docker/"+path.Base(r), r)))
	}
	// Merge gives every parent an entry, as every layer must; the store
	// directory may be nested (e.g. "opt/nix/store").
	return layers.Merge(entries), nil
}
