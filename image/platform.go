package image

import (
	"fmt"
	"slices"
	"sort"
	"strings"
)

// Platform is the architecture, variant and OS an image is for.
type Platform struct {
	Architecture string
	Variant      string
	OS           string
}

// nixSystems maps Nix system names to OCI platforms.
var nixSystems = map[string]Platform{
	"x86_64-linux":      {"amd64", "", "linux"},
	"i686-linux":        {"386", "", "linux"},
	"aarch64-linux":     {"arm64", "v8", "linux"},
	"armv7l-linux":      {"arm", "v7", "linux"},
	"armv6l-linux":      {"arm", "v6", "linux"},
	"armv5tel-linux":    {"arm", "v5", "linux"},
	"powerpc64le-linux": {"ppc64le", "", "linux"},
	"s390x-linux":       {"s390x", "", "linux"},
	"riscv64-linux":     {"riscv64", "", "linux"},
	"mips64el-linux":    {"mips64le", "", "linux"},
	"loongarch64-linux": {"loong64", "", "linux"},
	"x86_64-darwin":     {"amd64", "", "darwin"},
	"aarch64-darwin":    {"arm64", "v8", "darwin"},
}

// ResolvePlatform returns the platform for an architecture argument, which
// may be a Go/OCI architecture ("amd64", "arm64", "arm/v7") or a Nix system
// ("x86_64-linux"). An empty architecture means the platform of system.
func ResolvePlatform(arch, system string) (Platform, error) {
	if arch == "" {
		if system == "" {
			system = "x86_64-linux"
		}
		p, ok := nixSystems[system]
		if !ok {
			return Platform{}, fmt.Errorf("unknown Nix system %q: nixlayer knows %s", system, strings.Join(knownSystems(), ", "))
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
	return Platform{}, fmt.Errorf("unknown architecture %q: use an OCI architecture (amd64, arm64, arm/v7, 386, ppc64le, s390x, riscv64, …) or a Nix system (%s)", arch, strings.Join(knownSystems(), ", "))
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
func CheckPlatform(p Platform) (Platform, error) {
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
