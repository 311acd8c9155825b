package push

import (
	"fmt"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
)

// Target is the kind of place Push puts an image.
type Target string

// The targets of Push, and the prefix that names each in a destination.
const (
	// Registry: NAME[:TAG] or docker://NAME[:TAG]; only the blobs the
	// registry lacks are uploaded.
	Registry Target = "registry"
	// Docker: docker-daemon:[NAME:TAG], streamed into `docker load`.
	Docker Target = "docker-daemon"
	// Podman: containers-storage:[NAME:TAG] or podman:[NAME:TAG], streamed
	// into `podman load`.
	Podman Target = "podman"
	// Containerd: containerd:[NAME:TAG], streamed into `ctr images
	// import` (the socket and namespace: ContainerdAddress and
	// ContainerdNamespace, or ctr's environment variables).
	Containerd Target = "containerd"
)

// DockerDaemon is the prefix of a destination that means `docker load`
// (docker-daemon:[NAME:TAG]).
const DockerDaemon = "docker-daemon:"

// prefixes maps each destination prefix to its target.
var prefixes = []struct {
	prefix string
	target Target
}{
	{"docker://", Registry},
	{DockerDaemon, Docker},
	{"containers-storage:", Podman},
	{"podman:", Podman},
	{"containerd:", Containerd},
}

// unsupported are skopeo's transports that name no place Push knows.
var unsupported = []string{"oci:", "oci-archive:", "docker-archive:", "dir:", "ostree:", "sif:", "tarball:", "nix:"}

// Destination is where Push puts an image: a parsed destination argument.
type Destination struct {
	// Target is the kind of place.
	Target Target
	// Ref is the registry reference (Registry), or the NAME:TAG to load
	// the image as ("": the tag the image carries).
	Ref string
	// ContainerdAddress and ContainerdNamespace choose the containerd of
	// a Containerd destination: its socket and namespace ("": ctr's
	// environment variables $CONTAINERD_ADDRESS and $CONTAINERD_NAMESPACE,
	// else /run/containerd/containerd.sock and "default").
	ContainerdAddress, ContainerdNamespace string
}

// String is the destination as ParseDestination reads it.
func (d Destination) String() string {
	switch d.Target {
	case Registry:
		return d.Ref
	case Docker:
		return DockerDaemon + d.Ref
	}
	return string(d.Target) + ":" + d.Ref
}

// ParseDestination reads a destination: a registry reference NAME[:TAG]
// or docker://NAME[:TAG], docker-daemon:[NAME:TAG],
// containers-storage:[NAME:TAG] (or podman:[NAME:TAG]) and
// containerd:[NAME:TAG]. A NAME:TAG is checked here, before anything is
// read or started.
func ParseDestination(s string) (Destination, error) {
	for _, p := range prefixes {
		rest, ok := strings.CutPrefix(s, p.prefix)
		if !ok {
			continue
		}
		d := Destination{Target: p.target, Ref: rest}
		if p.target == Registry {
			return d, checkRegistryRef(s, rest)
		}
		return d, checkTag(s, rest)
	}
	for _, p := range unsupported {
		if strings.HasPrefix(s, p) {
			return Destination{}, fmt.Errorf("reading destination %q: %s names a file; nixlayer push puts an image in a registry (NAME[:TAG], docker://NAME[:TAG]), docker-daemon:, containers-storage: (podman) or containerd:", s, strings.TrimSuffix(p, ":"))
		}
	}
	return Destination{Target: Registry, Ref: s}, checkRegistryRef(s, s)
}

// checkRegistryRef checks the reference of a registry destination.
func checkRegistryRef(dest, ref string) error {
	if _, err := name.ParseReference(ref, name.WeakValidation); err != nil {
		return fmt.Errorf("reading destination %q: %w", dest, err)
	}
	return nil
}

// checkTag checks the NAME:TAG of a daemon or store destination (empty:
// the image's own tag).
func checkTag(dest, tag string) error {
	if tag == "" {
		return nil
	}
	if strings.HasPrefix(tag, "[") {
		return fmt.Errorf("reading destination %q: a storage specifier ([driver@root]) is not supported; set CONTAINERS_STORAGE_CONF to choose a store", dest)
	}
	if _, err := name.NewTag(tag, name.WeakValidation); err != nil {
		return fmt.Errorf("reading destination %q: %w", dest, err)
	}
	return nil
}
