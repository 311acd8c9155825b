package main

import (
	"os"

	"github.com/urfave/cli/v2"

	"github.com/nixlayer/nixlayer/image/base"
	"github.com/nixlayer/nixlayer/inspect"
	"github.com/nixlayer/nixlayer/internal/atomicfile"
)

func inspectCommand() *cli.Command {
	return &cli.Command{
		Name:      "inspect",
		Usage:     "show an image's layers (digests, sizes, store paths) and config",
		ArgsUsage: "ARCHIVE|LAYOUT",
		Description: `Reads a docker-archive, an oci-archive or an OCI layout directory
(compressed archives too), or a stream script's recipe (nothing is produced),
and prints a table, or JSON with --json. An archive holding several images
is described by the first (or --name/--tag), with a list of them all.
With --out the description is written to that file (atomically) instead
(the conf passthru of streamLayeredImage's result is such a JSON file).`,
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "json", Usage: "print JSON for scripts"},
			&cli.StringFlag{Name: "name", Usage: "describe the image with this name of an archive holding several"},
			&cli.StringFlag{Name: "tag", Usage: "describe the image with this tag of an archive holding several"},
			&cli.StringFlag{Name: "out", Aliases: []string{"o"}, Usage: "write to `FILE` instead of the standard output"},
		},
		Action: func(c *cli.Context) error {
			if err := needArgs(c, 1); err != nil {
				return err
			}
			r, err := inspect.File(c.Context, c.Args().First(), base.WithName(c.String("name")), base.WithTag(c.String("tag")))
			if err != nil {
				return err
			}
			write := r.WriteTable
			if c.Bool("json") {
				write = r.WriteJSON
			}
			if out := c.String("out"); out != "" {
				return atomicfile.File(out, func(f *os.File) error { return write(f) })
			}
			return write(c.App.Writer)
		},
	}
}
