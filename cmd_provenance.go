package main

import (
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/nixlayer/nixlayer/provenance"
)

func provenanceCommand() *cli.Command {
	return &cli.Command{
		Name:      "provenance",
		Usage:     "print the SLSA provenance (an in-toto statement) that an image carries",
		ArgsUsage: "IMAGE",
		Description: `Reads a docker-archive, an oci-archive, an OCI layout directory or a
nixlayer stream script and prints the in-toto Statement v1 with a SLSA v1
provenance predicate that nixlayer stored with it at build time. When
IMAGE is a store path whose deriver Nix knows (nix-store --query
--deriver), the derivation is added as externalParameters.derivation and
as a resolved dependency; --no-derivation prints the statement as stored.`,
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "no-derivation", Usage: "print the statement as stored, without asking Nix for the image's derivation"},
		},
		Action: func(c *cli.Context) error {
			if err := needArgs(c, 1); err != nil {
				return err
			}
			st, err := provenance.Print(c.Context, c.Args().First(), !c.Bool("no-derivation"))
			if err != nil {
				return err
			}
			_, err = fmt.Fprintf(c.App.Writer, "%s\n", st.JSON)
			return err
		},
	}
}
