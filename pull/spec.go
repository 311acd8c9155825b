package pull

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"runtime"
	"strings"

	"github.com/nixlayer/nixlayer/registry"
	"github.com/nixlayer/nixlayer/spec"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/nixlayer/nixlayer/format"
)

// Spec is the "nixlayer" attribute of a pullImage derivation (see
// nix/pull.nix): pullImage's arguments, as the builder reads them from the
// structured attrs.
type Spec struct {
	ImageName      string `json:"imageName"`
	ImageDigest    string `json:"imageDigest"`
	OS             string `json:"os"`
	Arch           string `json:"arch"`
	Variant        string `json:"variant"`
	System         string `json:"system"`
	FinalImageName string `json:"finalImageName"`
	FinalImageTag  string `json:"finalImageTag"`
	TLSVerify      *bool  `json:"tlsVerify"`
	Format         string `json:"format"`
	CACertFile     string `json:"caCertFile"`
	// ConnectTimeout and IdleTimeout (Go durations, "90s") replace the
	// network timeouts of DefaultTimeouts.
	ConnectTimeout string `json:"connectTimeout"`
	IdleTimeout    string `json:"idleTimeout"`
	// MinRate (bytes a second) replaces DefaultTimeouts' MinRate.
	MinRate int64 `json:"minRate"`
}

// ParseSpec decodes and checks a Spec; file names its origin in errors.
// Unknown fields are errors, so that a misspelt argument is not ignored.
func ParseSpec(data []byte, file string) (*Spec, error) {
	var s Spec
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		return nil, fmt.Errorf("reading pullImage arguments in %s: %w", file, err)
	}
	for _, f := range []struct{ name, value string }{{"imageName", s.ImageName}, {"imageDigest", s.ImageDigest}} {
		if f.value == "" {
			return nil, fmt.Errorf("reading pullImage arguments in %s: %s is missing", file, f.name)
		}
	}
	if _, err := v1.NewHash(s.ImageDigest); err != nil {
		return nil, fmt.Errorf("reading imageDigest %q in %s: %w", s.ImageDigest, file, err)
	}
	if _, err := format.Parse(s.Format); err != nil {
		return nil, fmt.Errorf("reading format in %s: %w", file, err)
	}
	if _, err := Platform(s.OS, s.Arch, s.Variant, s.System); err != nil {
		return nil, fmt.Errorf("reading platform in %s: %w", file, err)
	}
	if _, err := s.timeouts(); err != nil {
		return nil, fmt.Errorf("reading pullImage arguments in %s: %w", file, err)
	}
	// The image names, checked as Pull will check them.
	r := s.Request()
	if _, err := r.reference(registry.NewOptions(s.Options()...)); err != nil {
		return nil, fmt.Errorf("reading pullImage arguments in %s: %w", file, err)
	}
	return &s, nil
}

// Request returns the image s asks for.
func (s *Spec) Request() Request {
	f, _ := format.Parse(s.Format)
	return Request{ImageName: s.ImageName, ImageDigest: s.ImageDigest, FinalImageName: s.FinalImageName, FinalImageTag: s.FinalImageTag, Format: f}
}

// Options returns the options s sets. Without caCertFile, the CA bundle
// comes from $NIX_SSL_CERT_FILE when set (and $SSL_CERT_FILE is not).
func (s *Spec) Options() []registry.Option {
	p, _ := Platform(s.OS, s.Arch, s.Variant, s.System)
	t, _ := s.timeouts()
	opts := []registry.Option{registry.WithPlatform(p), registry.WithInsecure(s.TLSVerify != nil && !*s.TLSVerify), registry.WithTimeouts(t)}
	switch ca := os.Getenv("NIX_SSL_CERT_FILE"); {
	case s.CACertFile != "":
		opts = append(opts, registry.WithCACertFile(s.CACertFile))
	case ca != "" && os.Getenv("SSL_CERT_FILE") == "":
		// What Nix's own fetchers trust (an impure variable of pullImage).
		opts = append(opts, registry.WithCACertFile(ca))
	}
	return opts
}

func (s *Spec) timeouts() (registry.Timeouts, error) {
	t, err := registry.ParseTimeouts("connectTimeout", s.ConnectTimeout, "idleTimeout", s.IdleTimeout)
	if err != nil {
		return t, err
	}
	if s.MinRate < 0 {
		return t, fmt.Errorf("minRate = %d is not a positive number of bytes a second (like 1024)", s.MinRate)
	}
	t.MinRate = s.MinRate
	return t, nil
}

// Platform returns the platform to choose from an index: osName (default
// linux), arch as an OCI architecture or a Nix system (default: that of
// system, else of this program), and variant (empty matches any).
func Platform(osName, arch, variant, system string) (v1.Platform, error) {
	if osName == "" {
		osName = "linux"
	}
	if arch == "" && system == "" {
		arch = runtime.GOARCH
	}
	p, err := spec.ResolvePlatform(arch, system)
	if err != nil {
		return v1.Platform{}, err
	}
	if variant == "" && strings.Contains(arch, "/") {
		variant = p.Variant // "arm/v7" names its variant
	}
	return v1.Platform{OS: osName, Architecture: p.Architecture, Variant: variant}, nil
}
