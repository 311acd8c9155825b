package pull

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/nix-community/go-nix/pkg/nar"
	"github.com/nix-community/go-nix/pkg/nixbase32"

	imgformat "github.com/nixlayer/nixlayer/format"
	"github.com/nixlayer/nixlayer/registry"
)

// Pinned holds the arguments of pullImage that fetch an image again, bit
// for bit: what `nixlayer pin` prints.
type Pinned struct {
	ImageName   string `json:"imageName"`
	ImageDigest string `json:"imageDigest"`
	// Sha256 is the output hash of the pullImage derivation, in Nix's
	// base-32 (outputHashMode flat for archives, recursive for oci-layout).
	Sha256 string `json:"sha256"`
	// Hash is the same hash in SRI form ("sha256-<base64>").
	Hash           string `json:"hash"`
	FinalImageName string `json:"finalImageName"`
	FinalImageTag  string `json:"finalImageTag"`
	// OS, Arch and Variant are set when ImageDigest is an index: they
	// choose its image, and the hash depends on them.
	OS      string `json:"os,omitempty"`
	Arch    string `json:"arch,omitempty"`
	Variant string `json:"variant,omitempty"`
	// Format is set when it is not docker-archive.
	Format imgformat.Format `json:"format,omitempty"`
}

// Pin resolves ref (NAME[:TAG] or NAME@DIGEST) to a digest, pulls the image
// exactly as the pullImage derivation does and hashes the result. The
// final image name and tag default to the name and tag in ref.
func Pin(ctx context.Context, ref string, format imgformat.Format, opts ...registry.Option) (*Pinned, error) {
	o := registry.NewOptions(opts...)
	parsed, err := name.ParseReference(ref, o.NameOptions()...)
	if err != nil {
		return nil, fmt.Errorf("reading image reference %q: %w", ref, err)
	}
	repo, tag := registry.SplitReference(ref)
	ropts, err := o.RemoteOptions(ctx)
	if err != nil {
		return nil, err
	}
	top, err := registry.GetManifest(ctx, parsed, o, ropts)
	if err != nil {
		return nil, fmt.Errorf("fetching manifest of %q: %w", ref, err)
	}
	p := &Pinned{ImageName: repo, ImageDigest: top.Digest.String(), FinalImageName: repo, FinalImageTag: tag}
	if top.MediaType.IsIndex() {
		p.OS, p.Arch, p.Variant = o.Platform().OS, o.Platform().Architecture, o.Platform().Variant
	}
	if format != "" && format != imgformat.DockerArchive {
		p.Format = format
	}
	r := Request{ImageName: repo, ImageDigest: p.ImageDigest, FinalImageName: repo, FinalImageTag: tag, Format: format}
	digestRef, err := r.reference(o)
	if err != nil {
		return nil, err
	}
	f, err := registry.Fetch(ctx, digestRef, o)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	a, err := newArchive(f, r)
	if err != nil {
		return nil, err
	}
	sum, err := a.outputHash(o.TempDir())
	if err != nil {
		return nil, err
	}
	p.Sha256 = nixbase32.EncodeToString(sum)
	p.Hash = "sha256-" + base64.StdEncoding.EncodeToString(sum)
	return p, nil
}

// outputHash is the sha256 Nix computes for the output of pullImage, made
// by the writer Pull uses: of the tar stream puts in the file for an
// archive, of the NAR serialisation of the directory create writes (in a
// temporary directory under tempDir) for an oci-layout.
func (a *archive) outputHash(tempDir string) ([]byte, error) {
	h := sha256.New()
	if !a.format.Dir() {
		if err := a.stream(h); err != nil {
			return nil, err
		}
		return h.Sum(nil), nil
	}
	tmp, err := os.MkdirTemp(tempDir, "nixlayer-pin-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	out := filepath.Join(tmp, "layout")
	if err := a.create(out); err != nil {
		return nil, err
	}
	if err := nar.DumpPath(h, out); err != nil {
		return nil, fmt.Errorf("hashing %s: %w", out, err)
	}
	return h.Sum(nil), nil
}

// Nix returns p as the attribute set to paste into pullImage.
func (p *Pinned) Nix() string {
	var b strings.Builder
	b.WriteString("{\n")
	attr := func(k, v string) {
		if v != "" {
			fmt.Fprintf(&b, "  %s = %s;\n", k, nixString(v))
		}
	}
	attr("imageName", p.ImageName)
	attr("imageDigest", p.ImageDigest)
	attr("sha256", p.Sha256)
	attr("finalImageName", p.FinalImageName)
	attr("finalImageTag", p.FinalImageTag)
	attr("os", p.OS)
	attr("arch", p.Arch)
	attr("variant", p.Variant)
	attr("format", string(p.Format))
	b.WriteString("}\n")
	return b.String()
}

// nixString quotes s as a Nix string literal.
func nixString(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "${", `\${`, "\n", `\n`)
	return `"` + r.Replace(s) + `"`
}
