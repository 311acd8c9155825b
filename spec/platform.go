package spec

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// Platforms are go-containerregistry's v1.Platform everywhere in memory;
// PlatformString names one in messages as os/architecture[/variant].

// PlatformString returns p as os/architecture[/variant].
func PlatformString(p v1.Platform) string {
	s := p.OS + "/" + p.Architecture
	if p.Variant != "" {
		s += "/" + p.Variant
	}
	return s
}

// nixSystems maps Nix system names to OCI platforms.
var nixSystems = map[string]v1.Platform{
	"x86_64-linux":      {Architecture: "amd64", Variant: "", OS: "linux"},
	"i686-linux":        {Architecture: "386", Variant: "", OS: "linux"},
	"aarch64-linux":     {Architecture: "arm64", Variant: "v8", OS: "linux"},
	"armv7l-linux":      {Architecture: "arm", Variant: "v7", OS: "linux"},
	"armv6l-linux":      {Architecture: "arm", Variant: "v6", OS: "linux"},
	"armv5tel-linux":    {Architecture: "arm", Variant: "v5", OS: "linux"},
	"powerpc64le-linux": {Architecture: "ppc64le", Variant: "", OS: "linux"},
	"s390x-linux":       {Architecture: "s390x", Variant: "", OS: "linux"},
	"riscv64-linux":     {Architecture: "riscv64", Variant: "", OS: "linux"},
	"mips64el-linux":    {Architecture: "mips64le", Variant: "", OS: "linux"},
	"loongarch64-linux": {Architecture: "loong64", Variant: "", OS: "linux"},
	"x86_64-darwin":     {Architecture: "amd64", Variant: "", OS: "darwin"},
	"aarch64-darwin":    {Architecture: "arm64", Variant: "v8", OS: "darwin"},
}

// ResolvePlatform returns the platform for an architecture argument, which
// may be a Go/OCI architecture ("amd64", "arm64", "arm/v7") or a Nix system
// ("x86_64-linux"). An empty architecture means the platform of system.
func ResolvePlatform(arch, system string) (v1.Platform, error) {
	if arch == "" {
		if system == "" {
			system = "x86_64-linux"
		}
		p, ok := nixSystems[system]
		if !ok {
			return v1.Platform{}, fmt.Errorf("unknown Nix system %q: nixlayer knows %s", system, strings.Join(knownSystems(), ", "))
		}
		return p, nil
	}
	if p, ok := nixSystems[arch]; ok {
		return p, nil
	}
	a, variant, _ := strings.Cut(arch, "/")
	for _, p := range nixSystems {
		if p.Architecture == a && (variant == "" || p.Variant == variant) && p.OS == "linux" {
			if variant != "" {
				p.Variant = variant
			} else if a == "arm" {
				p.Variant = "v7"
			}
			return p, nil
		}
	}
	return v1.Platform{}, fmt.Errorf("unknown architecture %q: use an OCI architecture (amd64, arm64, arm/v7, 386, ppc64le, s390x, riscv64, …) or a Nix system (%s)", arch, strings.Join(knownSystems(), ", "))
}

func knownSystems() []string {
	var s []string
	for k := range nixSystems {
		s = append(s, k)
	}
	sort.Strings(s)
	return s
}

// knownVariants lists, per OCI architecture, the variants an image config
// may give ("" for none); an architecture missing here is not known.
var knownVariants = map[string][]string{
	"amd64": {"", "v1", "v2", "v3", "v4"}, "386": {""},
	"arm64": {"", "v8"}, "arm": {"v5", "v6", "v7", "v8"},
	"ppc64le": {""}, "s390x": {""}, "riscv64": {""}, "mips64le": {""}, "loong64": {""},
}

// CheckPlatform checks an image config's architecture and variant against
// the OCI names nixlayer knows, and returns the platform in canonical form
// (arm64's variant is v8 when none is given, as containerd normalises it).
func CheckPlatform(p v1.Platform) (v1.Platform, error) {
	if p.Architecture == "" {
		return p, fmt.Errorf("the image config has no architecture: build it with architecture set (an OCI name such as arm64, or a Nix system)")
	}
	if p.OS == "" {
		return p, fmt.Errorf("the image config has no os")
	}
	vs, ok := knownVariants[p.Architecture]
	if !ok {
		return p, fmt.Errorf("unknown architecture %q: use an OCI architecture (%s)", p.Architecture, strings.Join(sortedKeys(knownVariants), ", "))
	}
	if !slices.Contains(vs, p.Variant) {
		return p, fmt.Errorf("unknown variant %q of architecture %q: use one of %q", p.Variant, p.Architecture, vs)
	}
	if p.Architecture == "arm64" && p.Variant == "" {
		p.Variant = "v8"
	}
	return p, nil
}

func sortedKeys[V any](m map[string]V) []string {
	s := make([]string, 0, len(m))
	for k := range m {
		s = append(s, k)
	}
	sort.Strings(s)
	return s
}
