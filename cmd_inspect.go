package main

import (
	"github.com/urfave/cli/v2"

	"github.com/nixlayer/nixlayer/image/base"
	"github.com/nixlayer/nixlayer/inspect"
)

func inspectCommand() *cli.Command {
	return &cli.Command{
		Name:      "inspect",
		Usage:     "show an image's layers (digests, sizes, store paths) and config",
		ArgsUsage: "ARCHIVE|LAYOUT",
		Description: `Reads a docker-archive, an oci-archive or an OCI layout directory
(compressed archives too), or a stream script's recipe (nothing is produced),
and prints a table, or JSON with --json. An archive holding several images
is described by the first (or --name/--tag), with a list of them all.`,
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "json", Usage: "print JSON for scripts"},
			&cli.StringFlag{Name: "name", Usage: "describe the image with this name of an archive holding several"},
			&cli.StringFlag{Name: "tag", Usage: "describe the image with this tag of an archive holding several"},
		},
		Action: func(c *cli.Context) error {
			if err := needArgs(c, 1); err != nil {
				return err
			}
			r, err := inspect.File(c.Context, c.Args().First(), base.WithName(c.String("name")), base.WithTag(c.String("tag")))
			if err != nil {
				return err
			}
			if c.Bool("json") {
				return r.WriteJSON(c.App.Writer)
			}
			return r.WriteTable(c.App.Writer)
		},
	}
}
