package registration

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"github.com/nixlayer/nixlayer/internal/atomicfile"
)

// ClosureInfo holds the three files nixpkgs' closureInfo writes, as bytes.
type ClosureInfo struct {
	// Registration is the input of `nix-store --load-db`: per path the path,
	// its narHash as "sha256:<nix32>", narSize, an empty deriver line, the
	// number of references and the references.
	Registration []byte
	// StorePaths lists the store paths, one a line.
	StorePaths []byte
	// TotalNarSize is the sum of narSize in decimal and a newline.
	TotalNarSize []byte
}

// MakeClosureInfo renders g as nixpkgs' closureInfo would (pkgs/build-
// support/closure-info.nix, which runs jq over the structured-attrs
// closure): paths in store-path order (the order of Nix's closure list),
// narHash in nix32 with its "sha256:" prefix, the deriver left empty, and
// "0" as the total of an empty closure. Every path must have a narHash.
func MakeClosureInfo(g *Graph) (*ClosureInfo, error) {
	var reg, paths bytes.Buffer
	var total uint64
	for _, p := range g.Paths() {
		if p.NarHash == "" {
			return nil, fmt.Errorf("making closure info: store path %s has no narHash (the plain exportReferencesGraph format does not carry it; use structured attrs or compute it)", p.Path)
		}
		h, err := NarHashNix32(p.NarHash)
		if err != nil {
			return nil, fmt.Errorf("making closure info: store path %s: %w", p.Path, err)
		}
		fmt.Fprintf(&reg, "%s\n%s\n%d\n\n%d\n", p.Path, h, p.NarSize, len(p.References))
		for _, r := range p.References {
			reg.WriteString(r + "\n")
		}
		paths.WriteString(p.Path + "\n")
		total += p.NarSize
	}
	return &ClosureInfo{
		Registration: reg.Bytes(),
		StorePaths:   paths.Bytes(),
		TotalNarSize: []byte(strconv.FormatUint(total, 10) + "\n"),
	}, nil
}

// WriteClosureInfo writes the files `registration`, `store-paths` and
// `total-nar-size` of g into the directory dir, byte for byte as nixpkgs'
// closureInfo does; see MakeClosureInfo. The three files are written into
// a temporary directory (internal/atomicfile) renamed to dir once all are
// complete, so a failure (a full disk, a kill) leaves no dir, or an
// existing empty dir as it was: never some of the files, or a partial one.
func WriteClosureInfo(dir string, g *Graph) error {
	ci, err := MakeClosureInfo(g)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return fmt.Errorf("writing closure info: %w", err)
	}
	// An existing empty directory is replaced (os.Remove fails on one that
	// is not empty: then the files would mix with others, an error).
	if fi, err := os.Lstat(dir); err == nil && fi.IsDir() {
		if err := os.Remove(dir); err != nil {
			return fmt.Errorf("writing closure info into %q: the directory exists and is not empty", dir)
		}
	}
	files := []struct {
		name string
		data []byte
	}{
		{"registration", ci.Registration},
		{"store-paths", ci.StorePaths},
		{"total-nar-size", ci.TotalNarSize},
	}
	err = atomicfile.Dir(dir, func(tmp string) error {
		for _, f := range files {
			if err := writeSynced(filepath.Join(tmp, f.name), f.data); err != nil {
				return fmt.Errorf("writing closure info file %s: %w", f.name, err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("writing closure info %q: %w", dir, err)
	}
	return nil
}

// writeSynced writes data to the new file p (0644) and flushes it to disk,
// so that a full disk shows up here and not after the rename.
func writeSynced(p string, data []byte) error {
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
