package push

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/nixlayer/nixlayer/format"
)

// The environment variables ctr reads, which set the containerd a
// containerd: destination goes to when Destination leaves it unset.
const (
	EnvContainerdAddress   = "CONTAINERD_ADDRESS"
	EnvContainerdNamespace = "CONTAINERD_NAMESPACE"
)

// Defaults of a containerd: destination, as ctr's.
const (
	DefaultContainerdAddress   = "/run/containerd/containerd.sock"
	DefaultContainerdNamespace = "default"
)

// probeTimeout bounds the check that a daemon or store answers.
const probeTimeout = 30 * time.Second

// daemon is a place that takes an image as an archive on stdin: the
// program that loads it and how to ask whether the place is there.
type daemon struct {
	// what names the place in errors: "Docker", "podman", "containerd at
	// SOCKET (namespace NS)".
	what string
	// format is the archive the loader reads.
	format format.Format
	// probe runs a program that fails when the place does not answer.
	probe []string
	// load reads the archive on stdin.
	load []string
	// inspectID, followed by a reference, prints the loaded image's ID;
	// nil when the digest is known without asking.
	inspectID []string
	// check, when set, checks the place before anything is run.
	check func() error
}

// daemonFor describes the loader of d (not a registry).
func daemonFor(d Destination) daemon {
	switch d.Target {
	case Podman:
		return daemon{
			what:      "podman",
			format:    format.DockerArchive,
			probe:     []string{"podman", "info", "--format", "{{.Store.GraphRoot}}"},
			load:      []string{"podman", "load"},
			inspectID: []string{"podman", "image", "inspect", "--format", "{{.Id}}"},
		}
	case Containerd:
		addr, ns := d.containerd()
		ctr := []string{"ctr", "--address", addr, "--namespace", ns}
		return daemon{
			what:   fmt.Sprintf("containerd at %s (namespace %s)", addr, ns),
			format: format.OCIArchive,
			probe:  append(ctr[:len(ctr):len(ctr)], "version"),
			load:   append(ctr[:len(ctr):len(ctr)], "images", "import", "-"),
			check:  func() error { return checkContainerd(addr, ns) },
		}
	}
	return daemon{
		what:      "Docker",
		format:    format.DockerArchive,
		probe:     []string{"docker", "version", "--format", "{{.Server.Version}}"},
		load:      []string{"docker", "load"},
		inspectID: []string{"docker", "image", "inspect", "--format", "{{.Id}}"},
	}
}

// containerd returns the socket and namespace of a containerd:
// destination: the fields, else ctr's environment variables, else ctr's
// defaults.
func (d Destination) containerd() (addr, ns string) {
	addr, ns = d.ContainerdAddress, d.ContainerdNamespace
	if addr == "" {
		addr = os.Getenv(EnvContainerdAddress)
	}
	if addr == "" {
		addr = DefaultContainerdAddress
	}
	if ns == "" {
		ns = os.Getenv(EnvContainerdNamespace)
	}
	if ns == "" {
		ns = DefaultContainerdNamespace
	}
	return strings.TrimPrefix(addr, "unix://"), ns
}

// namespaceRE is containerd's rule for a namespace (identifiers.Validate).
var namespaceRE = regexp.MustCompile(`^[A-Za-z0-9]+(?:[._-][A-Za-z0-9]+)*$`)

// checkContainerd fails at once, with the reason, when ns is not a name
// containerd takes or nothing listens at the socket addr (ctr would wait
// ten seconds to say so).
func checkContainerd(addr, ns string) error {
	if len(ns) > 76 || !namespaceRE.MatchString(ns) {
		return fmt.Errorf("namespace %q is not valid: letters and digits, separated by single '.', '_' or '-', at most 76 characters", ns)
	}
	fi, err := os.Stat(addr)
	if err != nil {
		return fmt.Errorf("no socket at %s (is containerd running? set --containerd-address or $%s): %w", addr, EnvContainerdAddress, err)
	}
	if fi.Mode()&os.ModeSocket == 0 {
		return fmt.Errorf("%s is not a socket (set --containerd-address or $%s)", addr, EnvContainerdAddress)
	}
	c, err := net.DialTimeout("unix", addr, 5*time.Second)
	if err != nil {
		return fmt.Errorf("nothing answers at %s (is containerd running?): %w", addr, err)
	}
	return c.Close()
}

// reachable fails, naming dm and the reason, when dm's program is missing
// or its place does not answer.
func (dm daemon) reachable(ctx context.Context) error {
	if _, err := exec.LookPath(dm.load[0]); err != nil {
		return fmt.Errorf("%s is not reachable: %s is not installed (not in $PATH): %w", dm.what, dm.load[0], err)
	}
	if dm.check != nil {
		if err := dm.check(); err != nil {
			return fmt.Errorf("%s is not reachable: %w", dm.what, err)
		}
	}
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	out, err := newCommand(ctx, dm.probe).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s is not reachable: %s: %w\n%s", dm.what, strings.Join(dm.probe, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// containerdName is the name containerd gives an image tagged ref: the
// full reference, docker.io/library/NAME:TAG for a short name, as ctr and
// nerdctl write it.
func containerdName(ref string) (string, error) {
	t, err := name.NewTag(ref, name.WeakValidation)
	if err != nil {
		return "", err
	}
	reg := t.RegistryStr()
	if reg == name.DefaultRegistry {
		reg = "docker.io"
	}
	return reg + "/" + t.RepositoryStr() + ":" + t.TagStr(), nil
}
