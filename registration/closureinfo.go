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
// `total-nar-size` of g into dir (created if missing), byte for byte as
// nixpkgs' closureInfo does; see MakeClosureInfo. Each file is written to a
// temporary name in dir and renamed into place (internal/atomicfile), so a
// failure leaves no partial file.
func WriteClosureInfo(dir string, g *Graph) error {
	ci, err := MakeClosureInfo(g)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("writing closure info: %w", err)
	}
	files := []struct {
		name string
		data []byte
	}{
		{"registration", ci.Registration},
		{"store-paths", ci.StorePaths},
		{"total-nar-size", ci.TotalNarSize},
	}
	for _, f := range files {
		out := filepath.Join(dir, f.name)
		err := atomicfile.FileMode(out, 0o644, func(w *os.File) error {
			_, err := w.Write(f.data)
			return err
		})
		if err != nil {
			return fmt.Errorf("writing closure info %q: %w", out, err)
		}
	}
	return nil
}
