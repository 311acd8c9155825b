package main

import (
	"github.com/urfave/cli/v2"

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
			return embedded.Copy(c.Args().First(), f, c.App.Writer)
		},
	}
}
