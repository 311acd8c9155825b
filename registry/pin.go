package registry

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/nix-community/go-nix/pkg/nar"
	"github.com/nix-community/go-nix/pkg/nixbase32"

	imgformat "github.com/nixlayer/nixlayer/format"
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
func Pin(ctx context.Context, ref string, format imgformat.Format, opts ...Option) (*Pinned, error) {
	o := makeOptions(opts)
	parsed, err := name.ParseReference(ref, o.nameOptions()...)
	if err != nil {
		return nil, fmt.Errorf("reading image reference %q: %w", ref, err)
	}
	repo, tag := splitReference(ref)
	ropts, err := o.remoteOptions(remote.WithContext(ctx))
	if err != nil {
		return nil, err
	}
	top, err := getManifest(ctx, parsed, o, ropts)
	if err != nil {
		return nil, fmt.Errorf("fetching manifest of %q: %w", ref, err)
	}
	p := &Pinned{ImageName: repo, ImageDigest: top.Digest.String(), FinalImageName: repo, FinalImageTag: tag}
	if top.MediaType.IsIndex() {
		p.OS, p.Arch, p.Variant = o.platform.OS, o.platform.Architecture, o.platform.Variant
	}
	if format != "" && format != imgformat.DockerArchive {
		p.Format = format
	}
	r := Request{ImageName: repo, ImageDigest: p.ImageDigest, FinalImageName: repo, FinalImageTag: tag, Format: format}
	digestRef, err := r.reference(o)
	if err != nil {
		return nil, err
	}
	f, err := fetch(ctx, digestRef, o)
	if err != nil {
		return nil, err
	}
	defer f.close()
	sum, err := f.outputHash(r, o)
	if err != nil {
		return nil, err
	}
	p.Sha256 = nixbase32.EncodeToString(sum)
	p.Hash = "sha256-" + base64.StdEncoding.EncodeToString(sum)
	return p, nil
}

// outputHash is the sha256 Nix computes for the output of pullImage: of
// the file for archives, of its NAR serialisation for an oci-layout.
func (f *fetched) outputHash(r Request, o *options) ([]byte, error) {
	h := sha256.New()
	if r.Format == imgformat.OCILayout {
		tmp, err := os.MkdirTemp(o.tempDir, "nixlayer-pin-")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(tmp)
		out := filepath.Join(tmp, "layout")
		if err := f.write(out, r); err != nil {
			return nil, err
		}
		if err := nar.DumpPath(h, out); err != nil {
			return nil, fmt.Errorf("hashing %s: %w", out, err)
		}
		return h.Sum(nil), nil
	}
	es, err := f.entries(r.Format, r.FinalImageName, r.FinalImageTag)
	if err != nil {
		return nil, err
	}
	if err := writeTar(h, es); err != nil {
		return nil, err
	}
	return h.Sum(nil), nil
}

// splitReference splits "name:tag" or "name@digest" into the name as the
// user wrote it and the tag ("latest" when none is given).
func splitReference(ref string) (repo, tag string) {
	if i := strings.Index(ref, "@"); i >= 0 {
		ref = ref[:i]
		if j := strings.LastIndex(ref, ":"); j > strings.LastIndex(ref, "/") {
			return ref[:j], ref[j+1:]
		}
		return ref, "latest"
	}
	if j := strings.LastIndex(ref, ":"); j > strings.LastIndex(ref, "/") {
		return ref[:j], ref[j+1:]
	}
	return ref, "latest"
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
