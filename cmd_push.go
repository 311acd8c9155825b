package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/nixlayer/nixlayer/nixattrs"
	"github.com/nixlayer/nixlayer/push"
	"github.com/nixlayer/nixlayer/registry"
)

func pushCommand() *cli.Command {
	return &cli.Command{
		Name:      "push",
		Usage:     "upload an image to a registry, or load it into Docker, podman or containerd",
		ArgsUsage: "SOURCE DEST",
		Description: `SOURCE is a docker-archive, an OCI layout directory or archive, or an
executable that writes a docker-archive (streamLayeredImage). DEST is one of
  NAME[:TAG], docker://NAME[:TAG]   a registry
  docker-daemon:[NAME:TAG]          docker load
  containers-storage:[NAME:TAG]     podman load (also podman:[NAME:TAG])
  containerd:[NAME:TAG]             ctr images import (--containerd-address,
                                    --containerd-namespace)
without NAME:TAG, the image keeps the tag it has. Prints the image by
digest (a registry, containerd) or as loaded. The SBOM documents the image
carries are attached to an image pushed to a registry as OCI referrers
(--no-sbom: not).`,
		Flags: append(registryFlags(), noSBOMFlag,
			&cli.StringFlag{Name: "containerd-address", Usage: "containerd's socket for containerd: (default $" + push.EnvContainerdAddress + ", else " + push.DefaultContainerdAddress + ")"},
			&cli.StringFlag{Name: "containerd-namespace", Usage: "containerd namespace for containerd: (default $" + push.EnvContainerdNamespace + ", else " + push.DefaultContainerdNamespace + ")"},
		),
		Action: func(c *cli.Context) error {
			if err := needArgs(c, 2); err != nil {
				return err
			}
			dest, err := push.ParseDestination(c.Args().Get(1))
			if err != nil {
				return err
			}
			dest.ContainerdAddress, dest.ContainerdNamespace = c.String("containerd-address"), c.String("containerd-namespace")
			opts, err := registryOptions(c)
			if err != nil {
				return err
			}
			p, err := push.PushTo(c.Context, c.Args().Get(0), dest, opts...)
			if err != nil {
				return err
			}
			if dest.Target == push.Registry {
				attachSBOM(c, c.Args().Get(0), p, opts)
			}
			_, err = fmt.Fprintln(c.App.Writer, p.Reference)
			return err
		},
	}
}

// writeAppCommand is the builder of nix/push.nix's copyToRegistry,
// copyToDockerDaemon, copyToPodman and copyTo: it writes $out/bin/<name> from the structured attrs.
func writeAppCommand() *cli.Command {
	return &cli.Command{
		Name:   "write-app",
		Usage:  "write $out/bin/NAME holding TEXT (the builder of the copyTo apps)",
		Hidden: true,
		Action: func(c *cli.Context) error {
			attrs, err := nixattrs.Load()
			if err != nil {
				return err
			}
			var app struct{ Name, Text string }
			if err := attrs.Decode("nixlayer", &app); err != nil {
				return err
			}
			out, err := attrs.Out()
			if err != nil {
				return err
			}
			return push.WriteApp(out, app.Name, app.Text)
		},
	}
}

// noSBOMFlag is push's --no-sbom.
var noSBOMFlag = &cli.BoolFlag{Name: "no-sbom", Usage: "do not attach the image's SBOM documents as OCI referrers"}

// attachSBOM attaches the SBOM documents of the image push just put (src)
// into a registry as referrers, unless --no-sbom. An image
// without documents is passed over in silence. A registry that refuses
// the artifacts is a warning, not an error: the image is pushed, and
// carries its documents anyway.
func attachSBOM(c *cli.Context, src string, p *push.Pushed, opts []registry.Option) {
	if c.Bool("no-sbom") {
		return
	}
	descs, err := push.AttachSBOM(c.Context, src, p, opts...)
	switch {
	case errors.Is(err, push.ErrNoSBOM):
	case err != nil:
		fmt.Fprintf(c.App.ErrWriter, "nixlayer push: warning: %s is pushed, but its SBOM was not attached: %v\n(the registry may not take OCI artifacts; --no-sbom skips them)\n", p.Reference, err)
	case !c.Bool("quiet"):
		for _, d := range descs {
			fmt.Fprintf(c.App.ErrWriter, "attached %s as %s@%s\n", d.ArtifactType, strings.SplitN(p.Reference, "@", 2)[0], d.Digest)
		}
	}
}
