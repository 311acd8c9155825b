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
		Usage:     "upload an image to a registry, or load it into Docker (DEST docker-daemon:[NAME:TAG])",
		ArgsUsage: "SOURCE DEST",
		Description: `SOURCE is a docker-archive, an OCI layout directory or archive, or an
executable that writes a docker-archive (streamLayeredImage). DEST is a
registry reference NAME[:TAG], or docker-daemon:[NAME:TAG] for docker load.
Prints the pushed image by digest. The SBOM documents the image carries
are attached to it as OCI referrers (--no-sbom: not). --sign-key signs the
pushed manifest (and an index's images) and the attestations in the forms
cosign verify --key and cosign verify-attestation --key read.`,
		Flags: append(append(registryFlags(), noSBOMFlag), signFlags()...),
		Action: func(c *cli.Context) error {
			if err := needArgs(c, 2); err != nil {
				return err
			}
			opts, err := registryOptions(c)
			if err != nil {
				return err
			}
			// The key and the statements are read first: a bad one
			// leaves nothing pushed.
			key, statements, err := signingInputs(c, c.Args().Get(1))
			if err != nil {
				return err
			}
			p, err := push.Push(c.Context, c.Args().Get(0), c.Args().Get(1), opts...)
			if err != nil {
				return err
			}
			attachSBOM(c, c.Args().Get(0), c.Args().Get(1), p, opts)
			signPushed(c, p, key, statements, opts)
			_, err = fmt.Fprintln(c.App.Writer, p.Reference)
			return err
		},
	}
}

// writeAppCommand is the builder of nix/push.nix's copyToRegistry and
// copyToDockerDaemon: it writes $out/bin/<name> from the structured attrs.
func writeAppCommand() *cli.Command {
	return &cli.Command{
		Name:   "write-app",
		Usage:  "write $out/bin/NAME holding TEXT (the builder of copyToRegistry and copyToDockerDaemon)",
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
// as referrers, unless --no-sbom or the destination is Docker. An image
// without documents is passed over in silence. A registry that refuses
// the artifacts is a warning, not an error: the image is pushed, and
// carries its documents anyway.
func attachSBOM(c *cli.Context, src, dest string, p *push.Pushed, opts []registry.Option) {
	if c.Bool("no-sbom") || strings.HasPrefix(dest, push.DockerDaemon) {
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
