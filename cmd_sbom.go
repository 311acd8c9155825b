package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/nixlayer/nixlayer/push"
	"github.com/nixlayer/nixlayer/registry"

	"github.com/nixlayer/nixlayer/sbom"
	"github.com/nixlayer/nixlayer/sbom/embedded"
)

func sbomCommand() *cli.Command {
	return &cli.Command{
		Name:      "sbom",
		Usage:     "print the SBOM (SPDX or CycloneDX JSON) that an image carries",
		ArgsUsage: "IMAGE",
		Description: `Reads a docker-archive, an oci-archive, an OCI layout directory or a
nixlayer stream script and prints the document nixlayer put in it at
/` + sbom.SPDXJSON.Path() + ` or /` + sbom.CycloneDXJSON.Path() + `.`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "format", Value: string(sbom.SPDXJSON), Usage: "spdx-json or cyclonedx-json"},
		},
		Action: func(c *cli.Context) error {
			if err := needArgs(c, 1); err != nil {
				return err
			}
			f, err := sbom.ParseFormat(c.String("format"))
			if err != nil {
				return err
			}
			doc, err := embedded.Read(c.Args().First(), f)
			if err != nil {
				return err
			}
			_, err = c.App.Writer.Write(doc)
			return err
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
