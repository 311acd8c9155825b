package image

import (
	"fmt"
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
