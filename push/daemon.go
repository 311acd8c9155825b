package push

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
	"time"

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
	// ctr, when set, is the containerd the image goes to: the loader
	// reads an OCI archive that leaves out the layers it has, and an
	// image record a failed import created is removed.
	ctr *ctrClient
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
		c := newCtrClient(d)
		return daemon{
			what:   fmt.Sprintf("containerd at %s (namespace %s)", c.addr, c.ns),
			format: format.OCIArchive,
			probe:  c.argv("version"),
			load:   c.argv("images", "import", "-"),
			check:  c.check,
			ctr:    c,
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
	cmd := newCommand(ctx, dm.probe)
	out := &boundedBuffer{max: maxLoaderOutput}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s is not reachable: %s: %w\n%s", dm.what, strings.Join(dm.probe, " "), err, strings.TrimSpace(out.String()))
	}
	return nil
}
