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
(compressed archives too) and prints a table, or JSON with --json.`,
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "json", Usage: "print JSON for scripts"},
		},
		Action: func(c *cli.Context) error {
			if err := needArgs(c, 1); err != nil {
				return err
			}
			r, err := inspect.Inspect(c.Args().First(), base.WithContext(c.Context))
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
